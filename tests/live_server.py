"""A real ``jupyter server`` subprocess with labtrack enabled, for clients that speak HTTP from
another thread or process (pytest-jupyter's in-process server shares the test's event loop)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ports import jupyter_server_port


@dataclass
class LiveServer:
    url: str  # the tracking URI: http://127.0.0.1:<port>/labtrack
    token: str
    store_uri: str
    artifact_root: str
    log_path: Path
    pid: int = 0  # the jupyter server process (fault tests kill it)


def start_live_server(
    tmp: Path, store_uri: str | None = None, extra_args: tuple[str, ...] = ()
) -> Iterator[LiveServer]:
    """``store_uri``: the store (a SQLite file under ``tmp`` if not given); ``extra_args`` go
    to ``jupyter server`` as given (``--LabtrackApp.<trait>=...``)."""
    token = secrets.token_hex(16)
    store_uri = store_uri or f"sqlite:///{tmp / 'store' / 'labtrack.db'}"
    artifact_root = str(tmp / "artifacts")
    (tmp / "root").mkdir(parents=True, exist_ok=True)
    log_path = tmp / "jupyter-server.log"
    for stale in (tmp / "runtime").glob("jpserver-*"):  # left by a server killed in this folder
        stale.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "MLFLOW_"))}
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "config")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "runtime")
    # The source tree first, so the server runs this checkout's labtrack even if not installed.
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    argv = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--port=0",  # it binds a port of its own choosing and writes it to its runtime file
        "--ip=127.0.0.1",
        "--no-browser",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_unauthenticated_access=False",
        '--ServerApp.jpserver_extensions={"labtrack": True}',
        f"--ServerApp.root_dir={tmp / 'root'}",
        f"--LabtrackApp.store_uri={store_uri}",
        f"--LabtrackApp.artifact_root={artifact_root}",
        *extra_args,
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--allow-root")
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    try:
        port = jupyter_server_port(tmp / "runtime", 60, lambda: proc.poll() is None)
    except RuntimeError as err:
        proc.kill()
        raise RuntimeError(f"{err}:\n{log_path.read_text()[-3000:]}") from None
    url = f"http://127.0.0.1:{port}/labtrack"
    while True:
        try:
            req = urllib.request.Request(
                f"{url}/version", headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(req, timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if (
            proc.poll() is not None
            or time.monotonic() > deadline
            or (b"error adding extension" in log_path.read_bytes())
        ):
            proc.kill()
            raise RuntimeError(f"jupyter server did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    try:
        yield LiveServer(url, token, store_uri, artifact_root, log_path, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def post_json(server: LiveServer, path: str, body: bytes | dict) -> tuple[int, dict]:
    """POST ``body`` (JSON bytes, or a dict to encode) to ``<server.url>/<path>`` with the
    server's token; the status and the decoded JSON answer, errors included."""
    import json
    import urllib.error

    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{server.url}/{path}",
        data=data,
        method="POST",
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends on ``sock`` until it closes (or resets) the connection."""
    answer = b""
    while True:
        try:
            data = sock.recv(65536)
        except OSError:
            break
        if not data:
            break
        answer += data
    return answer
