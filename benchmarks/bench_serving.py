"""Serving a small scikit-learn model: ``labtrack models serve`` vs ``mlflow models serve``.

    python benchmarks/bench_serving.py [--seconds 10] [--rounds 2] [--clients 8] [--workers 1]
        [--rows 5] [--mlflow-python PATH] [--no-mlflow] [--json FILE]

One model package (a LogisticRegression on 4 numeric columns, saved by labtrack with an input
example, so both servers enforce the same signature) is served by each tool in turn on
127.0.0.1, with the same number of worker processes (MLflow: uvicorn, ``--env-manager
local``). A closed-loop load generator (``--clients`` concurrent keep-alive HTTP/1.1
connections, each sending the next request as soon as the previous answer arrived) posts the
same ``dataframe_split`` payload for ``--seconds`` after a warm-up, and reports requests/s and
the p50/p99 latency. Every answer is checked (status 200, the expected predictions).

The MLflow interpreter: ``--mlflow-python``, else ``$MLFLOW_BENCH_PYTHON``, else
``.compat/mlflow3/bin/python`` (``tests/mlflow_compat/envs.py`` builds it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from _processes import stop_group

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"

try:
    import labtrack  # noqa: F401
except ImportError:  # running from a source checkout without an install
    sys.path.insert(0, str(SRC))


def log(msg: str) -> None:
    print(f"  {msg}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_model(folder: Path, rows: int) -> tuple[Path, bytes, list[Any]]:
    """Save the model; the request body and the predictions it must produce."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import labtrack as lt

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 4)), columns=["f0", "f1", "f2", "f3"])
    y = (X["f0"] + X["f1"] - X["f2"] > 0).astype(int)
    clf = LogisticRegression().fit(X, y)
    path = folder / "model"
    lt.sklearn.save_model(clf, path, input_example=X.head(2))
    batch = X.head(rows)
    body = json.dumps(
        {"dataframe_split": {"columns": list(batch.columns), "data": batch.values.tolist()}}
    ).encode()
    return path, body, clf.predict(batch).tolist()


# ---- the load generator ---------------------------------------------------------------------


async def _client(
    port: int,
    request: bytes,
    expected: bytes,
    stop_at: float,
    measure_from: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            start = time.perf_counter()
            if start >= stop_at:
                return
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            status = head[9:12]
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            took = time.perf_counter() - start
            if status != b"200" or json.loads(body).get("predictions") != json.loads(expected):
                errors.append(f"{status!r} {body[:200]!r}")
                if len(errors) > 20:
                    return
            if start >= measure_from:
                latencies.append(took)
    finally:
        writer.close()


async def _load(
    port: int, body: bytes, expected: list[Any], clients: int, seconds: float, warmup: float
) -> dict[str, Any]:
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Connection: keep-alive\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    now = time.perf_counter()
    measure_from = now + warmup
    stop_at = measure_from + seconds
    latencies: list[float] = []
    errors: list[str] = []
    await asyncio.gather(
        *(
            _client(
                port,
                request,
                json.dumps(expected).encode(),
                stop_at,
                measure_from,
                latencies,
                errors,
            )
            for _ in range(clients)
        )
    )
    if errors:
        raise RuntimeError(f"{len(errors)} bad answers, e.g. {errors[0]}")
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else None,
    }


# ---- servers ------------------------------------------------------------------------------


def _wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("server did not become ready")


def run_server(
    name: str,
    argv: list[str],
    port: int,
    env: dict[str, str],
    logfile: Path,
    body: bytes,
    expected: list[Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    log(f"{name}: starting {' '.join(argv[:4])} ...")
    with open(logfile, "wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        _wait_ready(port, proc)
        log(f"{name}: ready; {args.clients} clients for {args.seconds:.0f}s")
        result = asyncio.run(_load(port, body, expected, args.clients, args.seconds, args.warmup))
        log(f"{name}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms")
        return result
    except Exception:
        log(f"{name} server log tail:\n{logfile.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        stop_group(proc)


def mlflow_python(given: str | None) -> str | None:
    for candidate in (
        given,
        os.environ.get("MLFLOW_BENCH_PYTHON"),
        str(REPO / ".compat" / "mlflow3" / "bin" / "python"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rows", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per tool")
    parser.add_argument("--mlflow-python")
    parser.add_argument("--no-mlflow", action="store_true")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "LABTRACK_"))}
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        folder = Path(tmp)
        model, body, expected = make_model(folder, args.rows)

        py = None if args.no_mlflow else mlflow_python(args.mlflow_python)
        if py is None and not args.no_mlflow:
            log("no MLflow interpreter found (see --mlflow-python); labtrack only")
        lt_env = dict(
            base_env,
            PYTHONPATH=os.pathsep.join(p for p in (str(SRC), base_env.get("PYTHONPATH")) if p),
        )
        ml_env = dict(base_env, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
        ml_env.pop("PYTHONPATH", None)
        if py:
            # mlflow starts `uvicorn` by name: its venv's bin must come first on PATH.
            ml_env["PATH"] = os.pathsep.join((str(Path(py).parent), base_env.get("PATH", "")))
        rounds: dict[str, list[dict[str, Any]]] = {"labtrack": [], "mlflow": []}
        # Alternate the tools (A B A B ...) so a burst of load from elsewhere on a shared
        # machine does not land on one side only; each round starts a fresh server.
        for i in range(args.rounds):
            port = _free_port()
            argv_lt = [sys.executable, "-m", "labtrack.cli", "models", "serve", "-m", str(model)]
            argv_lt += ["--port", str(port), "--workers", str(args.workers)]
            rounds["labtrack"].append(
                run_server(
                    f"labtrack #{i + 1}", argv_lt, port, lt_env, folder / "labtrack.log",
                    body, expected, args,
                )
            )  # fmt: skip
            if py:
                port = _free_port()
                argv_ml = [py, "-m", "mlflow", "models", "serve", "-m", str(model)]
                argv_ml += ["--port", str(port), "--host", "127.0.0.1", "--env-manager"]
                argv_ml += ["local", "--workers", str(args.workers)]
                rounds["mlflow"].append(
                    run_server(
                        f"mlflow #{i + 1}", argv_ml, port, ml_env, folder / "mlflow.log",
                        body, expected, args,
                    )
                )  # fmt: skip
        for name, runs in rounds.items():
            if runs:
                results[name] = {
                    "rps": statistics.median(r["rps"] for r in runs),
                    "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                    "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                    "rounds": runs,
                }

    lt_r = results["labtrack"]
    print(
        f"\nServing a LogisticRegression, {args.rows}-row dataframe_split, {args.clients} "
        f"closed-loop clients, {args.workers} worker(s), {args.seconds:.0f}s x {args.rounds} "
        "alternating rounds (medians), 127.0.0.1"
    )
    print(f"{'':10} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9}")
    for name in ("labtrack", "mlflow"):
        if name not in results:
            continue
        r = results[name]
        print(f"{name:10} {r['rps']:10.0f} {r['p50_ms']:9.2f} {r['p99_ms']:9.2f}")
    if "mlflow" in results:
        ml = results["mlflow"]
        results["ratio_rps"] = lt_r["rps"] / ml["rps"]
        results["ratio_p50"] = ml["p50_ms"] / lt_r["p50_ms"]
        print(
            f"labtrack / mlflow: {results['ratio_rps']:.2f}x requests/s, "
            f"{results['ratio_p50']:.2f}x lower p50 latency (goal: >= 1x, aim 2x)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
