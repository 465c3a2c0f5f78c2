"""The MLflow half of ``bench_ui.py``'s seeding, run by the interpreter that has ``mlflow server``.

Usage: ``python _mlflow_ui_side.py STORE_URI ARTIFACT_ROOT '{"runs": .., "series_runs": ..,
"steps": ..}'``. Writes ``_ui_workload.py``'s data through MLflow's own tracking store
(``mlflow.tracking._tracking_service.utils._get_store``: the SqlAlchemyStore that
``mlflow server`` serves): ``create_run`` and ``log_batch`` per run; the long metric series go in
as bulk rows of MLflow's ``metrics`` table plus one ``log_batch`` of each metric's last point
(see ``bulk_then_last``). Prints one JSON object: the experiment ids by name
and the seconds each part took. The server is started on the same store afterwards.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _ui_workload as w

BATCH = 1000
# MLflow 3's UI asks what kind of experiment an untagged one is before showing its runs; these
# are classic training runs.
KIND = ("mlflow.experimentKind", "custom_model_development")


def log(msg: str) -> None:
    print(f"  [mlflow seed] {msg}", file=sys.stderr, flush=True)


def _no_fsync_while_seeding() -> None:
    """SQLite's per-commit fsync made seeding disk-bound here (~90 ms per run); the seed's
    durability does not matter. Only this process's connections; the server opens its own."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragma(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.close()


def main() -> None:
    import mlflow
    from mlflow.entities import ExperimentTag, Metric, Param
    from mlflow.store.tracking.dbmodels.models import SqlMetric
    from sqlalchemy import insert

    uri, artifacts, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    _no_fsync_while_seeding()
    mlflow.set_tracking_uri(uri)
    from mlflow.tracking._tracking_service.utils import _get_store

    store: Any = _get_store()
    now = int(time.time() * 1000)
    out: dict[str, Any] = {"version": mlflow.__version__, "experiments": {}, "seconds": {}}

    def experiment(name: str) -> str:
        exp_id = store.create_experiment(
            name, artifact_location=f"{artifacts}/{name}", tags=[ExperimentTag(*KIND)]
        )
        out["experiments"][name] = exp_id
        return str(exp_id)

    def bulk_then_last(run_id: str, series: list[tuple[str, Any, Any, Any]]) -> None:
        """Each metric's points but its last as plain rows of MLflow's ``metrics`` table (the
        ORM's log_batch manages ~6,000 points/s here: 10M points would take half an hour),
        then every metric's last point through ``log_batch``, which also fills
        ``latest_metrics`` the way MLflow does."""
        rows = [
            {
                "key": key,
                "value": v,
                "timestamp": t,
                "step": s,
                "is_nan": False,
                "run_uuid": run_id,
            }
            for key, steps_a, stamps, values in series
            for s, t, v in zip(
                steps_a[:-1].tolist(), stamps[:-1].tolist(), values[:-1].tolist(), strict=True
            )
        ]
        with store.ManagedSessionMaker() as session:
            for lo in range(0, len(rows), 50_000):
                session.execute(insert(SqlMetric.__table__), rows[lo : lo + 50_000])
        last = [
            Metric(key, float(values[-1]), int(stamps[-1]), int(steps_a[-1]))
            for key, steps_a, stamps, values in series
        ]
        for lo in range(0, len(last), BATCH):
            store.log_batch(run_id, metrics=last[lo : lo + BATCH], params=[], tags=[])

    t0 = time.perf_counter()
    big = experiment(w.BIG)
    for run_spec in w.big_runs(params["runs"]):
        run = store.create_run(big, "bench", now + run_spec.start_offset_ms, [], run_spec.name)
        store.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, now, w.BIG_METRIC_STEP) for k, v in run_spec.metrics],
            params=[Param(k, v) for k, v in run_spec.params],
            tags=[],
        )
    out["seconds"]["big"] = time.perf_counter() - t0
    log(f"{params['runs']:,} runs in {out['seconds']['big']:.1f} s")

    t0 = time.perf_counter()
    long = experiment(w.LONG)
    for series in w.long_runs(params["series_runs"], params["steps"]):
        run = store.create_run(long, "bench", now + series.start_offset_ms, [], series.name)
        store.log_batch(run.info.run_id, metrics=[], params=[Param("lr", series.lr)], tags=[])
        bulk_then_last(
            run.info.run_id,
            [("loss", series.steps, now + series.timestamp_offsets_ms, series.values)],
        )
        log(f"{series.name}: {len(series.steps):,} steps ({time.perf_counter() - t0:.0f} s so far)")
    out["seconds"]["long"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    wide = experiment(w.WIDE)
    run = store.create_run(wide, "bench", now, [], w.WIDE_RUN)
    bulk_then_last(run.info.run_id, [(k, st, now + ts, v) for k, st, ts, v in w.wide_metrics()])
    out["seconds"]["wide"] = time.perf_counter() - t0
    out["wide_run_id"] = run.info.run_id
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
