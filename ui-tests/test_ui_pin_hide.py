"""Pin and hide runs (issue #18): a pinned run stays at the top of the runs table
whatever the filter (and after a reload); a hidden run stays listed but is left out
of the compare charts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, expect
from test_ui_contrast import measure
from test_ui_dashboard import experiment_item, open_dashboard
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer

MLFLOW = "labtrack/api/2.0/mlflow"


def seed(server: LabServer, name: str) -> None:
    now = int(time.time() * 1000)
    created: Any = server.api(f"{MLFLOW}/experiments/create", "POST", {"name": name})
    for age, run_name in enumerate(("a1", "b1", "c1"), start=1):
        start = now - age * 60_000
        run: Any = server.api(
            f"{MLFLOW}/runs/create",
            "POST",
            {"experiment_id": created["experiment_id"], "run_name": run_name, "start_time": start},
        )
        run_id = run["run"]["info"]["run_id"]
        for step in range(3):
            server.api(
                f"{MLFLOW}/runs/log-metric",
                "POST",
                {
                    "run_id": run_id,
                    "key": "loss",
                    "value": 1.0 / (step + age),
                    "timestamp": start + step,
                    "step": step,
                },
            )
        server.api(f"{MLFLOW}/runs/update", "POST", {"run_id": run_id, "status": "FINISHED"})


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_pinned_runs_stay_on_top_and_hidden_runs_leave_the_charts(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    experiment = f"ui-pins-{theme}"
    seed(lab_server, experiment)
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        experiment_item(page, experiment).click()
        names = dashboard.locator(".lt-run-row .lt-RunNameText")
        expect(names).to_have_text(["a1", "b1", "c1"])

        # Pin the oldest run: it moves to the top.
        row_c1 = dashboard.locator('.lt-run-row[data-run-name="c1"]')
        row_c1.hover()
        row_c1.get_by_role("button", name="Pin c1 to the top").click()
        expect(names).to_have_text(["c1", "a1", "b1"])
        expect(row_c1.get_by_role("button", name="Unpin c1")).to_have_attribute(
            "aria-pressed", "true"
        )
        # A filter that c1 does not match keeps it on top.
        filter_input = dashboard.locator(".lt-FilterInput")
        filter_input.fill("attributes.run_name = 'a1'")
        filter_input.press("Enter")
        expect(names).to_have_text(["c1", "a1"])
        filter_input.fill("")
        filter_input.press("Enter")
        expect(names).to_have_text(["c1", "a1", "b1"])

        # Hide b1: still listed, out of the charts.
        row_b1 = dashboard.locator('.lt-run-row[data-run-name="b1"]')
        row_b1.hover()
        row_b1.get_by_role("button", name="Hide b1 from charts").click()
        expect(row_b1).to_have_class(re_class("lt-mod-hidden"))
        for name in ("a1", "b1", "c1"):
            dashboard.locator(f'.lt-run-row[data-run-name="{name}"] .lt-RunSelect').check()
        page.mouse.move(1, 1)
        measure(page, "pinned and hidden runs", problems)
        page.screenshot(path=str(results_dir / f"99-pin-hide-{theme}.png"))
        dashboard.locator(".lt-CompareButton").click()
        compare = dashboard.locator(".lt-CompareView")
        expect(compare.locator(".lt-RunChip")).to_have_count(3)  # still compared
        expect(compare.locator(".lt-CurveChart")).to_have_attribute("data-series-count", "2")
        expect(compare.locator(".lt-GridChart").first).to_have_attribute("data-series-count", "2")
        page.screenshot(path=str(results_dir / f"99-pin-hide-compare-{theme}.png"))

        # Kept across a reload.
        dashboard = open_dashboard(page, lab_server)
        experiment_item(page, experiment).click()
        names = dashboard.locator(".lt-run-row .lt-RunNameText")
        expect(names).to_have_text(["c1", "a1", "b1"])
        expect(dashboard.locator('.lt-run-row[data-run-name="b1"]')).to_have_class(
            re_class("lt-mod-hidden")
        )
    assert not problems, "\n".join(problems)


def re_class(name: str) -> Any:
    import re

    return re.compile(rf"\b{name}\b")
