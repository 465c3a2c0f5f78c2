"""Every view is readable in JupyterLab Light and Dark (issue #18).

For each visible text element of the dashboard and the sidebar, the test
computes the WCAG contrast ratio between the text color and the background
actually behind it (ancestor backgrounds composited, opacity applied) and
fails listing every element under 4.5:1 (3:1 for large text and disabled
controls). Text drawn on a canvas (chart axes) is not DOM text and is not
measured here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from contrast import CONTRAST_JS
from playwright.sync_api import Locator, Page, expect
from test_ui_dashboard import experiment_item, open_dashboard
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer

ROOTS = [".lt-Dashboard", "#labtrack-sidebar", ".lt-DashboardWidget .jp-Toolbar"]


def measure(page: Page, view: str, problems: list[str]) -> None:
    page.mouse.move(1, 1)  # no hover state
    page.wait_for_timeout(300)  # transitions end
    result = page.evaluate(CONTRAST_JS, ROOTS)
    assert result["checked"] > 10, f"{view}: only {result['checked']} texts found"
    for o in result["offenders"]:
        problems.append(
            f"{view}: {o['element']} {o['text']!r} {o['color']} on {o['background']}"
            f" = {o['ratio']}:1 (needs {o['need']}:1)"
        )


def open_sidebar(page: Page) -> Locator:
    page.locator('.jp-SideBar [data-id="labtrack-sidebar"]').click()
    sidebar = page.locator("#labtrack-sidebar")
    expect(sidebar).to_be_visible()
    return sidebar


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_view_has_readable_contrast(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        dark = "false" if theme == "dark" else "true"
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", dark)
        sidebar = open_sidebar(page)

        # Runs table with a selection (and a parent row of the tree), sidebar.
        experiment_item(page, "ui-demo").click()
        rows = dashboard.locator(".lt-run-row")
        expect(rows).to_have_count(2)
        for name in ("r1", "r2"):
            dashboard.locator(f'.lt-run-row[data-run-name="{name}"] .lt-RunSelect').check()
        expect(sidebar.locator(".lt-SidebarCompare")).to_have_text("Compare (2)")
        measure(page, "runs table", problems)
        page.screenshot(path=str(results_dir / f"30-contrast-runs-{theme}.png"))

        # Compare, with the side-by-side diff table.
        dashboard.locator(".lt-CompareButton").click()
        chart = dashboard.locator(".lt-CompareView .lt-CurveChart")
        expect(chart).to_have_attribute("data-series-count", "2")
        expect(dashboard.locator('.lt-SideBySide tr[data-differs="true"]').first).to_be_visible()
        measure(page, "compare", problems)
        dashboard.locator(".lt-SideBySide").scroll_into_view_if_needed()
        measure(page, "compare (diff table)", problems)
        # The box and contour plots (two runs: the contour says why there is none).
        box = dashboard.locator(".lt-BoxPlotSection")
        expect(box.locator(".lt-VegaPlot")).to_have_attribute("data-drawn", "true")
        expect(dashboard.locator(".lt-ContourSection .lt-PlotNote")).not_to_be_empty()
        box.scroll_into_view_if_needed()
        measure(page, "compare (box and contour plots)", problems)
        page.screenshot(path=str(results_dir / f"31-contrast-compare-{theme}.png"))

        # Run detail.
        dashboard.locator(".lt-RunChip[data-run-id] .lt-LinkButton", has_text="r1").click()
        detail = dashboard.locator(".lt-RunDetail")
        expect(detail.locator(".lt-RunTitle")).to_have_text("r1")
        expect(detail.locator(".lt-NoteBody h1")).to_contain_text("Baseline")
        expect(detail.locator(".lt-ArtifactItem").first).to_be_visible()
        measure(page, "run detail", problems)
        page.screenshot(path=str(results_dir / f"32-contrast-run-{theme}.png"))

        # Registry with alias badges.
        dashboard.locator('.lt-ViewTab[data-view="models"]').click()
        registry = dashboard.locator(".lt-RegistryView")
        registry.locator('.lt-ModelItem[data-model-name="ui-model"]').click()
        expect(registry.locator(".lt-AliasName").first).to_be_visible()
        measure(page, "registry", problems)
        page.screenshot(path=str(results_dir / f"33-contrast-registry-{theme}.png"))

        # The nested tree with a selected child.
        dashboard.locator('.lt-ViewTab[data-view="runs"]').click()
        experiment_item(page, "ui-sweep").click()
        sweep = dashboard.locator('.lt-run-row[data-run-name="sweep"]')
        sweep.locator(".lt-TreeToggle").click()
        dashboard.locator('.lt-run-row[data-run-name="trial-1"] .lt-RunSelect').check()
        measure(page, "runs tree", problems)
    assert not problems, f"{len(problems)} texts below WCAG contrast in {theme}:\n" + "\n".join(
        problems
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_an_error_box_is_readable(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    """The error box (a server's MLflow error shown in the dashboard): its red title and its
    message stay readable on the box's background in both themes."""
    page.route(
        re.compile(r".*/labtrack/api/2\.0/mlflow/experiments/search.*"),
        lambda route: route.fulfill(
            status=400,
            content_type="application/json",
            body='{"error_code": "INVALID_PARAMETER_VALUE", "message": "a bad value"}',
        ),
    )
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        error = dashboard.locator(".lt-error")
        expect(error.locator(".lt-ErrorMessage")).to_have_text("a bad value")
        page.mouse.move(1, 1)
        page.wait_for_timeout(300)
        result = page.evaluate(CONTRAST_JS, [".lt-error"])
        page.screenshot(path=str(results_dir / f"34-contrast-error-{theme}.png"))
    assert result["checked"] >= 2, result  # the title and the message at least
    assert not result["offenders"], result["offenders"]
