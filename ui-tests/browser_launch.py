"""How the tests launch Debian's Chromium with Python Playwright: the one definition for the
browser tests here (``conftest.py``) and the hub's (``tests/hub_browser.py``, which loads this
file by its path: ``ui-tests`` and ``tests`` are separate pytest roots)."""

from __future__ import annotations

import os
from typing import Any

CHROMIUM = os.environ.get("LABTRACK_UI_CHROMIUM", "/usr/bin/chromium")
# Offline machine, no GPU, root in a container: no sandbox, and nothing that phones home.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


# Playwright's expect() gives up after 5 s by default: on a loaded machine a JupyterLab reload
# alone took 7 s (the hub's permissions test failed so, twice in one loaded run).
EXPECT_TIMEOUT_MS = 30_000


def launch(playwright: Any) -> Any:
    """A headless Chromium (a Playwright ``Browser``) from a running ``sync_playwright()``;
    also gives every ``expect()`` of the process ``EXPECT_TIMEOUT_MS``."""
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
    )
