"""Keyboard use of the runs table and "Copy as code" (issue #18)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from test_ui_dashboard import experiment_item, open_dashboard, open_more
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_keyboard_and_copy_as_code(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        experiment_item(page, "ui-demo").click()
        rows = dashboard.locator(".lt-run-row")
        expect(rows).to_have_count(2)

        # Tab reaches the table once (one row is the tab stop); arrows move,
        # space selects, enter opens.
        expect(dashboard.locator('.lt-run-row[tabindex="0"]')).to_have_count(1)
        r2 = dashboard.locator('.lt-run-row[data-run-name="r2"]')
        r1 = dashboard.locator('.lt-run-row[data-run-name="r1"]')
        r2.focus()
        page.keyboard.press("ArrowDown")
        expect(r1).to_be_focused()
        page.keyboard.press("Space")
        expect(r1).to_have_attribute("aria-selected", "true")
        page.keyboard.press("ArrowUp")
        expect(r2).to_be_focused()
        page.keyboard.press("End")
        expect(r1).to_be_focused()
        page.keyboard.press("Enter")
        expect(dashboard.locator(".lt-RunDetail .lt-RunTitle")).to_have_text("r1")
        dashboard.locator('.lt-ViewTab[data-view="runs"]').click()

        # Copy as code: the filter and the sort of the table.
        filter_input = dashboard.locator(".lt-FilterInput")
        filter_input.fill("params.optimizer = 'adam'")
        filter_input.press("Enter")
        expect(rows).to_have_count(2)
        dashboard.locator('.lt-SortButton[data-column="metrics.loss"]').click()
        dashboard.locator('.lt-SortButton[data-column="metrics.loss"]').click()  # descending
        expect(rows.locator(".lt-RunNameText")).to_have_text(["r2", "r1"])
        open_more(dashboard).get_by_role("button", name="Copy as code").click()
        code = (
            'lt.search_runs(experiment_ids=["1"], '
            "filter_string=\"params.optimizer = 'adam'\", "
            'order_by=["metrics.loss DESC"])'
        )
        expect(dashboard.locator(".lt-CopiedCode")).to_have_text(code)
        assert page.evaluate("() => navigator.clipboard.readText()") == code
        page.screenshot(path=str(results_dir / f"80-copy-as-code-{theme}.png"))
        # Another sort: the message no longer describes the table and goes.
        dashboard.locator('.lt-SortButton[data-column="metrics.loss"]').click()
        expect(dashboard.locator(".lt-CopiedCode")).to_have_count(0)
        open_more(dashboard).get_by_role("button", name="Copy as code").click()
        expect(dashboard.locator(".lt-CopiedCode")).to_contain_text(
            'order_by=["attributes.start_time DESC"]'
        )
        filter_input.fill("")
        filter_input.press("Enter")
