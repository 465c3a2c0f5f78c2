"""The Ray backend's own logic without a cluster: a stand-in for Ray's ``JobSubmissionClient``
that does what Ray does with a job (copies the working dir, sets the runtime env's variables,
runs the entrypoint in a shell as a real process, SIGTERM on stop). The job's entrypoint is
labtrack's real supervisor, so the run's status, exit code and metrics come from a real process
and a real store. ``test_projects_ray.py`` runs the same against a real cluster when it can."""

from __future__ import annotations

import enum
import os
import shutil
import signal
import subprocess
import sys
import types
import uuid
from pathlib import Path

import pytest

from projects_helpers import SRC, all_runs, write_project


class _Status(str, enum.Enum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    STOPPED = "STOPPED"


class FakeJobs:
    root: Path
    submitted: list[dict]

    def __init__(self, address: str) -> None:
        if address == "http://unreachable":
            raise ConnectionError("Failed to connect to Ray at address: http://unreachable")
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopped: set[str] = set()

    def submit_job(self, entrypoint: str, runtime_env: dict, metadata: dict, **kw) -> str:
        job_id = f"raysubmit_{uuid.uuid4().hex[:8]}"
        workdir = FakeJobs.root / job_id
        shutil.copytree(runtime_env["working_dir"], workdir)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "MLFLOW_"))}
        env.update(runtime_env["env_vars"])
        env["PYTHONPATH"] = SRC
        env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env["PATH"]))
        FakeJobs.submitted.append({"entrypoint": entrypoint, "env_vars": runtime_env["env_vars"]})
        self.procs[job_id] = subprocess.Popen(
            entrypoint,
            shell=True,
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return job_id

    def get_job_status(self, job_id: str) -> _Status:
        code = self.procs[job_id].poll()
        if code is None:
            return _Status.RUNNING
        if job_id in self.stopped:
            return _Status.STOPPED
        return _Status.SUCCEEDED if code == 0 else _Status.FAILED

    def get_job_logs(self, job_id: str) -> str:
        out, _ = self.procs[job_id].communicate()
        return out or ""

    def stop_job(self, job_id: str) -> bool:
        self.stopped.add(job_id)
        self.procs[job_id].send_signal(signal.SIGTERM)
        return True


@pytest.fixture
def fake_ray(monkeypatch, tmp_path):
    FakeJobs.root = tmp_path / "ray-jobs"
    FakeJobs.submitted = []
    module = types.ModuleType("ray.job_submission")
    module.JobSubmissionClient = FakeJobs  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ray", types.ModuleType("ray"))
    monkeypatch.setitem(sys.modules, "ray.job_submission", module)
    for name in [n for n in os.environ if n.startswith(("LABTRACK_", "MLFLOW_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LABTRACK_TRACKING_URI", f"sqlite:///{tmp_path / 'store' / 'labtrack.db'}")
    monkeypatch.setenv("LABTRACK_HOME", str(tmp_path / "home"))
    return FakeJobs


@pytest.fixture
def project(tmp_path) -> Path:
    return write_project(
        tmp_path / "rayproj",
        {
            "MLproject": """
                entry_points:
                  main:
                    parameters:
                      n: {type: int, default: 4}
                    command: "python job.py {n}"
                  fail:
                    command: "exit 5"
                  sleep:
                    command: "python -c 'import time; time.sleep(60)'"
            """,
            "job.py": """
                import os, sys
                import labtrack as lt
                with lt.start_run():
                    lt.log_metric("n_squared", int(sys.argv[1]) ** 2)
                    lt.set_tag("ran_in", os.getcwd())
            """,
        },
    )


def test_a_ray_job_runs_the_supervised_command_and_the_run_follows_it(fake_ray, project):
    from labtrack import projects

    conf = {"address": "http://127.0.0.1:8265"}  # a cluster on this machine: SQLite is fine
    done = projects.run(str(project), parameters={"n": 6}, backend="ray", backend_config=conf)
    assert done.wait()
    with pytest.raises(projects.ProjectRunFailed) as failed:
        projects.run(str(project), "fail", backend="ray", backend_config=json_string(conf))
    assert failed.value.status == "FAILED"
    assert failed.value.exit_code == 5
    background = projects.run(
        str(project), "sleep", backend="ray", backend_config=conf, synchronous=False
    )
    background.cancel()
    assert background.get_status() == "KILLED"

    runs = {r.info.run_id: r for r in all_runs(project.parent)}
    ok, bad, killed = (runs[r] for r in (done.run_id, failed.value.run_id, background.run_id))
    assert ok.info.status == "FINISHED"
    assert ok.data.metrics == {"n_squared": 36.0}
    assert ok.data.tags["mlflow.project.backend"] == "ray"
    assert ok.data.tags["labtrack.project.rayJobId"].startswith("raysubmit_")
    assert ok.data.tags["labtrack.project.exitCode"] == "0"
    assert ok.data.tags["ran_in"] != str(project)  # Ray's copy of the folder
    assert bad.data.tags["labtrack.project.exitCode"] == "5"
    assert killed.info.status == "KILLED"
    job = fake_ray.submitted[0]
    assert job["entrypoint"].split()[1:3] == ["-m", "labtrack.projects.backends.local"]
    assert job["env_vars"]["MLFLOW_RUN_ID"] == done.run_id
    assert job["env_vars"]["LABTRACK_TRACKING_URI"].startswith("sqlite:///")


def json_string(conf: dict) -> str:
    import json

    return json.dumps(conf)


def test_an_unreachable_cluster_is_a_clear_error_and_leaves_no_run(fake_ray, project, tmp_path):
    from labtrack import projects

    with pytest.raises(projects.ExecutionException, match="cannot reach the Ray cluster"):
        projects.run(str(project), backend="ray", backend_config={"address": "http://unreachable"})
    assert not (tmp_path / "store" / "labtrack.db").exists()


REMOTE_RAY = {"address": "http://ray-head.example:8265"}


@pytest.mark.parametrize(
    ("tracking_uri", "env", "conf", "message"),
    [
        # A loopback URL means the job's own node there: it would get the runs (and token).
        (
            "http://127.0.0.1:5000",
            {"LABTRACK_TRACKING_TOKEN": "t"},
            REMOTE_RAY,
            "names this machine",
        ),
        ("http://localhost:5000", {}, REMOTE_RAY, "names this machine"),
        (None, {}, REMOTE_RAY, "is on this machine"),  # the SQLite store of this machine
        ("postgresql://lab@127.0.0.1/lab", {}, REMOTE_RAY, "is on this machine"),
        # A database password never travels to a cluster, even one on this machine.
        (
            "postgresql://lab:s3cret@db.example/lab",
            {},
            {"address": "http://127.0.0.1:8265"},
            "would hand the tracking database's password",
        ),
        # A hub server's own token opens the user's Jupyter server: never handed to a cluster,
        # also not when it is what MLFLOW_TRACKING_TOKEN holds (the team default in kernels).
        (
            "https://hub.example/services/labtrack",
            {"JUPYTERHUB_API_TOKEN": "hub-tok"},
            REMOTE_RAY,
            "JUPYTERHUB_API_TOKEN, which is not handed to a cluster",
        ),
        (
            "https://hub.example/services/labtrack",
            {"JUPYTERHUB_API_TOKEN": "hub-tok", "MLFLOW_TRACKING_TOKEN": "hub-tok"},
            REMOTE_RAY,
            "set LABTRACK_TRACKING_TOKEN",
        ),
    ],
)
def test_a_job_that_would_carry_a_credential_elsewhere_is_refused_before_any_run(
    fake_ray, project, tmp_path, monkeypatch, tracking_uri, env, conf, message
):
    from labtrack import projects

    if tracking_uri:
        monkeypatch.setenv("LABTRACK_TRACKING_URI", tracking_uri)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(projects.ExecutionException, match=message) as refused:
        projects.run(str(project), backend="ray", backend_config=conf)
    assert "s3cret" not in str(refused.value)
    assert "hub-tok" not in str(refused.value)
    assert fake_ray.submitted == []
    assert not (tmp_path / "store" / "labtrack.db").exists()


def test_the_job_gets_a_token_only_with_the_server_url_it_is_for(fake_ray, project, monkeypatch):
    from labtrack import projects
    from labtrack.projects.backends.ray_jobs import tracking_variables

    monkeypatch.setenv("LABTRACK_TRACKING_TOKEN", "lab-tok")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-tok")
    server = "https://tracking.example/labtrack"
    assert tracking_variables(server, REMOTE_RAY["address"]) == {
        "LABTRACK_TRACKING_URI": server,
        "MLFLOW_TRACKING_URI": server,
        "LABTRACK_TRACKING_TOKEN": "lab-tok",
        "MLFLOW_TRACKING_TOKEN": "lab-tok",
    }
    # A store the job opens itself needs no token: none is handed over.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "mlflow-tok")
    monkeypatch.setenv("LABTRACK_ARTIFACT_ROOT", str(project.parent / "artifacts"))
    done = projects.run(str(project), backend="ray", backend_config={"address": "127.0.0.1:8265"})
    assert done.wait()
    env_vars = fake_ray.submitted[0]["env_vars"]
    assert not {"lab-tok", "hub-tok", "mlflow-tok"} & set(env_vars.values())
    assert env_vars["LABTRACK_TRACKING_URI"].startswith("sqlite:///")
    assert env_vars["LABTRACK_ARTIFACT_ROOT"] == str(project.parent / "artifacts")
    assert "MLFLOW_TRACKING_URI" not in env_vars  # MLflow's client cannot open labtrack's store
