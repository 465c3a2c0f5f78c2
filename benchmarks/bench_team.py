"""Team deployments side by side (issue 15): ``labtrack service`` vs ``mlflow server`` with its
basic-auth app, both on PostgreSQL, both authenticating every request, on this machine.

- labtrack: a real JupyterHub (``tests/hub_fixtures.py``: configurable-http-proxy, SeaweedFS
  artifacts, a fresh PostgreSQL database) and 2 replicas of the service behind Debian's haproxy;
  clients send hub tokens of a team member to the balancer.
- MLflow: ``mlflow server --app-name basic-auth --workers 2`` (``mlflow[auth]`` 3.17 in
  ``.compat/mlflow3_server``, built on first use by ``tests/mlflow_compat/envs.py``) on its own
  fresh PostgreSQL database; one non-admin user per client (``default_permission = EDIT``), so
  every request is authenticated and permission-checked.

Workload, the same plain REST for both: 16 logging clients, each on a run of its own, send
``runs/log-batch`` requests of 1,000 metric points (10 keys x 100 steps); meanwhile 4 searching
clients send ``runs/search`` (filter on a metric, ordered by it, 100 results) until the loggers
are done. Printed: points/s, search p50/p95 and searches/s per system, and labtrack/MLflow ratios.
Each client is a thread with its own keep-alive connection; bodies are encoded before timing.

Usage::

    python benchmarks/bench_team.py              # 16 x 40 batches (640,000 points per system)
    python benchmarks/bench_team.py --quick      # 16 x 3 batches: does it run?

Run it on a quiet machine (it prints the load average before and after); figures taken while
other work runs measure the machine, not the systems.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _processes import stop_group

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

LOGGERS = 16
SEARCHERS = 4
KEYS = 10
STEPS_PER_BATCH = 100  # KEYS x STEPS_PER_BATCH = 1,000 points per batch
MLFLOW = "/api/2.0/mlflow"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@dataclass
class Target:
    """One system under test: a base URL (the tracking URI) and per-client credentials."""

    name: str
    base: str
    auth_headers: list[dict[str, str]]  # one per client (cycled)
    # Lets every client log into the experiment the first one created (MLflow's side: its
    # default_permission is EDIT; labtrack's team default is READ, so the team gets EDIT).
    share_experiment: Callable[[Client, str], None] | None = None
    # labtrack: how many token checks the hub has answered so far (its request log), to count
    # what the service's token cache leaves the hub.
    hub_calls: Callable[[], int] | None = None


class Client:
    """A keep-alive HTTP connection to a target."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Content-Type": "application/json", **headers}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                self.conn.request(method, self.prefix + path, body=body, headers=self.headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = self.call(
            method, path, None if body is None else json.dumps(body).encode()
        )
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {payload[:300]!r}")
        return json.loads(payload)


@dataclass
class Result:
    points: int = 0
    seconds: float = 0.0
    failed_batches: int = 0
    search_ms: list[float] = field(default_factory=list)
    failed_searches: int = 0
    requests: int = 0  # every request of the workload (log-batch and search)
    hub_calls: int | None = None  # GET /hub/api/user answered meanwhile (labtrack)

    @property
    def pps(self) -> float:
        return self.points / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.search_ms:
            return float("nan")
        ordered = sorted(self.search_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def batch_bodies(run_id: str, batches: int) -> list[bytes]:
    bodies = []
    for b in range(batches):
        metrics = [
            {
                "key": f"m{k}",
                "value": (b * STEPS_PER_BATCH + s) * 0.001,
                "timestamp": 1_700_000_000_000 + b * STEPS_PER_BATCH + s,
                "step": b * STEPS_PER_BATCH + s,
            }
            for s in range(STEPS_PER_BATCH)
            for k in range(KEYS)
        ]
        bodies.append(json.dumps({"run_id": run_id, "metrics": metrics}).encode())
    return bodies


def run_workload(target: Target, batches: int) -> Result:
    setup = Client(target.base, target.auth_headers[0])
    exp_id = setup.json(
        "POST", MLFLOW + "/experiments/create", {"name": f"bench-team-{uuid.uuid4().hex[:8]}"}
    )["experiment_id"]
    if target.share_experiment is not None:
        target.share_experiment(setup, exp_id)
    clients = [
        Client(target.base, target.auth_headers[i % len(target.auth_headers)])
        for i in range(LOGGERS + SEARCHERS)
    ]
    bodies = []
    for i in range(LOGGERS):
        run = clients[i].json(
            "POST",
            MLFLOW + "/runs/create",
            {"experiment_id": exp_id, "run_name": f"logger-{i}", "start_time": 1},
        )["run"]["info"]["run_id"]
        bodies.append(batch_bodies(run, batches))
    search = json.dumps(
        {
            "experiment_ids": [exp_id],
            "filter": "metrics.m0 >= 0",
            "order_by": ["metrics.m0 DESC"],
            "max_results": 100,
        }
    ).encode()
    result = Result()
    lock = threading.Lock()
    done = threading.Event()
    start = threading.Barrier(LOGGERS + SEARCHERS + 1)

    def logger(i: int) -> None:
        start.wait()
        for body in bodies[i]:
            status, _ = clients[i].call("POST", MLFLOW + "/runs/log-batch", body)
            with lock:
                if status == 200:
                    result.points += KEYS * STEPS_PER_BATCH
                else:
                    result.failed_batches += 1

    def searcher(i: int) -> None:
        client = clients[LOGGERS + i]
        start.wait()
        while not done.is_set():
            t0 = time.perf_counter()
            status, _ = client.call("POST", MLFLOW + "/runs/search", search)
            ms = (time.perf_counter() - t0) * 1000
            with lock:
                if status == 200:
                    result.search_ms.append(ms)
                else:
                    result.failed_searches += 1

    loggers = [threading.Thread(target=logger, args=(i,)) for i in range(LOGGERS)]
    searchers = [threading.Thread(target=searcher, args=(i,)) for i in range(SEARCHERS)]
    for t in loggers + searchers:
        t.start()
    calls_before = target.hub_calls() if target.hub_calls else None
    start.wait()
    t0 = time.perf_counter()
    for t in loggers:
        t.join()
    result.seconds = time.perf_counter() - t0
    done.set()
    for t in searchers:
        t.join()
    if target.hub_calls is not None and calls_before is not None:
        time.sleep(0.5)  # the hub logs a request after answering it
        result.hub_calls = target.hub_calls() - calls_before
    result.requests = result.points // (KEYS * STEPS_PER_BATCH) + result.failed_batches
    result.requests += len(result.search_ms) + result.failed_searches
    # Nothing lost: every run has all its points (the latest step of each key).
    last_step = batches * STEPS_PER_BATCH - 1
    for i, client in enumerate(clients[:LOGGERS]):
        run_id = json.loads(bodies[i][0])["run_id"]
        got = client.json("GET", MLFLOW + f"/runs/get?run_id={run_id}")["run"]["data"]
        steps = {m["key"]: m["step"] for m in got.get("metrics", [])}
        if steps != {f"m{k}": last_step for k in range(KEYS)}:
            log(f"  {target.name}: run {run_id} is missing points: {steps}")
    return result


# ---- labtrack: hub + 2 replicas behind haproxy --------------------------------------------


@contextlib.contextmanager
def labtrack_target() -> Iterator[Target]:
    from hub_fixtures import _fresh_pg_database, run_hub, run_replicas
    from seaweed_fixtures import private_folder, run_seaweed

    database = _fresh_pg_database()
    store_uri = next(database)
    try:
        with (
            private_folder("labtrack-bench-team-") as folder,
            run_seaweed(folder / "seaweed") as weed,
            run_hub(folder / "hub", store_uri, weed) as hub,
            run_replicas(hub, 2) as cluster,
        ):
            tokens = [hub.tokens["alice"], hub.tokens["bob"]]

            def share(owner: Client, experiment_id: str) -> None:
                owner.json(
                    "POST",
                    "/api/3.0/mlflow/users/permissions/grant",
                    {
                        "resource_type": "experiment",
                        "resource_id": experiment_id,
                        "group_name": "team",
                        "permission": "EDIT",
                    },
                )

            def hub_calls() -> int:
                text = (hub.folder / "hub.log").read_text(errors="replace")
                return len(re.findall(r"GET /hub/api/user \((?:alice|bob)@", text))

            yield Target(
                "labtrack service (2 replicas, haproxy)",
                cluster.balancer,
                [{"Authorization": f"token {t}"} for t in tokens],
                share,
                hub_calls,
            )
    finally:
        database.close()


# ---- mlflow server --app-name basic-auth --workers 2 ------------------------------------


def mlflow_python(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit).absolute()  # not resolve(): a venv python is a symlink
    sys.path.insert(0, str(REPO / "tests"))
    from mlflow_compat.envs import ensure_env

    return ensure_env("mlflow3_server", log=log)


@contextlib.contextmanager
def mlflow_target(python: Path) -> Iterator[Target]:
    from hub_fixtures import _fresh_pg_database
    from ports import free_ports
    from seaweed_fixtures import private_folder

    store = _fresh_pg_database()
    auth = _fresh_pg_database()
    # MLflow's venv has psycopg2 (SQLAlchemy 2.1 would pick psycopg 3 for plain postgresql://).
    store_uri, auth_uri = (
        next(db).replace("postgresql://", "postgresql+psycopg2://", 1) for db in (store, auth)
    )
    try:
        with private_folder("labtrack-bench-mlflow-") as folder:
            (port,) = free_ports(1)
            admin_password = "bench-admin-" + uuid.uuid4().hex
            ini = folder / "basic_auth.ini"
            ini.write_text(
                "[mlflow]\n"
                "default_permission = EDIT\n"
                f"database_uri = {auth_uri}\n"
                "admin_username = admin\n"
                f"admin_password = {admin_password}\n"
                "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            )
            env = {
                k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PYTHONPATH"))
            }
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(ini)
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = uuid.uuid4().hex
            argv = [
                str(python.parent / "mlflow"),
                "server",
                "--app-name",
                "basic-auth",
                "--backend-store-uri",
                store_uri,
                "--default-artifact-root",
                str(folder / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "2",
            ]
            log_path = folder / "mlflow-server.log"
            with open(log_path, "wb") as out:
                proc = subprocess.Popen(
                    argv,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                    cwd=folder,
                )
            base = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 240
                while True:
                    with contextlib.suppress(OSError, http.client.HTTPException):
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                        conn.request("GET", "/health")
                        if conn.getresponse().status == 200:
                            break
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"mlflow server did not start:\n{log_path.read_text()[-3000:]}"
                        )
                    time.sleep(0.5)

                def basic(user: str, password: str) -> dict[str, str]:
                    token = base64.b64encode(f"{user}:{password}".encode()).decode()
                    return {"Authorization": f"Basic {token}"}

                admin = Client(base, basic("admin", admin_password))
                users = []
                for i in range(LOGGERS + SEARCHERS):
                    name, password = f"bench{i}", f"bench-password-{i}-{uuid.uuid4().hex[:8]}"
                    admin.json(
                        "POST", MLFLOW + "/users/create", {"username": name, "password": password}
                    )
                    users.append(basic(name, password))
                yield Target("mlflow server basic-auth (--workers 2)", base, users)
            finally:
                stop_group(proc, 20)
    finally:
        store.close()
        auth.close()


def report(results: dict[str, Result], batches: int) -> None:
    print(
        f"\n{LOGGERS} loggers x {batches} log-batch requests of {KEYS * STEPS_PER_BATCH} points, "
        f"{SEARCHERS} searchers meanwhile (runs/search, 100 results)"
    )
    print(f"{'system':44} {'points/s':>10} {'search p50':>11} {'p95':>9} {'searches':>9} fails")
    for name, r in results.items():
        print(
            f"{name:44} {r.pps:10,.0f} {r.pct(0.5):9.1f}ms {r.pct(0.95):7.1f}ms "
            f"{len(r.search_ms):9d} {r.failed_batches}/{r.failed_searches}"
        )
    for name, r in results.items():
        if r.hub_calls is not None:
            rate = r.requests / r.seconds if r.seconds else 0.0
            print(
                f"{name}: {r.requests} requests ({rate:,.0f}/s) made {r.hub_calls} token checks "
                f"at the hub ({r.hub_calls / r.seconds if r.seconds else 0:.2f}/s)"
            )
    if len(results) == 2:
        lt, ml = results.values()
        ingest = lt.pps / ml.pps if ml.pps else float("nan")
        lt_sps = len(lt.search_ms) / lt.seconds if lt.seconds else 0.0
        ml_sps = len(ml.search_ms) / ml.seconds if ml.seconds else 0.0
        print(
            f"labtrack / MLflow: ingest {ingest:.1f}x, searches/s "
            f"{(lt_sps / ml_sps if ml_sps else float('nan')):.1f}x, search p95 "
            f"{lt.pct(0.95):.1f} vs {ml.pct(0.95):.1f} ms"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 batches per logger")
    parser.add_argument("--batches", type=int, default=40, help="log-batch requests per logger")
    parser.add_argument("--mlflow-python", help="an interpreter with mlflow[auth] and psycopg2")
    parser.add_argument("--only", choices=("labtrack", "mlflow"))
    args = parser.parse_args(argv)
    batches = 3 if args.quick else args.batches
    log(f"load average before: {loadavg()} ({os.cpu_count()} CPUs)")
    results: dict[str, Result] = {}
    if args.only != "mlflow":
        with labtrack_target() as target:
            log(f"{target.name}: {target.base}")
            results[target.name] = run_workload(target, batches)
    if args.only != "labtrack":
        with mlflow_target(mlflow_python(args.mlflow_python)) as target:
            log(f"{target.name}: {target.base}")
            results[target.name] = run_workload(target, batches)
    log(f"load average after: {loadavg()}")
    report(results, batches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
