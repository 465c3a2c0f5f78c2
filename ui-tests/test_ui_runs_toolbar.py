"""The runs toolbar fits in two rows at 1280 px (issue #18).

It wrapped to four rows: the saved views, filters, columns, grouping, selection and
download actions each took room. Grouping and the less used actions are now in a "More"
menu that a keyboard opens, walks and closes. The test counts the rows the toolbar's
controls occupy (by their positions on the page) with the lab's file browser open, with
and without a selection and a quick filter, in light and dark.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from test_ui_contrast import measure
from test_ui_dashboard import experiment_item, open_dashboard
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer

# The rows of the visible controls of the two bars: their vertical centres, clustered.
ROWS_JS = r"""
() => {
  const items = [...document.querySelectorAll(
    '.lt-RunsView .lt-RunsToolbar > *, .lt-RunsView .lt-RunsFilterBar > *'
  )].filter(e => !e.classList.contains('lt-Spacer'));
  const centres = [];
  let top = Infinity, bottom = -Infinity;
  for (const e of items) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    centres.push((r.top + r.bottom) / 2);
    top = Math.min(top, r.top);
    bottom = Math.max(bottom, r.bottom);
  }
  centres.sort((a, b) => a - b);
  let rows = 0, last = -Infinity;
  for (const c of centres) {
    if (c - last > 12) rows++;
    last = c;
  }
  return { rows, height: Math.round(bottom - top), controls: centres.length };
}
"""


def toolbar_rows(page: Page) -> dict[str, int]:
    return page.evaluate(ROWS_JS)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_runs_toolbar_fits_two_rows_and_more_menu_works_by_keyboard(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    problems: list[str] = []
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        assert page.viewport_size == {"width": 1280, "height": 800}
        # The file browser stays open: the narrower, usual layout.
        expect(page.locator("#filebrowser")).to_be_visible()
        experiment_item(page, "ui-grid").click()
        expect(dashboard.locator(".lt-run-row")).to_have_count(10)
        rows = toolbar_rows(page)
        assert rows["controls"] >= 8, rows
        assert rows["rows"] <= 2, rows
        assert rows["height"] < 80, rows

        # A selection (Delete shows) and a quick filter (Reset shows): still two rows.
        for name in ("g-0.1-2", "g-0.01-8"):
            dashboard.locator(f'.lt-run-row[data-run-name="{name}"] .lt-RunSelect').check()
        dashboard.get_by_label("Status").select_option("FINISHED")
        expect(dashboard.get_by_role("button", name="Delete (2)")).to_be_visible()
        expect(dashboard.get_by_role("button", name="Reset filters")).to_be_visible()
        rows = toolbar_rows(page)
        assert rows["rows"] <= 2, rows
        page.screenshot(path=str(results_dir / f"99-runs-toolbar-{theme}.png"))

        # The More menu by keyboard: Enter opens it on its first control, Tab walks it,
        # Enter on a button acts and closes it, Escape closes it back on the button.
        more = dashboard.get_by_role("button", name="More")
        panel = dashboard.locator(".lt-OverflowPanel")
        expect(more).to_have_attribute("aria-expanded", "false")
        more.focus()
        page.keyboard.press("Enter")
        expect(panel).to_be_visible()
        expect(more).to_have_attribute("aria-expanded", "true")
        group = panel.get_by_label("Group runs by a parameter")
        expect(group).to_be_focused()
        measure(page, "runs toolbar (More open)", problems)
        page.screenshot(path=str(results_dir / f"99-runs-toolbar-more-{theme}.png"))
        page.keyboard.press("Tab")
        expect(panel.get_by_role("button", name="Select all")).to_be_focused()
        page.keyboard.press("Enter")
        expect(panel).to_be_hidden()
        expect(dashboard.locator(".lt-CompareButton")).to_have_text("Compare (10)")
        more.focus()
        page.keyboard.press("Enter")
        expect(panel).to_be_visible()
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(more).to_be_focused()
        # Grouping from the menu still groups the table.
        more.click()
        group.select_option("params.optimizer")
        expect(dashboard.locator(".lt-GroupRow")).to_have_count(2)
        # A click elsewhere closes it.
        dashboard.locator(".lt-RunsCount").click()
        expect(panel).to_be_hidden()
    assert not problems, "\n".join(problems)
