"""Browser helpers of the hub tests (``tests/team/test_hub_*.py``): Debian's Chromium driven by
Python Playwright (as in ui-tests/), the hub's login page, a user's JupyterLab and its labtrack
dashboard, and the WCAG contrast check of ``ui-tests/contrast.py``."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hub_fixtures import PASSWORD, Hub

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

UI_TESTS = Path(__file__).resolve().parents[1] / "ui-tests"
RESULTS = UI_TESTS / "test-results"


def _ui_tests_module(name: str) -> Any:
    """A helper module of ui-tests/ (another pytest root), loaded by its path."""
    spec = importlib.util.spec_from_file_location(f"labtrack_ui_{name}", UI_TESTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_launch = _ui_tests_module("browser_launch")  # Chromium's path and arguments: one definition
CHROMIUM: str = _launch.CHROMIUM
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
THEME_SETTINGS = "/lab/api/settings/@jupyterlab/apputils-extension:themes"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} not found")
    playwright_api = pytest.importorskip("playwright.sync_api")
    RESULTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as playwright:
        browser = _launch.launch(playwright)
        yield browser
        browser.close()


def new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 850})
    page = context.new_page()
    page.set_default_timeout(60_000)
    return page


def hub_login(page: Page, hub: Hub, user: str) -> None:
    """The hub's own login page (DummyAuthenticator's form), as a person would use it."""
    page.goto(f"{hub.url}/hub/login")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill(PASSWORD)
    page.locator("#login_submit").click()


def open_lab(page: Page, hub: Hub, user: str) -> None:
    """Log in and wait for the user's JupyterLab (the hub spawns it if it is not running)."""
    hub_login(page, hub, user)
    page.wait_for_url(f"**/user/{user}/lab**", timeout=180_000)
    page.goto(f"{hub.server_url(user)}/lab?reset")
    from playwright.sync_api import expect

    expect(page.locator(".jp-Launcher")).to_be_visible(timeout=120_000)


def no_news(hub: Hub, user: str) -> None:
    """No "get notified about news?" toast over the screenshots (the user's own lab config)."""
    labconfig = hub.folder / "home" / user / ".jupyter" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )


def contrast_offenders(page: Page, roots: list[str]) -> dict[str, Any]:
    """Texts under ``roots`` whose WCAG contrast is below 4.5:1 (3:1 large or disabled), with
    how many were checked: ``ui-tests/contrast.py``'s measure, run in the page."""
    module = _ui_tests_module("contrast")
    page.mouse.move(1, 1)  # no hover state
    page.wait_for_timeout(300)  # transitions end
    return dict(page.evaluate(module.CONTRAST_JS, roots))
