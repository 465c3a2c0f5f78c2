"""Browser tests of labtrack's notebook widgets in a real JupyterLab, with no internet.

A notebook runs a `%%labtrack` training cell (metrics logged with sleeps for ~6 s); the live run
widget's numbers change while the cell is still running, and the Altair (Vega-Lite v6) charts
render offline through labtrack's bundled renderer.

Run from the repository root:  .venv/bin/python -m pytest ui-tests/test_ui_widgets.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, Route, expect

if TYPE_CHECKING:
    from conftest import LabServer

NOTEBOOK = "widgets-live.ipynb"
TRAIN_STEPS = 12
STEP_SECONDS = 0.5  # ~6 s of training

CELLS = [
    'import time\nimport altair as alt\nimport labtrack as lt\nlt.set_experiment("ui-widgets")',
    "%%labtrack ui-live --param lr=0.1\n"
    f"for step in range({TRAIN_STEPS}):\n"
    '    lt.log_metric("loss", round(1.0 / (step + 1), 4), step=step)\n'
    '    lt.log_metric("accuracy", round(0.5 + step / 40, 4), step=step)\n'
    f"    time.sleep({STEP_SECONDS})",
    'points = alt.Data(values=[{"x": i, "y": i * i} for i in range(10)])\n'
    'lt.show(alt.Chart(points).mark_line().encode(x="x:Q", y="y:Q"))',
    'lt.compare(lt.search_runs(experiment_names=["ui-demo", "ui-widgets"]), metric="loss")',
    'table = lt.runs_table("ui-demo", order_by="metrics.loss ASC")\ntable',
    'print("selected:", [r.info.run_name for r in table.selected_runs])',
]


def _notebook() -> dict:
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": src,
                "outputs": [],
                "execution_count": None,
            }
            for src in CELLS
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture
def widgets_notebook(lab_server: LabServer) -> str:
    """A fresh notebook with the training cells, written through the contents API."""
    lab_server.api(
        f"api/contents/{NOTEBOOK}",
        "PUT",
        {"type": "notebook", "format": "json", "content": _notebook()},
    )
    return NOTEBOOK


@pytest.fixture
def offline_page(page: Page, lab_server: LabServer) -> tuple[Page, list[str]]:
    """The page with every request off the lab server refused (and recorded)."""
    blocked: list[str] = []
    local = lab_server.url.rstrip("/")

    def route(r: Route) -> None:
        url = r.request.url
        if url.startswith(local) or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    page.context.route("**/*", route)
    return page, blocked


def _open_notebook(page: Page, server: LabServer, name: str) -> None:
    page.goto(f"{server.url}lab/tree/{name}?reset&token={server.token}")
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible(timeout=60_000)
    # The kernel is connected and idle (status bar: "Python 3 (ipykernel) | Idle").
    expect(page.locator(".jp-StatusBar-Widget", has_text="Idle").first).to_be_visible(
        timeout=60_000
    )


def _run_cell(page: Page, index: int) -> None:
    """Select the cell and run it from the toolbar; retry if the kernel was not ready."""
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    run = page.locator(
        ".jp-NotebookPanel-toolbar [data-command='notebook:run-cell-and-select-next']"
    )
    for _attempt in range(5):
        cell.locator(".jp-InputPrompt").click()
        run.first.click()
        try:
            expect(prompt).not_to_have_text("[ ]:", timeout=5_000)
            return
        except AssertionError:
            continue
    raise AssertionError(f"cell {index} did not start running")


def test_live_widget_updates_while_the_cell_runs_and_charts_render_offline(
    offline_page: tuple[Page, list[str]],
    lab_server: LabServer,
    widgets_notebook: str,
    results_dir: Path,
) -> None:
    page, blocked = offline_page
    _open_notebook(page, lab_server, widgets_notebook)
    cells = page.locator(".jp-NotebookPanel .jp-CodeCell")
    _run_cell(page, 0)
    expect(cells.nth(0).locator(".jp-InputPrompt")).to_have_text("[1]:", timeout=60_000)

    _run_cell(page, 1)
    train = cells.nth(1)
    widget = train.locator(".lt-RunWidget")
    expect(widget).to_be_visible(timeout=30_000)
    loss = widget.locator('.lt-w-metric-value[data-metric="loss"]')
    expect(widget.locator(".lt-w-status")).to_have_text("RUNNING")

    # Sample the widget while the cell is still executing ([*]).
    seen: list[str] = []
    deadline = time.monotonic() + TRAIN_STEPS * STEP_SECONDS + 10
    screenshot_taken = False
    while time.monotonic() < deadline:
        running = train.locator(".jp-InputPrompt").inner_text().strip() == "[*]:"
        if not running:
            break
        texts = loss.all_inner_texts()  # no waiting: the card may be mid-update
        if texts:
            value = texts[0]
            if not seen or seen[-1] != value:
                seen.append(value)
            if len(seen) >= 3 and not screenshot_taken:
                page.screenshot(path=str(results_dir / "10-widget-live-running.png"))
                screenshot_taken = True
        time.sleep(0.2)
    assert len(seen) >= 3, f"the widget did not update while the cell ran: {seen}"
    values = [float(v) for v in seen]
    assert values == sorted(values, reverse=True)  # the loss only goes down

    # The run ended: the card shows the final state and numbers, then becomes its static view
    # (same card, chart rendered by vega offline) which is what the saved notebook keeps.
    output = train.locator(".jp-OutputArea")
    static = output.locator(".lt-StaticView")
    expect(static).to_be_visible(timeout=30_000)
    expect(output.locator(".lt-RunWidget")).to_have_count(0)
    expect(static.locator(".lt-w-status")).to_have_text("FINISHED")
    expect(static.locator('.lt-w-metric-value[data-metric="loss"]')).to_have_text(
        str(round(1.0 / TRAIN_STEPS, 4))
    )
    expect(static.locator('[data-param="lr"]')).to_have_text("0.1")
    chart = static.locator(".lt-VegaLite6").locator("canvas, svg").first
    expect(chart).to_be_visible(timeout=30_000)
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 100
    assert box["height"] > 50
    train.scroll_into_view_if_needed()
    page.screenshot(path=str(results_dir / "11-widget-live-finished.png"))

    # A plain Altair 6 chart shown with lt.show renders too (Vega-Lite v6, no CDN).
    _run_cell(page, 2)
    altair_chart = cells.nth(2).locator(".lt-VegaLite6").locator("canvas, svg").first
    expect(altair_chart).to_be_visible(timeout=30_000)
    expect(cells.nth(2).locator(".lt-VegaLite6-error")).to_have_count(0)
    cells.nth(2).scroll_into_view_if_needed()
    page.screenshot(path=str(results_dir / "12-altair-v6-offline.png"))

    # Compare: curves of the picked metric (offline chart), params that differ, the best run.
    _run_cell(page, 3)
    compare = cells.nth(3).locator(".lt-CompareWidget")
    expect(compare.locator(".lt-VegaLite6").locator("canvas, svg").first).to_be_visible(
        timeout=30_000
    )
    expect(compare.locator(".lt-w-diff")).to_contain_text("lr")
    expect(compare.locator(".lt-w-diff th.lt-w-best")).to_contain_text("ui-live")
    cells.nth(3).scroll_into_view_if_needed()
    page.screenshot(path=str(results_dir / "13-compare-widget.png"))

    # Runs table: sorted by loss, a filter error shown inline, a selection Python reads back.
    _run_cell(page, 4)
    table = cells.nth(4).locator(".lt-RunsTable")
    boxes = table.locator(".widget-checkbox")
    expect(boxes).to_have_count(2, timeout=30_000)
    expect(boxes.first).to_contain_text("r1")  # loss 0.25 < 0.75
    table.locator(".widget-text input").fill("metrics.loss <<< 1")
    table.locator(".widget-text input").press("Enter")
    expect(table.locator(".lt-FilterError")).to_contain_text("Invalid filter")
    boxes.first.locator("input").check()
    cells.nth(4).scroll_into_view_if_needed()
    page.screenshot(path=str(results_dir / "14-runs-table.png"))
    _run_cell(page, 5)
    expect(cells.nth(5).locator(".jp-OutputArea-output")).to_contain_text("selected: ['r1']")

    assert not [u for u in blocked if "vega" in u or "jsdelivr" in u], blocked

    # Saved and reopened: the training cell's output is the static card with its chart.
    page.locator(".jp-NotebookPanel-toolbar [data-command='docmanager:save']").first.click()
    expect(page.locator(".jp-mod-dirty")).to_have_count(0, timeout=30_000)
    saved = lab_server.api(f"api/contents/{widgets_notebook}?content=1")
    assert isinstance(saved, dict)
    [train_output] = saved["content"]["cells"][1]["outputs"]
    assert "application/vnd.labtrack.static+json" in train_output["data"]
    assert "application/vnd.jupyter.widget-view+json" not in train_output["data"]
    _open_notebook(page, lab_server, widgets_notebook)
    reopened = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(1).locator(".lt-StaticView")
    expect(reopened.locator(".lt-w-status")).to_have_text("FINISHED", timeout=30_000)
    expect(reopened.locator(".lt-VegaLite6").locator("canvas, svg").first).to_be_visible(
        timeout=30_000
    )
    page.screenshot(path=str(results_dir / "15-reopened-static-view.png"))

    # The run is in the store as the magic left it.
    runs = lab_server.api(
        "labtrack/api/2.0/mlflow/runs/search",
        "POST",
        {
            "experiment_ids": [_experiment_id(lab_server, "ui-widgets")],
            "filter": "attributes.run_name = 'ui-live'",
        },
    )
    assert isinstance(runs, dict)
    [run] = runs["runs"]
    assert run["info"]["status"] == "FINISHED"
    assert json.dumps(run["data"]["params"]) == json.dumps([{"key": "lr", "value": "0.1"}])


def _experiment_id(server: LabServer, name: str) -> str:
    found = server.api(f"labtrack/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}")
    assert isinstance(found, dict)
    return str(found["experiment"]["experiment_id"])
