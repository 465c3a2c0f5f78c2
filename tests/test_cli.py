"""The README's launch command: ``labtrack lab --demo`` with JupyterLab options passed through."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ports import jupyter_server_port

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_lab_demo_launches_jupyterlab_with_labtrack_and_the_demo_notebook(tmp_path):
    token = "cli-test-token"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "MLFLOW_"))}
    env.update(
        PYTHONPATH=SRC,
        LABTRACK_HOME=str(tmp_path / "home"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    argv = [
        sys.executable,
        "-m",
        "labtrack.cli",
        "lab",
        "--demo",
        "--notebook-dir",
        str(tmp_path / "work"),
        "--no-browser",
        "--port=0",  # it binds a free port and names it in its runtime file
        f"--IdentityProvider.token={token}",
        '--ServerApp.jpserver_extensions={"labtrack": True}',
    ]
    log = tmp_path / "lab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        port = jupyter_server_port(tmp_path / "runtime", 90, lambda: proc.poll() is None)
        url = f"http://127.0.0.1:{port}/labtrack/api/2.0/mlflow/experiments/search"
        req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(req, timeout=3) as resp:
                    body = json.loads(resp.read())
                    break
            except OSError:
                assert proc.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.5)
        assert [e["name"] for e in body["experiments"]] == ["Default"]
        assert (tmp_path / "work" / "labtrack-demo.ipynb").is_file()
        # The per-user store was created under LABTRACK_HOME: the zero-configuration default.
        assert (tmp_path / "home" / "labtrack.db").is_file()
        assert "/lab/tree/labtrack-demo.ipynb" in log.read_text()
    finally:
        proc.terminate()
        proc.wait(30)


def test_other_commands_refuse_unknown_options():
    res = subprocess.run(
        [sys.executable, "-m", "labtrack.cli", "info", "--port", "1"],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2
    assert "unrecognized arguments: --port 1" in res.stderr


def test_gc_removes_crashed_upload_temp_files(tmp_path, capsys):
    import os
    import time

    from labtrack.artifact_store.store import TMP_PREFIX
    from labtrack.cli import main

    left = tmp_path / "artifacts" / "0" / "r" / "artifacts" / f"{TMP_PREFIX}abc"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"z" * 10)
    os.utime(left, (time.time() - 7200,) * 2)
    store = f"sqlite:///{tmp_path / 'labtrack.db'}"
    argv = ["gc", "--backend-store-uri", store, "--artifact-root", str(tmp_path / "artifacts")]
    assert main(argv) == 0
    assert not left.exists()
    assert "removed 1 upload temp files (10 bytes)" in capsys.readouterr().out
