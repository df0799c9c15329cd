"""The moment the widget pages' tests look at the sample conference, and the stream stand-in."""

from __future__ import annotations

from datetime import datetime, timezone

#: Monday 13 July 2026, 10:10 in Prague: Forum, Terrace and Training have a talk on; Plenary
#: is between talks; South would be, but it runs 15 minutes late.
NOW = datetime(2026, 7, 13, 8, 10, tzinfo=timezone.utc)


STUB_PAGE = "<!doctype html><body style='background:#222;color:#eee'>stream stand-in</body>"


