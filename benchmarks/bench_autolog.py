"""Autologging cost: 100 small scikit-learn fits with ``lt.autolog()`` vs
``mlflow.sklearn.autolog()``.

    python benchmarks/bench_autolog.py [--fits 100] [--rows 200] [--mlflow-python PATH]
        [--no-mlflow] [--json FILE]

Each tool runs in its own process on a fresh temporary SQLite store (labtrack in a child of
this script, MLflow in its own interpreter), doing the same thing:

1. warm-up: enable autolog and do one autologged fit (imports, store creation and migrations,
   the one-off patching are paid here and reported apart as "enable + first fit");
2. ``--fits`` plain fits of a LogisticRegression on ``--rows`` x 8 floats, autolog disabled:
   the training cost alone;
3. the same fits with autolog enabled (each fit: its own run, params, training metrics, the
   model with its signature, the dataset input), then a flush, so everything is stored.

"Added per fit" is (3 - 2) / fits; the ratio compares labtrack's to MLflow's (the goal in
issue #17: at most 1/5). The MLflow interpreter: ``--mlflow-python``, else
``$MLFLOW_BENCH_PYTHON``, else ``.compat/mlflow3/bin/python`` (``python
tests/mlflow_compat/envs.py mlflow3`` builds it); without one the MLflow side is skipped and
the reason printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"


def log(msg: str) -> None:
    print(f"  {msg}", file=sys.stderr, flush=True)


def _data(rows: int) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 8))
    y = (X[:, 0] + X[:, 1] * 0.5 + rng.normal(scale=0.5, size=rows) > 0).astype(int)
    return X, y


def _timed_fits(fits: int, X: Any, y: Any) -> float:
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    for i in range(fits):
        LogisticRegression(C=1.0 + i / fits, max_iter=200).fit(X, y)
    return time.perf_counter() - t0


def side(tool: str, fits: int, rows: int, workdir: str) -> dict[str, Any]:
    """One tool's figures (run in a process of its own)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    # MLflow puts a new experiment's artifacts under ./mlruns: keep them in the temp dir.
    os.chdir(workdir)
    X, y = _data(rows)
    t0 = time.perf_counter()
    if tool == "labtrack":
        sys.path.insert(0, str(SRC))
        import labtrack as mod

        mod.set_tracking_uri(os.path.join(workdir, "store"))
        mod.set_experiment("bench")

        def enable() -> None:
            mod.autolog()

        def disable() -> None:
            mod.sklearn.autolog(disable=True)

        def flush() -> None:
            mod.flush()
    else:
        import mlflow as mod  # type: ignore[no-redef]

        mod.set_tracking_uri(f"sqlite:///{os.path.join(workdir, 'mlflow.db')}")
        mod.set_experiment("bench")

        def enable() -> None:
            mod.sklearn.autolog()

        def disable() -> None:
            mod.sklearn.autolog(disable=True)

        def flush() -> None:
            if hasattr(mod, "flush_async_logging"):
                mod.flush_async_logging()

    enable()
    _timed_fits(1, X, y)
    flush()
    first = time.perf_counter() - t0
    disable()
    _timed_fits(3, X, y)  # warm the plain path too
    plain = _timed_fits(fits, X, y)
    enable()
    t1 = time.perf_counter()
    _timed_fits(fits, X, y)
    flush()
    logged = time.perf_counter() - t1
    runs = len(mod.search_runs(experiment_names=["bench"], output_format="list"))
    return {
        "version": getattr(mod, "__version__", "?"),
        "enable_and_first_fit_s": first,
        "plain_s": plain,
        "autolog_s": logged,
        "added_per_fit_ms": (logged - plain) / fits * 1000,
        "runs": runs,
    }


def _run_side(python: str, tool: str, fits: int, rows: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-autolog-{tool}-") as workdir:
        res = subprocess.run(
            [
                python,
                __file__,
                "--side",
                tool,
                "--fits",
                str(fits),
                "--rows",
                str(rows),
                "--workdir",
                workdir,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if res.returncode != 0:
        raise RuntimeError(f"{tool} side failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _mlflow_python(explicit: str | None) -> tuple[str | None, str]:
    """An interpreter that can import mlflow, or None and why not."""
    candidates = [
        explicit,
        os.environ.get("MLFLOW_BENCH_PYTHON"),
        str(REPO / ".compat" / "mlflow3" / "bin" / "python"),
    ]
    for python in candidates:
        if not python:
            continue
        if not Path(python).exists():
            continue
        probe = subprocess.run([python, "-c", "import mlflow, sklearn"], capture_output=True)
        if probe.returncode == 0:
            return python, ""
    return None, (
        "no interpreter with mlflow and scikit-learn: pass --mlflow-python, set "
        "MLFLOW_BENCH_PYTHON, or build .compat/mlflow3 with "
        "`python tests/mlflow_compat/envs.py mlflow3`"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fits", type=int, default=100)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--mlflow-python")
    ap.add_argument("--no-mlflow", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--side", choices=("labtrack", "mlflow"), help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.side:
        print(json.dumps(side(args.side, args.fits, args.rows, args.workdir)))
        return 0

    log(f"labtrack: {args.fits} fits ...")
    results = {"labtrack": _run_side(sys.executable, "labtrack", args.fits, args.rows)}
    skipped = ""
    if args.no_mlflow:
        skipped = "--no-mlflow"
    else:
        python, skipped = _mlflow_python(args.mlflow_python)
        if python:
            log(f"mlflow ({python}): {args.fits} fits ...")
            results["mlflow"] = _run_side(python, "mlflow", args.fits, args.rows)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}"
        f", load {os.getloadavg()[0]:.2f}"
        if hasattr(os, "getloadavg")
        else ""
    )
    print(f"{args.fits} fits of LogisticRegression on {args.rows}x8, autolog with defaults\n")
    print(f"{'':28}{'labtrack':>12}{'mlflow':>12}")
    rows = [
        ("version", "version", "{}"),
        ("enable + first fit (s)", "enable_and_first_fit_s", "{:.2f}"),
        (f"{args.fits} plain fits (s)", "plain_s", "{:.2f}"),
        (f"{args.fits} autologged fits (s)", "autolog_s", "{:.2f}"),
        ("added per fit (ms)", "added_per_fit_ms", "{:.1f}"),
        ("runs stored", "runs", "{}"),
    ]
    for label, key, fmt in rows:
        cells = [
            fmt.format(results[t][key]) if t in results else "-" for t in ("labtrack", "mlflow")
        ]
        print(f"{label:28}{cells[0]:>12}{cells[1]:>12}")
    if "mlflow" in results:
        ratio = results["labtrack"]["added_per_fit_ms"] / results["mlflow"]["added_per_fit_ms"]
        verdict = "meets" if ratio <= 0.2 else "misses"
        print(f"\nlabtrack's added cost is {ratio:.2f}x MLflow's ({verdict} the goal of <= 0.20)")
    else:
        print(f"\nMLflow side skipped: {skipped}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
