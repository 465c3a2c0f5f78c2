"""Many writers into ONE run over REST (distributed training logs like this).

N client processes each send B log-batch requests of P points of one metric (disjoint step
ranges, same key) into one run of a labtrack Jupyter server on SQLite or PostgreSQL; prints
points/s, log-batch p50/p95 and the number of failed batches, then checks every point is
stored exactly once.

    python benchmarks/bench_shared_run.py --store postgresql://postgres@127.0.0.1:5432/bench
    python benchmarks/bench_shared_run.py --store sqlite

The machine's load average is printed with the figures: on a shared machine they are only
comparable with each other.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
API = "/api/2.0/mlflow"


def _client(base: str, token: str, run_id: str, index: int, batches: int, points: int, out):
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=600)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies, failures = [], 0
    for batch in range(batches):
        first = (index * batches + batch) * points
        body = json.dumps(
            {
                "run_id": run_id,
                "metrics": [
                    {"key": "loss", "value": s * 0.5, "timestamp": 1_700_000_000_000, "step": s}
                    for s in range(first, first + points)
                ],
            }
        ).encode()
        started = time.perf_counter()
        conn.request("POST", url.path + API + "/runs/log-batch", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        latencies.append(time.perf_counter() - started)
        if resp.status != 200:
            failures += 1
    out.put((latencies, failures))


def _history(conn: http.client.HTTPConnection, server, run_id: str) -> list[int]:
    steps: list[int] = []
    token = ""
    while True:
        q = {"run_id": run_id, "metric_key": "loss", "max_results": 25000}
        if token:
            q["page_token"] = token
        path = urllib.parse.urlsplit(server.url).path + API + "/metrics/get-history?"
        conn.request(
            "GET",
            path + urllib.parse.urlencode(q),
            headers={"Authorization": f"Bearer {server.token}"},
        )
        page = json.loads(conn.getresponse().read())
        steps += [m["step"] for m in page.get("metrics", [])]
        token = page.get("next_page_token", "")
        if not token:
            return steps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default="sqlite", help="'sqlite' or a PostgreSQL URI")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument(
        "--distinct-runs", action="store_true", help="a run per client (for comparison)"
    )
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE.parent / "tests"))
    from live_server import post_json, start_live_server

    with tempfile.TemporaryDirectory() as tmp:
        store = None if args.store == "sqlite" else args.store
        gen = start_live_server(Path(tmp), store)
        server = next(gen)
        try:
            run_ids = []
            for _ in range(args.clients if args.distinct_runs else 1):
                status, body = post_json(server, API[1:] + "/runs/create", {"experiment_id": "0"})
                assert status == 200, body
                run_ids.append(body["run"]["info"]["run_id"])
            load = os.getloadavg()[0]
            out: multiprocessing.Queue = multiprocessing.Queue()
            procs = [
                multiprocessing.Process(
                    target=_client,
                    args=(
                        server.url,
                        server.token,
                        run_ids[i % len(run_ids)],
                        i,
                        args.batches,
                        args.points,
                        out,
                    ),
                )
                for i in range(args.clients)
            ]
            started = time.perf_counter()
            for p in procs:
                p.start()
            results = [out.get() for _ in procs]
            elapsed = time.perf_counter() - started
            for p in procs:
                p.join()
            latencies = sorted(x for lat, _ in results for x in lat)
            failed = sum(f for _, f in results)
            total = args.clients * args.batches * args.points
            conn = http.client.HTTPConnection(
                urllib.parse.urlsplit(server.url).hostname,
                urllib.parse.urlsplit(server.url).port,
                timeout=600,
            )
            steps: list[int] = []
            for run_id in run_ids:
                steps += _history(conn, server, run_id)
            exact = sorted(steps) == list(range(total))
            p50 = latencies[len(latencies) // 2] * 1000
            p95 = latencies[int(len(latencies) * 0.95)] * 1000
            print(
                f"store={args.store.split('@')[-1]} clients={args.clients} "
                f"runs={len(run_ids)} "
                f"batches={args.batches} points={args.points}: "
                f"{total / elapsed:,.0f} points/s, p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
                f"failed batches {failed}, stored {len(steps)} of {total} "
                f"(exact: {exact}); load average {load:.2f} before, "
                f"{os.getloadavg()[0]:.2f} after"
            )
        finally:
            gen.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
