"""Artifact downloads from the object store (SeaweedFS) through ``labtrack service``: each says
its length (``Content-Length``, what the mlflow client and browsers use for progress and to
tell a complete download from a cut-off one) and streams in chunks, never holding the object
in the service's memory.

A replica of the externally managed service (``hub_fixtures.Replica``: real hub identity,
PostgreSQL, SeaweedFS) runs as a process of its own, so its memory can be watched.
"""

from __future__ import annotations

import http.client
import os
import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psutil
import pytest
import requests

from hub_fixtures import Hub, Replica

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MLFLOW = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture(scope="module")
def replica(hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replica]:
    with Replica(hub, tmp_path_factory.mktemp("s3-downloads")) as running:
        yield running


@pytest.fixture(scope="module")
def run_folder(hub: Hub, replica: Replica) -> str:
    """A run's artifact folder (root-relative) of a new experiment of alice's."""
    session = _session(hub, "alice")
    name = f"downloads-{uuid.uuid4().hex[:8]}"
    resp = session.post(replica.url + MLFLOW + "/experiments/create", json={"name": name})
    assert resp.status_code == 200, resp.text
    resp = session.post(
        replica.url + MLFLOW + "/runs/create", json={"experiment_id": resp.json()["experiment_id"]}
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["run"]["info"]["artifact_uri"].split(":", 1)[1].lstrip("/"))


def _session(hub: Hub, user: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"token {hub.tokens[user]}"
    return session


def _upload(hub: Hub, url: str, rel: str, data: bytes) -> None:
    resp = _session(hub, "alice").put(f"{url}{ARTIFACTS}/{rel}", data=data, timeout=120)
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize("size", [0, 5, 3 * 1024 * 1024 + 7])
def test_a_download_says_its_length(hub: Hub, replica: Replica, run_folder: str, size: int) -> None:
    rel = f"{run_folder}/sized-{size}.bin"
    data = os.urandom(size)
    _upload(hub, replica.url, rel, data)
    # http.client shows the framing as sent: a length, not chunked transfer encoding.
    parts = urlsplit(replica.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(
            "GET",
            f"{parts.path}{ARTIFACTS}/{rel}",
            headers={"Authorization": f"token {hub.tokens['bob']}"},
        )
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status == 200, body[:300]
    assert resp.getheader("Content-Length") == str(size)
    assert resp.getheader("Transfer-Encoding") is None
    assert body == data


def test_a_download_through_the_hub_proxy_says_its_length(hub: Hub, run_folder: str) -> None:
    """The same through the hub's proxy and the hub-managed service (what users reach)."""
    rel = f"{run_folder}/via-hub.bin"
    data = os.urandom(2 * 1024 * 1024 + 3)
    _upload(hub, hub.service_url, rel, data)
    resp = _session(hub, "bob").get(f"{hub.service_url}{ARTIFACTS}/{rel}", timeout=120)
    assert resp.status_code == 200
    assert resp.headers["Content-Length"] == str(len(data))
    assert resp.content == data


BIG = 48 * 1024 * 1024


def _rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def test_a_stalled_download_does_not_hold_the_object_in_memory(
    hub: Hub, replica: Replica, run_folder: str
) -> None:
    rel = f"{run_folder}/big.bin"
    _upload(hub, replica.url, rel, os.urandom(1024 * 1024) * (BIG // (1024 * 1024)))
    # Warm: one whole small download, so the S3 client and buffers exist before measuring.
    small = f"{run_folder}/warm.bin"
    _upload(hub, replica.url, small, b"w" * 4096)
    assert _session(hub, "bob").get(f"{replica.url}{ARTIFACTS}/{small}").status_code == 200
    before = _rss(replica.proc.pid)

    parts = urlsplit(replica.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    # A small receive window: the client reads the headers and a little, then stalls.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    try:
        sock.sendall(
            f"GET {parts.path}{ARTIFACTS}/{rel} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: token {hub.tokens['bob']}\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200"), head[:300]
        assert f"Content-Length: {BIG}".encode() in head
        peak = before
        for _ in range(20):  # 3 s stalled
            time.sleep(0.15)
            peak = max(peak, _rss(replica.proc.pid))
    finally:
        sock.close()
    grown = (peak - before) / 2**20
    print(f"service memory grew {grown:.1f} MiB while a {BIG >> 20} MiB download stalled")
    assert grown < 16, f"the service holds {grown:.0f} MiB for one stalled download"
