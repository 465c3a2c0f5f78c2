"""The team guide's demo command (``examples/team/run_demo_hub.sh``) starts a working hub and
stops everything it started when asked to, however it is asked (issue 15, item 6)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from hub_fixtures import http

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "team" / "run_demo_hub.sh"


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def test_demo_hub_serves_and_stops_everything_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "demo.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LABTRACK_", "MLFLOW_", "JUPYTERHUB_", "AWS_"))
    }
    env["PYTHON"] = sys.executable
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", str(SCRIPT)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 300
        while "Ctrl-C to stop." not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
            time.sleep(0.5)
        text = log.read_text()
        uri = re.search(r"tracking URI:\s+(\S+)", text)
        token = re.search(r"alice's token:\s+(\S+)", text)
        assert uri, text
        assert token, text
        status, body = http("GET", uri.group(1) + "/api/labtrack/whoami", token=token.group(1))
        assert (status, body) == (200, {"user": "alice", "team": True})
        started = _descendants(proc.pid)
        assert len(started) >= 3  # SeaweedFS, the hub, its proxy and the service
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=120) == 0, log.read_text(errors="replace")[-4000:]
        _gone, alive = psutil.wait_procs(started, timeout=30)
        assert not alive, f"left running: {[p.cmdline() for p in alive]}"
    finally:
        if proc.poll() is None:
            proc.kill()
        for child in started:
            if child.is_running():
                child.kill()
