"""Helpers for the project tests: write a project, run ``labtrack run`` as a real process against
a temp SQLite store, read the runs back."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")


def write_project(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return folder


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This interpreter's environment without any labtrack/MLflow settings, plus a temp store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "MLFLOW_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    env["LABTRACK_TRACKING_URI"] = f"sqlite:///{tmp_path / 'store' / 'labtrack.db'}"
    env["LABTRACK_HOME"] = str(tmp_path / "home")
    # ``python`` in a project's command is this interpreter (as in an activated venv).
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env.update(extra)
    return env


def labtrack_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "labtrack.cli", *args]


def start_labtrack(
    cwd: Path, *args: str, env: dict[str, str], terminal: bool = False
) -> subprocess.Popen[str]:
    """``labtrack ARGS`` in the background, output captured; ``terminal``: in a session of its
    own, so a signal sent to it reaches labtrack only, as from a terminal."""
    return subprocess.Popen(
        labtrack_argv(*args),
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=terminal,
    )


def run_script(
    script: Path, env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python SCRIPT`` with this interpreter (a user's script calling ``lt.projects.run``)."""
    return subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def labtrack_run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        labtrack_argv("run", *args),
        env=env or clean_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def store_client(tmp_path: Path):
    from labtrack.client.tracking_client import TrackingClient

    return TrackingClient(f"sqlite:///{tmp_path / 'store' / 'labtrack.db'}")


def all_runs(tmp_path: Path, experiment_ids: list[str] | None = None):
    client = store_client(tmp_path)
    ids = experiment_ids or [e.experiment_id for e in client.search_experiments().items]
    return list(client.search_runs(ids, "", "ACTIVE_ONLY", 1000, None, None).items)
