"""Nested runs as a tree (issue #18): a treegrid with expandable parents,
sort and filter keeping the tree, keyboard navigation, and parent/child links
on the run page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect
from test_ui_dashboard import experiment_item, open_dashboard, open_more

if TYPE_CHECKING:
    from conftest import LabServer

THEME_SETTINGS = "lab/api/settings/@jupyterlab/apputils-extension:themes"
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


@contextmanager
def lab_theme(server: LabServer, theme: str) -> Iterator[None]:
    """Open the lab in `theme` ("light" or "dark") for the block."""
    server.api(THEME_SETTINGS, "PUT", {"raw": f'{{"theme": "{THEMES[theme]}"}}'})
    try:
        yield
    finally:
        server.api(THEME_SETTINGS, "PUT", {"raw": "{}"})


def row(dashboard: Locator, name: str) -> Locator:
    return dashboard.locator(f'.lt-run-row[data-run-name="{name}"]')


def names(dashboard: Locator) -> Locator:
    return dashboard.locator(".lt-run-row .lt-RunNameText")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_nested_runs_show_as_a_tree(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        experiment_item(page, "ui-sweep").click()
        table = dashboard.locator(".lt-RunsTable")
        expect(table).to_have_attribute("role", "treegrid")
        # Only the parent at the top, collapsed, with its child count.
        expect(names(dashboard)).to_have_text(["sweep"])
        sweep = row(dashboard, "sweep")
        expect(sweep).to_have_attribute("aria-level", "1")
        expect(sweep).to_have_attribute("aria-expanded", "false")
        expect(sweep.locator(".lt-ChildCount")).to_have_text("3 children")
        expect(dashboard.locator(".lt-RunsCount")).to_have_text("5 runs")

        # Expand: the trials, newest first, one level deeper and indented.
        sweep.get_by_role("button", name="Expand sweep").click()
        expect(sweep).to_have_attribute("aria-expanded", "true")
        expect(names(dashboard)).to_have_text(["sweep", "trial-2", "trial-1", "trial-0"])
        for trial in ("trial-0", "trial-1", "trial-2"):
            expect(row(dashboard, trial)).to_have_attribute("aria-level", "2")
        expect(row(dashboard, "trial-1").locator(".lt-ChildCount")).to_have_text("1 child")
        indent = page.evaluate(
            """() => [...document.querySelectorAll('.lt-run-row')].map(
                r => r.querySelector('.lt-RunNameText').getBoundingClientRect().left)"""
        )
        assert indent[1] > indent[0] + 10, indent

        # Keyboard: arrows move and expand, space selects, enter opens.
        sweep.focus()
        page.keyboard.press("ArrowDown")
        expect(row(dashboard, "trial-2")).to_be_focused()
        page.keyboard.press("ArrowDown")
        expect(row(dashboard, "trial-1")).to_be_focused()
        page.keyboard.press("ArrowRight")
        expect(row(dashboard, "trial-1")).to_have_attribute("aria-expanded", "true")
        expect(row(dashboard, "trial-1-fold-0")).to_have_attribute("aria-level", "3")
        page.keyboard.press("ArrowRight")
        expect(row(dashboard, "trial-1-fold-0")).to_be_focused()
        page.keyboard.press("ArrowLeft")
        expect(row(dashboard, "trial-1")).to_be_focused()
        page.keyboard.press("Space")
        expect(row(dashboard, "trial-1")).to_have_attribute("aria-selected", "true")
        expect(dashboard.locator(".lt-CompareButton")).to_have_text("Compare (1)")
        page.screenshot(path=str(results_dir / f"20-tree-{theme}.png"))

        # Sort by loss: siblings sort, children stay under their parent.
        dashboard.locator('.lt-SortButton[data-column="metrics.loss"]').click()
        expect(names(dashboard)).to_have_text(
            ["sweep", "trial-2", "trial-1", "trial-1-fold-0", "trial-0"]
        )
        dashboard.locator('.lt-SortButton[data-column="metrics.loss"]').click()  # descending
        expect(names(dashboard)).to_have_text(
            ["sweep", "trial-0", "trial-1", "trial-1-fold-0", "trial-2"]
        )

        # Enter opens the focused run: links to its parent and its child.
        row(dashboard, "trial-1").focus()
        page.keyboard.press("Enter")
        detail = dashboard.locator(".lt-RunDetail")
        expect(detail.locator(".lt-RunTitle")).to_have_text("trial-1")
        expect(detail.locator(".lt-ParentLink")).to_have_text("sweep")
        expect(detail.locator(".lt-ChildLink")).to_have_text(["trial-1-fold-0"])
        page.screenshot(path=str(results_dir / f"21-run-parent-child-{theme}.png"))
        detail.locator(".lt-ParentLink").click()
        expect(detail.locator(".lt-RunTitle")).to_have_text("sweep")
        expect(detail.locator(".lt-ChildLink")).to_have_text(["trial-2", "trial-1", "trial-0"])
        expect(detail.locator(".lt-ParentLink")).to_have_count(0)


def test_filter_keeps_the_tree(page: Page, lab_server: LabServer, results_dir: Path) -> None:
    dashboard = open_dashboard(page, lab_server)
    experiment_item(page, "ui-sweep").click()
    expect(names(dashboard)).to_have_text(["sweep"])
    filter_input = dashboard.locator(".lt-FilterInput")

    # A matching child shows under its parent (shown for context only).
    filter_input.fill("metrics.loss < 0.12")
    filter_input.press("Enter")
    expect(names(dashboard)).to_have_text(["sweep", "trial-2"])
    expect(row(dashboard, "sweep")).to_have_class("lt-run-row lt-mod-context")
    expect(row(dashboard, "sweep")).to_have_attribute("aria-expanded", "true")
    expect(row(dashboard, "trial-2")).to_have_attribute("aria-level", "2")
    expect(dashboard.locator(".lt-RunsCount")).to_have_text("1 run")
    page.screenshot(path=str(results_dir / "22-tree-filter-child.png"))

    # A matching parent; "Show children of matches" lists its children.
    filter_input.fill("attributes.run_name = 'sweep'")
    filter_input.press("Enter")
    expect(names(dashboard)).to_have_text(["sweep"])
    show = open_more(dashboard).locator(".lt-ShowChildren")
    expect(show).to_be_enabled()
    show.check()
    expect(names(dashboard)).to_have_text(["sweep", "trial-2", "trial-1", "trial-0"])
    expect(row(dashboard, "trial-0")).to_have_class("lt-run-row lt-mod-context")
    page.screenshot(path=str(results_dir / "23-tree-children-of-matches.png"))
    show.uncheck()
    expect(names(dashboard)).to_have_text(["sweep"])
    filter_input.fill("")
    filter_input.press("Enter")
    expect(show).to_be_disabled()
