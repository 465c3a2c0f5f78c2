"""One real ``jupyter server`` with the labtrack extension per session, and MLflow client
scripts run against it from their own virtualenvs (built on demand, see ``envs.py``).

A client script prints one JSON result (``clients/_common.py``); when it fails, the assertion
message carries its stderr and the end of the server log.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlflow_compat.envs import ENVS, ensure_env

CLIENTS = Path(__file__).parent / "clients"
MARKER = "@@LABTRACK-RESULT@@"
SERVER_START_TIMEOUT = 90
CLIENT_TIMEOUT = 600
VERSIONS = ("mlflow3", "mlflow2")


@dataclass
class Server:
    url: str  # the MLflow tracking URI: http://127.0.0.1:<port>/labtrack
    token: str
    store_uri: str
    artifact_root: Path
    log: Path
    workdir: Path
    proc: subprocess.Popen[bytes]

    def log_tail(self, lines: int = 80) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def get(self, path: str) -> Any:
        req = urllib.request.Request(
            f"{self.url}/{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "LABTRACK_", "JUPYTER_")) and k not in ("PYTHONPATH",)
    }


@pytest.fixture(scope="session")
def labtrack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("compat-server")
    root = tmp / "root"
    root.mkdir()
    port = _free_port()
    token = secrets.token_hex(24)
    store_uri = f"sqlite:///{tmp / 'lt.db'}"
    artifact_root = tmp / "art"
    log = tmp / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_unauthenticated_access=False",
        '--ServerApp.jpserver_extensions={"labtrack": True}',
        f"--LabtrackApp.store_uri={store_uri}",
        f"--LabtrackApp.artifact_root={artifact_root}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    env = _clean_env()
    # The server runs the labtrack under test: a checkout sharing another checkout's venv puts
    # its source first with PYTHONPATH (the mlflow client scripts never get it).
    if os.environ.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    # Keep the user's Jupyter config and runtime files out of it.
    env["JUPYTER_CONFIG_DIR"] = str(tmp / "jupyter-config")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "jupyter-runtime")
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    server = Server(
        f"http://127.0.0.1:{port}/labtrack", token, store_uri, artifact_root, log, tmp, proc
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter server exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                server.get("version")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter server did not start:\n{server.log_tail()}")
                time.sleep(0.3)
        # Build the service now: the first process to open the store records its artifact
        # root, and labtrack's in-process clients in the tests must find the server's.
        server.get("api/2.0/mlflow/experiments/search?max_results=1")
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wanted_versions(session: pytest.Session) -> list[str]:
    wanted = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("mlflow_env") if callspec else None
        if name in ENVS and name not in wanted:
            wanted.append(name)
    return wanted


@pytest.fixture(scope="session")
def compat_pythons(request: pytest.FixtureRequest) -> dict[str, Path]:
    """Interpreters of the mlflow virtualenvs the collected tests need, built in parallel."""
    wanted = _wanted_versions(request.session) or list(VERSIONS)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        futures = {name: pool.submit(ensure_env, name, lambda _msg: None) for name in wanted}
        pythons = {name: f.result() for name, f in futures.items()}
    elapsed = time.monotonic() - started
    if elapsed > 5:
        print(f"\nmlflow compat environments ready in {elapsed:.0f}s", file=sys.stderr)
    return pythons


@dataclass
class MlflowEnv:
    name: str
    python: Path
    major: int
    server: Server

    def run(self, script: str, **arguments: Any) -> dict[str, Any]:
        """Run ``clients/<script>.py`` with this mlflow against the server; its JSON result."""
        env = _clean_env()
        env.update(
            MLFLOW_TRACKING_URI=self.server.url,
            MLFLOW_TRACKING_TOKEN=self.server.token,
            # A server bug should fail fast, not look like minutes of retries.
            MLFLOW_HTTP_REQUEST_MAX_RETRIES="1",
            MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR="0",
            MLFLOW_HTTP_REQUEST_TIMEOUT="60",
            MLFLOW_DISABLE_TELEMETRY="true",
            DO_NOT_TRACK="true",
            GIT_PYTHON_REFRESH="quiet",
            PYTHONDONTWRITEBYTECODE="1",
        )
        workdir = self.server.workdir / f"client-{self.name}"
        workdir.mkdir(exist_ok=True)
        proc = subprocess.run(
            [str(self.python), str(CLIENTS / f"{script}.py"), json.dumps(arguments)],
            capture_output=True,
            text=True,
            env=env,
            cwd=workdir,  # never the repository: nothing there may shadow mlflow's imports
            timeout=CLIENT_TIMEOUT,
            check=False,
        )
        results = [
            line[len(MARKER) :] for line in proc.stdout.splitlines() if line.startswith(MARKER)
        ]
        if proc.returncode != 0 or not results:
            pytest.fail(
                f"{self.name} client script {script}.py failed ({proc.returncode}).\n"
                f"--- stderr ---\n{proc.stderr[-6000:]}\n"
                f"--- server log ---\n{self.server.log_tail()}",
                pytrace=False,
            )
        result: dict[str, Any] = json.loads(results[-1])
        return result


@pytest.fixture(scope="session", params=VERSIONS)
def mlflow_env(
    request: pytest.FixtureRequest, compat_pythons: dict[str, Path], labtrack_server: Server
) -> MlflowEnv:
    name = request.param
    return MlflowEnv(name, compat_pythons[name], ENVS[name].major, labtrack_server)


@pytest.fixture(scope="session")
def labtrack_client(labtrack_server: Server) -> Any:
    """labtrack's own client on the server's store (in-process, straight to SQLite)."""
    from labtrack.client.tracking_client import TrackingClient

    return TrackingClient(labtrack_server.store_uri)
