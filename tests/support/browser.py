"""Headless Chromium for the widget pages' browser tests: Debian's build, driven by Playwright."""

from __future__ import annotations

import contextlib

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@contextlib.contextmanager
def chromium():
    """Headless Chromium, driven through Playwright's synchronous API."""
    from playwright import sync_api as playwright_sync

    with playwright_sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
