"""Live charts (issue #18): a run that logs while it is shown extends its
charts (run page and compare view) without a reload, and the sidebar drops
RUNNING as soon as the run ends, also with a filter set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect
from test_ui_dashboard import experiment_item, open_dashboard
from test_ui_tree import lab_theme

if TYPE_CHECKING:
    from conftest import LabServer

HERE = Path(__file__).resolve().parent
LOG_SECONDS = 30


def x_max(chart: Locator) -> float:
    value = chart.get_attribute("data-x-max")
    assert value, "the chart has no x axis yet"
    return float(value)


def expect_x_grows(page: Page, chart: Locator, seconds: float = 4) -> None:
    """The chart's x axis (and its last point) extend within `seconds`."""
    start_max = x_max(chart)
    start_last = float(chart.get_attribute("data-last-x") or "0")
    handle = chart.element_handle()
    try:
        page.wait_for_function(
            """([el, max, last]) => Number(el.dataset.xMax) > max
                && Number(el.dataset.lastX) > last""",
            arg=[handle, start_max, start_last],
            timeout=seconds * 1000,
        )
    except Exception as error:
        data = chart.evaluate("el => ({...el.dataset})")
        raise AssertionError(
            f"the chart did not extend in {seconds} s: x max {start_max}, last x {start_last}"
            f" then {data}"
        ) from error


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_charts_extend_while_a_run_logs(
    page: Page,
    lab_server: LabServer,
    labtrack_env: dict[str, str],
    results_dir: Path,
    theme: str,
) -> None:
    logger = subprocess.Popen(
        [sys.executable, str(HERE / "live_logger.py"), str(LOG_SECONDS)],
        env={**os.environ, **labtrack_env},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert logger.stdout is not None
        run_id = logger.stdout.readline().strip()
        assert run_id
        with lab_theme(lab_server, theme):
            dashboard = open_dashboard(page, lab_server)
            page.locator('.jp-SideBar [data-id="labtrack-sidebar"]').click()
            sidebar = page.locator("#labtrack-sidebar")
            expect(sidebar).to_be_visible()
            experiment_item(page, "ui-x-live").click()
            row = dashboard.locator(f'.lt-run-row[data-run-id="{run_id}"]')
            expect(row.locator(".lt-StatusBadge")).to_have_text("RUNNING")

            # The run page: the chart's x axis follows the new steps.
            row.locator(".lt-RunNameText").click()
            detail = dashboard.locator(".lt-RunDetail")
            chart = detail.locator('.lt-ChartCard[data-metric="live_loss"] .lt-ChartPlot')
            expect(chart.locator("canvas")).to_have_count(1)
            page.wait_for_function(
                "el => el.dataset.xMax !== undefined && el.dataset.xMax !== ''",
                arg=chart.element_handle(),
            )
            expect_x_grows(page, chart)
            expect_x_grows(page, chart)
            page.screenshot(path=str(results_dir / f"40-live-run-chart-{theme}.png"))

            # The compare view too.
            detail.get_by_role("button", name="Add to comparison").click()
            dashboard.locator('.lt-ViewTab[data-view="compare"]').click()
            curves = dashboard.locator(".lt-CompareView .lt-CurveChart")
            expect(curves).to_have_attribute("data-series-count", "1")
            page.wait_for_function(
                "el => el.dataset.xMax !== undefined && el.dataset.xMax !== ''",
                arg=curves.element_handle(),
            )
            expect_x_grows(page, curves)
            expect_x_grows(page, curves)
            page.screenshot(path=str(results_dir / f"41-live-compare-chart-{theme}.png"))

            # The sidebar with a filter the live run does not match: when the
            # run ends it leaves "Running" at once (not 40 s later).
            box = sidebar.locator(".lt-FilterInput")
            box.fill("params.lr = '0.1'")
            box.press("Enter")
            running = sidebar.locator(f'.lt-SidebarRunning .lt-SidebarRun[data-run-id="{run_id}"]')
            expect(running).to_have_count(1)
            logger.wait(timeout=LOG_SECONDS + 20)
            expect(running).to_have_count(0, timeout=5000)
            recent = sidebar.locator(f'.lt-SidebarRecent .lt-SidebarRun[data-run-id="{run_id}"]')
            expect(recent.locator(".lt-StatusBadge")).to_have_text("FINISHED", timeout=5000)
            page.screenshot(path=str(results_dir / f"42-live-sidebar-finished-{theme}.png"))
    finally:
        if logger.poll() is None:
            logger.kill()
            logger.wait()
        if logger.stdout is not None:
            logger.stdout.close()
