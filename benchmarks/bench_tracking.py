"""labtrack vs MLflow on the same tracking work, with the targets from issue #2.

    python benchmarks/bench_tracking.py [--quick] [--only NAME] [--mlflow-python PATH]

labtrack runs in this process; MLflow runs in a subprocess (``_mlflow_side.py``) under an
interpreter that has MLflow: ``--mlflow-python``, else ``$MLFLOW_BENCH_PYTHON``, else this
interpreter if it can ``import mlflow``, else ``benchmarks/.venv-mlflow`` (created on first use).
Every workload gets a fresh temporary SQLite store per tool. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"
MLFLOW_SIDE = HERE / "_mlflow_side.py"
MLFLOW_VENV = HERE / ".venv-mlflow"
WORKLOADS = ("ingest", "call", "search", "history", "import")

try:
    import labtrack  # noqa: F401
except ImportError:  # running from a source checkout without an install
    sys.path.insert(0, str(SRC))


def log(msg: str) -> None:
    print(f"  {msg}", file=sys.stderr, flush=True)


# ---- results ------------------------------------------------------------------------------


@dataclass
class Row:
    metric: str
    labtrack: float | None
    mlflow: float | None
    unit: str
    target: float | None
    higher_is_better: bool = False
    note: str = ""

    @property
    def passed(self) -> bool | None:
        if self.target is None or self.labtrack is None:
            return None
        if self.higher_is_better:
            return self.labtrack >= self.target
        return self.labtrack <= self.target

    @property
    def ratio(self) -> float | None:
        """labtrack's speed-up over MLflow: > 1 means labtrack is faster."""
        if not self.labtrack or not self.mlflow:
            return None
        if self.higher_is_better:
            return self.labtrack / self.mlflow
        return self.mlflow / self.labtrack


def _fmt(x: float | None, unit: str) -> str:
    if x is None:
        return "n/a"
    if unit == "points/s":
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def render(rows: list[Row], markdown: bool = False) -> str:
    head = ["metric", "unit", "labtrack", "MLflow", "speed-up", "target", "pass"]
    body = []
    for r in rows:
        target = (
            ""
            if r.target is None
            else ("≥ " if r.higher_is_better else "≤ ") + _fmt(r.target, r.unit)
        )
        passed = {True: "PASS", False: "FAIL", None: "-"}[r.passed]
        ratio = "n/a" if r.ratio is None else f"{r.ratio:,.1f}x"
        lt, ml = _fmt(r.labtrack, r.unit), _fmt(r.mlflow, r.unit)
        body.append([r.metric, r.unit, lt, ml, ratio, target, passed])
    notes: list[str] = []
    for b, r in zip(body, rows, strict=True):
        if r.note:
            notes.append(f"[{len(notes) + 1}] {r.note}")
            b[0] = f"{b[0]} [{len(notes)}]"
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join([*lines, "", *(f"{n}  " for n in notes)])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    for b in body:
        cells = [b[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(b[1:], widths[1:], strict=True)]
        out.append("  ".join(cells))
    return "\n".join([*out, "", *notes])


# ---- MLflow environment ---------------------------------------------------------------------


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def find_mlflow_python(explicit: str | None) -> str:
    """An interpreter that can ``import mlflow``; creates benchmarks/.venv-mlflow if needed."""
    chosen = explicit or os.environ.get("MLFLOW_BENCH_PYTHON")
    if chosen:
        return chosen
    probe = subprocess.run([sys.executable, "-c", "import mlflow"], capture_output=True)
    if probe.returncode == 0:
        return sys.executable
    py = _venv_python(MLFLOW_VENV)
    if not py.exists() or subprocess.run([str(py), "-c", "import mlflow"]).returncode:
        log(f"creating {MLFLOW_VENV} and installing mlflow (one-off, a few minutes)")
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "mlflow"], check=True)
    return str(py)


def mlflow_side(python: str, workload: str, params: dict) -> dict:
    """Run one workload in the MLflow interpreter; its stderr streams through as progress."""
    proc = subprocess.run(
        [python, str(MLFLOW_SIDE), workload, json.dumps(params)],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        raise RuntimeError(f"MLflow side of {workload!r} failed (exit {proc.returncode})")
    return json.loads(lines[-1])


# ---- labtrack helpers -----------------------------------------------------------------------


def fresh_labtrack(workdir: str, experiment: str = "bench") -> Any:
    """Point labtrack's fluent API at a new SQLite file and make an experiment active."""
    import labtrack as lt

    lt.set_tracking_uri(f"sqlite:///{os.path.join(workdir, 'labtrack.db')}")
    lt.set_experiment(experiment)
    return lt


def machine_speed_us() -> float:
    """A fixed pure-Python workload, so figures from different machines can be compared: the
    absolute targets assume one machine, and a VM can be twice as slow as another."""
    import timeit

    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=7)) / 2000 * 1e6


def timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    """Seconds per call for ``repeats`` calls after one warm-up call."""
    result = fn()
    times = []
    for _ in range(repeats):
        result = None  # don't keep the previous result alive (and traversed by the GC)
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def timer_overhead_ns(n: int = 100_000) -> int:
    clock = time.perf_counter_ns
    samples = [0] * n
    for i in range(n):
        t0 = clock()
        samples[i] = clock() - t0
    return int(statistics.median(samples))


# ---- workloads ------------------------------------------------------------------------------


class Bench:
    def __init__(self, scale: float, mlflow_python: str | None, tmp: str) -> None:
        self.scale = scale
        self.mlflow_python = mlflow_python
        self.tmp = tmp
        self.details: dict[str, Any] = {}
        self.mlflow_version: str | None = None

    def n(self, full: int, minimum: int = 1) -> int:
        return max(int(full * self.scale), minimum)

    def workdir(self, name: str) -> str:
        return tempfile.mkdtemp(prefix=f"{name}-", dir=self.tmp)

    def mlflow(self, workload: str, params: dict) -> dict | None:
        if self.mlflow_python is None:
            return None
        params = {"workdir": self.workdir(f"mlflow-{workload}"), **params}
        result = mlflow_side(self.mlflow_python, workload, params)
        self.details[f"mlflow_{workload}"] = result
        return result

    # 1. ingest ---------------------------------------------------------------------------

    def ingest(self) -> list[Row]:
        runs, metrics, steps = self.n(100), 10, 1000
        total = runs * metrics * steps
        log(f"ingest: labtrack, {runs} runs x {metrics} metrics x {steps} steps = {total:,}")
        lt = fresh_labtrack(self.workdir("lt-ingest"))
        keys = [f"m{j}" for j in range(metrics)]
        values = [s * 0.001 for s in range(steps)]
        log_metric = lt.log_metric
        gc.collect()
        t0 = time.perf_counter()
        for i in range(runs):
            with lt.start_run(run_name=f"run-{i}"):
                for step in range(steps):
                    v = values[step]
                    for k in keys:
                        log_metric(k, v, step=step)
        lt.flush()
        secs = time.perf_counter() - t0
        lt_pps = total / secs
        log(f"ingest: labtrack {lt_pps:,.0f} points/s ({secs:.2f} s)")
        self.details["labtrack_ingest"] = {"points": total, "seconds": secs, "pps": lt_pps}

        q = self.scale < 1
        ml = self.mlflow(
            "ingest",
            {
                "metrics": metrics,
                "sync_runs": 1 if q else 2,
                "sync_steps": 20 if q else 100,
                "async_runs": 1 if q else 2,
                "async_steps": 20 if q else 100,
                "async_buffered_runs": 1 if q else 2,
                "async_buffered_steps": 100 if q else 1000,
            },
        )
        how = {
            "sync": "fluent mlflow.log_metric() (synchronous, one transaction per call)",
            "async": "log_metric(synchronous=False) + flush_async_logging() (MLflow default "
            "async: one log_batch per point on a 10-thread pool)",
            "async_buffered": "log_metric(synchronous=False) with "
            "MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS=1 (queue merges <= 1,000 points per batch)",
        }
        rows = []
        for mode, label in (
            ("sync", "vs MLflow sync"),
            ("async", "vs MLflow async"),
            ("async_buffered", "vs MLflow async+buffering"),
        ):
            note = "MLflow not run"
            if ml:
                r = ml[mode]
                note = (
                    f"MLflow figure from a SUBSET: {r['points']:,} points in "
                    f"{r['seconds']:.1f} s, {how[mode]}, sqlite:///, MLflow {ml['version']}"
                )
            rows.append(
                Row(
                    f"1. ingest {total:,} pts until durable ({label})",
                    lt_pps,
                    ml and ml[mode]["pps"],
                    "points/s",
                    500_000,
                    higher_is_better=True,
                    note=note,
                )
            )
        return rows

    # 2. log_metric call cost -------------------------------------------------------------

    def call(self) -> list[Row]:
        calls = self.n(200_000, 10_000)
        lt = fresh_labtrack(self.workdir("lt-call"))
        overhead = timer_overhead_ns()
        log(f"call: labtrack, {calls:,} timed log_metric calls (timer overhead {overhead} ns)")
        clock = time.perf_counter_ns
        log_metric = lt.log_metric
        samples = [0] * calls
        gc.collect()
        with lt.start_run(run_name="call-cost"):
            for i in range(calls):
                t0 = clock()
                log_metric("loss", 0.5, step=i)
                samples[i] = clock() - t0
        lt.flush()
        samples.sort()
        p50 = max(samples[calls // 2] - overhead, 0) / 1000
        p99 = max(samples[int(calls * 0.99)] - overhead, 0) / 1000
        log(f"call: labtrack median {p50:.2f} us, p99 {p99:.2f} us")
        self.details["labtrack_call"] = {
            "calls": calls,
            "timer_overhead_ns": overhead,
            "p50_us": p50,
            "p99_us": p99,
        }
        ml = self.mlflow(
            "call", {"sync_calls": self.n(2_000, 200), "async_calls": self.n(100_000, 10_000)}
        )
        note = ""
        if ml:
            note = (
                f"median of {calls:,} calls (p99 labtrack {p99:.1f} us); MLflow sync over "
                f"{ml['sync']['calls']:,} calls (p99 {ml['sync']['p99_us']:,.0f} us), async over "
                f"{ml['async']['calls']:,} (p99 {ml['async']['p99_us']:,.0f} us); "
                "timer overhead subtracted"
            )
        return [
            Row(
                "2. log_metric median call (vs MLflow sync)",
                p50,
                ml and ml["sync"]["p50_us"],
                "µs",
                5,
                note=note,
            ),
            Row(
                "2. log_metric median call (vs MLflow async)",
                p50,
                ml and ml["async"]["p50_us"],
                "µs",
                5,
            ),
        ]

    # 3. search_runs ----------------------------------------------------------------------

    def search(self) -> list[Row]:
        from labtrack.entities import Metric

        n_runs = self.n(10_000, 200)
        max_results = self.n(1000, 20)
        repeats = 5 if self.scale >= 1 else 3
        filt = "metrics.m0 > 0.2 and params.p0 = 'a'"
        order_by = ["metrics.m1 DESC"]
        lt = fresh_labtrack(self.workdir("lt-search"))
        store = lt.MlflowClient().backend.tracking.store  # in-process: the service
        exp_id = lt.get_experiment_by_name("bench").experiment_id
        rng = random.Random(42)
        log(f"search: populating {n_runs:,} labtrack runs (10 params, 5 metrics, 5 tags each)")
        t0 = time.perf_counter()
        now = int(time.time() * 1000)
        for i in range(n_runs):
            run = store.create_run(
                exp_id, "bench", now + i, {"mlflow.runName": f"run-{i}"}, f"run-{i}"
            )
            store.log_batch(
                run.info.run_id,
                metrics=[Metric(f"m{j}", rng.random(), now + i, 0) for j in range(5)],
                params=[("p0", "a" if i % 2 == 0 else "b")]
                + [(f"p{j}", f"v{rng.randrange(100)}") for j in range(1, 10)],
                tags=[(f"t{j}", f"tag{rng.randrange(10)}") for j in range(5)],
            )
        log(f"search: populated in {time.perf_counter() - t0:.1f} s")

        def go(fmt: str) -> Callable[[], Any]:
            return lambda: lt.search_runs(
                [exp_id],
                filt,
                order_by=order_by,
                max_results=max_results,
                output_format=fmt,
            )

        lt_ms = {}
        for fmt in ("list", "pandas"):
            times, res = timed(go(fmt), repeats)
            lt_ms[fmt] = statistics.median(times) * 1000
            assert len(res) == max_results, (fmt, len(res))
            log(f"search ({fmt}): labtrack median {lt_ms[fmt]:.1f} ms, {len(res)} runs")
        self.details["labtrack_search"] = lt_ms

        ml = self.mlflow(
            "search",
            {
                "runs": n_runs,
                "filter": filt,
                "order_by": order_by,
                "max_results": max_results,
                "repeats": repeats,
            },
        )
        note = (
            f"{n_runs:,} runs, filter `{filt}` (~40% match), order_by {order_by}, "
            f"max_results={max_results}; median of {repeats} after a warm-up"
        )
        return [
            Row(
                f"3. search_runs -> {max_results:,} Run objects",
                lt_ms["list"],
                ml and ml["list"]["median_ms"],
                "ms",
                25 if self.scale >= 1 else None,
                note=note,
            ),
            Row(
                f"3. search_runs -> DataFrame ({max_results:,} rows)",
                lt_ms["pandas"],
                ml and ml["pandas"]["median_ms"],
                "ms",
                150 if self.scale >= 1 else None,
            ),
        ]

    # 4. metric history -------------------------------------------------------------------

    def history(self) -> list[Row]:
        import numpy as np

        from labtrack.entities.points import Points

        points = self.n(1_000_000, 10_000)
        repeats = 5 if self.scale >= 1 else 3
        lt = fresh_labtrack(self.workdir("lt-history"))
        client = lt.MlflowClient()
        store = client.backend.tracking.store  # in-process: the service
        exp_id = lt.get_experiment_by_name("bench").experiment_id
        run_id = store.create_run(exp_id, "bench", None, {}, "history").info.run_id
        log(f"history: writing {points:,} labtrack points via store.log_series")
        t0 = time.perf_counter()
        steps = np.arange(points, dtype=np.int64)
        series = Points(steps, steps + int(time.time() * 1000), 1.0 / (1.0 + steps))
        store.log_series(run_id, {("loss", None, None, None): series})
        log(f"history: written in {time.perf_counter() - t0:.2f} s")

        full, _ = timed(lambda: client.get_metric_history(run_id, "loss"), repeats)
        cols, p = timed(lambda: store.read_points(run_id, "loss"), repeats)
        assert len(p) == points
        ser, s = timed(lambda: client.get_metric_series(run_id, "loss", max_points=2000), repeats)
        assert len(s.values) <= 2000
        assert s.mins is not None
        lt_full, lt_cols = statistics.median(full), statistics.median(cols)
        lt_ser = statistics.median(ser) * 1000
        log(
            f"history: labtrack get_metric_history {lt_full:.3f} s, read_points {lt_cols:.3f} s, "
            f"get_metric_series {lt_ser:.1f} ms"
        )
        self.details["labtrack_history"] = {
            "get_metric_history_s": full,
            "read_points_s": cols,
            "get_metric_series_ms": [t * 1000 for t in ser],
        }
        ml = self.mlflow(
            "history",
            {
                "points": points,
                "fallback_points": max(points // 10, 1000),
                "populate_budget_s": 180,
                "max_points": 2000,
                "repeats": 3 if self.scale >= 1 else 2,
            },
        )
        ml_full = ml_ser = None
        full_note = ser_note = "MLflow not run"
        if ml:
            ml_full = ml["full"]["median_s"]
            full_note = f"MLflow: MlflowClient().get_metric_history, {ml['points']:,} points"
            if ml["points"] < points:
                ml_full *= points / ml["points"]
                full_note += (
                    f" (populating {points:,} would exceed 3 min, so MLflow read "
                    f"{ml['points']:,} points in {ml['full']['median_s']:.2f} s; "
                    f"figure shown scaled linearly to {points:,})"
                )
            sampled = ml["sampled"]
            if sampled.get("available"):
                ml_ser = sampled["median_ms"]
                ser_note = (
                    f"MLflow: {sampled['how']}, {sampled['returned']} points sampled from "
                    f"{ml['points']:,} stored (not scaled); labtrack: "
                    "get_metric_series(max_points=2000), last point + min/max per bucket"
                )
            else:
                ser_note = "MLflow has no sampled-history API in this version"
        return [
            Row(
                f"4. full history {points:,} pts: get_metric_history",
                lt_full,
                ml_full,
                "s",
                1.0 if self.scale >= 1 else None,
                note=full_note,
            ),
            Row(
                f"4. full history {points:,} pts: read_points (columnar)",
                lt_cols,
                ml_full,
                "s",
                1.0 if self.scale >= 1 else None,
            ),
            Row(
                "4. downsampled history (<= 2,000 pts)",
                lt_ser,
                ml_ser,
                "ms",
                50 if self.scale >= 1 else None,
                note=ser_note,
            ),
        ]

    # 5. import time ----------------------------------------------------------------------

    def import_time(self) -> list[Row]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
        lt_ms = import_ms(sys.executable, "labtrack", env)
        log(f"import: labtrack median {lt_ms:.0f} ms")
        ml_ms = None
        if self.mlflow_python:
            ml_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            ml_ms = import_ms(self.mlflow_python, "mlflow", ml_env)
            log(f"import: mlflow median {ml_ms:.0f} ms")
        self.details["import_ms"] = {"labtrack": lt_ms, "mlflow": ml_ms}
        return [
            Row(
                "5. import time (fresh interpreter)",
                lt_ms,
                ml_ms,
                "ms",
                150,
                note="median of 5 fresh interpreters after one warm-up, "
                "time around the import statement only",
            )
        ]


def import_ms(python: str, module: str, env: dict[str, str], repeats: int = 5) -> float:
    code = (
        "import time; t = time.perf_counter(); "
        f"import {module}; print((time.perf_counter() - t) * 1000)"
    )
    times = []
    for i in range(repeats + 1):
        out = subprocess.run(
            [python, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        if i:
            times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def _load(avg: tuple[float, float, float] | None) -> str:
    return "n/a" if avg is None else f"{avg[0]:.1f}"


# ---- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="everything at 1/10 scale (smoke test)")
    ap.add_argument("--only", choices=WORKLOADS, action="append", help="run only this workload")
    ap.add_argument("--mlflow-python", help="interpreter with mlflow (else $MLFLOW_BENCH_PYTHON)")
    ap.add_argument("--no-mlflow", action="store_true", help="labtrack side only")
    ap.add_argument("--json", help="also write the raw figures to this file")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args(argv)

    start_load = os.getloadavg() if hasattr(os, "getloadavg") else None
    calibration = machine_speed_us()
    mlflow_python = None if args.no_mlflow else find_mlflow_python(args.mlflow_python)
    version = None
    if mlflow_python:
        version = subprocess.run(
            [mlflow_python, "-c", "import mlflow; print(mlflow.__version__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        log(f"MLflow {version} via {mlflow_python}")
    tmp = tempfile.mkdtemp(prefix="labtrack-bench-")
    bench = Bench(0.1 if args.quick else 1.0, mlflow_python, tmp)
    bench.mlflow_version = version
    rows: list[Row] = []
    try:
        for name in args.only or WORKLOADS:
            log(f"== {name} ==")
            fn = bench.import_time if name == "import" else getattr(bench, name)
            rows.extend(fn())
    finally:
        import labtrack as lt

        lt.flush()
        shutil.rmtree(tmp, ignore_errors=True)

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print()
    print(
        f"labtrack {lt.__version__} vs MLflow {bench.mlflow_version or 'n/a'}; "
        f"{os.cpu_count()} CPUs; 1-min load average {_load(start_load)} at start, "
        f"{_load(load)} at end "
        "(a load above the CPU count means other processes skewed the timings); "
        f"machine speed: sum(range(1000)) takes {calibration:.1f} µs "
        "(absolute figures scale with it)\n"
    )
    if args.quick:
        print("QUICK MODE: 1/10 scale, figures are not comparable with the targets.\n")
    print(render(rows, markdown=args.markdown))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "rows": [r.__dict__ | {"ratio": r.ratio, "passed": r.passed} for r in rows],
                    "details": bench.details,
                    "python": sys.version,
                    "quick": args.quick,
                    "load_average": {"start": start_load, "end": load},
                },
                indent=2,
                default=str,
            )
        )
    return 0 if all(r.passed is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
