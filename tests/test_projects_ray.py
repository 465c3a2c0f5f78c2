"""``--backend ray``: projects submitted to a real single-node Ray cluster through the Jobs API.

The cluster is the test's own (``ray_fixtures.start_cluster``). Its jobs log through a real
labtrack server with a token (the team setup: only the URL and that token travel to the job)
and straight into a SQLite store on this machine (the solo setup). Skipped without Ray, except
in CI, where it fails.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from live_server import LiveServer, start_live_server
from projects_helpers import (
    all_runs,
    clean_env,
    labtrack_run,
    run_script,
    start_labtrack,
    write_project,
)
from ray_fixtures import RayCluster, start_cluster

pytestmark = [pytest.mark.slow, pytest.mark.ray]

HOSTILE = "'; touch {marker}; echo '"

MLPROJECT = """
    entry_points:
      main:
        parameters:
          n: {type: int, default: 4}
          msg: {type: string, default: plain}
        command: "python job.py {n} {msg}"
      fail:
        command: "python -c 'import sys; sys.exit(5)'"
      sleep:
        parameters:
          pidfile: string
        command: "python sleeper.py {pidfile}"
"""

JOB = """
    import os, sys
    import labtrack as lt
    with lt.start_run():
        lt.log_params({"argv_n": sys.argv[1]})
        lt.log_metric("n_squared", int(sys.argv[1]) ** 2)
        lt.set_tag("msg_seen", sys.argv[2])
        lt.set_tag("ran_in", os.getcwd())
"""

SLEEPER = """
    import os, sys, time
    from pathlib import Path
    Path(sys.argv[1]).write_text(str(os.getpid()))
    time.sleep(300)
"""


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[RayCluster]:
    yield from start_cluster()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from start_live_server(tmp_path_factory.mktemp("ray-server"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "rayproj", {"MLproject": MLPROJECT, "job.py": JOB, "sleeper.py": SLEEPER}
    )


def _conf(cluster: RayCluster) -> str:
    return json.dumps({"address": cluster.address})


def _wait_for_file(path: Path, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while not (path.is_file() and path.read_text()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)
    return int(path.read_text())


def _gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def _job_env(cluster: RayCluster, job_id: str) -> dict[str, str]:
    from ray.job_submission import JobSubmissionClient

    info = JobSubmissionClient(cluster.address).get_job_info(job_id)
    return dict((info.runtime_env or {}).get("env_vars") or {})


def test_labtrack_run_on_ray_logs_through_the_server_with_its_token_only(
    tmp_path, project, ray_cluster, server
):
    marker = tmp_path / "pwned"
    hostile = HOSTILE.format(marker=marker)
    env = clean_env(
        tmp_path,
        LABTRACK_TRACKING_URI=server.url,
        LABTRACK_TRACKING_TOKEN=server.token,
        # A hub server's own token in the caller's environment must not reach the cluster.
        JUPYTERHUB_API_TOKEN="hub-token-that-opens-the-users-server",
    )
    common = ["--backend", "ray", "--backend-config", _conf(ray_cluster)]
    started = time.monotonic()
    # Both jobs at once: the cluster runs them side by side.
    ok = start_labtrack(
        tmp_path, "run", str(project), "-P", "n=6", "-P", f"msg={hostile}", *common, env=env
    )
    bad = labtrack_run(tmp_path, str(project), "-e", "fail", *common, env=env, timeout=240)
    out, err = ok.communicate(timeout=240)
    print(f"two labtrack run --backend ray (side by side) took {time.monotonic() - started:.1f}s")
    assert ok.returncode == 0, out + err
    assert bad.returncode == 5, bad.stdout + bad.stderr
    assert "Traceback" not in bad.stderr

    client = store_client_for(server)
    runs = {r.data.tags["mlflow.project.entryPoint"]: r for r in _runs(client)}
    done, failed = runs["main"], runs["fail"]
    assert done.info.status == "FINISHED"
    assert done.data.params == {"n": "6", "msg": hostile, "argv_n": "6"}
    assert done.data.metrics == {"n_squared": 36.0}
    # The string parameter went through two shells (Ray's entrypoint, the supervisor's) as data.
    assert done.data.tags["msg_seen"] == hostile
    assert not marker.exists()
    assert done.data.tags["mlflow.project.backend"] == "ray"
    assert done.data.tags["labtrack.project.exitCode"] == "0"
    assert done.data.tags["ran_in"] != str(project)  # Ray's copy of the project folder
    assert failed.info.status == "FAILED"
    assert failed.data.tags["labtrack.project.exitCode"] == "5"

    job_env = _job_env(ray_cluster, done.data.tags["labtrack.project.rayJobId"])
    assert job_env["LABTRACK_RUN_ID"] == job_env["MLFLOW_RUN_ID"] == done.info.run_id
    assert job_env["LABTRACK_TRACKING_URI"] == job_env["MLFLOW_TRACKING_URI"] == server.url
    assert job_env["LABTRACK_TRACKING_TOKEN"] == job_env["MLFLOW_TRACKING_TOKEN"] == server.token
    assert "hub-token-that-opens-the-users-server" not in job_env.values()
    assert "LABTRACK_ARTIFACT_ROOT" not in job_env  # the server decides where artifacts go


def store_client_for(server: LiveServer):
    from labtrack.client.tracking_client import TrackingClient

    return TrackingClient(server.store_uri)


def _runs(client) -> list:
    ids = [e.experiment_id for e in client.search_experiments().items]
    return list(client.search_runs(ids, "", "ACTIVE_ONLY", 1000, None, None).items)


def test_python_api_runs_cancels_and_fails_ray_jobs_into_a_sqlite_store(
    tmp_path, project, ray_cluster
):
    pidfile = tmp_path / "sleeper.pid"
    script = tmp_path / "driver.py"
    script.write_text(
        f"""
import json, time
from pathlib import Path
import labtrack as lt

conf = {{"address": {ray_cluster.address!r}}}
ok = lt.projects.run({str(project)!r}, parameters={{"n": 3}}, backend="ray",
                     backend_config=conf, synchronous=False)
sleeper = lt.projects.run({str(project)!r}, "sleep", parameters={{"pidfile": {str(pidfile)!r}}},
                          backend="ray", backend_config=conf, synchronous=False)
failed = lt.projects.run({str(project)!r}, "fail", backend="ray", backend_config=conf,
                         synchronous=False)
while not Path({str(pidfile)!r}).is_file():  # the project's process has started
    time.sleep(0.2)
sleeper.cancel()
print(json.dumps({{"ok": [ok.run_id, ok.wait(), ok.job_status()],
                   "sleeper": [sleeper.run_id, sleeper.get_status(), sleeper.job_status()],
                   "failed": [failed.run_id, failed.wait(), failed.job_status()]}}))
"""
    )
    started = time.monotonic()
    res = run_script(script, clean_env(tmp_path), tmp_path, timeout=240)
    print(f"lt.projects.run: three Ray jobs took {time.monotonic() - started:.1f}s")
    assert res.returncode == 0, res.stdout + res.stderr
    seen = json.loads(res.stdout.strip().splitlines()[-1])
    assert seen["ok"][1:] == [True, "SUCCEEDED"]
    assert seen["sleeper"][1:] == ["KILLED", "STOPPED"]
    assert seen["failed"][1:] == [False, "FAILED"]
    assert _gone(int(pidfile.read_text())), "the cancelled job's project process survived"

    runs = {r.info.run_id: r for r in all_runs(tmp_path)}
    ok, killed, failed = (runs[seen[k][0]] for k in ("ok", "sleeper", "failed"))
    assert ok.info.status == "FINISHED"
    assert ok.data.metrics == {"n_squared": 9.0}
    assert ok.data.params == {"n": "3", "msg": "plain", "argv_n": "3"}
    # The job's supervisor itself recorded the stop (128 + SIGTERM) within Ray's grace time.
    assert killed.info.status == "KILLED"
    assert killed.data.tags["labtrack.project.exitCode"] == "143"
    assert killed.info.end_time is not None
    assert failed.info.status == "FAILED"
    assert failed.data.tags["labtrack.project.exitCode"] == "5"
    for run in (ok, killed, failed):
        assert run.data.tags["mlflow.project.backend"] == "ray"
        assert run.data.tags["labtrack.project.rayJobId"].startswith("raysubmit_")
    job_env = _job_env(ray_cluster, ok.data.tags["labtrack.project.rayJobId"])
    assert job_env["LABTRACK_TRACKING_URI"].startswith("sqlite:///")
    assert not {"LABTRACK_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_URI"} & set(
        job_env
    )


def test_stopping_labtrack_run_stops_the_ray_job_and_the_run_is_killed(
    tmp_path, project, ray_cluster
):
    """Ctrl-C and SIGTERM to a waiting ``labtrack run --backend ray`` (both at once)."""
    procs = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        pidfile = tmp_path / f"sleeper-{sig.name}.pid"
        argv = ["run", str(project), "-e", "sleep", "-P", f"pidfile={pidfile}", "--run-name"]
        argv += [sig.name, "--backend", "ray", "--backend-config", _conf(ray_cluster)]
        procs[sig] = (
            pidfile,
            start_labtrack(tmp_path, *argv, env=clean_env(tmp_path), terminal=True),
        )
    try:
        children = {sig: _wait_for_file(pidfile) for sig, (pidfile, _proc) in procs.items()}
        for sig, (_pidfile, proc) in procs.items():
            proc.send_signal(sig)
        errors = {sig: proc.communicate(timeout=120)[1] for sig, (_, proc) in procs.items()}
    finally:
        for _pidfile, proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    from ray.job_submission import JobSubmissionClient

    jobs = JobSubmissionClient(ray_cluster.address)
    runs = {r.info.run_name: r for r in all_runs(tmp_path)}
    for sig, (_pidfile, proc) in procs.items():
        assert proc.returncode == 128 + sig, errors[sig]  # as with the local backend
        assert "Traceback" not in errors[sig]
        assert _gone(children[sig]), f"the project's process survived {sig.name}"
        run = runs[sig.name]
        assert run.info.status == "KILLED"
        assert run.info.end_time is not None
        job_id = run.data.tags["labtrack.project.rayJobId"]
        assert jobs.get_job_status(job_id).value == "STOPPED"


def test_ray_backend_mistakes_are_one_line_errors(tmp_path, project):
    env = clean_env(tmp_path)
    env.pop("RAY_ADDRESS", None)
    res = labtrack_run(tmp_path, str(project), "--backend", "ray", env=env)
    assert res.returncode == 2
    assert "needs the cluster's address" in res.stderr
    res = labtrack_run(
        tmp_path, str(project), "--backend", "ray", "--backend-config", '{"adress": "x"}', env=env
    )
    assert "unknown key 'adress'" in res.stderr
    assert not (tmp_path / "store" / "labtrack.db").exists()  # no run was created
