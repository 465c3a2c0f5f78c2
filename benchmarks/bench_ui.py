"""UI speed of labtrack's dashboard and MLflow's UI on the same data, in the same Chromium.

    .venv/bin/python benchmarks/bench_ui.py [--scale full|small] [--tries 3] [--no-mlflow]
        [--runs N] [--series-runs N] [--steps N] [--mlflow-python PATH] [--screenshots DIR]

Both stores get `_ui_workload.py`'s data: labtrack's through its TrackingStore, MLflow's (3.x,
the compat venv `mlflow3_server` of tests/mlflow_compat/envs.py) through MLflow's own
SqlAlchemyStore (`_mlflow_ui_side.py`). Then `jupyter lab` with the dashboard, and afterwards
`mlflow server` with its bundled UI, each alone on the machine, driven by Debian's Chromium with
Playwright (1400 x 900 window):

- first rows: the experiment of 10,000 runs clicked in the experiment list until its first run
  is in the table (labtrack's goal <= 1 s);
- compare draw: 100 runs x 100,000 steps: labtrack: select all, click "Compare" until the uPlot
  chart has drawn all series (goal <= 1.5 s). MLflow: its runs table with "Show all runs" set
  for charts, click the Chart view until the "loss" Plotly chart has a curve for every run;
- run page: a run with 200 metrics (1,000 steps each) clicked in its experiment's table until
  its page shows the run's name, all 200 metrics in its table and its metric charts drawn (goal
  <= 1 s). MLflow's run page shows the name, "Metrics (200)" and the first metric row; its charts
  are a second click away ("Model metrics" tab), timed separately until the chart cards in view
  have drawn (run_charts);
- scroll (labtrack only): the runs table of 10,000 runs scrolled through its first 2,000 rows,
  120 px per animation frame; the frame intervals' p95 (goal <= 50 ms; 60 Hz is 16.7 ms).
  MLflow's table loads 100 runs at a time behind "Load more", so there is no counterpart.

Each is measured in the page (performance.now() around the click, polling per animation
frame), best and median of a few tries; every try a fresh page. It prints each side, the
ratio MLflow / labtrack and the load average. `--scale small` (1,000 runs, 10 x 10,000 steps)
takes a few minutes. This is a script, not a test: it prints the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import _ui_workload as w  # noqa: E402
from _processes import stop_group  # noqa: E402

CHROMIUM = os.environ.get("LABTRACK_UI_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


RUN_PAGE_METRICS = w.RUN_PAGE_METRICS
RUN_PAGE_STEPS = w.RUN_PAGE_STEPS
SCROLL_ROWS = 2_000


def seed(uri: str, artifacts: str, runs: int, series_runs: int, steps: int) -> None:
    from labtrack.entities import Metric
    from labtrack.entities.points import Points
    from labtrack.store.tracking_store import TrackingStore

    store = TrackingStore(uri, artifacts)
    t0 = time.perf_counter()
    big = store.create_experiment(w.BIG)
    now = int(time.time() * 1000)
    for spec in w.big_runs(runs):
        run = store.create_run(big, "bench", now + spec.start_offset_ms, {}, spec.name)
        store.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, now, w.BIG_METRIC_STEP) for k, v in spec.metrics],
            params=list(spec.params),
        )
    print(f"seeded {runs} runs in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    long = store.create_experiment(w.LONG)
    for series in w.long_runs(series_runs, steps):
        run = store.create_run(long, "bench", now + series.start_offset_ms, {}, series.name)
        store.log_batch(run.info.run_id, params=[("lr", series.lr)])
        store.log_series(
            run.info.run_id,
            {
                ("loss", None, None, None): Points(
                    series.steps, now + series.timestamp_offsets_ms, series.values
                )
            },
        )
    print(
        f"seeded {series_runs} runs x {steps} steps in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )

    wide = store.create_experiment(w.WIDE)
    run = store.create_run(wide, "bench", now, {}, w.WIDE_RUN)
    store.log_series(
        run.info.run_id,
        {
            (key, None, None, None): Points(steps_a, now + offsets, values)
            for key, steps_a, offsets, values in w.wide_metrics()
        },
    )


def store_env(root: Path, uri: str) -> dict[str, str]:
    """This process's environment with labtrack's store under `root` (never the user's)."""
    return {
        **os.environ,
        "LABTRACK_HOME": str(root / "home"),
        "LABTRACK_STORE_URI": uri,
        "LABTRACK_TRACKING_URI": uri,
        "LABTRACK_ARTIFACT_ROOT": str(root / "artifacts"),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, token: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
            with urllib.request.urlopen(request, timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


FIRST_ROWS_JS = """async (name) => {
  const item = document.querySelector(`.lt-experiment-item[data-experiment-name="${name}"]`);
  const t0 = performance.now();
  item.click();
  while (!document.querySelector('.lt-run-row')) {
    await new Promise(r => requestAnimationFrame(r));
  }
  return performance.now() - t0;
}"""

COMPARE_JS = """async (count) => {
  const t0 = performance.now();
  document.querySelector('.lt-CompareButton').click();
  const done = () => {
    const box = document.querySelector('.lt-CompareView .lt-CurveChart');
    return box && box.dataset.seriesCount === String(count) && box.querySelector('canvas');
  };
  while (!done()) {
    await new Promise(r => requestAnimationFrame(r));
  }
  // One more frame: uPlot paints on the frame after setData.
  await new Promise(r => requestAnimationFrame(r));
  const box = document.querySelector('.lt-CompareView .lt-CurveChart');
  return [performance.now() - t0, Number(box.dataset.points)];
}"""


RUN_PAGE_JS = """async ([name, metrics, lastStep]) => {
  const t0 = performance.now();
  document.querySelector(`.lt-run-row[data-run-name="${name}"] .lt-RunNameText`).click();
  const done = () => {
    const detail = document.querySelector('.lt-RunDetail');
    if (!detail || detail.querySelector('.lt-RunTitle')?.textContent !== name) return false;
    if (detail.querySelectorAll('td[data-metric-latest]').length !== metrics) return false;
    // The run page's chart grid: every card has drawn its run's curve.
    const charts = detail.querySelectorAll('.lt-ChartGridSection .lt-ChartCard');
    const drawn = detail.querySelectorAll(
      '.lt-ChartGridSection .lt-GridChart[data-series-count="1"] canvas'
    );
    return charts.length > 0 && drawn.length === charts.length;
  };
  while (!done()) {
    await new Promise(r => requestAnimationFrame(r));
  }
  await new Promise(r => requestAnimationFrame(r));
  const charts = document.querySelectorAll('.lt-RunDetail .lt-ChartCard').length;
  return [performance.now() - t0, charts];
}"""

SCROLL_JS = """async ([rows, step]) => {
  const scroller = document.querySelector('.lt-RunsScroller');
  scroller.scrollTop = 0;
  await new Promise(r => requestAnimationFrame(r));
  // ROW_HEIGHT in table.ts is 30 px; stop at the end if the table is shorter.
  const target = Math.min(rows * 30, scroller.scrollHeight - scroller.clientHeight - 1);
  const frames = [];
  let last = await new Promise(r => requestAnimationFrame(r));
  while (scroller.scrollTop < target) {
    scroller.scrollTop += step;
    const now = await new Promise(r => requestAnimationFrame(r));
    frames.push(now - last);
    last = now;
  }
  const first = scroller.querySelector('.lt-run-row')?.dataset.runName ?? '';
  return [frames, first];
}"""


# ---- MLflow's UI: the same moments, found by what a person sees (link text, headings, tabs) ----

# Shared by the MLflow snippets: a visible element whose own text is exactly `text`.
_FIND_JS = """
const visible = (el) => !!el && el.getClientRects().length > 0;
const byText = (selector, text) => [...document.querySelectorAll(selector)].find(
  (el) => el.textContent.trim() === text && visible(el));
const started = performance.now();
const frame = () => {
  if (performance.now() - started > 180000) throw new Error('not there after 180 s');
  return new Promise((r) => requestAnimationFrame(r));
};
"""

# Experiments list -> click the experiment's name -> its first run's name is visible in the table.
MLFLOW_FIRST_ROWS_JS = (
    """async ([experiment, firstRun]) => {"""
    + _FIND_JS
    + """
  const link = byText('a', experiment);
  const t0 = performance.now();
  link.click();
  while (!byText('[role="row"] a', firstRun)) await frame();
  return performance.now() - t0;
}"""
)

# Runs table of the long-series experiment ("Show all runs" set for its charts) -> click the
# chart view -> the "loss" chart has drawn one curve per run (MLflow draws two Plotly traces per
# run: the line and its smoothed copy).
MLFLOW_CHARTS_JS = (
    """async (count) => {"""
    + _FIND_JS
    + """
  const toggle = document.querySelector('input[name="runs-view-mode"][value="CHART"]');
  const t0 = performance.now();
  toggle.closest('label').click();
  const drawnRuns = () => {
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
      const live = (gd.data || []).filter((t) => t.x && t.x.length > 0);
      const names = new Set(live.map((t) => t.name));
      const paths = gd.querySelectorAll('.scatterlayer .trace path.js-line').length;
      if (names.size === count && paths >= count) return [names.size, gd.data.reduce(
        (n, t) => n + (t.x ? t.x.length : 0), 0)];
    }
    return null;
  };
  let done = null;
  while (!(done = drawnRuns())) await frame();
  await frame();
  return [performance.now() - t0, done[1]];
}"""
)

# Runs table of the 200-metric experiment -> click the run's name -> its page shows the name, the
# "Metrics (200)" section and the first metric's row.
MLFLOW_RUN_PAGE_JS = (
    """async ([name, metrics]) => {"""
    + _FIND_JS
    + """
  const link = byText('[role="row"] a', name);
  const t0 = performance.now();
  link.click();
  const done = () => byText('h2', name) && byText('*', `Metrics (${metrics})`)
    && byText('td, [role="cell"], [role="gridcell"]', 'metric_000');
  while (!done()) await frame();
  return performance.now() - t0;
}"""
)

# On that run page -> click the "Model metrics" tab -> every chart card inside the window has
# drawn its curve (MLflow renders cards lazily as they scroll into view), at least `minimum`.
MLFLOW_RUN_CHARTS_JS = (
    """async (minimum) => {"""
    + _FIND_JS
    + """
  const tab = byText('[role="tab"]', 'Model metrics');
  const t0 = performance.now();
  // Radix tabs switch on mousedown (a person's click), not on a bare click event.
  tab.dispatchEvent(new MouseEvent('mousedown', {bubbles: true, button: 0}));
  tab.click();
  const inView = (el) => {
    const r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight && r.width > 0;
  };
  const drawn = () => {
    const plots = [...document.querySelectorAll('.js-plotly-plot')].filter(inView);
    const ok = plots.filter((gd) => gd.querySelector('.scatterlayer .trace path.js-line'));
    return plots.length >= minimum && ok.length === plots.length ? ok.length : 0;
  };
  let n = 0;
  while (!(n = drawn())) await frame();
  await frame();
  return [performance.now() - t0, n];
}"""
)


def main_thread_ms(cdp: Any) -> dict[str, float]:
    """The renderer main thread's CPU time so far (thread time: load-independent-ish), ms."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {
        "task": metrics["TaskDuration"] * 1000,
        "script": metrics["ScriptDuration"] * 1000,
        "layout": metrics["LayoutDuration"] * 1000,
        "style": metrics["RecalcStyleDuration"] * 1000,
    }


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def measure(
    url: str, tries: int, n_runs: int, series_runs: int, shots: Path | None = None
) -> dict[str, list[float]]:
    from playwright.sync_api import expect, sync_playwright

    first_rows: list[float] = []
    compare: list[float] = []
    run_page: list[float] = []
    scroll_p95: list[float] = []
    points = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        for _ in range(tries):
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.locator(".jp-LauncherCard", has_text="labtrack").first.click()
            expect(
                page.locator('.lt-experiment-item[data-experiment-name="bench-10k-runs"]')
            ).to_be_visible()
            first_rows.append(page.evaluate(FIRST_ROWS_JS, "bench-10k-runs"))
            if shots and len(first_rows) == 1:
                page.screenshot(path=str(shots / "labtrack-1-first-rows.png"))
            expect(page.locator(".lt-RunsCount")).to_have_text(f"{n_runs:,} runs", timeout=120_000)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
            before = main_thread_ms(cdp)
            frames, first = page.evaluate(SCROLL_JS, [min(SCROLL_ROWS, n_runs), 120])
            cpu = {k: (v - before[k]) / len(frames) for k, v in main_thread_ms(cdp).items()}
            scroll_p95.append(p95(frames))
            print(
                f"scrolled {len(frames)} frames, p95 {scroll_p95[-1]:.1f} ms, "
                f"max {max(frames):.1f} ms; top row then {first}; main-thread CPU per frame: "
                + ", ".join(f"{k} {v:.2f} ms" for k, v in cpu.items()),
                flush=True,
            )

            page.locator('.lt-experiment-item[data-experiment-name="bench-200-metrics"]').click()
            expect(page.locator(".lt-RunsCount")).to_have_text(re.compile(r"^1 run\b"))
            elapsed, charts = page.evaluate(
                RUN_PAGE_JS, ["wide-run", RUN_PAGE_METRICS, RUN_PAGE_STEPS - 1]
            )
            run_page.append(elapsed)
            if shots and len(run_page) == 1:
                page.screenshot(path=str(shots / "labtrack-3-run-page.png"))
            page.locator('.lt-ViewTab[data-view="runs"]').click()

            page.locator('.lt-experiment-item[data-experiment-name="bench-long-series"]').click()
            expect(page.locator(".lt-RunsCount")).to_have_text(f"{series_runs:,} runs")
            page.get_by_role("button", name="More").click()  # Select all is in the menu
            page.locator(".lt-OverflowPanel .lt-SelectAll").click()
            expect(page.locator(".lt-CompareButton")).to_have_text(f"Compare ({series_runs})")
            elapsed, points = page.evaluate(COMPARE_JS, series_runs)
            compare.append(elapsed)
            if shots and len(compare) == 1:
                page.screenshot(path=str(shots / "labtrack-2-compare.png"))
            page.close()
        browser.close()
    print(f"compare chart drew {points} points (server-downsampled)")
    print(f"run page: {RUN_PAGE_METRICS} metrics in its table, {charts} charts drawn")
    return {
        "first_rows_ms": first_rows,
        "compare_draw_ms": compare,
        "run_page_ms": run_page,
        "scroll_frame_p95_ms": scroll_p95,
    }


# ---- MLflow: seed, serve, measure ---------------------------------------------------------


def mlflow_python(explicit: str | None) -> Path:
    """MLflow 3's ``mlflow server`` interpreter: the compat venv the tests and bench_team use."""
    if explicit:
        return Path(explicit).absolute()  # not resolve(): a venv python is a symlink
    sys.path.insert(0, str(REPO / "tests"))
    from mlflow_compat.envs import ensure_env

    return ensure_env("mlflow3_server", log=print)


def mlflow_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PYTHONPATH"))}
    env.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    return env


FIND_MLFLOW = (
    "import importlib.util as u; print(u.find_spec('mlflow').submodule_search_locations[0])"
)


def check_mlflow_ui(python: Path) -> Path:
    """The UI the ``mlflow`` wheel bundles (``mlflow/server/js/build``); no UI, no comparison."""
    out = subprocess.run(
        [str(python), "-c", FIND_MLFLOW],
        check=True, capture_output=True, text=True, env=mlflow_env(),
    )  # fmt: skip
    index = Path(out.stdout.strip()) / "server" / "js" / "build" / "index.html"
    if not index.is_file():
        raise SystemExit(f"MLflow's UI is not installed ({index} is missing): no MLflow side")
    return index.parent


def seed_mlflow(python: Path, root: Path, runs: int, series_runs: int, steps: int) -> dict:
    uri = f"sqlite:///{root / 'mlflow.db'}"
    t0 = time.perf_counter()
    out = subprocess.run(
        [
            str(python), str(HERE / "_mlflow_ui_side.py"), uri, str(root / "mlflow-artifacts"),
            json.dumps({"runs": runs, "series_runs": series_runs, "steps": steps}),
        ],
        check=True, stdout=subprocess.PIPE, text=True, env=mlflow_env(), cwd=root,
    )  # fmt: skip
    result: dict = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"seeded MLflow {result['version']} in {time.perf_counter() - t0:.0f} s", flush=True)
    result["uri"] = uri
    return result


@contextlib.contextmanager
def mlflow_server(python: Path, root: Path, uri: str) -> Iterator[str]:
    port = free_port()
    log_path = root / "mlflow-server.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [
                str(python.parent / "mlflow"), "server", "--backend-store-uri", uri,
                "--default-artifact-root", str(root / "mlflow-artifacts"),
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            ],
            stdout=out, stderr=subprocess.STDOUT, env=mlflow_env(), cwd=root,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"mlflow server did not start:\n{log_path.read_text()[-3000:]}"
                    ) from None
                time.sleep(0.5)
        yield base
    finally:
        stop_group(proc, 20)


GAVE_UP_MS = 180_000  # the MLflow snippets stop waiting after this
RUN_CHARTS_MIN = 6  # MLflow's run page shows 3 x 2 chart cards in a 1400 x 900 window


def measure_mlflow(
    base: str, seeded: dict, tries: int, series_runs: int, shots: Path | None
) -> dict[str, list[float]]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright

    ids = seeded["experiments"]
    figures: dict[str, list[float]] = {
        "first_rows_ms": [], "compare_draw_ms": [], "run_page_ms": [], "run_charts_ms": [],
    }  # fmt: skip
    last_long = f"long-{series_runs - 1:03d}"  # newest first
    points = charts = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        # One context for all tries, so the choices below stay in its localStorage, as they
        # would for a person; each try is a fresh page (nothing cached in the app).
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(180_000)
        page = context.new_page()
        page.goto(base + "/#/experiments")
        page.get_by_text("Model training", exact=True).click()  # not the GenAI home
        with contextlib.suppress(Exception):  # the assistant side panel takes 1/4 of the width
            page.get_by_role("button", name="Close").click(timeout=5_000)
        page.goto(f"{base}/#/experiments/{ids[w.LONG]}/runs")
        page.locator('label:has(input[name="runs-view-mode"][value="CHART"])').click()
        page.get_by_label("Toggle visibility of runs").click()  # MLflow charts 10 runs by default
        page.get_by_role("menuitemradio", name="Show all runs").click()
        # Only settles the choice; at full scale MLflow may not draw at all (measured below).
        with contextlib.suppress(PlaywrightError):
            page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        page.close()
        for attempt in range(tries):
            page = context.new_page()
            page.goto(base + "/#/experiments")
            expect(page.get_by_role("link", name=w.BIG, exact=True)).to_be_visible()
            figures["first_rows_ms"].append(
                _or_gave_up(page, MLFLOW_FIRST_ROWS_JS, [w.BIG, "run-00000"])
            )
            if shots and attempt == 0:
                page.screenshot(path=str(shots / "mlflow-1-first-rows.png"))

            page.goto(f"{base}/#/experiments/{ids[w.LONG]}/runs")
            expect(page.get_by_role("link", name=last_long, exact=True)).to_be_visible()
            drawn = _or_gave_up(page, MLFLOW_CHARTS_JS, series_runs)
            elapsed, points = drawn if isinstance(drawn, list) else (drawn, 0)
            figures["compare_draw_ms"].append(elapsed)
            if shots and attempt == 0:
                page.screenshot(path=str(shots / "mlflow-2-charts.png"))

            page.goto(f"{base}/#/experiments/{ids[w.WIDE]}/runs")
            expect(page.get_by_role("link", name=w.WIDE_RUN, exact=True)).to_be_visible()
            figures["run_page_ms"].append(
                _or_gave_up(page, MLFLOW_RUN_PAGE_JS, [w.WIDE_RUN, RUN_PAGE_METRICS])
            )
            if shots and attempt == 0:
                page.screenshot(path=str(shots / "mlflow-3-run-page.png"))
            drawn = _or_gave_up(page, MLFLOW_RUN_CHARTS_JS, RUN_CHARTS_MIN)
            elapsed, charts = drawn if isinstance(drawn, list) else (drawn, 0)
            figures["run_charts_ms"].append(elapsed)
            if shots and attempt == 0:
                page.screenshot(path=str(shots / "mlflow-4-run-charts.png"))
            page.close()
        browser.close()
    print(f"MLflow: loss chart drew {points} points (server-sampled); run page: {charts} charts")
    return figures


SCALES = {
    # runs in the big experiment, runs x steps in the long-series one
    "full": (10_000, 100, 100_000),
    "small": (1_000, 10, 10_000),
}
GOALS = {
    "first_rows_ms": 1000,
    "compare_draw_ms": 1500,
    "run_page_ms": 1000,
    "scroll_frame_p95_ms": 50,
}


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def workloads(runs: int, series_runs: int, steps: int) -> dict[str, tuple[str, str]]:
    """Each figure's workload in words: (labtrack's moment, MLflow's moment)."""
    return {
        "first_rows_ms": (
            f"first rows of {runs:,} runs: click the experiment -> first table row",
            "click the experiment's name in the list -> first run's name in the table",
        ),
        "compare_draw_ms": (
            f"{series_runs} runs x {steps:,} steps: select all, click Compare -> chart drawn",
            "runs table ('Show all runs' set) -> click Chart view -> 'loss' chart has all curves",
        ),
        "run_page_ms": (
            f"run with {RUN_PAGE_METRICS} metrics x {RUN_PAGE_STEPS:,} steps: click it -> "
            "name, 200-row metrics table and chart grid drawn",
            "click the run -> name, 'Metrics (200)' and its first row",
        ),
        "run_charts_ms": (
            "(labtrack draws the charts as part of the run page above)",
            f"then click 'Model metrics' -> the >= {RUN_CHARTS_MIN} chart cards in view drawn",
        ),
        "scroll_frame_p95_ms": (
            f"scroll {min(SCROLL_ROWS, runs):,} of {runs:,} runs, 120 px/frame: p95 frame interval",
            "(not measured: MLflow's table pages 100 runs at a time behind 'Load more')",
        ),
    }


def _or_gave_up(page: Any, script: str, arg: Any) -> Any:
    """The script's measurement, or infinity when the page had not got there after 180 s."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        return page.evaluate(script, arg)
    except PlaywrightError as exc:
        if "not there after 180 s" not in str(exc):
            raise
        return math.inf


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    if math.isinf(statistics.median(values)):
        return "not drawn in 180 s"
    return f"{statistics.median(values):,.0f} ms ({min(values):,.0f})"


def report(
    labtrack: dict[str, list[float]],
    mlflow: dict[str, list[float]] | None,
    words: dict[str, tuple[str, str]],
    loads: dict[str, str],
) -> None:
    print()
    print("median (best) of the tries; ratio = MLflow median / labtrack median")
    print("load average (1, 5, 15 min): " + "; ".join(f"{k} {v}" for k, v in loads.items()))
    for name, (lt_words, mf_words) in words.items():
        lt = labtrack.get(name, [])
        mf = (mlflow or {}).get(name, [])
        print(f"\n{name}")
        line = f"  labtrack: {summary(lt):>18}  {lt_words}"
        if lt and name in GOALS:
            ok = statistics.median(lt) <= GOALS[name]
            line += f"  [goal <= {GOALS[name]} ms: {'OK' if ok else 'MISS'}]"
        print(line)
        if mlflow is not None:
            print(f"  MLflow:   {summary(mf):>18}  {mf_words}")
        if lt and mf:
            ratio = statistics.median(mf) / statistics.median(lt)
            if math.isinf(ratio):
                bound = GAVE_UP_MS / statistics.median(lt)
                print(f"  ratio:    MLflow / labtrack > {bound:.0f}x (MLflow gave up at 180 s)")
            else:
                print(f"  ratio:    MLflow / labtrack = {ratio:.1f}x")
    if mlflow is not None and labtrack.get("run_page_ms") and mlflow.get("run_charts_ms"):
        both = [a + b for a, b in zip(mlflow["run_page_ms"], mlflow["run_charts_ms"], strict=True)]
        print(
            "\nrun page, metrics and charts (labtrack: one page; MLflow: overview + 'Model "
            f"metrics' tab): MLflow {summary(both)}, labtrack {summary(labtrack['run_page_ms'])}, "
            f"ratio {statistics.median(both) / statistics.median(labtrack['run_page_ms']):.1f}x"
            if not math.isinf(statistics.median(both))
            else "MLflow had not drawn them after 180 s"
        )
    print(json.dumps({
        "labtrack": {k: [round(v, 1) for v in vs] for k, vs in labtrack.items()},
        "mlflow": {k: [round(v, 1) for v in vs] for k, vs in (mlflow or {}).items()},
        "load": loads,
    }))  # fmt: skip


def run_labtrack(
    root: Path, args: argparse.Namespace, shots: Path | None
) -> dict[str, list[float]]:
    uri = f"sqlite:///{root / 'labtrack.db'}"
    env = {
        **store_env(root, uri),
        "JUPYTER_CONFIG_DIR": str(root / "jconfig"),
        "JUPYTER_RUNTIME_DIR": str(root / "jruntime"),
        "JUPYTERLAB_SETTINGS_DIR": str(root / "jsettings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "jworkspaces"),
    }
    (root / "notebooks").mkdir()
    seed(uri, str(root / "artifacts"), args.runs, args.series_runs, args.steps)
    port, token = free_port(), secrets.token_hex(16)
    with (root / "lab.log").open("w") as log:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
                f"--port={port}", "--ip=127.0.0.1", f"--ServerApp.root_dir={root / 'notebooks'}",
                f"--IdentityProvider.token={token}", "--LabApp.news_url=",
            ],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}/"
            wait_for(base + "api/status", token)
            return measure(
                f"{base}lab?reset&token={token}", args.tries, args.runs, args.series_runs, shots
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", choices=sorted(SCALES), default="full",
        help="full: 10,000 runs, 100 x 100,000 steps; small: 1,000 runs, 10 x 10,000 steps",
    )  # fmt: skip
    parser.add_argument("--runs", type=int, help="runs in the big experiment (overrides --scale)")
    parser.add_argument("--series-runs", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--no-mlflow", action="store_true", help="labtrack's dashboard only")
    parser.add_argument("--mlflow-python", help="an interpreter with mlflow[auth] 3.x")
    parser.add_argument(
        "--screenshots", type=Path,
        help="save a screenshot of each measured moment (first try) into this folder",
    )  # fmt: skip
    args = parser.parse_args()
    runs, series_runs, steps = SCALES[args.scale]
    args.runs = args.runs or runs
    args.series_runs = args.series_runs or series_runs
    args.steps = args.steps or steps
    shots = args.screenshots
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    if not args.no_mlflow and args.series_runs > 100:
        parser.error("--series-runs > 100: MLflow's runs table (and so its charts) pages 100 runs")
    python = None if args.no_mlflow else mlflow_python(args.mlflow_python)
    if python:
        print(f"MLflow's UI: {check_mlflow_ui(python)}", flush=True)

    loads = {"start": loadavg()}
    root = Path(tempfile.mkdtemp(prefix="labtrack-bench-ui-"))
    try:
        labtrack = run_labtrack(root, args, shots)
        loads["after labtrack"] = loadavg()
        mlflow = None
        if python:
            seeded = seed_mlflow(python, root, args.runs, args.series_runs, args.steps)
            loads["MLflow seeded"] = loadavg()
            with mlflow_server(python, root, seeded["uri"]) as base:
                mlflow = measure_mlflow(base, seeded, args.tries, args.series_runs, shots)
            loads["after MLflow"] = loadavg()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report(labtrack, mlflow, workloads(args.runs, args.series_runs, args.steps), loads)


if __name__ == "__main__":
    main()
