"""Run actions and quick filters from the UI (issue #18).

Rename a run, delete and restore runs (with the "Show: Deleted runs" filter),
edit tags on the run page; status and start-time filters composed with the
typed search filter; the runs table downloaded as CSV. Each theme works on
its own experiment, created here through the REST API, so the other tests'
data is untouched.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Locator, Page, expect
from test_ui_contrast import measure
from test_ui_dashboard import experiment_item, open_dashboard, open_more
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer

MLFLOW = "labtrack/api/2.0/mlflow"
DAY_MS = 24 * 3600 * 1000


def seed_experiment(server: LabServer, name: str) -> dict[str, str]:
    """Four runs: statuses and start times the filters tell apart."""
    now = int(time.time() * 1000)
    created: Any = server.api(f"{MLFLOW}/experiments/create", "POST", {"name": name})
    experiment_id = created["experiment_id"]
    runs = {
        "alpha": ("FINISHED", now - 60_000),
        "beta": ("FAILED", now - 3 * DAY_MS),
        "gamma": ("RUNNING", now - 120_000),
        "delta": ("KILLED", now - 40 * DAY_MS),
    }
    ids: dict[str, str] = {}
    for run_name, (status, start) in runs.items():
        run: Any = server.api(
            f"{MLFLOW}/runs/create",
            "POST",
            {"experiment_id": experiment_id, "run_name": run_name, "start_time": start},
        )
        run_id = run["run"]["info"]["run_id"]
        ids[run_name] = run_id
        body: dict[str, object] = {"run_id": run_id, "status": status}
        if status != "RUNNING":
            body["end_time"] = start + 30_000
        server.api(f"{MLFLOW}/runs/update", "POST", body)
    server.api(
        f"{MLFLOW}/runs/set-tag", "POST", {"run_id": ids["alpha"], "key": "team", "value": "vision"}
    )
    return ids


def names(dashboard: Locator) -> Locator:
    return dashboard.locator(".lt-run-row .lt-RunNameText")


def get_run(server: LabServer, run_id: str) -> dict[str, Any]:
    reply: Any = server.api(f"{MLFLOW}/runs/get?run_id={run_id}")
    return reply["run"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_filters_delete_restore_and_csv(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    experiment = f"ui-actions-{theme}"
    ids = seed_experiment(lab_server, experiment)
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        experiment_item(page, experiment).click()
        rows = dashboard.locator(".lt-run-row")
        expect(rows).to_have_count(4)
        status = dashboard.get_by_label("Status", exact=True)
        started = dashboard.get_by_label("Started", exact=True)
        show = dashboard.get_by_label("Show", exact=True)

        # Status alone, then with a start-time window.
        status.select_option(label="Failed")
        expect(names(dashboard)).to_have_text(["beta"])
        started.select_option(label="Last 24 hours")
        expect(dashboard.locator(".lt-RunsCount")).to_contain_text("0")
        expect(rows).to_have_count(0)
        expect(dashboard.get_by_text("No runs match this filter.")).to_be_visible()
        status.select_option(label="Any status")
        expect(names(dashboard)).to_have_text(["alpha", "gamma"])
        # Composed with the typed filter (MLflow's search language).
        filter_input = dashboard.locator(".lt-FilterInput")
        filter_input.fill("tags.team = 'vision'")
        filter_input.press("Enter")
        expect(names(dashboard)).to_have_text(["alpha"])
        filter_input.fill("")
        filter_input.press("Enter")
        started.select_option(label="Last 7 days")
        expect(names(dashboard)).to_have_text(["alpha", "gamma", "beta"])
        page.screenshot(path=str(results_dir / f"90-quick-filters-{theme}.png"))

        # CSV of the table: the listed runs in table order, visible columns
        # (a tag column chosen in the picker).
        dashboard.get_by_role("button", name="Columns").click()
        picker = dashboard.locator(".lt-ColumnPicker")
        picker.get_by_label("team").check()
        picker.get_by_role("button", name="Close").click()
        dashboard.locator('.lt-SortButton[data-column="attributes.run_name"]').click()
        expect(names(dashboard)).to_have_text(["alpha", "beta", "gamma"])
        with page.expect_download() as download_info:
            open_more(dashboard).get_by_role("button", name="Download CSV").click()
        download = download_info.value
        assert download.suggested_filename == f"{experiment}-runs.csv"
        table = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
        assert [r["run_name"] for r in table] == ["alpha", "beta", "gamma"]
        assert [r["status"] for r in table] == ["FINISHED", "FAILED", "RUNNING"]
        assert table[0]["run_id"] == ids["alpha"]
        assert table[0]["tags.team"] == "vision"

        # Delete two runs: a confirmation, then they leave the list.
        started.select_option(label="Any time")
        expect(rows).to_have_count(4)
        for name in ("beta", "gamma"):
            dashboard.locator(f'.lt-run-row[data-run-name="{name}"] .lt-RunSelect').check()
        dashboard.get_by_role("button", name="Delete (2)").click()
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_contain_text("Delete 2 runs?")
        page.screenshot(path=str(results_dir / f"91-delete-confirm-{theme}.png"))
        dialog.get_by_role("button", name="Delete").click()
        expect(names(dashboard)).to_have_text(["alpha", "delta"])
        expect(dashboard.locator(".lt-ActionStatus")).to_have_text("Deleted 2 runs.")
        assert get_run(lab_server, ids["beta"])["info"]["lifecycle_stage"] == "deleted"

        # Show the deleted runs, restore one.
        show.select_option(label="Deleted runs")  # still sorted by name
        expect(names(dashboard)).to_have_text(["beta", "gamma"])
        expect(dashboard.locator(".lt-run-row .lt-DeletedBadge")).to_have_count(2)
        dashboard.locator('.lt-run-row[data-run-name="beta"] .lt-RunSelect').check()
        expect(dashboard.get_by_role("button", name="Restore (1)")).to_be_enabled()
        measure(page, "deleted runs", problems)
        page.screenshot(path=str(results_dir / f"92-deleted-runs-{theme}.png"))
        dashboard.get_by_role("button", name="Restore (1)").click()
        expect(names(dashboard)).to_have_text(["gamma"])
        assert get_run(lab_server, ids["beta"])["info"]["lifecycle_stage"] == "active"
        show.select_option(label="Active and deleted runs")
        expect(names(dashboard)).to_have_text(["alpha", "beta", "delta", "gamma"])
        show.select_option(label="Active runs")
        expect(names(dashboard)).to_have_text(["alpha", "beta", "delta"])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_rename_delete_and_edit_tags_on_the_run_page(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    experiment = f"ui-run-page-{theme}"
    ids = seed_experiment(lab_server, experiment)
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        experiment_item(page, experiment).click()
        dashboard.locator('.lt-run-row[data-run-name="alpha"] .lt-RunNameText').click()
        detail = dashboard.locator(".lt-RunDetail")
        title = detail.locator(".lt-RunTitle")
        expect(title).to_have_text("alpha")

        # Rename in place: an empty name is refused, Escape cancels, Enter saves.
        detail.get_by_role("button", name="Rename").click()
        name_input = detail.get_by_label("New run name")
        expect(name_input).to_be_focused()
        name_input.fill("   ")
        name_input.press("Enter")
        expect(detail.locator(".lt-RenameForm .lt-FieldError")).to_have_text(
            "A run name cannot be empty."
        )
        name_input.press("Escape")
        expect(title).to_have_text("alpha")
        detail.get_by_role("button", name="Rename").click()
        detail.get_by_label("New run name").fill("alpha, tuned")
        page.screenshot(path=str(results_dir / f"93-rename-{theme}.png"))
        detail.get_by_label("New run name").press("Enter")
        expect(title).to_have_text("alpha, tuned")
        assert get_run(lab_server, ids["alpha"])["info"]["run_name"] == "alpha, tuned"

        # Tags: change a value, add one, refuse a bad key, remove one.
        tags = detail.locator(".lt-TagsSection")
        tags.get_by_role("button", name="Edit tag team").click()
        value = tags.get_by_label("Value of tag team")
        value.fill("nlp")
        value.press("Enter")
        expect(tags.locator('td[data-tag="team"]')).to_have_text("nlp")
        tags.get_by_label("New tag key").fill("a=b")
        tags.get_by_role("button", name="Add tag").click()
        expect(tags.locator(".lt-AddTagForm .lt-FieldError")).to_contain_text(
            "letters, digits, spaces"
        )
        tags.get_by_label("New tag key").fill("stage")
        tags.get_by_label("New tag value").fill("prod")
        tags.get_by_role("button", name="Add tag").click()
        expect(tags.locator('td[data-tag="stage"]')).to_have_text("prod")
        expect(tags.get_by_label("New tag key")).to_have_value("")
        # System tags are shown, not editable.
        expect(tags.locator('tr[data-tag-row="mlflow.runName"] .lt-TagEdit')).to_have_count(0)
        tags.get_by_role("button", name="Edit tag stage").click()
        tags.scroll_into_view_if_needed()
        measure(page, "run page tags", problems)
        page.screenshot(path=str(results_dir / f"94-tags-{theme}.png"))
        tags.get_by_role("button", name="Cancel").click()
        tags.get_by_role("button", name="Remove tag stage").click()
        expect(tags.locator('td[data-tag="stage"]')).to_have_count(0)
        server_tags = {
            t["key"]: t["value"] for t in get_run(lab_server, ids["alpha"])["data"]["tags"]
        }
        assert server_tags["team"] == "nlp"
        assert "stage" not in server_tags

        # Delete from the run page, then restore it there.
        detail.get_by_role("button", name="Delete", exact=True).click()
        page.locator(".jp-Dialog").get_by_role("button", name="Delete").click()
        expect(detail.locator(".lt-DetailHeader .lt-DeletedBadge")).to_be_visible()
        restore = detail.get_by_role("button", name="Restore", exact=True)
        expect(restore).to_be_visible()
        measure(page, "deleted run page", problems)
        page.screenshot(path=str(results_dir / f"95-deleted-run-page-{theme}.png"))
        restore.click()
        expect(detail.locator(".lt-DetailHeader .lt-DeletedBadge")).to_have_count(0)
        assert get_run(lab_server, ids["alpha"])["info"]["lifecycle_stage"] == "active"

        # The runs table shows the new name.
        dashboard.locator('.lt-ViewTab[data-view="runs"]').click()
        expect(dashboard.locator('.lt-run-row[data-run-name="alpha, tuned"]')).to_have_count(1)
    assert not problems, "\n".join(problems)
