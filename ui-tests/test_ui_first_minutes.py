"""A new user's first minutes (issue #18): the palette shows the command the README
names, and the demo notebook opens saved (not marked as modified)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.sync_api import Page, expect
from test_ui_dashboard import open_lab

from labtrack.cli import demo_notebook

if TYPE_CHECKING:
    from conftest import LabServer

README = Path(__file__).resolve().parents[1] / "README.md"


def test_palette_shows_the_command_the_readme_names(
    page: Page, lab_server: LabServer, results_dir: Path
) -> None:
    named = re.search(r"\*(labtrack: [^*]+)\* in the\s+command palette", README.read_text())
    assert named, "the README names the palette command"
    open_lab(page, lab_server)
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette")
    palette.locator("input").fill("labtrack")
    item = palette.locator(".lm-CommandPalette-item", has_text=named.group(1))
    expect(item).to_have_count(1)
    page.screenshot(path=str(results_dir / "97-palette.png"))
    item.click()
    expect(page.locator(".lt-Dashboard")).to_be_visible()


def test_demo_notebook_opens_unmodified(
    page: Page, lab_server: LabServer, results_dir: Path
) -> None:
    # As `labtrack lab --demo` writes it.
    lab_server.api(
        "api/contents/labtrack-demo.ipynb",
        "PUT",
        {"type": "notebook", "format": "json", "content": demo_notebook()},
    )
    page.goto(f"{lab_server.url}lab/tree/labtrack-demo.ipynb?reset&token={lab_server.token}")
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible(timeout=60_000)
    # The kernel connected (it rewrites kernel metadata then, which marked the file dirty).
    expect(page.locator(".jp-StatusBar-Widget", has_text="Idle").first).to_be_visible(
        timeout=60_000
    )
    page.wait_for_timeout(1500)
    tab = page.locator(".lm-TabBar-tab", has_text="labtrack-demo.ipynb")
    expect(tab).to_have_count(1)
    page.screenshot(path=str(results_dir / "98-demo-notebook.png"))
    expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"))
