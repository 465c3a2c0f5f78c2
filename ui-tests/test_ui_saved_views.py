"""Saved views of the runs table (issue #18): the filter, status filter, columns and
sort are saved under a name per experiment, in the settings registry, and brought back
by picking the view (also after a reload)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, expect
from test_ui_contrast import measure
from test_ui_dashboard import experiment_item, open_dashboard, reach
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer

SETTINGS = "lab/api/settings/labtrack:model"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_save_and_apply_a_view(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    before: Any = lab_server.api(SETTINGS)
    problems: list[str] = []
    try:
        with lab_theme(lab_server, theme):
            dashboard = open_dashboard(page, lab_server)
            experiment_item(page, "ui-sweep").click()
            names = dashboard.locator(".lt-run-row .lt-RunNameText")
            expect(names.first).to_have_text("sweep")
            # The state to keep: a filter, a status, a sort (ascending by loss).
            filter_input = dashboard.locator(".lt-FilterInput")
            filter_input.fill("metrics.loss < 1")
            filter_input.press("Enter")
            dashboard.get_by_label("Status", exact=True).select_option(label="Finished")
            dashboard.locator('.lt-SortButton[data-column="metrics.loss"]').click()
            kept = names.all_text_contents()
            assert kept
            dashboard.get_by_role("button", name="Save view…").click()
            dialog = page.locator(".jp-Dialog")
            dialog.locator("input").fill("best finished")
            dialog.get_by_role("button", name="Save").click()
            views = dashboard.get_by_label("Saved views")
            expect(views).to_have_value("best finished")
            measure(page, "saved views", problems)
            page.screenshot(path=str(results_dir / f"9A-saved-view-{theme}.png"))

            # Kept in the settings registry, per experiment.
            saved: Any = lab_server.api(SETTINGS)
            stored = saved["settings"]
            [view] = [v for vs in stored["views"].values() for v in vs]
            assert view["name"] == "best finished"
            assert view["filter"] == "metrics.loss < 1"
            assert view["quick"]["status"] == "FINISHED"
            assert view["sort"] == {"column": "metrics.loss", "ascending": True}

            # Reset everything, then apply the view after a reload.
            dashboard = open_dashboard(page, lab_server)
            experiment_item(page, "ui-sweep").click()
            filter_input = dashboard.locator(".lt-FilterInput")
            expect(dashboard.get_by_label("Status", exact=True)).to_have_value("")
            dashboard.get_by_label("Saved views").select_option("best finished")
            expect(filter_input).to_have_value("metrics.loss < 1")
            expect(dashboard.get_by_label("Status", exact=True)).to_have_value("FINISHED")
            names = dashboard.locator(".lt-run-row .lt-RunNameText")
            expect(names).to_have_text(kept)
            expect(
                dashboard.locator('.lt-SortButton[data-column="metrics.loss"] .lt-SortMark')
            ).to_have_text(" ▲")
            # Delete it (from "More" when the row has no room for the button).
            delete = dashboard.get_by_role("button", name="Delete view", include_hidden=True)
            reach(dashboard, delete).click()
            expect(dashboard.get_by_label("Saved views")).to_be_disabled()
    finally:
        lab_server.api(SETTINGS, "PUT", {"raw": before.get("raw") or "{}"})
    assert not problems, "\n".join(problems)
