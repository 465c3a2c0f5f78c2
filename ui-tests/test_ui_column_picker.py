"""The column picker (issue #18): every column and the Reset/Close buttons
are visible and clickable (nothing clipped or covered by the table header),
and a search narrows the list.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect
from test_ui_dashboard import experiment_item, open_dashboard
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer

PARAMS = [
    "batch_size",
    "dropout",
    "epochs",
    "lr",
    "momentum",
    "optimizer",
    "search",
    "seed",
    "warmup_steps",
    "weight_decay",
]


def on_top(element: Locator) -> bool:
    """The element (or a child) is what a click at its center hits."""
    return bool(
        element.evaluate(
            """el => {
                const r = el.getBoundingClientRect();
                const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                return r.width > 0 && r.height > 0 && !!hit && (hit === el || el.contains(hit));
            }"""
        )
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_column_picker_shows_everything_and_searches(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        experiment_item(page, "ui-sweep").click()
        expect(dashboard.locator(".lt-run-row")).to_have_count(1)
        dashboard.get_by_role("button", name="Columns").click()
        picker = dashboard.locator(".lt-ColumnPicker")
        expect(picker).to_be_visible()
        search = picker.locator(".lt-ColumnSearch")
        expect(search).to_be_focused()

        # Every parameter (the 6th and later too) and both buttons can be seen and hit.
        labels = picker.locator(".lt-PickerGroup label")
        params = picker.locator(".lt-PickerGroup", has_text="Parameters").locator("label")
        expect(params).to_have_text(PARAMS)
        for index in range(params.count()):
            label = params.nth(index)
            label.scroll_into_view_if_needed()
            assert on_top(label), f"parameter {PARAMS[index]} is clipped or covered"
        for name in ("Reset", "Close"):
            assert on_top(picker.get_by_role("button", name=name)), f"{name} is covered"
        page.screenshot(path=str(results_dir / f"60-column-picker-{theme}.png"))

        # Search narrows the list; picking from it adds the column.
        search.fill("DEC")
        expect(labels).to_have_text(["weight_decay"])
        expect(picker.locator("legend")).to_have_text(["Parameters (1 of 10)"])
        labels.first.locator("input").check()
        expect(dashboard.locator('.lt-RunsTable th[title="params.weight_decay"]')).to_have_count(1)
        expect(search).to_have_value("DEC")  # the list re-rendered, the search stayed
        search.fill("zzz")
        expect(labels).to_have_count(0)
        expect(picker.locator(".lt-Empty")).to_have_text('No columns match "zzz".')
        page.screenshot(path=str(results_dir / f"61-column-picker-search-{theme}.png"))
        search.fill("")
        picker.get_by_role("button", name="Reset").click()
        # The default columns are the first eight parameters.
        expect(dashboard.locator('.lt-RunsTable th[title="params.weight_decay"]')).to_have_count(0)
        expect(dashboard.locator('.lt-RunsTable th[title="params.seed"]')).to_have_count(1)
        picker.get_by_role("button", name="Close").click()
        expect(picker).to_be_hidden()
