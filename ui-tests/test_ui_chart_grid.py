"""The compare view's chart grid and metric CSV downloads (issue #18).

Several metric charts at once, each with its own metric choice; the layout
is kept per experiment (local storage) across a reload; a chart's metric
downloads as CSV with every logged point, not the downsampled curve.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect
from test_ui_contrast import measure
from test_ui_dashboard import experiment_item, open_dashboard
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer


def compare_demo_runs(page: Page, server: LabServer) -> Locator:
    dashboard = open_dashboard(page, server)
    experiment_item(page, "ui-demo").click()
    for name in ("r1", "r2"):
        dashboard.locator(f'.lt-run-row[data-run-name="{name}"] .lt-RunSelect').check()
    dashboard.locator(".lt-CompareButton").click()
    return dashboard.locator(".lt-CompareView")


def download_csv(page: Page, target: Locator) -> tuple[str, list[dict[str, str]]]:
    with page.expect_download() as info:
        target.click()
    download = info.value
    text = Path(download.path()).read_text()
    return download.suggested_filename, list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chart_grid_and_metric_csv(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        compare = compare_demo_runs(page, lab_server)
        grid = compare.locator(".lt-ChartGridSection")
        cards = grid.locator(".lt-ChartCard")
        # One chart per metric to begin with, each with both runs' curves.
        expect(cards).to_have_count(2)
        expect(cards.nth(0)).to_have_attribute("data-metric", "accuracy")
        expect(cards.nth(1)).to_have_attribute("data-metric", "loss")
        expect(cards.nth(1).locator(".lt-GridChart")).to_have_attribute("data-series-count", "2")

        # Each chart has its own metric: change one, remove one, add one.
        grid.get_by_label("Metric of chart 1").select_option("loss")
        expect(cards.nth(0)).to_have_attribute("data-metric", "loss")
        grid.get_by_role("button", name="Remove the chart of loss").nth(1).click()
        expect(cards).to_have_count(1)
        grid.get_by_label("Add a chart of a metric").select_option("accuracy")
        expect(cards).to_have_count(2)
        expect(cards.nth(1)).to_have_attribute("data-metric", "accuracy")
        expect(cards.nth(1).locator(".lt-GridChart")).to_have_attribute("data-series-count", "2")
        expect(cards.nth(0).locator(".lt-GridChart canvas").first).to_be_visible()
        grid.scroll_into_view_if_needed()
        measure(page, "chart grid", problems)
        page.screenshot(path=str(results_dir / f"96-chart-grid-{theme}.png"))

        # The main chart's metric as CSV: every point (51 for r1), exact values.
        name, rows = download_csv(page, compare.get_by_role("button", name="Download CSV"))
        assert name == "loss.csv"
        assert {r["key"] for r in rows} == {"loss"}
        r1 = [r for r in rows if r["run_name"] == "r1"]
        r2 = [r for r in rows if r["run_name"] == "r2"]
        assert len(r1) == 51
        assert len(r2) == 2
        assert r1[-1]["step"] == "51"
        assert float(r1[-1]["value"]) == 0.25
        assert [float(r["value"]) for r in r2] == [0.9, 0.75]
        # A grid chart's CSV.
        name, rows = download_csv(page, grid.get_by_role("button", name="Download accuracy as CSV"))
        assert name == "accuracy.csv"
        assert sorted((r["run_name"], r["value"]) for r in rows) == [
            ("r1", "0.875"),
            ("r2", "0.625"),
        ]

        # A run page chart's CSV: every point of the run's metric.
        compare.locator(".lt-RunChip .lt-LinkButton", has_text="r1").click()
        detail = page.locator(".lt-RunDetail")
        expect(detail.locator(".lt-RunTitle")).to_have_text("r1")
        name, rows = download_csv(page, detail.get_by_role("button", name="Download loss as CSV"))
        assert name == "loss.csv"
        assert len(rows) == 51
        assert {r["run_name"] for r in rows} == {"r1"}

        # The layout is kept for the experiment across a reload.
        compare = compare_demo_runs(page, lab_server)
        cards = compare.locator(".lt-ChartGridSection .lt-ChartCard")
        expect(cards).to_have_count(2)
        expect(cards.nth(0)).to_have_attribute("data-metric", "loss")
        expect(cards.nth(1)).to_have_attribute("data-metric", "accuracy")
        compare.get_by_role("button", name="Reset charts").click()
        expect(cards.nth(0)).to_have_attribute("data-metric", "accuracy")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_run_page_chart_grid(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    """A run's page shows its metrics as a chart grid: each chart's metric is chosen, charts
    are added and removed, and the arrangement is kept for the runs of the experiment."""
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        experiment_item(page, "ui-demo").click()
        dashboard.locator('.lt-run-row[data-run-name="r1"] .lt-RunNameText').click()
        detail = dashboard.locator(".lt-RunDetail")
        expect(detail.locator(".lt-RunTitle")).to_have_text("r1")
        grid = detail.locator(".lt-ChartGridSection")
        cards = grid.locator(".lt-ChartCard")
        # One chart per metric of the run to begin with, sorted.
        expect(cards).to_have_count(2)
        expect(cards.nth(0)).to_have_attribute("data-metric", "accuracy")
        expect(cards.nth(1)).to_have_attribute("data-metric", "loss")
        expect(cards.nth(1).locator(".lt-GridChart")).to_have_attribute("data-series-count", "1")
        # Chart 1 shows loss too; a third chart of accuracy is added.
        grid.get_by_label("Metric of chart 1").select_option("loss")
        expect(cards.nth(0)).to_have_attribute("data-metric", "loss")
        expect(cards.nth(0).locator(".lt-GridChart")).to_have_attribute("data-series-count", "1")
        grid.get_by_label("Add a chart of a metric").select_option("accuracy")
        expect(cards).to_have_count(3)
        grid.scroll_into_view_if_needed()
        measure(page, "run page chart grid", problems)
        page.screenshot(path=str(results_dir / f"96-run-chart-grid-{theme}.png"))

        # Another run of the experiment: the same arrangement, its own curves.
        dashboard.locator('.lt-ViewTab[data-view="runs"]').click()
        dashboard.locator('.lt-run-row[data-run-name="r2"] .lt-RunNameText').click()
        expect(detail.locator(".lt-RunTitle")).to_have_text("r2")
        expect(cards).to_have_count(3)
        expect(cards.nth(0)).to_have_attribute("data-metric", "loss")
        expect(cards.nth(2)).to_have_attribute("data-metric", "accuracy")
        expect(cards.nth(0).locator(".lt-GridChart")).to_have_attribute("data-series-count", "1")
        # Reset goes back to one chart per metric.
        grid.get_by_role("button", name="Reset charts").click()
        expect(cards).to_have_count(2)
        expect(cards.nth(0)).to_have_attribute("data-metric", "accuracy")
    assert not problems, "\n".join(problems)
