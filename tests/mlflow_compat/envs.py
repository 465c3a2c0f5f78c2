"""Virtual environments holding the real ``mlflow`` client, built on demand and cached.

The compat tests drive labtrack's server with MLflow's own client, in separate virtualenvs so
its dependencies never meet labtrack's. They live in ``<repo>/.compat/<name>`` and are reused
while the recorded requirement list matches; anything else (missing, half-built, other pins)
is rebuilt from scratch. Build them ahead of time with::

    python tests/mlflow_compat/envs.py            # both
    python tests/mlflow_compat/envs.py mlflow2    # one

``LABTRACK_COMPAT_DIR`` moves the cache; ``LABTRACK_MLFLOW3_PYTHON`` /
``LABTRACK_MLFLOW2_PYTHON`` point at an existing interpreter instead (nothing is built then).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MARKER = "labtrack-compat.json"


@dataclass(frozen=True)
class CompatEnv:
    name: str
    requirements: tuple[str, ...]
    major: int


# The newest installable releases. (mlflow 3.18.0 is on the index, but the mlflow-skinny
# 3.18.0 it pins is not, so 3.17.2 is the newest 3.x that installs.) Override with
# LABTRACK_MLFLOW3_SPEC / LABTRACK_MLFLOW2_SPEC, e.g. "mlflow==3.18.0".
_SPEC3 = os.environ.get("LABTRACK_MLFLOW3_SPEC") or "mlflow==3.17.2"
_SPEC2 = os.environ.get("LABTRACK_MLFLOW2_SPEC") or "mlflow==2.22.5"
ENVS = {
    # Flask-WTF: mlflow's ``auth`` extra, which ``get_app_client("basic-auth")`` imports
    # (the team permission tests drive MLflow's own auth client).
    "mlflow3": CompatEnv("mlflow3", (_SPEC3, "scikit-learn", "Flask-WTF<2"), 3),
    "mlflow2": CompatEnv("mlflow2", (_SPEC2, "scikit-learn"), 2),
    # ``mlflow server`` with its basic-auth app on PostgreSQL (benchmarks/bench_team.py).
    "mlflow3_server": CompatEnv(
        "mlflow3_server", (_SPEC3.replace("mlflow", "mlflow[auth]", 1), "psycopg2-binary"), 3
    ),
}


def compat_dir() -> Path:
    return Path(os.environ.get("LABTRACK_COMPAT_DIR") or REPO / ".compat")


def _python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _is_ready(venv: Path, env: CompatEnv) -> bool:
    marker = venv / MARKER
    if not marker.is_file() or not _python(venv).exists():
        return False
    try:
        recorded = json.loads(marker.read_text())
    except ValueError:
        return False
    return recorded.get("requirements") == list(env.requirements)


def ensure_env(name: str, log=print) -> Path:
    """The interpreter of the named environment, building the environment if needed."""
    override = os.environ.get(f"LABTRACK_{name.upper()}_PYTHON")
    if override:
        return Path(override)
    env = ENVS[name]
    base = compat_dir()
    base.mkdir(parents=True, exist_ok=True)
    venv = base / name
    # One builder at a time (parallel pytest workers, two checkouts sharing the cache).
    with open(base / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_ready(venv, env):
            return _python(venv)
        started = time.monotonic()
        log(f"building {venv} ({' '.join(env.requirements)}) ...")
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        py = str(_python(venv))
        subprocess.run(
            [py, "-m", "pip", "install", "-qq", "--disable-pip-version-check", *env.requirements],
            check=True,
        )
        version = subprocess.run(
            [py, "-c", "import mlflow; print(mlflow.__version__)"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not version.startswith(f"{env.major}."):
            raise RuntimeError(f"{venv}: expected mlflow {env.major}.x, got {version}")
        (venv / MARKER).write_text(
            json.dumps({"requirements": list(env.requirements), "mlflow": version})
        )
        log(f"built {venv} with mlflow {version} in {time.monotonic() - started:.0f}s")
        return _python(venv)


def main(argv: list[str]) -> int:
    # tests/run_all.sh builds the clients' envs before the tests; the server env: benchmarks only
    for name in argv or ["mlflow3", "mlflow2"]:
        print(ensure_env(name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
