"""Project runs: ``labtrack run`` vs ``mlflow run`` on a trivial entry point, and the virtualenv
cache hit.

Figures (median of ``--repeats`` runs, after one warm-up run that creates the stores):

- process overhead: wall time of ``labtrack run DIR --env-manager local`` (and of
  ``mlflow run DIR --env-manager local``) minus the wall time of running the entry point's
  command directly with the same interpreter; and the ratio MLflow / labtrack;
- virtualenv cache hit: seconds from starting ``labtrack run`` (project with a python_env.yaml
  whose environment is already cached) to the first line the user code prints; the same for
  ``--env-manager local`` beside it.

Usage (repository root, dev venv)::

    .venv/bin/python benchmarks/bench_projects.py [--repeats 5] [--mlflow-python PATH]

MLflow comes from ``--mlflow-python``, ``$LABTRACK_MLFLOW3_PYTHON`` or the compat venv that
``tests/mlflow_compat/envs.py`` builds (``.compat/mlflow3``); if none is there, MLflow's side is
skipped with a printed reason.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"

MLPROJECT = """name: bench
entry_points:
  main:
    parameters:
      x: {type: float, default: 1.0}
    command: "python hello.py {x}"
"""
HELLO = "import sys\nprint('user code', sys.argv[1], flush=True)\n"


def _env(base: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "MLFLOW_"))}
    env["PYTHONPATH"] = str(SRC)
    env["LABTRACK_HOME"] = str(base / "home")
    env.update(extra)
    return env


def _timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed:\n{proc.stderr[-2000:]}")
    return took


def _median(argv: list[str], env: dict[str, str], cwd: Path, repeats: int) -> float:
    _timed(argv, env, cwd)  # warm-up: creates the store, fills the OS file cache
    return statistics.median(_timed(argv, env, cwd) for _ in range(repeats))


def _first_line(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Seconds until the project's first line of output appears."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    took = time.perf_counter() - started
    proc.communicate()
    if not line.startswith("user code"):
        raise SystemExit(f"unexpected first line {line!r}")
    return took


def _mlflow_python(explicit: str | None) -> tuple[Path | None, str]:
    if explicit:
        return Path(explicit), "--mlflow-python"
    if os.environ.get("LABTRACK_MLFLOW3_PYTHON"):
        return Path(os.environ["LABTRACK_MLFLOW3_PYTHON"]), "$LABTRACK_MLFLOW3_PYTHON"
    sys.path.insert(0, str(REPO / "tests"))
    from mlflow_compat import envs

    venv = envs.compat_dir() / "mlflow3"
    if envs._is_ready(venv, envs.ENVS["mlflow3"]):
        return envs._python(venv), str(venv)
    return None, f"no mlflow venv at {venv} (python tests/mlflow_compat/envs.py mlflow3)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mlflow-python", default=None)
    args = parser.parse_args()

    load = os.getloadavg()
    print(
        f"machine: {platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs, "
        f"load {load[0]:.1f}/{load[1]:.1f}), Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-projects-") as tmp:
        base = Path(tmp)
        project = base / "project"
        project.mkdir()
        (project / "MLproject").write_text(MLPROJECT)
        (project / "hello.py").write_text(HELLO)
        rows: list[tuple[str, float, float]] = []

        # labtrack: its own interpreter runs `python` (local env = the running venv).
        lt_env = _env(base, LABTRACK_TRACKING_URI=f"sqlite:///{base / 'lt.db'}")
        direct = _median([sys.executable, "hello.py", "1"], lt_env, project, args.repeats)
        lt = _median(
            [sys.executable, "-m", "labtrack.cli", "run", str(project), "--env-manager", "local"],
            lt_env,
            project,
            args.repeats,
        )
        rows.append(("labtrack run", lt, lt - direct))

        mlflow_python, origin = _mlflow_python(args.mlflow_python)
        if mlflow_python is None:
            print(f"MLflow side skipped: {origin}")
        else:
            ml_bin = mlflow_python.parent
            ml_env = _env(
                base,
                MLFLOW_TRACKING_URI=f"sqlite:///{base / 'mlflow.db'}",
                PATH=os.pathsep.join((str(ml_bin), os.environ.get("PATH", ""))),
            )
            ml_env.pop("PYTHONPATH")
            ml_direct = _median(
                [str(mlflow_python), "hello.py", "1"], ml_env, project, args.repeats
            )
            ml = _median(
                [str(ml_bin / "mlflow"), "run", str(project), "--env-manager", "local"],
                ml_env,
                project,
                args.repeats,
            )
            rows.append((f"mlflow run ({origin})", ml, ml - ml_direct))

        print(f"\ntrivial entry point, median of {args.repeats} (after a warm-up run):")
        print(f"  {'command':<60} {'wall s':>8} {'overhead s':>11}")
        print(f"  {'python hello.py (the command itself)':<60} {direct:>8.2f} {'':>11}")
        for name, wall, overhead in rows:
            print(f"  {name[:60]:<60} {wall:>8.2f} {overhead:>11.2f}")
        if len(rows) == 2:
            print(f"  overhead ratio mlflow / labtrack: {rows[1][2] / rows[0][2]:.1f}x")

        # Virtualenv cache hit: the env is built by the first run, then reused.
        minor = ".".join(map(str, sys.version_info[:2]))
        (project / "python_env.yaml").write_text(f'python: "{minor}"\ndependencies: []\n')
        run = [sys.executable, "-m", "labtrack.cli", "run", str(project)]
        build_started = time.perf_counter()
        _timed([*run, "--env-manager", "virtualenv"], lt_env, project)
        build = time.perf_counter() - build_started
        hits = [
            _first_line([*run, "--env-manager", "virtualenv"], lt_env, project)
            for _ in range(args.repeats)
        ]
        local = [
            _first_line([*run, "--env-manager", "local"], lt_env, project)
            for _ in range(args.repeats)
        ]
        print("\nvirtualenv (python_env.yaml, no dependencies):")
        print(f"  first run (builds the env):              {build:.2f} s")
        print(f"  cache hit, start to first user line:     {statistics.median(hits):.2f} s")
        print(f"  --env-manager local, same measure:       {statistics.median(local):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
