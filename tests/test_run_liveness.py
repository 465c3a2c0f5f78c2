"""Killed runs do not stay RUNNING forever (beyond MLflow): labtrack's clients send a heartbeat
while a run is active, and a RUNNING run whose writer fell silent past the heartbeat timeout is
marked KILLED, ended at its last heartbeat, with a system tag saying why. Runs that never beat
(logged by MLflow's own client) are left alone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from labtrack.entities import system_tags
from live_server import LiveServer, post_json, start_live_server

M = "api/2.0/mlflow"
SRC = str(Path(__file__).resolve().parents[1] / "src")


# ---- the store's rule -------------------------------------------------------------------


def _beat_time(store, run_id: str) -> int | None:
    from sqlalchemy import select

    from labtrack.store import schema

    with store.engine.connect() as conn:
        return conn.execute(
            select(schema.runs.c.heartbeat_time).where(schema.runs.c.run_uuid == run_id)
        ).scalar()


def test_only_silent_runs_that_beat_are_marked_killed(store):
    beating = store.create_run("0", "u", 1, {}, "beating").info.run_id
    never = store.create_run("0", "u", 1, {}, "mlflow-client").info.run_id
    finished = store.create_run("0", "u", 1, {}, "finished").info.run_id
    store.heartbeat(beating)
    store.heartbeat(finished)
    store.update_run_info(finished, status="FINISHED", end_time=5)
    beat = _beat_time(store, beating)
    assert beat is not None

    # Not yet silent for the timeout: nothing happens.
    assert store.kill_silent_runs(60_000, now=beat + 59_000) == []
    assert store.kill_silent_runs(60_000, now=beat + 61_000) == [beating]

    run = store.get_run(beating)
    assert run.info.status == "KILLED"
    assert run.info.end_time == beat
    assert "No heartbeat" in run.data.tags[system_tags.KILLED_REASON]
    assert store.get_run(never).info.status == "RUNNING"
    assert store.get_run(finished).info.status == "FINISHED"
    # Search shows the same (the run's stored JSON was rewritten).
    found = store.search_runs(["0"], "attributes.status = 'KILLED'").items
    assert [r.info.run_id for r in found] == [beating]
    # A second sweep finds nothing more.
    assert store.kill_silent_runs(60_000, now=beat + 3_600_000) == []


def test_a_resumed_run_is_not_killed_for_its_old_heartbeat(store):
    run_id = store.create_run("0", "u", 1, {}, "r").info.run_id
    store.heartbeat(run_id)
    store.update_run_info(run_id, status="FAILED", end_time=5)
    store.update_run_info(run_id, status="RUNNING")  # resumed (start_run(run_id=...))
    assert _beat_time(store, run_id) is None
    assert store.kill_silent_runs(1, now=10**15) == []


def test_a_heartbeat_of_an_unknown_run_is_404(service):
    from labtrack.errors import LabtrackException

    with pytest.raises(LabtrackException) as err:
        service.heartbeat("0" * 32)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


# ---- a real writer killed with -9 -------------------------------------------------------

_WRITER = """
import sys, time
import labtrack as lt
run = lt.start_run(run_name="doomed")
lt.log_metric("loss", 1.0, step=0)
lt.flush()
print(run.info.run_id, flush=True)
time.sleep(600)
"""


def _start_writer(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "MLFLOW_"))}
    full.update(env)
    full["PYTHONPATH"] = SRC
    full["LABTRACK_HEARTBEAT_INTERVAL"] = "0.2"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER], env=full, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert len(run_id) == 32, run_id
    return proc, run_id


def _kill(proc: subprocess.Popen) -> None:
    time.sleep(0.8)  # a few heartbeats
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from start_live_server(
        tmp_path_factory.mktemp("liveness"), extra_args=("--LabtrackApp.heartbeat_timeout=2",)
    )


def _get_run(server: LiveServer, run_id: str) -> dict:
    req = urllib.request.Request(
        f"{server.url}/{M}/runs/get?run_id={run_id}",
        headers={"Authorization": f"Bearer {server.token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["run"]


def test_a_writer_killed_with_sigkill_ends_killed_by_the_servers_sweep(server):
    proc, run_id = _start_writer(
        {"LABTRACK_TRACKING_URI": server.url, "LABTRACK_TRACKING_TOKEN": server.token}
    )
    killed_at = time.time() * 1000
    _kill(proc)
    # A run logged over plain REST with no heartbeat (as MLflow's client does).
    status, body = post_json(server, f"{M}/runs/create", {"experiment_id": "0"})
    assert status == 200, body
    plain = body["run"]["info"]["run_id"]

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = _get_run(server, run_id)
        if run["info"]["status"] != "RUNNING":
            break
        time.sleep(0.25)
    assert run["info"]["status"] == "KILLED"
    end = int(run["info"]["end_time"])
    assert end <= killed_at + 1000, (end, killed_at)  # its last heartbeat, before the kill
    assert end >= int(run["info"]["start_time"])
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert "No heartbeat" in tags[system_tags.KILLED_REASON]
    time.sleep(3)  # past the timeout
    assert _get_run(server, plain)["info"]["status"] == "RUNNING"


def test_labtrack_gc_marks_a_killed_in_process_writer_killed(tmp_path):
    store_uri = f"sqlite:///{tmp_path / 'labtrack.db'}"
    env = {"LABTRACK_TRACKING_URI": store_uri, "LABTRACK_ARTIFACT_ROOT": str(tmp_path / "a")}
    proc, run_id = _start_writer(env)
    _kill(proc)
    time.sleep(1.5)
    full = {k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "MLFLOW_"))}
    full.update(env, PYTHONPATH=SRC)
    out = subprocess.run(
        [sys.executable, "-m", "labtrack.cli", "gc", "--heartbeat-timeout", "1"],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "marked 1 silent runs KILLED" in out, out
    from labtrack.store.tracking_store import TrackingStore

    st = TrackingStore(store_uri)
    try:
        run = st.get_run(run_id)
        assert run.info.status == "KILLED"
        assert system_tags.KILLED_REASON in run.data.tags
    finally:
        st.dispose()
