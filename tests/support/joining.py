"""A homeserver that loads ``bot.synapse_joins`` for a fresh bot account, with people registered
on it: the set-up of the tests of what that module joins."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from bot.homeserver import EmbeddedSynapse
from tests.support.accounts import TEST_PASSWORD


@contextmanager
def joining_homeserver(data_dir: Path, people: tuple[str, ...]
                       ) -> Iterator[tuple[EmbeddedSynapse, SimpleNamespace, dict[str, str]]]:
    """The running homeserver, the bot (``user_id``, ``access_token``, ``homeserver``) whose
    invitations it joins, and each of ``people``'s access token by localpart; stopped on leaving."""
    bot_localpart = f"bot{uuid.uuid4().hex[:6]}"
    synapse = EmbeddedSynapse(data_dir, join_invitations_from=f"@{bot_localpart}:localhost")
    synapse.start()
    try:
        user_id, token = synapse.register_user(bot_localpart, TEST_PASSWORD)
        synapse.override_ratelimit(user_id)
        tokens = {name: synapse.register_user(name, TEST_PASSWORD)[1] for name in people}
        yield synapse, SimpleNamespace(user_id=user_id, access_token=token, homeserver=synapse.base_url), tokens
    finally:
        synapse.stop()
