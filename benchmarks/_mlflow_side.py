"""The MLflow half of ``bench_tracking.py``, run in an interpreter that has MLflow installed.

Usage: ``python _mlflow_side.py WORKLOAD '{"json": "params"}'``. Progress goes to stderr; the
result is one JSON object on the last line of stdout. Each workload makes its own temporary SQLite
store (the caller passes ``workdir``), so runs never share state.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from typing import Any

# No network here, and telemetry/tracing would only add noise to the timings.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_TRACKING_USERNAME", "bench")


def log(msg: str) -> None:
    print(f"  [mlflow] {msg}", file=sys.stderr, flush=True)


def _median(xs: list[float]) -> float:
    return statistics.median(xs)


def _setup(workdir: str, experiment: str = "bench") -> tuple[Any, str, str]:
    """Point MLflow at a fresh SQLite file (migrations run here, outside any timing)."""
    import mlflow

    uri = f"sqlite:///{os.path.join(workdir, 'mlflow.db')}"
    mlflow.set_tracking_uri(uri)
    exp_id = mlflow.create_experiment(
        experiment, artifact_location=os.path.join(workdir, "artifacts")
    )
    mlflow.set_experiment(experiment_id=exp_id)
    return mlflow, uri, exp_id


def _store() -> Any:
    from mlflow.tracking._tracking_service.utils import _get_store

    return _get_store()


# ---- 1. ingest ---------------------------------------------------------------------------


def ingest(p: dict) -> dict:
    mlflow, _, _ = _setup(p["workdir"])
    keys = [f"m{j}" for j in range(p["metrics"])]
    out: dict[str, Any] = {"version": mlflow.__version__}

    def run_loop(runs: int, steps: int, synchronous: bool, label: str) -> float:
        t0 = time.perf_counter()
        for i in range(runs):
            with mlflow.start_run(run_name=f"{label}-{i}"):
                for step in range(steps):
                    v = step * 0.001
                    for k in keys:
                        mlflow.log_metric(k, v, step=step, synchronous=synchronous)
                if not synchronous:
                    mlflow.flush_async_logging()
        return time.perf_counter() - t0

    # sync: one transaction per call (MLflow's default). async: queued, one log_batch per call
    # on a 10-thread pool. async_buffered: MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS=1 lets the
    # queue merge up to 1,000 points per log_batch (MLflow's fastest fluent configuration).
    for mode in ("sync", "async", "async_buffered"):
        runs, steps = p[f"{mode}_runs"], p[f"{mode}_steps"]
        if mode == "async_buffered":
            os.environ["MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS"] = "1"
        n = runs * steps * len(keys)
        log(f"ingest {mode}: {runs} runs x {len(keys)} metrics x {steps} steps")
        secs = run_loop(runs, steps, mode == "sync", mode)
        out[mode] = {"points": n, "seconds": secs, "pps": n / secs}
        log(f"ingest {mode}: {n / secs:,.0f} points/s ({secs:.1f} s)")
    os.environ.pop("MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS", None)
    return out


# ---- 2. log_metric call cost -------------------------------------------------------------


def _timer_overhead(n: int) -> int:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(n):
        t0 = clock()
        t1 = clock()
        samples.append(t1 - t0)
    return int(statistics.median(samples))


def _call_cost(mlflow: Any, n: int, synchronous: bool) -> dict:
    clock = time.perf_counter_ns
    samples = [0] * n
    log_metric = mlflow.log_metric
    mlflow.start_run(run_name="sync" if synchronous else "async")
    for i in range(n):
        t0 = clock()
        log_metric("loss", 0.5, step=i, synchronous=synchronous)
        samples[i] = clock() - t0
    if synchronous:
        mlflow.end_run()
    # async: the run is left open and its queue undrained. Draining one log_batch per queued
    # point takes minutes and is not what this workload measures (see the ingest workload).
    samples.sort()
    return {"calls": n, "p50_ns": samples[n // 2], "p99_ns": samples[int(n * 0.99)]}


def call_cost(p: dict) -> dict:
    mlflow, _, _ = _setup(p["workdir"])
    overhead = _timer_overhead(100_000)
    out: dict[str, Any] = {"version": mlflow.__version__, "timer_overhead_ns": overhead}
    for mode, n in (("sync", p["sync_calls"]), ("async", p["async_calls"])):
        log(f"log_metric call cost ({mode}): {n:,} calls")
        r = _call_cost(mlflow, n, mode == "sync")
        r["p50_us"] = max(r["p50_ns"] - overhead, 0) / 1000
        r["p99_us"] = max(r["p99_ns"] - overhead, 0) / 1000
        out[mode] = r
        log(f"log_metric ({mode}): median {r['p50_us']:.1f} us")
    return out


# ---- 3. search_runs ----------------------------------------------------------------------


def search(p: dict) -> dict:
    import random

    from mlflow.entities import Metric, Param, RunTag

    mlflow, _, exp_id = _setup(p["workdir"])
    store = _store()
    rng = random.Random(42)
    n_runs = p["runs"]
    log(f"search: populating {n_runs:,} runs via the SQL store (create_run + log_batch)")
    t0 = time.perf_counter()
    now = int(time.time() * 1000)
    for i in range(n_runs):
        run = store.create_run(
            experiment_id=exp_id,
            user_id="bench",
            start_time=now + i,
            tags=[],
            run_name=f"run-{i}",
        )
        rid = run.info.run_id
        store.log_batch(
            rid,
            metrics=[Metric(f"m{j}", rng.random(), now + i, 0) for j in range(5)],
            params=[Param("p0", "a" if i % 2 == 0 else "b")]
            + [Param(f"p{j}", f"v{rng.randrange(100)}") for j in range(1, 10)],
            tags=[RunTag(f"t{j}", f"tag{rng.randrange(10)}") for j in range(5)],
        )
        if (i + 1) % max(n_runs // 10, 1) == 0:
            log(f"search: {i + 1:,}/{n_runs:,} runs ({time.perf_counter() - t0:.0f} s)")
    populate = time.perf_counter() - t0

    kw = {
        "experiment_ids": [exp_id],
        "filter_string": p["filter"],
        "order_by": p["order_by"],
        "max_results": p["max_results"],
    }
    out: dict[str, Any] = {"version": mlflow.__version__, "populate_seconds": populate}
    for fmt in ("list", "pandas"):
        times = []
        got = 0
        for r in range(p["repeats"] + 1):
            t0 = time.perf_counter()
            res = mlflow.search_runs(output_format=fmt, **kw)
            dt = time.perf_counter() - t0
            got = len(res)
            if r:  # the first call is the warm-up
                times.append(dt)
        out[fmt] = {"median_ms": _median(times) * 1000, "times_ms": [t * 1000 for t in times]}
        out[fmt]["returned"] = got
        log(f"search ({fmt}): median {out[fmt]['median_ms']:.1f} ms, {got} runs")
    return out


# ---- 4. metric history -------------------------------------------------------------------


def history(p: dict) -> dict:
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    mlflow, _, exp_id = _setup(p["workdir"])
    store = _store()
    client = MlflowClient()
    run = client.create_run(exp_id, run_name="history")
    rid = run.info.run_id
    target = p["points"]
    batch = 1000
    budget = p["populate_budget_s"]
    log(f"history: logging up to {target:,} points in {batch}-point log_batch calls")
    t0 = time.perf_counter()
    logged = 0
    now = int(time.time() * 1000)
    fallback = p["fallback_points"]
    while logged < target:
        store.log_batch(
            rid,
            metrics=[
                Metric("loss", 1.0 / (1 + s), now + s, s) for s in range(logged, logged + batch)
            ],
            params=[],
            tags=[],
        )
        logged += batch
        if logged == fallback and logged < target:
            elapsed = time.perf_counter() - t0
            projected = elapsed * target / logged
            log(f"history: {logged:,} points in {elapsed:.0f} s, projected {projected:.0f} s")
            if projected > budget:
                log(f"history: projected > {budget:.0f} s budget; stopping at {logged:,} points")
                break
        if logged % (target // 10) == 0:
            log(f"history: {logged:,} points ({time.perf_counter() - t0:.0f} s)")
    populate = time.perf_counter() - t0

    out: dict[str, Any] = {
        "version": mlflow.__version__,
        "points": logged,
        "populate_seconds": populate,
    }
    times = []
    n = 0
    for r in range(p["repeats"] + 1):
        t0 = time.perf_counter()
        hist = client.get_metric_history(rid, "loss")
        dt = time.perf_counter() - t0
        n = len(hist)
        del hist
        if r:
            times.append(dt)
    out["full"] = {"median_s": _median(times), "times_s": times, "returned": n}
    log(f"history full: median {out['full']['median_s']:.2f} s ({n:,} points)")

    # MLflow's chart path: the GetMetricHistoryBulkInterval REST handler calls the store's
    # get_metric_history_bulk_interval (sampled steps, no min/max per bucket). Call it in-process.
    out["sampled"] = _sampled_history(store, rid, p["max_points"], p["repeats"])
    return out


def _sampled_history(store: Any, rid: str, max_points: int, repeats: int) -> dict:
    fetch = getattr(store, "get_metric_history_bulk_interval", None)
    if fetch is None:
        return {"available": False}
    times = []
    n = 0
    for r in range(repeats + 1):
        t0 = time.perf_counter()
        n = len(fetch([rid], "loss", max_points, None, None))
        dt = time.perf_counter() - t0
        if r:
            times.append(dt)
    log(f"history sampled: median {_median(times) * 1000:.0f} ms ({n} points)")
    return {
        "available": True,
        "median_ms": _median(times) * 1000,
        "times_ms": [t * 1000 for t in times],
        "returned": n,
        "how": "SqlAlchemyStore.get_metric_history_bulk_interval (what the "
        "GetMetricHistoryBulkInterval REST handler calls; evenly spaced rows, no min/max)",
    }


WORKLOADS = {"ingest": ingest, "call": call_cost, "search": search, "history": history}


def main() -> None:
    name, params = sys.argv[1], json.loads(sys.argv[2])
    result = WORKLOADS[name](params)
    print(json.dumps(result), flush=True)
    sys.stderr.flush()
    # Skip interpreter teardown: it would drain the undrained async queue of the call workload.
    os._exit(0)


if __name__ == "__main__":
    main()
