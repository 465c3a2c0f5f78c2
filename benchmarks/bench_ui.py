"""UI speed of the labtrack dashboard, measured in Chromium (issue #4's quality bars).

    .venv/bin/python benchmarks/bench_ui.py [--runs 10000] [--series-runs 100] [--steps 100000]

Seeds a fresh store directly through labtrack's TrackingStore (fast), starts `jupyter lab`
on it, and drives Debian's Chromium with Playwright:

- first rows: time from clicking the experiment of 10,000 runs until the first table rows
  are in the DOM (goal <= 1 s);
- compare draw: time from clicking "Compare" with 100 runs x 100,000 steps selected until
  the uPlot chart has drawn all series (goal <= 1.5 s);
- run page: time from clicking a run with 200 metrics (1,000 steps each) until its page shows
  the run's name, all 200 metrics in its table and its metric charts drawn (goal <= 1 s);
- scroll: the runs table of 10,000 runs scrolled through its first 2,000 rows, 120 px per
  animation frame; the frame intervals' p95 (goal <= 50 ms; 60 Hz is 16.7 ms).

Each is measured in the page (performance.now() around the click, polling per animation
frame), best and median of a few tries. This is a script, not a test: it prints the figures.
"""

from __future__ import annotations

import argparse
import json
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
from pathlib import Path
from typing import Any

import numpy as np

CHROMIUM = os.environ.get("LABTRACK_UI_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


RUN_PAGE_METRICS = 200
RUN_PAGE_STEPS = 1_000
SCROLL_ROWS = 2_000


def seed(uri: str, artifacts: str, runs: int, series_runs: int, steps: int) -> None:
    from labtrack.entities import Metric
    from labtrack.entities.points import Points
    from labtrack.store.tracking_store import TrackingStore

    store = TrackingStore(uri, artifacts)
    t0 = time.perf_counter()
    big = store.create_experiment("bench-10k-runs")
    now = int(time.time() * 1000)
    for i in range(runs):
        run = store.create_run(big, "bench", now - i * 1000, {}, f"run-{i:05d}")
        store.log_batch(
            run.info.run_id,
            metrics=[
                Metric("loss", 1.0 / (i + 1), now, 10),
                Metric("accuracy", (i % 100) / 100, now, 10),
            ],
            params=[("lr", str(10 ** -(i % 5))), ("depth", str(i % 12)), ("opt", "adam")],
        )
    print(f"seeded {runs} runs in {time.perf_counter() - t0:.1f} s", flush=True)

    t0 = time.perf_counter()
    long = store.create_experiment("bench-long-series")
    step_array = np.arange(steps, dtype=np.int64)
    ts = now + step_array * 10
    for i in range(series_runs):
        run = store.create_run(long, "bench", now + i, {}, f"long-{i:03d}")
        store.log_batch(run.info.run_id, params=[("lr", str(0.001 * (i + 1)))])
        values = np.exp(-step_array / (steps / 5)) * (1 + 0.1 * i) + np.random.rand(steps) * 0.05
        store.log_series(
            run.info.run_id,
            {("loss", None, None, None): Points(step_array, ts.astype(np.int64), values)},
        )
    print(
        f"seeded {series_runs} runs x {steps} steps in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )

    wide = store.create_experiment("bench-200-metrics")
    run = store.create_run(wide, "bench", now, {}, "wide-run")
    page_steps = np.arange(RUN_PAGE_STEPS, dtype=np.int64)
    store.log_series(
        run.info.run_id,
        {
            (f"metric_{k:03d}", None, None, None): Points(
                page_steps, now + page_steps * 10, np.sin(page_steps / (k + 10)) + k
            )
            for k in range(RUN_PAGE_METRICS)
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


def measure(url: str, tries: int, n_runs: int, series_runs: int) -> dict[str, list[float]]:
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
            page.locator('.lt-ViewTab[data-view="runs"]').click()

            page.locator('.lt-experiment-item[data-experiment-name="bench-long-series"]').click()
            expect(page.locator(".lt-RunsCount")).to_have_text(f"{series_runs:,} runs")
            page.get_by_role("button", name="More").click()  # Select all is in the menu
            page.locator(".lt-OverflowPanel .lt-SelectAll").click()
            expect(page.locator(".lt-CompareButton")).to_have_text(f"Compare ({series_runs})")
            elapsed, points = page.evaluate(COMPARE_JS, series_runs)
            compare.append(elapsed)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--series-runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--tries", type=int, default=3)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="labtrack-bench-ui-"))
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
    log = (root / "lab.log").open("w")
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
        figures = measure(f"{base}lab?reset&token={token}", args.tries, args.runs, args.series_runs)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(root, ignore_errors=True)

    goals = {
        "first_rows_ms": 1000,
        "compare_draw_ms": 1500,
        "run_page_ms": 1000,
        "scroll_frame_p95_ms": 50,
    }
    for name, values in figures.items():
        best, median = min(values), statistics.median(values)
        verdict = "OK" if median <= goals[name] else "SLOWER THAN GOAL"
        print(
            f"{name}: best {best:.1f} ms, median {median:.1f} ms "
            f"(goal <= {goals[name]} ms) {verdict}"
        )
    print(json.dumps({k: [round(v) for v in vs] for k, vs in figures.items()}))


if __name__ == "__main__":
    main()
