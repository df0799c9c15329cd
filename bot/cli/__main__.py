"""``python -m bot.cli``: the ``podium`` command, for where the console script is not on PATH."""

import sys

from . import main

sys.exit(main())
