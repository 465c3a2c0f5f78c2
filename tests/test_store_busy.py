"""SQLite busy with a writer in another process (a kernel, a script): a write waits, retries
and lands; when the database stays locked past every retry the REST answer is 503
TEMPORARILY_UNAVAILABLE in MLflow's error shape (nothing changed, send it again), never a 500.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from labtrack.entities.points import Points
from server_fixtures import *  # noqa: F403
from server_fixtures import assert_error

M = "api/2.0/mlflow"


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's busy timeout at 200 ms (30 s in use), so tests wait past it quickly."""
    from labtrack.store import engine

    monkeypatch.setattr(engine, "_BUSY_TIMEOUT_MS", 200)


def _hold_write_lock(path: Path, seconds: float) -> threading.Thread:
    """Another writer: a connection of its own holding SQLite's write lock for ``seconds``."""
    ready = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    t = threading.Thread(target=hold)
    t.start()
    ready.wait(10)
    return t


def test_a_write_outlasting_the_busy_timeout_is_retried_and_lands(tmp_path, short_busy_timeout):
    from labtrack.store.tracking_store import TrackingStore

    db = tmp_path / "labtrack.db"
    store = TrackingStore(f"sqlite:///{db}", str(tmp_path / "artifacts"))
    try:
        rid = store.create_run("0", "u", 1, {}, "r").info.run_id
        holder = _hold_write_lock(db, 0.5)  # longer than one busy wait, shorter than retries
        steps = np.arange(100, dtype=np.int64)
        store.log_series(rid, {("m", None, None, None): Points(steps, steps, steps * 1.0)})
        holder.join()
        assert len(store.read_points(rid, "m")) == 100
    finally:
        store.dispose()


def test_a_database_locked_past_every_retry_is_a_503(
    short_busy_timeout, fetch, labtrack_paths
) -> None:
    status = fetch(f"{M}/runs/create", "POST", json_body={"experiment_id": "0"})
    assert status.code == 200
    run_id = __import__("json").loads(status.body)["run"]["info"]["run_id"]
    holder = _hold_write_lock(labtrack_paths["store_dir"] / "labtrack.db", 4)
    try:
        metrics = [{"key": "m", "value": 1.0, "timestamp": 1, "step": 1}]
        response = fetch(
            f"{M}/runs/log-batch", "POST", json_body={"run_id": run_id, "metrics": metrics}
        )
        body = assert_error(response, 503, "TEMPORARILY_UNAVAILABLE")
        assert "Retry" in body["message"]
        assert response.headers.get("Retry-After") == "1"
    finally:
        holder.join()
    # Nothing of the refused request was stored.
    history = fetch(f"{M}/metrics/get-history?run_id={run_id}&metric_key=m")
    assert __import__("json").loads(history.body).get("metrics", []) == []
