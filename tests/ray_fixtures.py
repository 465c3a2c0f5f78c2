"""A real single-node Ray cluster of the test's own: ``ray start --head`` on free ports with its
own temp dir, stopped by its own processes (never ``ray stop``, which stops every cluster on the
machine).

Ray is found through this interpreter (``python -m ray.scripts.scripts``: the ``ray`` script
need not sit next to ``sys.executable``). Without Ray the tests skip, except in CI (``$CI``
set), where Ray is installed by ``tests/run_all.sh`` and its absence is a failure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ports import on_free_ports, raise_if_port_taken
from projects_helpers import SRC

RAY_INSTALLED = importlib.util.find_spec("ray") is not None
START_TIMEOUT = 300.0


@dataclass
class RayCluster:
    address: str  # the Jobs API (the dashboard): http://127.0.0.1:<port>
    temp_dir: Path


def require_ray() -> None:
    """Skip without Ray, unless this is CI, where it must be there."""
    if RAY_INSTALLED:
        return
    message = "Ray is not installed (pip install 'labtrack[ray]')"
    if os.environ.get("CI"):
        pytest.fail(f"{message}, and $CI is set: tests/run_all.sh installs it", pytrace=False)
    pytest.skip(message)


WORKER_PORTS = range(42000, 43000)  # away from Ray's default range, which other clusters use


def _processes(*markers: str) -> list:
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(m in part for part in proc.info["cmdline"] or [] for m in markers):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _cpu_seconds(procs: Iterable[Any]) -> float:
    """CPU time of these processes and of the children they reaped (the jobs' processes): a
    figure the machine's load does not inflate, unlike wall time."""
    import psutil

    total = 0.0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def _stop(*markers: str) -> None:
    """Every process of our cluster names its temp dir or GCS address on its command line;
    workers are the raylet's children. Terminate those (and their children), then kill what is
    left."""
    import psutil

    procs = _processes(*markers)
    family = {p.pid: p for p in procs}
    for p in procs:
        try:
            for child in p.children(recursive=True):
                family.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            continue
    print(f"ray cluster used {_cpu_seconds(family.values()):.1f} CPU-seconds")
    for p in family.values():
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    # (Ray's autoscaler monitor ignores SIGTERM: it is killed after this wait.)
    _gone, alive = psutil.wait_procs(list(family.values()), timeout=5)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    psutil.wait_procs(alive, timeout=10)


def _why(output: str, temp: str) -> str:
    """The reason Ray gives, from its raylet log or its output."""
    for log in sorted(Path(temp).glob("session_*/logs/raylet.out")):
        for line in log.read_text(errors="replace").splitlines():
            if "Check failed" in line or "Timed out" in line:
                return line.split(":  ", 1)[-1][:400]
    lines = [ln.strip() for ln in output.strip().splitlines() if ln.strip()]
    at = max((i for i, ln in enumerate(lines) if ln.startswith("Exception:")), default=-1)
    return " ".join(lines[at:] if at >= 0 else lines[-3:] or ["no output"])[:600]


def _announce_agent_port(temp: str, port: int, stop: threading.Event) -> None:
    """Ray 2.60's ``ray start`` gives the dashboard agent the listen port we chose but not the
    raylet, which then waits for the agent to write that port to a file and aborts after a
    fixed 15 s (not configurable). On a loaded 2-core machine the agent needs longer just to
    import. So, once the raylet is up, write the file for it (with Ray's own function) holding
    the port the agent is told to bind; the agent overwrites it with the same number."""
    import psutil
    from ray._raylet import DASHBOARD_AGENT_LISTEN_PORT_NAME, persist_port

    while not stop.is_set():
        for proc in _processes(temp):
            try:
                argv = proc.cmdline()
            except psutil.NoSuchProcess:
                continue
            if not argv or Path(argv[0]).name != "raylet":
                continue
            flags = dict(a[2:].split("=", 1) for a in argv[1:] if a.startswith("--") and "=" in a)
            if "session_dir" in flags and "node_id" in flags:
                persist_port(
                    flags["session_dir"], flags["node_id"], DASHBOARD_AGENT_LISTEN_PORT_NAME, port
                )
                return
        time.sleep(0.05)


def start_cluster() -> Iterator[RayCluster]:
    """The cluster on 9 free ports (new ones if one was taken before Ray bound it)."""
    require_ray()
    with on_free_ports(9, _cluster, avoid=WORKER_PORTS) as cluster:
        yield cluster


@contextlib.contextmanager
def _cluster(ports: list[int]) -> Iterator[RayCluster]:
    temp = tempfile.mkdtemp(prefix="ltray-")  # short: Ray's unix socket paths must stay short
    (gcs, dashboard, client, node, objects, agent, agent_grpc, metrics, rt_env) = ports
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "MLFLOW_"))}
    # Jobs run `python` from the cluster's PATH: this interpreter, which can import labtrack.
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    # Ray's start-up waits, made to fit a loaded machine (defaults: 30 s, 60 s, 60 s).
    env["RAY_agent_register_timeout_ms"] = "240000"
    env["RAY_raylet_start_wait_time_s"] = "240"
    env["RAY_DASHBOARD_STARTUP_TIMEOUT_S"] = "240"
    argv = [
        sys.executable,
        "-m",
        "ray.scripts.scripts",
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--temp-dir={temp}",
        f"--port={gcs}",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard}",
        f"--ray-client-server-port={client}",
        f"--node-manager-port={node}",
        f"--object-manager-port={objects}",
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--metrics-export-port={metrics}",
        f"--runtime-env-agent-port={rt_env}",
        f"--min-worker-port={WORKER_PORTS.start}",
        f"--max-worker-port={WORKER_PORTS.stop - 1}",
        "--num-cpus=2",
        "--include-dashboard=true",
        "--disable-usage-stats",
    ]
    started = time.monotonic()
    markers = (temp, f":{gcs}", f"--port={client}")
    stop_announcing = threading.Event()
    announcer = threading.Thread(
        target=_announce_agent_port, args=(temp, agent, stop_announcing), daemon=True
    )
    announcer.start()
    try:
        try:
            proc = subprocess.run(
                argv, env=env, capture_output=True, text=True, timeout=START_TIMEOUT
            )
            problem = None if proc.returncode == 0 else _why(proc.stdout + proc.stderr, temp)
            if problem:
                raise_if_port_taken(proc.stdout + proc.stderr, "ray start")
                for log in Path(temp).glob("session_*/logs/*"):
                    raise_if_port_taken(log, f"ray start ({log.name})")
        except subprocess.TimeoutExpired:
            problem = f"ray start did not return within {START_TIMEOUT:.0f} s"
        finally:
            stop_announcing.set()
        if problem:
            # Not a labtrack failure, yet CI (where the machine is ours) must not hide it.
            message = f"the Ray cluster did not start: {problem}"
            if os.environ.get("CI"):
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        print(f"ray cluster started in {time.monotonic() - started:.1f}s")
        yield RayCluster(f"http://127.0.0.1:{dashboard}", Path(temp))
    finally:
        stop_announcing.set()
        _stop(*markers)
        left = _processes(*markers)
        shutil.rmtree(temp, ignore_errors=True)
        assert not left, f"Ray processes left running: {[p.pid for p in left]}"
