"""``labtrack service`` stops promptly on SIGTERM (how JupyterHub stops a managed service, and
how Kubernetes and systemd stop a replica), idle or busy, and loses nothing it acknowledged.

Each test starts a replica of the externally managed service of ``hub_fixtures`` (real hub
identity, PostgreSQL, SeaweedFS) as a process of its own, puts it to work, sends SIGTERM and
measures the time to exit. Busy means writers keeping their keep-alive connections full of
1,000-point log-batch requests and a client downloading a large artifact slowly: a stopping
server refuses new connections, finishes or cuts off what is in flight, and exits.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from hub_fixtures import Hub, Replica

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MLFLOW = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
# The time from SIGTERM to exit. The hub waits a few seconds before it kills a service; a
# replica behind a balancer should leave as quickly. Generous for a loaded 2-core machine.
IDLE_EXIT_SECONDS = 2.0
BUSY_EXIT_SECONDS = 4.0


def _session(hub: Hub, user: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"token {hub.tokens[user]}"
    return session


def _new_run(session: requests.Session, url: str) -> dict:
    name = f"stop-{uuid.uuid4().hex[:8]}"
    resp = session.post(url + MLFLOW + "/experiments/create", json={"name": name}, timeout=60)
    assert resp.status_code == 200, resp.text
    eid = resp.json()["experiment_id"]
    resp = session.post(url + MLFLOW + "/runs/create", json={"experiment_id": eid}, timeout=60)
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["run"]["info"])


@pytest.fixture
def replica(hub: Hub, tmp_path: Path) -> Iterator[Replica]:
    with Replica(hub, tmp_path) as running:
        yield running


def test_an_idle_service_exits_promptly_on_sigterm(hub: Hub, replica: Replica) -> None:
    session = _session(hub, "alice")
    # Warm: the store, its connection pool and the hub's token cache are open.
    run = _new_run(session, replica.url)
    resp = session.get(replica.url + MLFLOW + f"/runs/get?run_id={run['run_id']}", timeout=60)
    assert resp.status_code == 200, resp.text
    elapsed = replica.stop_and_time()
    print(f"idle: exit {elapsed:.2f} s after SIGTERM")
    assert elapsed < IDLE_EXIT_SECONDS, replica.log_tail()


WRITERS = 6
POINTS = 1000


def test_a_busy_service_exits_promptly_and_keeps_what_it_acknowledged(
    hub: Hub, replica: Replica
) -> None:
    session = _session(hub, "alice")
    run = _new_run(session, replica.url)
    run_id = run["run_id"]
    rel = run["artifact_uri"].split(":", 1)[1].lstrip("/")
    big = os.urandom(1024 * 1024) * 24  # 24 MiB in the object store
    resp = session.put(f"{replica.url}{ARTIFACTS}/{rel}/big.bin", data=big, timeout=120)
    assert resp.status_code == 200, resp.text

    stop = threading.Event()
    acknowledged: list[int] = []  # first step of each batch the service answered 200 to
    refused: list[tuple[int, int]] = []  # (first step, status)
    lock = threading.Lock()

    def writer(index: int) -> None:
        own = _session(hub, "alice")  # one keep-alive connection per writer
        batch = 0
        while not stop.is_set():
            first = (index * 100_000) + batch * POINTS
            metrics = [
                {"key": "loss", "value": 1.0, "timestamp": 1, "step": step}
                for step in range(first, first + POINTS)
            ]
            try:
                resp = own.post(
                    replica.url + MLFLOW + "/runs/log-batch",
                    json={"run_id": run_id, "metrics": metrics},
                    timeout=60,
                )
            except requests.RequestException:
                return  # the server went away: this batch is not acknowledged
            with lock:
                if resp.status_code == 200:
                    acknowledged.append(first)
                else:
                    refused.append((first, resp.status_code))
            batch += 1

    downloaded = [0]

    def slow_reader() -> None:
        try:
            with _session(hub, "bob").get(
                f"{replica.url}{ARTIFACTS}/{rel}/big.bin", stream=True, timeout=60
            ) as resp:
                for chunk in resp.iter_content(64 * 1024):
                    downloaded[0] += len(chunk)
                    time.sleep(0.02)
        except requests.RequestException:
            return

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    threads.append(threading.Thread(target=slow_reader))
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 60
        while len(acknowledged) < 2 * WRITERS or downloaded[0] == 0:
            assert time.monotonic() < deadline, replica.log_tail()
            time.sleep(0.05)
        elapsed = replica.stop_and_time()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=90)
    print(
        f"busy: exit {elapsed:.2f} s after SIGTERM; {len(acknowledged)} batches acknowledged, "
        f"{len(refused)} refused (503), {downloaded[0] >> 20} MiB of {len(big) >> 20} read"
    )
    assert elapsed < BUSY_EXIT_SECONDS, replica.log_tail()
    # What arrived while it stopped (over kept-alive connections) was refused with 503, which
    # clients retry, and never ran: no 500, no half-written batch.
    assert {status for _, status in refused} <= {503}, replica.log_tail()
    assert downloaded[0] < len(big), "the slow download was cut off, not waited for"

    # Every acknowledged batch is stored, once (read through the hub's managed service).
    steps: list[int] = []
    page = ""
    while True:
        query = f"?run_id={run_id}&metric_key=loss&max_results=25000"
        resp = session.get(
            hub.service_url + MLFLOW + "/metrics/get-history" + query + page, timeout=120
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        steps.extend(int(m["step"]) for m in body.get("metrics", []))
        if not body.get("next_page_token"):
            break
        page = f"&page_token={body['next_page_token']}"
    assert len(steps) == len(set(steps))
    expected = {s for first in acknowledged for s in range(first, first + POINTS)}
    assert expected <= set(steps)
    assert not {first for first, _ in refused} & set(steps)
