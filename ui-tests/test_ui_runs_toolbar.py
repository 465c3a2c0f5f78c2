"""The runs toolbar fits in two rows at 1280 px (issue #18).

It wrapped to four rows: the saved views, filters, columns, grouping, selection and
download actions each took room. Grouping and the less used actions are now in a "More"
menu that a keyboard opens, walks and closes. The test counts the rows the toolbar's
controls occupy (by their positions on the page) with the lab's file browser open, with
and without a selection and a quick filter, in light and dark.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Locator, Page, expect
from test_ui_contrast import measure
from test_ui_dashboard import experiment_item, open_dashboard, open_more, reach
from test_ui_run_actions import MLFLOW, get_run, seed_experiment
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


# Every visible control of the two bars: inside the runs view (none clipped at its right
# edge) and none overlapping another; the bars' rendered height.
LAYOUT_JS = r"""
() => {
  const view = document.querySelector('.lt-RunsView').getBoundingClientRect();
  const bars = [...document.querySelectorAll(
    '.lt-RunsView .lt-RunsToolbar, .lt-RunsView .lt-RunsFilterBar'
  )].map(b => b.getBoundingClientRect());
  const items = [...document.querySelectorAll(
    '.lt-RunsView .lt-RunsToolbar > *, .lt-RunsView .lt-RunsFilterBar > *'
  )].filter(e => !e.classList.contains('lt-Spacer'));
  const rects = [];
  const problems = [];
  for (const e of items) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const name = (e.getAttribute('aria-label') || e.textContent || e.className).trim();
    if (r.left < view.left - 0.5 || r.right > view.right + 0.5) {
      problems.push(`${name} clipped: ${r.left}-${r.right} outside ${view.left}-${view.right}`);
    }
    if (e.scrollWidth > e.clientWidth + 1 && e.tagName === 'BUTTON') {
      problems.push(`${name} text clipped`);
    }
    for (const [other, o] of rects) {
      if (r.left < o.right - 0.5 && o.left < r.right - 0.5 &&
          r.top < o.bottom - 0.5 && o.top < r.bottom - 0.5) {
        problems.push(`${name} overlaps ${other}`);
      }
    }
    rects.push([name, r]);
  }
  const top = Math.min(...bars.map(b => b.top));
  const bottom = Math.max(...bars.map(b => b.bottom));
  return { height: Math.round(bottom - top), width: Math.round(view.width), problems };
}
"""


def assert_two_rows(page: Page) -> dict[str, Any]:
    """At most two rows of controls (three measured 106 px from the first control's
    top to the last one's bottom, two 66-70 px); none clipped, none overlapping."""
    rows = toolbar_rows(page)
    layout = page.evaluate(LAYOUT_JS)
    assert rows["rows"] <= 2, rows
    assert rows["height"] < 80, rows
    assert layout["height"] < 96, layout  # the two bars with their padding
    assert not layout["problems"], layout["problems"]
    return layout


def set_dashboard_width(page: Page, dashboard: Locator, width: int) -> None:
    """Resize the window so the dashboard (the lab's main area) is `width` px wide."""
    for _ in range(3):
        box = dashboard.bounding_box()
        assert box is not None
        if abs(box["width"] - width) <= 1:
            return
        viewport = page.viewport_size
        assert viewport is not None
        page.set_viewport_size(
            {"width": viewport["width"] - round(box["width"] - width), "height": 800}
        )
        page.wait_for_timeout(200)
    box = dashboard.bounding_box()
    assert box is not None
    assert abs(box["width"] - width) <= 1, box


def reach_by_keyboard(page: Page, dashboard: Locator, control: Locator) -> None:
    """The control takes focus from the keyboard: in the toolbar, or by Tab in "More"."""
    if control.is_visible():
        assert control.evaluate("e => e.tabIndex >= 0 && !e.disabled"), control
        return
    more = dashboard.get_by_role("button", name="More")
    more.focus()
    page.keyboard.press("Enter")
    expect(dashboard.locator(".lt-OverflowPanel")).to_be_visible()
    for _ in range(20):
        if control.evaluate("e => e === document.activeElement"):
            break
        page.keyboard.press("Tab")
    expect(control).to_be_focused()
    page.keyboard.press("Escape")
    expect(more).to_be_focused()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_narrow_runs_toolbar_keeps_two_rows_and_moves_actions_into_more(
    page: Page, lab_server: LabServer, results_dir: Path, theme: str
) -> None:
    """A 600 px dashboard, a filter, and a selection of active and deleted runs: Reset
    filters, Delete and Restore all apply. The toolbar stays in two rows (it wrapped to
    three); what does not fit is in "More"; each action works from where it is."""
    experiment = f"ui-narrow-{theme}"
    ids = seed_experiment(lab_server, experiment)
    for name in ("beta", "delta"):
        lab_server.api(f"{MLFLOW}/runs/delete", "POST", {"run_id": ids[name]})
    with lab_theme(lab_server, theme):
        dashboard = open_dashboard(page, lab_server)
        expect(page.locator("#filebrowser")).to_be_visible()
        set_dashboard_width(page, dashboard, 600)
        experiment_item(page, experiment).click()
        rows = dashboard.locator(".lt-run-row")
        expect(rows).to_have_count(2)

        # The filter (from wherever the Show select is), then a selection.
        reach(dashboard, dashboard.get_by_label("Show", exact=True)).select_option(
            label="Active and deleted runs"
        )
        expect(rows).to_have_count(4)
        page.keyboard.press("Escape")  # the More menu, if the select was there
        for name in ("alpha", "beta"):
            dashboard.locator(f'.lt-run-row[data-run-name="{name}"] .lt-RunSelect').check()
        # By role and name wherever they are (in the closed menu they are hidden).
        actions = {
            "reset": dashboard.get_by_role("button", name="Reset filters", include_hidden=True),
            "delete": dashboard.get_by_role("button", name="Delete (1)", include_hidden=True),
            "restore": dashboard.get_by_role("button", name="Restore (1)", include_hidden=True),
        }
        for action in actions.values():
            expect(action).to_have_count(1)

        # The same state in the lab's usual 1280 px window (a 960 px dashboard), then
        # back to 600 px: the rows refit both ways.
        set_dashboard_width(page, dashboard, 960)
        assert_two_rows(page)
        page.screenshot(path=str(results_dir / f"99-runs-toolbar-960-{theme}.png"))
        set_dashboard_width(page, dashboard, 600)

        page.screenshot(path=str(results_dir / f"99-runs-toolbar-narrow-{theme}.png"))
        layout = assert_two_rows(page)
        assert 370 <= layout["width"] <= 380, layout  # 600 px less the experiments pane

        # Every action can be reached: by the keyboard and by the pointer.
        for action in actions.values():
            reach_by_keyboard(page, dashboard, action)
        for action in actions.values():
            reach(dashboard, action)
            expect(action).to_be_enabled()
            page.keyboard.press("Escape")
        panel = dashboard.locator(".lt-OverflowPanel")
        open_more(dashboard)
        measure_problems: list[str] = []
        measure(page, "narrow runs toolbar (More open)", measure_problems)
        page.screenshot(path=str(results_dir / f"99-runs-toolbar-narrow-more-{theme}.png"))
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()

        # Each works when clicked where it is.
        reach(dashboard, actions["delete"]).click()
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_contain_text("Delete 1 run?")
        dialog.get_by_role("button", name="Delete").click()
        expect(dialog).to_have_count(0)
        expect(dashboard.locator(".lt-ActionStatus")).to_have_text("Deleted 1 run.")
        assert get_run(lab_server, ids["alpha"])["info"]["lifecycle_stage"] == "deleted"
        restore = dashboard.get_by_role("button", name="Restore (1)", include_hidden=True)
        reach(dashboard, restore).click()
        expect(dashboard.locator(".lt-ActionStatus")).to_have_text("Restored 1 run.")
        assert get_run(lab_server, ids["beta"])["info"]["lifecycle_stage"] == "active"
        reset_in_more = not actions["reset"].is_visible()
        reach(dashboard, actions["reset"]).click()
        expect(rows).to_have_count(2)  # active runs only: beta (restored) and gamma
        if reset_in_more:  # used from the menu: the keyboard stays on its button
            expect(panel).to_be_hidden()
            expect(dashboard.get_by_role("button", name="More")).to_be_focused()
        expect(dashboard.get_by_label("Show", exact=True)).to_have_value("active")
        assert_two_rows(page)

        # A wider pane: what was moved comes back into the rows.
        moved = dashboard.locator(".lt-OverflowMoved > .lt-OverflowItem")
        expect(moved).not_to_have_count(0)
        set_dashboard_width(page, dashboard, 960)
        expect(moved).to_have_count(0)
        expect(dashboard.locator(".lt-RunsFilterBar").get_by_label("Show")).to_be_visible()
        assert_two_rows(page)
    assert not measure_problems, "\n".join(measure_problems)
