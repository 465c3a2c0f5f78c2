"""The compare view's box and contour plots (issue #18, as MLflow's compare-runs page).

A grid search (`ui-grid`: lr x depth, a text param, a score logged over epochs, one run
without depth) is compared: the box plot groups the score by a chosen param or shows each
run's history, the contour draws the score over two params; both name runs on hover, and
say in words why nothing is drawn (text params, too few positions, a param's history).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect
from test_ui_contrast import measure
from test_ui_dashboard import experiment_item, open_dashboard, open_more
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer


def compare_grid(page: Page, server: LabServer, names: list[str] | None = None) -> Locator:
    dashboard = open_dashboard(page, server)
    experiment_item(page, "ui-grid").click()
    expect(dashboard.locator(".lt-run-row")).to_have_count(10)
    if names is None:
        open_more(dashboard).locator(".lt-SelectAll").click()
    else:
        for name in names:
            dashboard.locator(f'.lt-run-row[data-run-name="{name}"] .lt-RunSelect').check()
    dashboard.locator(".lt-CompareButton").click()
    return dashboard.locator(".lt-CompareView")


def axis_labels(plot: Locator) -> list[str]:
    """The x axis's tick labels as drawn (SVG text)."""
    labels = plot.locator("g.role-axis-label").first.locator("text")
    return labels.evaluate_all("nodes => nodes.map(n => n.textContent)")


def hover_tooltip(page: Page, plot: Locator, run: str) -> None:
    """Hover the run dots until one names `run` in vega's tooltip."""
    dots = plot.locator("g.mark-symbol path")
    tooltip = page.locator("#vg-tooltip-element")
    for i in range(dots.count()):
        dots.nth(i).hover(force=True)
        page.wait_for_timeout(80)
        if tooltip.is_visible() and run in tooltip.inner_text():
            return
    raise AssertionError(f"no dot's tooltip names {run}")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_box_plot_groups_by_param_and_per_run(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        compare = compare_grid(page, lab_server)
        box = compare.locator(".lt-BoxPlotSection")
        plot = box.locator(".lt-VegaPlot")
        box.scroll_into_view_if_needed()
        # The chart's metric by the first param that differs (depth), unset last.
        expect(box.get_by_label("Box plot value")).to_have_value("metrics.score")
        expect(box.get_by_label("Box plot groups")).to_have_value("params.depth")
        expect(plot).to_have_attribute("data-drawn", "true")
        expect(plot).to_have_attribute("data-groups", "4")
        expect(plot).to_have_attribute("data-points", "10")
        assert axis_labels(plot) == ["2", "4", "8", "(not set)"]
        # A text param groups as categories.
        box.get_by_label("Box plot groups").select_option("params.optimizer")
        expect(plot).to_have_attribute("data-groups", "2")
        assert axis_labels(plot) == ["adam", "sgd"]
        hover_tooltip(page, plot, "g-0.1-8")
        page.screenshot(path=str(results_dir / f"97-compare-box-{theme}.png"))
        page.mouse.move(1, 1)

        # Each run's history: one box per run, 5 epochs each (1 for g-no-depth).
        box.get_by_label("Box plot groups").select_option(":history")
        expect(plot).to_have_attribute("data-mode", "history")
        expect(plot).to_have_attribute("data-groups", "10")
        expect(plot).to_have_attribute("data-points", "46")
        box.scroll_into_view_if_needed()
        measure(page, "box plot", problems)
        page.screenshot(path=str(results_dir / f"97-compare-box-history-{theme}.png"))
        # A param has no history: said so, nothing drawn.
        box.get_by_label("Box plot value").select_option("params.lr")
        expect(box.locator(".lt-PlotNote")).to_contain_text("lr is a param")
        expect(plot).to_have_attribute("data-drawn", "false")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_contour_plot_of_a_metric_over_two_params(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        compare = compare_grid(page, lab_server)
        contour = compare.locator(".lt-ContourSection")
        plot = contour.locator(".lt-VegaPlot")
        contour.scroll_into_view_if_needed()
        expect(contour.get_by_label("Contour x axis")).to_have_value("params.depth")
        expect(contour.get_by_label("Contour y axis")).to_have_value("params.lr")
        expect(contour.get_by_label("Contour color metric")).to_have_value("metrics.score")
        expect(plot).to_have_attribute("data-drawn", "true")
        # The run without depth is left out, and named.
        expect(plot).to_have_attribute("data-points", "9")
        expect(contour.locator(".lt-PlotNote")).to_contain_text("g-no-depth")
        # lr spans two decades: a log axis.
        expect(plot).to_have_attribute("data-log-y", "true")
        expect(plot.locator("g.mark-rule line").first).to_be_attached()
        expect(plot.locator("g.role-legend")).to_contain_text("score")
        hover_tooltip(page, plot, "g-0.01-4")
        page.screenshot(path=str(results_dir / f"98-compare-contour-{theme}.png"))
        page.mouse.move(1, 1)
        measure(page, "contour plot", problems)

        # A text param cannot be an axis: said why.
        contour.get_by_label("Contour x axis").select_option("params.optimizer")
        note = contour.locator(".lt-PlotNote")
        expect(note).to_contain_text("optimizer has text values (adam, sgd)")
        expect(plot).to_have_attribute("data-drawn", "false")
        expect(plot.locator("svg")).to_have_count(0)
        page.screenshot(path=str(results_dir / f"98-compare-contour-text-{theme}.png"))

        # Two runs: too few positions for a contour.
        compare = compare_grid(page, lab_server, ["g-0.1-2", "g-0.01-8"])
        contour = compare.locator(".lt-ContourSection")
        expect(contour.locator(".lt-PlotNote")).to_contain_text(
            "3 or more distinct (x, y) positions; these runs have 2"
        )
        expect(contour.locator(".lt-VegaPlot")).to_have_attribute("data-problem", "too-few")
    assert not problems, "\n".join(problems)
