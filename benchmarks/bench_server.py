"""labtrack's Jupyter server extension vs ``mlflow server`` over MLflow's REST API (issue #3).

    python benchmarks/bench_server.py [--quick] [--only NAME] [--mlflow-python PATH]
        [--no-mlflow] [--json FILE] [--markdown] [--client http.client|requests]

The script starts both servers itself on free ports of 127.0.0.1, each with a fresh SQLite store
in a temporary directory: a real ``jupyter server`` subprocess with labtrack enabled (as
``tests/live_server.py`` does) and ``mlflow server --workers 1``. The same client code talks to
both over one keep-alive connection: ``http.client`` by default, a lean client whose own cost
per request stays small next to either server's (``--client requests``: a ``requests.Session``,
as MLflow's REST client uses). JSON bodies are encoded the way MLflow's REST client encodes them
(``json.dumps`` of the protobuf-JSON dict, ``Content-Type: application/json``;
``metrics/get-history`` as a GET with query parameters and 25,000-point pages, like
``MlflowClient.get_metric_history``). While one server is measured the other is stopped
(SIGSTOP/SIGCONT): mlflow server's job consumers poll even when idle. Workloads:

* ``ingest``: ``runs/log-batch`` with 1,000 metrics per request (10 keys x 100 steps) spread over
  10 runs; labtrack up to 1M points, MLflow up to 100,000 points, each within 30 s of request
  time. The two take turns in 10 rounds (each sends a tenth of its requests per round), so both
  are measured across the same minutes. Points/s over the time spent in requests. The labtrack
  server's RSS (``/proc/<pid>/status``) is sampled meanwhile: peak minus the RSS before.
* ``search``: ``runs/search`` over 5,000 runs (3 params, 3 metrics, 2 tags each, populated through
  REST ``runs/create`` + ``runs/log-batch``), filter ``metrics.m0 > 0.5 and params.p0 = 'a'``,
  order ``metrics.m1 DESC``, ``max_results`` 1,000. Median latency after a warm-up, the servers
  taking turns for each repeat.
* ``history``: all pages of ``metrics/get-history`` for a 100,000-point metric (written with 100
  ``log-batch`` calls). Median latency after a warm-up, the servers taking turns.

``--quick`` divides the sizes and time budgets by 10 (goals are then not applied). See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from _processes import stop_group

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_MLFLOW_PYTHON = REPO / ".compat" / "mlflow3" / "bin" / "python"
WORKLOADS = ("ingest", "search", "history")
API = "/api/2.0/mlflow"
HISTORY_PAGE = 25_000  # mlflow.store.tracking.GET_METRIC_HISTORY_MAX_RESULTS


def log(msg: str) -> None:
    print(f"  {msg}", file=sys.stderr, flush=True)


def loadavg() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


# ---- servers ----------------------------------------------------------------------------------


class LeanClient:
    """Keep-alive HTTP/1.1 on ``http.client``: what a load generator is to a server benchmark.
    ``requests`` costs ~2 ms of client CPU per log-batch call on a slow VM, a quarter of
    labtrack's whole request time there (1% of MLflow's), so with it the ratio measures the
    client as much as the servers. ``--client requests`` measures that way for comparison."""

    def __init__(self, base: str) -> None:
        url = urllib.parse.urlsplit(base)
        self.host, self.port, self.prefix = url.hostname or "127.0.0.1", url.port, url.path
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        self.conn.request(method, self.prefix + path, body=body, headers=headers)
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self) -> None:
        self.conn.close()


class RequestsClient:
    """The same over a ``requests.Session`` (MLflow's REST client uses one)."""

    def __init__(self, base: str) -> None:
        self.base, self.session = base, requests.Session()

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        r = self.session.request(method, self.base + path, data=body, headers=headers)
        return r.status_code, r.content

    def close(self) -> None:
        self.session.close()


CLIENTS: dict[str, Callable[[str], LeanClient | RequestsClient]] = {
    "http.client": LeanClient,
    "requests": RequestsClient,
}


@dataclass
class Server:
    name: str
    base: str  # the tracking URI
    headers: dict[str, str]
    pid: int  # the process that serves requests (jupyter server; mlflow's uvicorn worker)
    # Its own process group, if it has one (mlflow server and its job consumers), else None.
    group: int | None = None
    client_kind: str = "http.client"  # a key of CLIENTS
    client: LeanClient | RequestsClient | None = None

    def freeze(self, frozen: bool) -> None:
        """Stop (or continue) the whole server while the other one is measured: mlflow
        server's idle job consumers poll, and that must not land on the other side's time."""
        sig = signal.SIGSTOP if frozen else signal.SIGCONT
        with contextlib.suppress(ProcessLookupError):
            if self.group is not None:
                os.killpg(self.group, sig)
            else:
                os.kill(self.pid, sig)
        if not frozen:
            # Its keep-alive timers fire on waking and drop our idle connection: use a new one,
            # opened by a cheap request so that no measured request pays for the connect.
            time.sleep(0.5)
            self._reconnect()
            self.get_raw("experiments/get", {"experiment_id": "0"})

    def _reconnect(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client = CLIENTS[self.client_kind](self.base)

    def _call(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> bytes:
        if self.client is None:
            self._reconnect()
        assert self.client is not None
        status, content = self.client.request(method, f"{API}/{path}", body, headers)
        if status != 200:
            raise RuntimeError(f"{self.name} {path}: HTTP {status} {content[:300]!r}")
        return content

    def post_raw(self, path: str, body: bytes) -> bytes:
        return self._call("POST", path, body, {**self.headers, "Content-Type": "application/json"})

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return json.loads(self.post_raw(path, json.dumps(body).encode()) or b"{}")

    def get_raw(self, path: str, params: dict[str, Any]) -> bytes:
        return self._call("GET", f"{path}?{urllib.parse.urlencode(params)}", None, self.headers)


def _load_live_server() -> Any:
    spec = importlib.util.spec_from_file_location("_lt_live_server", REPO / "tests/live_server.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look the module up
    spec.loader.exec_module(mod)
    return mod


def _pid_with_arg(arg: str) -> int:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if arg.encode() in cmdline:
            return int(entry.name)
    raise RuntimeError(f"no process with argument {arg!r}")


@contextlib.contextmanager
def labtrack_server(tmp: Path) -> Iterator[Server]:
    live = _load_live_server()
    with contextlib.contextmanager(live.start_live_server)(tmp) as srv:
        pid = _pid_with_arg(f"--LabtrackApp.store_uri={srv.store_uri}")
        yield Server("labtrack", srv.url, {"Authorization": f"Bearer {srv.token}"}, pid)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mlflow_server(tmp: Path, python: str) -> Iterator[Server]:
    port = _free_port()
    tmp.mkdir(parents=True, exist_ok=True)
    argv = [
        str(Path(python).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{tmp / 'mlflow.db'}",
        "--default-artifact-root",
        str(tmp / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PYTHONPATH"))}
    log_path = tmp / "mlflow-server.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        # Requests are served by the uvicorn child (the others run MLflow's job queue).
        worker = next(
            (
                c
                for c in _children(proc.pid)
                if b"uvicorn" in Path(f"/proc/{c}/cmdline").read_bytes()
            ),
            proc.pid,
        )
        yield Server("MLflow", base, {}, worker, group=proc.pid)
    finally:
        stop_group(proc, 15)


# ---- memory -----------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out += [int(c) for c in (entry / "children").read_text().split()]
    return out


def rss_kb(pid: int, tree: bool = False) -> int:
    """VmRSS of ``pid`` (and of its descendants with ``tree``), in KiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            if tree:
                todo += _children(p)
    return total


class RssSampler:
    """Peak RSS over a block, polled every ``interval`` s from a thread."""

    def __init__(self, pid: int, tree: bool = False, interval: float = 0.02) -> None:
        self.pid, self.tree, self.interval = pid, tree, interval
        self.before = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_kb(self.pid, self.tree))

    def __enter__(self) -> RssSampler:
        self.before = self.peak = rss_kb(self.pid, self.tree)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kb(self.pid, self.tree))

    @property
    def added_mb(self) -> float:
        return (self.peak - self.before) / 1024


# ---- client helpers (the same code for both servers) -------------------------------------------


def create_experiment(srv: Server, name: str) -> str:
    return str(srv.post("experiments/create", {"name": name})["experiment_id"])


def create_run(srv: Server, exp_id: str, name: str, start_time: int) -> str:
    body = {
        "experiment_id": exp_id,
        "user_id": "bench",
        "start_time": start_time,
        "tags": [{"key": "mlflow.runName", "value": name}],
        "run_name": name,
    }
    return str(srv.post("runs/create", body)["run"]["info"]["run_id"])


def metric_json(key: str, value: float, ts: int, step: int) -> dict[str, Any]:
    return {"key": key, "value": value, "timestamp": ts, "step": step}


def fetch_history(srv: Server, run_id: str, key: str) -> tuple[int, float]:
    """All pages, as ``MlflowClient.get_metric_history`` asks for them: (points, parse seconds)."""
    params: dict[str, Any] = {
        "run_uuid": run_id,
        "metric_key": key,
        "run_id": run_id,
        "max_results": HISTORY_PAGE,
    }
    n, parse = 0, 0.0
    while True:
        raw = srv.get_raw("metrics/get-history", params)
        t0 = time.perf_counter()
        page = json.loads(raw)
        parse += time.perf_counter() - t0
        n += len(page.get("metrics", ()))
        token = page.get("next_page_token")
        if not token:
            return n, parse
        params["page_token"] = token


# ---- results ----------------------------------------------------------------------------------


@dataclass
class Row:
    metric: str
    unit: str
    labtrack: float | None
    mlflow: float | None
    goal: str = ""  # human-readable goal
    ok: bool | None = None
    higher_is_better: bool = False
    note: str = ""
    comparable: bool = True  # False: the MLflow figure is context, not a like-for-like ratio

    @property
    def ratio(self) -> float | None:
        """labtrack's advantage: > 1 means labtrack is better."""
        if not self.comparable or not self.labtrack or not self.mlflow:
            return None
        if self.higher_is_better:
            return self.labtrack / self.mlflow
        return self.mlflow / self.labtrack


def _fmt(x: float | None) -> str:
    if x is None:
        return "n/a"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def render(rows: list[Row], markdown: bool = False) -> str:
    head = ["metric", "unit", "labtrack", "MLflow", "ratio", "goal", "pass"]
    body, notes = [], []
    for r in rows:
        name = r.metric
        if r.note:
            notes.append(f"[{len(notes) + 1}] {r.note}")
            name = f"{name} [{len(notes)}]"
        ratio = "n/a" if r.ratio is None else f"{r.ratio:,.1f}x"
        passed = {True: "PASS", False: "FAIL", None: "-"}[r.ok]
        body.append([name, r.unit, _fmt(r.labtrack), _fmt(r.mlflow), ratio, r.goal, passed])
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join([*lines, "", *(f"{n}  " for n in notes)])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    for b in body:
        cells = [b[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(b[1:], widths[1:], strict=True)]
        out.append("  ".join(cells))
    return "\n".join([*out, "", *notes])


def ratio_ok(row: Row, factor: float, quick: bool) -> Row:
    row.goal = f"≥ {factor:g}x MLflow"
    row.ok = None if quick or row.ratio is None else row.ratio >= factor
    return row


# ---- workloads --------------------------------------------------------------------------------


class Bench:
    def __init__(self, servers: list[Server], quick: bool) -> None:
        self.servers = servers
        self.quick = quick
        self.scale = 0.1 if quick else 1.0
        self.details: dict[str, Any] = {}

    def n(self, full: int) -> int:
        return max(int(full * self.scale), 1)

    @contextlib.contextmanager
    def awake(self, srv: Server) -> Iterator[Server]:
        """Only ``srv`` runs meanwhile: the other servers are stopped (see ``Server.freeze``)."""
        others = [o for o in self.servers if o is not srv]
        for other in others:
            other.freeze(True)
        try:
            yield srv
        finally:
            for other in others:
                other.freeze(False)

    def alternate(
        self,
        prepare: Callable[[Server], dict[str, Any]],
        measure: Callable[[Server, dict[str, Any]], Any],
        repeats: int,
    ) -> dict[str, tuple[dict[str, Any], list[Any]]]:
        """``prepare`` each server (its state), then ``repeats`` rounds in which the servers take
        turns to ``measure`` once: both sides see the same minutes of a drifting machine."""
        states = {}
        for srv in self.servers:
            with self.awake(srv):
                states[srv.name] = prepare(srv)
        samples: dict[str, list[Any]] = {srv.name: [] for srv in self.servers}
        for _ in range(repeats):
            for srv in self.servers:
                with self.awake(srv):
                    samples[srv.name].append(measure(srv, states[srv.name]))
        return {name: (states[name], samples[name]) for name in states}

    def ingest(self) -> list[Row]:
        n_runs, keys, steps_per_req = 10, [f"m{j}" for j in range(10)], 100
        budget_s = 30 * self.scale
        caps = {"labtrack": self.n(1_000_000), "MLflow": self.n(100_000)}
        # The servers take turns in rounds, each sending its share of requests per round, so
        # both are measured across the same minutes: on a machine whose speed drifts, one
        # measured after the other would carry the drift into the ratio.
        rounds = 10

        def setup(srv: Server) -> dict[str, Any]:
            exp = create_experiment(srv, "ingest")
            now = int(time.time() * 1000)
            runs = [create_run(srv, exp, f"ingest-{i}", now) for i in range(n_runs)]
            n_req = caps[srv.name] // (len(keys) * steps_per_req)
            log(f"ingest: {srv.name}, encoding {n_req:,} log-batch bodies")
            bodies = []
            for i in range(n_req):
                block = i // n_runs
                metrics = [
                    metric_json(k, ((s * 7 + j) % 1000) / 1000, now + s, s)
                    for s in range(block * steps_per_req, (block + 1) * steps_per_req)
                    for j, k in enumerate(keys)
                ]
                body = {"run_id": runs[i % n_runs], "metrics": metrics, "params": [], "tags": []}
                bodies.append(json.dumps(body).encode())
            # Warm-up: one request of the same shape to a run outside the measurement.
            warm = create_run(srv, exp, "warm-up", now)
            srv.post_raw("runs/log-batch", bodies[0].replace(runs[0].encode(), warm.encode()))
            return {"runs": runs, "bodies": bodies, "done": 0, "latencies": [], "timed": None}

        def send(srv: Server, state: dict[str, Any], upto: int) -> None:
            bodies, latencies = state["bodies"], state["latencies"]
            while state["done"] < min(upto, len(bodies)):
                t1 = time.perf_counter()
                srv.post_raw("runs/log-batch", bodies[state["done"]])
                latencies.append(time.perf_counter() - t1)
                state["done"] += 1
                if sum(latencies) >= budget_s:
                    break
            if state["timed"] is None and (
                state["done"] == len(bodies) or sum(latencies) >= budget_s
            ):
                state["timed"] = (state["done"], sum(latencies))

        states: dict[str, dict[str, Any]] = {}
        for srv in self.servers:
            with self.awake(srv):
                states[srv.name] = setup(srv)
        labtrack = self.servers[0]
        log(
            "ingest: "
            + ", ".join(f"{n} {len(st['bodies']) * 1000:,} points" for n, st in states.items())
            + f" or {budget_s:.0f} s each, in {rounds} alternating rounds"
        )
        with contextlib.ExitStack() as stack:
            mem = {srv.name: stack.enter_context(RssSampler(srv.pid)) for srv in self.servers}
            for r in range(1, rounds + 1):
                for srv in self.servers:
                    state = states[srv.name]
                    if state["timed"] is None:
                        with self.awake(srv):
                            send(srv, state, -(-len(state["bodies"]) * r // rounds))
            # labtrack goes on, untimed, to 1M points for the memory figure.
            lt_state = states["labtrack"]
            with self.awake(labtrack):
                while lt_state["done"] < len(lt_state["bodies"]):
                    labtrack.post_raw("runs/log-batch", lt_state["bodies"][lt_state["done"]])
                    lt_state["done"] += 1

        res: dict[str, dict[str, Any]] = {}
        for srv in self.servers:
            state = states[srv.name]
            done, latencies = state["done"], state["latencies"]
            timed = state["timed"] or (len(latencies), sum(latencies))
            with self.awake(srv):
                # Durable? Every point must be readable afterwards.
                expect = ((done - 1) // n_runs + 1) * steps_per_req  # run 0: requests 0, 10, ...
                got, _ = fetch_history(srv, state["runs"][0], "m0")
                assert got == expect, (srv.name, got, expect)
            points, secs = timed[0] * 1000, timed[1]
            pps = points / secs
            median_ms = statistics.median(latencies) * 1000
            log(
                f"ingest: {srv.name} {points:,} points in {secs:.1f} s = {pps:,.0f} points/s; "
                f"median request {median_ms:.1f} ms"
            )
            res[srv.name] = {
                "points": points,
                "requests": timed[0],
                "seconds": secs,
                "pps": pps,
                "median_request_ms": median_ms,
                "load_average": loadavg(),
            }
        for name, sampler in mem.items():
            res[name].update(
                memory_points=states[name]["done"] * 1000,
                rss_before_mb=sampler.before / 1024,
                rss_peak_mb=sampler.peak / 1024,
                rss_added_mb=sampler.added_mb,
            )
        self.details["ingest"] = res
        lt, ml = res["labtrack"], res.get("MLflow")
        note = (
            f"log-batch, 1,000 metrics per request (10 keys x 100 steps), {n_runs} runs, one "
            "warm-up request, the two servers taking turns in 10 rounds (a new keep-alive "
            "connection after each turn). "
            f"labtrack: {lt['points']:,} points in {lt['seconds']:.1f} s "
            f"(median request {lt['median_request_ms']:.1f} ms)"
        )
        if ml:
            note += (
                f"; MLflow: {ml['points']:,} points in {ml['seconds']:.1f} s "
                f"(median request {ml['median_request_ms']:.1f} ms)"
            )
        rows = [
            ratio_ok(
                Row(
                    "1. log-batch ingest",
                    "points/s",
                    lt["pps"],
                    ml and ml["pps"],
                    higher_is_better=True,
                    note=note,
                ),
                40,
                self.quick,
            )
        ]
        mem_note = (
            f"VmRSS of the jupyter server process before ({lt['rss_before_mb']:.0f} MB) vs peak "
            f"while ingesting {lt['memory_points']:,} points (polled every 20 ms; past the timed "
            "window the ingest goes on untimed to reach 1M points)"
        )
        if ml:
            mem_note += (
                f"; MLflow column: its uvicorn worker process ({ml['rss_before_mb']:.0f} MB "
                f"before) while ingesting its {ml['memory_points']:,} points, for information only"
            )
        rows.append(
            Row(
                f"4. server RSS added during ingest of {lt['memory_points']:,} pts",
                "MB",
                lt["rss_added_mb"],
                ml and ml["rss_added_mb"],
                goal="< 150 MB",
                ok=None if self.quick else lt["rss_added_mb"] < 150,
                comparable=False,
                note=mem_note,
            )
        )
        return rows

    # 2. runs/search ------------------------------------------------------------------------

    def search(self) -> list[Row]:
        n_runs, max_results = self.n(5000), self.n(1000)
        repeats = 3 if self.quick else 5
        filt = "metrics.m0 > 0.5 and params.p0 = 'a'"
        order_by = ["metrics.m1 DESC"]

        def prepare(srv: Server) -> dict[str, Any]:
            exp = create_experiment(srv, "search")
            rng = random.Random(42)
            now = int(time.time() * 1000)
            log(f"search: populating {n_runs:,} {srv.name} runs through REST")
            t0 = time.perf_counter()
            for i in range(n_runs):
                run_id = create_run(srv, exp, f"run-{i:05d}", now + i)
                body = {
                    "run_id": run_id,
                    "metrics": [metric_json(f"m{j}", rng.random(), now + i, 0) for j in range(3)],
                    "params": [{"key": "p0", "value": "a" if i % 2 == 0 else "b"}]
                    + [{"key": f"p{j}", "value": f"v{rng.randrange(100)}"} for j in (1, 2)],
                    "tags": [{"key": f"t{j}", "value": f"tag{rng.randrange(10)}"} for j in (0, 1)],
                }
                srv.post_raw("runs/log-batch", json.dumps(body).encode())
            populate_s = time.perf_counter() - t0
            log(f"search: {srv.name} populated in {populate_s:.1f} s")
            body = json.dumps(
                {
                    "experiment_ids": [exp],
                    "run_view_type": "ACTIVE_ONLY",
                    "filter": filt,
                    "max_results": max_results,
                    "order_by": order_by,
                }
            ).encode()
            srv.post_raw("runs/search", body)  # warm-up
            return {"populate_s": populate_s, "body": body}

        def measure(srv: Server, state: dict[str, Any]) -> tuple[float, float]:
            t1 = time.perf_counter()
            raw = srv.post_raw("runs/search", state["body"])
            t2 = time.perf_counter()
            result = json.loads(raw)
            t3 = time.perf_counter()
            runs = result["runs"]
            assert len(runs) == max_results, (srv.name, len(runs))
            state["run_names"] = [
                next(t["value"] for t in r["data"]["tags"] if t["key"] == "mlflow.runName")
                for r in runs
            ]
            state["response_bytes"] = len(raw)
            return t2 - t1, t3 - t1

        res = {}
        for name, (state, samples) in self.alternate(prepare, measure, repeats).items():
            http, total = [h for h, _ in samples], [t for _, t in samples]
            res[name] = {
                "populate_s": state["populate_s"],
                "http_ms": [t * 1000 for t in http],
                "total_ms": [t * 1000 for t in total],
                "median_http_ms": statistics.median(http) * 1000,
                "median_ms": statistics.median(total) * 1000,
                "response_bytes": state["response_bytes"],
                "run_names": state["run_names"],
                "load_average": loadavg(),
            }
            log(
                f"search: {name} median {res[name]['median_ms']:.1f} ms "
                f"(HTTP {res[name]['median_http_ms']:.1f} ms, "
                f"{state['response_bytes']:,} bytes)"
            )
        lt, ml = res["labtrack"], res.get("MLflow")
        same = None
        if ml:
            same = lt.pop("run_names") == ml.pop("run_names")
            log(f"search: same {max_results} runs in the same order from both: {same}")
        else:
            lt.pop("run_names")
        self.details["search"] = res
        note = (
            f"{n_runs:,} runs (3 params, 3 metrics, 2 tags + runName each), populated through "
            f"REST runs/create + runs/log-batch (labtrack {lt['populate_s']:.0f} s"
            + (f", MLflow {ml['populate_s']:.0f} s" if ml else "")
            + f"); filter `{filt}` (~25% match), order_by {order_by}, max_results={max_results}; "
            f"median of {repeats}, the servers taking turns, after a warm-up; time from sending "
            "the request to the last byte of the response"
            + ("" if same is None else f"; both returned the same runs in the same order: {same}")
        )
        # The goal applies to the server's part: from sending the request to holding the whole
        # response. The client's json.loads is the same code for both servers' JSON.
        return [
            ratio_ok(
                Row(
                    f"2. runs/search -> {max_results:,} of {n_runs:,} runs, response received",
                    "ms",
                    lt["median_http_ms"],
                    ml and ml["median_http_ms"],
                    note=note,
                ),
                30,
                self.quick,
            ),
            Row(
                "2. runs/search, and json.loads in the client",
                "ms",
                lt["median_ms"],
                ml and ml["median_ms"],
                note=f"response size labtrack {lt['response_bytes']:,} bytes"
                + (f", MLflow {ml['response_bytes']:,} bytes" if ml else ""),
            ),
        ]

    # 3. metrics/get-history ----------------------------------------------------------------

    def history(self) -> list[Row]:
        points = self.n(100_000)
        repeats = 3 if self.quick else 5

        def prepare(srv: Server) -> dict[str, Any]:
            exp = create_experiment(srv, "history")
            now = int(time.time() * 1000)
            run_id = create_run(srv, exp, "history", now)
            log(f"history: writing {points:,} {srv.name} points (log-batch of 1,000)")
            t0 = time.perf_counter()
            for start in range(0, points, 1000):
                metrics = [
                    metric_json("loss", 1.0 / (1.0 + s), now + s, s)
                    for s in range(start, min(start + 1000, points))
                ]
                srv.post_raw(
                    "runs/log-batch", json.dumps({"run_id": run_id, "metrics": metrics}).encode()
                )
            write_s = time.perf_counter() - t0
            assert fetch_history(srv, run_id, "loss")[0] == points  # and a warm-up
            return {"run_id": run_id, "write_s": write_s}

        def measure(srv: Server, state: dict[str, Any]) -> tuple[float, float]:
            t1 = time.perf_counter()
            n, parse = fetch_history(srv, state["run_id"], "loss")
            elapsed = time.perf_counter() - t1
            assert n == points, (srv.name, n, points)
            return elapsed, parse

        res = {}
        for name, (state, samples) in self.alternate(prepare, measure, repeats).items():
            res[name] = {
                "write_s": state["write_s"],
                "ms": [t * 1000 for t, _ in samples],
                "median_ms": statistics.median(t for t, _ in samples) * 1000,
                "median_http_ms": statistics.median(t - p for t, p in samples) * 1000,
                "pages": -(-points // HISTORY_PAGE),
                "load_average": loadavg(),
            }
            log(
                f"history: {name} median {res[name]['median_ms']:.1f} ms "
                f"(HTTP only {res[name]['median_http_ms']:.1f} ms)"
            )
        self.details["history"] = res
        lt, ml = res["labtrack"], res.get("MLflow")
        note = (
            f"GET metrics/get-history, max_results={HISTORY_PAGE:,} per page and page_token "
            f"until done ({lt['pages']} pages), as MlflowClient.get_metric_history does; "
            f"median of {repeats}, the servers taking turns, after a warm-up; time from sending "
            "the first request to the last byte of the last response"
        )
        parse_ms = lt["median_ms"] - lt["median_http_ms"]
        parse_note = f"the client's json.loads of labtrack's pages alone takes {parse_ms:.0f} ms"
        if ml:
            parse_note += f"; MLflow's whole time / 50 is {ml['median_ms'] / 50:.0f} ms"
            if parse_ms >= ml["median_ms"] / 50:
                parse_note += ": with the parse counted, no server could reach 50x here"
        # As for search, the goal applies to the server's part.
        return [
            ratio_ok(
                Row(
                    f"3. get-history, {points:,} pts, all pages received",
                    "ms",
                    lt["median_http_ms"],
                    ml and ml["median_http_ms"],
                    note=note,
                ),
                50,
                self.quick,
            ),
            Row(
                "3. get-history, and json.loads in the client",
                "ms",
                lt["median_ms"],
                ml and ml["median_ms"],
                note=parse_note,
            ),
        ]


# ---- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1/10 sizes and time budgets")
    ap.add_argument("--only", choices=WORKLOADS, action="append", help="run only this workload")
    ap.add_argument(
        "--mlflow-python",
        default=os.environ.get("MLFLOW_BENCH_PYTHON", str(DEFAULT_MLFLOW_PYTHON)),
        help="interpreter whose bin/ has the mlflow CLI (default .compat/mlflow3/bin/python)",
    )
    ap.add_argument("--no-mlflow", action="store_true", help="labtrack side only")
    ap.add_argument("--json", help="also write the raw figures to this file")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    ap.add_argument(
        "--client",
        choices=sorted(CLIENTS),
        default="http.client",
        help="the benchmark's HTTP client (default http.client; see LeanClient)",
    )
    args = ap.parse_args(argv)

    start_load = loadavg()
    tmp = Path(tempfile.mkdtemp(prefix="labtrack-bench-server-"))
    rows: list[Row] = []
    bench: Bench | None = None
    version = None
    try:
        with contextlib.ExitStack() as stack:
            log("starting jupyter server with labtrack")
            servers = [stack.enter_context(labtrack_server(tmp / "labtrack"))]
            if not args.no_mlflow:
                version = subprocess.run(
                    [args.mlflow_python, "-c", "import mlflow; print(mlflow.__version__)"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
                log(f"starting mlflow server {version} ({args.mlflow_python})")
                servers.append(
                    stack.enter_context(mlflow_server(tmp / "mlflow", args.mlflow_python))
                )
            for srv in servers:
                srv.client_kind = args.client
                srv._reconnect()
            log(
                f"labtrack pid {servers[0].pid}"
                + (f", MLflow pid {servers[1].pid}" if len(servers) > 1 else "")
            )
            bench = Bench(servers, args.quick)
            for name in args.only or WORKLOADS:
                log(f"== {name} (load average {loadavg():.1f}) ==")
                rows.extend(getattr(bench, name)())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    end_load = loadavg()
    print()
    print(
        f"labtrack server extension vs mlflow server {version or 'n/a'} (--workers 1), SQLite; "
        f"client {args.client}; "
        f"{os.cpu_count()} CPUs; 1-min load average {start_load:.1f} at start, {end_load:.1f} at "
        "end (above the CPU count, other processes skewed the timings)\n"
    )
    if args.quick:
        print("QUICK MODE: 1/10 sizes and time budgets; goals not applied.\n")
    print(render(rows, markdown=args.markdown))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "rows": [r.__dict__ | {"ratio": r.ratio} for r in rows],
                    "details": bench.details if bench else {},
                    "mlflow_version": version,
                    "quick": args.quick,
                    "client": args.client,
                    "load_average": {"start": start_load, "end": end_load},
                    "python": sys.version,
                },
                indent=2,
                default=str,
            )
        )
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
