"""Opening the dashboard (issue #18): it opens the last experiment (or the
most recently active one) instead of "Select an experiment", names
experiments instead of showing their ids, keeps the real count beside a
refused filter, and the Models tab does not ask for an experiment.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from test_ui_dashboard import experiment_item, open_dashboard
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_dashboard_opens_the_last_experiment(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        # Some experiment is open at once: no "Select an experiment".
        expect(dashboard.locator('.lt-experiment-item[aria-pressed="true"]')).to_have_count(1)
        expect(dashboard.locator(".lt-Empty", has_text="Select an experiment")).to_have_count(0)
        experiment_item(page, "ui-sweep").click()
        expect(experiment_item(page, "ui-sweep")).to_have_attribute("aria-pressed", "true")

        # Reopened: the last experiment is selected again (remembered per user).
        dashboard = open_dashboard(page, lab_server)
        expect(experiment_item(page, "ui-sweep")).to_have_attribute("aria-pressed", "true")
        expect(dashboard.locator(".lt-run-row")).to_have_count(1)
        expect(dashboard.locator("#lt-runs-heading")).to_have_text("Runs of ui-sweep")

        # A refused filter: the error, and the real count instead of "0 of N".
        filter_input = dashboard.locator(".lt-FilterInput")
        filter_input.fill("metrics.loss < 0.12")
        filter_input.press("Enter")
        expect(dashboard.locator(".lt-RunsCount")).to_have_text("1 run")
        filter_input.fill("metrics.loss <<< 1")
        filter_input.press("Enter")
        expect(dashboard.locator(".lt-FilterError")).not_to_be_empty()
        expect(dashboard.locator(".lt-RunsCount")).to_have_text("Invalid filter (5 runs in all)")
        page.screenshot(path=str(results_dir / f"70-invalid-filter-count-{theme}.png"))
        filter_input.fill("")
        filter_input.press("Enter")
        expect(dashboard.locator(".lt-RunsCount")).to_have_text("5 runs")

        # The experiment is named, not shown as its id (run page, compare).
        experiment_item(page, "ui-demo").click()
        dashboard.locator('.lt-run-row[data-run-name="r1"] .lt-RunSelect').check()
        dashboard.locator('.lt-run-row[data-run-name="r1"] .lt-RunNameText').click()
        overview = dashboard.locator(".lt-RunDetail .lt-Overview")
        expect(overview.locator("dt", has_text="Experiment").locator("+ dd")).to_have_text(
            "ui-demo (#1)"
        )
        dashboard.locator('.lt-ViewTab[data-view="compare"]').click()
        side = dashboard.locator(".lt-SideBySide")
        experiment_row = side.locator("tr", has=page.locator("th", has_text="Experiment"))
        expect(experiment_row.locator("td")).to_have_text(["ui-demo (#1)"])
        dashboard.locator(".lt-RunChip .lt-IconButton").first.click()

        # With no experiment selected, the Models tab does not ask for one.
        dashboard.locator('.lt-ViewTab[data-view="runs"]').click()
        experiment_item(page, "ui-demo").click(modifiers=["Control"])
        expect(experiment_item(page, "ui-demo")).to_have_attribute("aria-pressed", "false")
        expect(dashboard.locator(".lt-Empty", has_text="Select an experiment")).to_have_text(
            "Select an experiment to see its runs."
        )
        dashboard.locator('.lt-ViewTab[data-view="models"]').click()
        expect(dashboard.locator(".lt-RegistryView")).to_be_visible()
        expect(dashboard.locator(".lt-Empty", has_text="Select an experiment")).to_have_count(0)
        page.screenshot(path=str(results_dir / f"71-models-no-experiment-{theme}.png"))
