"""kill -9 of the server mid-ingest loses nothing it acknowledged (SQLite and PostgreSQL).

A real ``jupyter server`` with labtrack takes ``runs/log-batch`` calls from four client threads
(two into one shared run, two into runs of their own; each batch 100 points of disjoint steps
and one param) and is killed with SIGKILL several times while they log. While the server is
down the test opens the store itself and checks: SQLite's ``PRAGMA integrity_check`` is ok,
every batch the server answered 200 to is there, and no batch is half-written (its 100 points
and its param all, or none). Clients retry what got no answer, as MLflow's client does, against
the restarted server: in the end every point is stored exactly once (a retry of a batch that had
landed before the kill duplicates nothing), and no answer was ever a 5xx.

The first kill also cuts an artifact upload that replaces a file: the old file stays intact, and
the restarted server removes the upload's temp file.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from live_server import LiveServer, post_json, start_live_server

pytestmark = pytest.mark.slow

M = "api/2.0/mlflow"
ART = "api/2.0/mlflow-artifacts/artifacts"
WRITERS = 4  # writers 0 and 1 share a run, 2 and 3 have one each
BATCHES = 40
POINTS = 100
KILLS = 3
ACKS_BETWEEN_KILLS = 15  # batches acknowledged by a server before it is killed


@dataclass
class Target:
    """Where the clients send; swapped by the test on every restart."""

    server: LiveServer
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Writer:
    index: int
    run_id: str
    acked: set[int] = field(default_factory=set)  # batches answered 200
    refused: list[tuple[int, str]] = field(default_factory=list)  # any other answer
    unanswered: int = 0  # requests cut off by a kill (or refused while the server was down)
    done: bool = False

    def first_step(self, batch: int) -> int:
        return (self.index * BATCHES + batch) * POINTS

    def body(self, batch: int) -> bytes:
        first = self.first_step(batch)
        metrics = [
            {"key": "loss", "value": step * 0.5, "timestamp": 1_700_000_000_000, "step": step}
            for step in range(first, first + POINTS)
        ]
        params = [{"key": f"w{self.index}_b{batch}", "value": str(first)}]
        return json.dumps({"run_id": self.run_id, "metrics": metrics, "params": params}).encode()

    def run(self, target: Target) -> None:
        for batch in range(BATCHES):
            body = self.body(batch)
            while True:  # until the batch is acknowledged: unknown outcomes are sent again
                with target.lock:
                    server = target.server
                req = urllib.request.Request(
                    f"{server.url}/{M}/runs/log-batch",
                    data=body,
                    method="POST",
                    headers={
                        "Authorization": f"Bearer {server.token}",
                        "Content-Type": "application/json",
                    },
                )
                try:
                    with urllib.request.urlopen(req, timeout=60) as resp:
                        resp.read()
                    self.acked.add(batch)
                    break
                except urllib.error.HTTPError as err:
                    self.refused.append((err.code, err.read()[:300].decode(errors="replace")))
                except (OSError, http.client.HTTPException):
                    self.unanswered += 1
                time.sleep(0.05)
        self.done = True


class Restartable:
    """A live server on one store that the test kills with SIGKILL and starts again."""

    def __init__(self, tmp: Path, store_uri: str | None) -> None:
        self.tmp, self.store_uri = tmp, store_uri
        self._gen: Iterator[LiveServer] | None = None
        self.server = self.start()

    def start(self) -> LiveServer:
        self._gen = start_live_server(self.tmp, self.store_uri)
        self.server = next(self._gen)
        return self.server

    def kill(self) -> None:
        os.kill(self.server.pid, signal.SIGKILL)
        assert self._gen is not None
        self._gen.close()  # waits for the dead process (no signal is sent to it again)

    def stop(self) -> None:
        if self._gen is not None:
            self._gen.close()


def _batches_in_store(store_uri: str, artifact_root: str, writers: list[Writer]) -> dict:
    """{writer index: {batch: points found}} and the params found, read from the store while
    no server runs. Also checks each stored point is the value its client sent."""
    from labtrack.store.tracking_store import TrackingStore

    store = TrackingStore(store_uri, artifact_root)
    try:
        found: dict[int, dict[int, int]] = {w.index: {} for w in writers}
        params: dict[int, set[int]] = {w.index: set() for w in writers}
        for run_id in {w.run_id for w in writers}:
            points = store.read_points(run_id, "loss")
            steps = points.steps.tolist()
            assert points.values.tolist() == [s * 0.5 for s in steps]
            for step in steps:
                index, batch = divmod(step // POINTS, BATCHES)
                found[index][batch] = found[index].get(batch, 0) + 1
            for key in store.get_run(run_id).data.params:
                index, batch = (int(part[1:]) for part in key.split("_"))
                params[index].add(batch)
        return {"points": found, "params": params}
    finally:
        store.dispose()


def _check_store_after_kill(
    store_uri: str, artifact_root: str, writers: list[Writer], acked: dict[int, set[int]]
) -> int:
    """The checks of the module docstring; returns the number of whole batches stored."""
    if store_uri.startswith("sqlite:///"):
        with sqlite3.connect(store_uri.removeprefix("sqlite:///")) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    stored = _batches_in_store(store_uri, artifact_root, writers)
    whole = 0
    for w in writers:
        points, params = stored["points"][w.index], stored["params"][w.index]
        half = {b: n for b, n in points.items() if n != POINTS}
        assert half == {}, f"writer {w.index}: batches stored in part (batch: points) {half}"
        assert set(points) == params, f"writer {w.index}: points and params of a batch differ"
        lost = acked[w.index] - set(points)
        assert not lost, f"writer {w.index}: acknowledged batches {sorted(lost)} are gone"
        whole += len(points)
    return whole


def _all_steps(server: LiveServer, run_id: str) -> list[int]:
    steps: list[int] = []
    token = None
    while True:
        query = f"run_id={run_id}&metric_key=loss&max_results=25000"
        if token:
            query += f"&page_token={urllib.request.quote(token)}"
        req = urllib.request.Request(
            f"{server.url}/{M}/metrics/get-history?{query}",
            headers={"Authorization": f"Bearer {server.token}"},
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            page = json.loads(resp.read())
        steps.extend(m["step"] for m in page.get("metrics", []))
        token = page.get("next_page_token")
        if not token:
            return steps


@pytest.fixture(params=["sqlite", "postgresql"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'labtrack.db'}"
    from conftest import _reset_pg

    url: str = request.getfixturevalue("pg_database")
    _reset_pg(url)
    return url


def _http(server: LiveServer, path: str, data: bytes | None = None, method: str = "GET") -> bytes:
    req = urllib.request.Request(
        f"{server.url}/{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {server.token}"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return bytes(resp.read())


def _temp_files(folder: Path) -> list[Path]:
    from labtrack.artifact_store.store import TMP_PREFIX

    return [p for p in folder.iterdir() if p.name.startswith(TMP_PREFIX)]


class CutUpload:
    """A 64 MiB upload replacing an artifact of 1 MiB, of which 8 MiB are sent: the server
    writes them to a temp file and is killed while waiting for the rest."""

    def __init__(self, server: LiveServer, run_id: str) -> None:
        self.rel_folder = f"0/{run_id}/artifacts"
        self.path = f"{ART}/{self.rel_folder}/model.bin"
        self.folder = Path(server.artifact_root) / "0" / run_id / "artifacts"
        self.old = os.urandom(1 << 20)
        _http(server, self.path, self.old, "PUT")
        port = int(server.url.split(":")[2].split("/")[0])
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.sendall(
            f"PUT /labtrack/{self.path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {server.token}\r\nContent-Length: {64 << 20}\r\n\r\n".encode()
        )
        for _ in range(8):
            self.sock.sendall(b"\x00" * (1 << 20))
        deadline = time.monotonic() + 60
        while not any(p.stat().st_size for p in _temp_files(self.folder)):
            assert time.monotonic() < deadline, "the upload never reached a temp file"
            time.sleep(0.05)

    def check_after_kill(self) -> None:
        self.sock.close()
        left = _temp_files(self.folder)
        assert left, "the kill left no temp file: nothing to clean"
        assert (self.folder / "model.bin").read_bytes() == self.old
        # The server keeps temp files younger than temp_file_max_age (an upload may still be
        # writing them); age them as an hour passing would.
        for p in left:
            os.utime(p, (time.time() - 7200,) * 2)

    def check_after_restart(self, server: LiveServer) -> None:
        # The first artifact request opens the artifact store, which sweeps old temp files.
        listing = json.loads(_http(server, f"{ART}?path={self.rel_folder}"))
        assert [(f["path"], int(f["file_size"])) for f in listing["files"]] == [
            ("model.bin", 1 << 20)
        ]
        deadline = time.monotonic() + 60
        while _temp_files(self.folder):
            assert time.monotonic() < deadline, "the restarted server left the temp files"
            time.sleep(0.05)
        assert _http(server, self.path) == self.old


def test_acknowledged_batches_survive_kill_9_of_the_server(store_uri: str, tmp_path: Path):
    servers = Restartable(tmp_path, store_uri)
    target = Target(servers.server)
    threads: list[threading.Thread] = []
    try:
        runs = []
        for _ in range(3):
            status, body = post_json(servers.server, f"{M}/runs/create", {"experiment_id": "0"})
            assert status == 200, body
            runs.append(body["run"]["info"]["run_id"])
        upload: CutUpload | None = CutUpload(servers.server, runs[0])
        writers = [Writer(i, runs[max(0, i - 1)]) for i in range(WRITERS)]
        threads = [threading.Thread(target=w.run, args=(target,), daemon=True) for w in writers]
        for t in threads:
            t.start()
        whole_at_kill = []
        for _ in range(KILLS):
            floor = sum(len(w.acked) for w in writers) + ACKS_BETWEEN_KILLS
            deadline = time.monotonic() + 300
            while sum(len(w.acked) for w in writers) < floor:
                assert time.monotonic() < deadline, "the clients made no progress"
                time.sleep(0.01)
            assert not all(w.done for w in writers), "killed after the ingest ended"
            servers.kill()
            # Every 200 counted now was sent by the server before it died.
            acked = {w.index: set(w.acked) for w in writers}
            whole_at_kill.append(
                _check_store_after_kill(store_uri, servers.server.artifact_root, writers, acked)
            )
            if upload is not None:
                upload.check_after_kill()
            with target.lock:
                target.server = servers.start()
            if upload is not None:
                upload.check_after_restart(servers.server)
                upload = None
        for t in threads:
            t.join(600)
        assert all(w.done for w in writers)
        print(
            f"whole batches stored at each kill: {whole_at_kill}; requests cut off or "
            f"refused while down: {sum(w.unanswered for w in writers)}"
        )
        assert [r for w in writers for r in w.refused] == []  # no 5xx, no 4xx either
        # Exactly every point, once: retries of batches that had landed added nothing.
        shared = sorted(_all_steps(servers.server, runs[0]))
        assert shared == list(range(2 * BATCHES * POINTS))
        for w in writers[2:]:
            first = w.first_step(0)
            assert sorted(_all_steps(servers.server, w.run_id)) == list(
                range(first, first + BATCHES * POINTS)
            )
    finally:
        servers.stop()
        for t in threads:
            t.join(0)
    whole = _check_store_after_kill(
        store_uri, servers.server.artifact_root, writers, {w.index: w.acked for w in writers}
    )
    assert whole == WRITERS * BATCHES
