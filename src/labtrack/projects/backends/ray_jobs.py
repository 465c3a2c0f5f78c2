"""The cluster backend: a project run as a Ray job (the Ray Jobs API), the project folder as
the job's working directory.

Ray is optional (``pip install "labtrack[ray]"``) and imported only here, only when this
backend is used. The job's entrypoint is labtrack's supervisor running the entry point's
command, so the run gets its final status (and exit code) from inside the cluster, also when
the caller does not wait; stopping the job (Ctrl-C, ``cancel()``) makes Ray send SIGTERM to it,
which the supervisor turns into a KILLED run. The cluster must be able to ``import labtrack``
and reach the tracking store (an ``http(s)://`` server for a remote cluster).

What the job is handed to reach the store (``tracking_variables``) follows one rule: a
credential goes only where it is needed and good for nothing more. The tracking token travels
only with the ``http(s)://`` tracking URI it is for; a database URI carrying a password, and a
hub server's own ``JUPYTERHUB_API_TOKEN`` (which opens the user's Jupyter server, not just the
tracking API), are never handed to a cluster; a tracking URI that names this machine
(``localhost``, a SQLite file) is refused for a cluster elsewhere, where it would name the
job's own machine. Ray keeps a job's environment variables in its job table, readable by anyone
who can reach the cluster's dashboard.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labtrack import config
from labtrack.client.tracking_client import TrackingClient
from labtrack.entities import RunStatus, system_tags
from labtrack.projects.backends.local import Terminated, sigterm_raises
from labtrack.projects.errors import ExecutionException
from labtrack.projects.submitted import SubmittedRun

CONFIG_KEYS = {"address", "python", "runtime_env", "entrypoint_num_cpus", "metadata"}
_TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}
# The run the job logs to (the tracking variables come from ``tracking_variables``).
_RUN_ENVS = (*config.RUN_ID_ENVS, *config.EXPERIMENT_ID_ENVS)
# Tokens meant for a tracking server (JUPYTERHUB_API_TOKEN is not one of them: see above).
_TRACKING_TOKENS = ("LABTRACK_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN")


def _job_client(address: str) -> Any:
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError:
        raise ExecutionException(
            "--backend ray needs Ray's job client: pip install 'labtrack[ray]' (or 'ray[default]')"
        ) from None
    try:
        return JobSubmissionClient(address)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExecutionException(f"cannot reach the Ray cluster at {address}: {first}") from None


def check_config(conf: Mapping[str, Any], env_manager: str) -> None:
    unknown = sorted(set(conf) - CONFIG_KEYS)
    if unknown:
        allowed = ", ".join(sorted(CONFIG_KEYS))
        raise ExecutionException(f"--backend-config: unknown key {unknown[0]!r} ({allowed})")
    if not (conf.get("address") or os.environ.get("RAY_ADDRESS")):
        raise ExecutionException(
            "--backend ray needs the cluster's address: --backend-config '{\"address\": "
            '"http://<head>:<dashboard port>"}\' (or RAY_ADDRESS)'
        )
    if env_manager != "local":
        raise ExecutionException(
            f"--backend ray runs in the cluster's Python environment, not {env_manager!r}: use "
            "--env-manager local (packages go in the backend config's runtime_env)"
        )


def cluster_address(conf: Mapping[str, Any]) -> str:
    return str(conf.get("address") or os.environ["RAY_ADDRESS"])


def connect(conf: Mapping[str, Any]) -> Any:
    """The cluster's job client; called before the run is created, so an unreachable cluster
    leaves no run behind."""
    return _job_client(cluster_address(conf))


def _host(uri: str) -> str | None:
    if "://" not in uri:
        uri = "//" + uri  # Ray also takes a bare host:port
    try:
        return urlsplit(uri).hostname
    except ValueError:
        return None


def _names_this_machine(host: str | None) -> bool:
    if not host or host == "auto":  # "auto": the cluster running on this machine
        return True
    if host == "localhost" or host.endswith(".localhost"):
        return True
    if host in (socket.gethostname(), socket.getfqdn()):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tracking_variables(tracking_uri: str, address: str) -> dict[str, str]:
    """The variables that let the job log to ``tracking_uri`` from the cluster at ``address``
    (see the module's docstring for the rules); raises before any run exists."""
    local_cluster = _names_this_machine(_host(address))
    if config.is_http_uri(tracking_uri):
        if not local_cluster and _names_this_machine(_host(tracking_uri)):
            raise ExecutionException(
                f"the tracking server {tracking_uri} names this machine, and the Ray cluster at "
                f"{address} is elsewhere: the job would send its runs (and token) to its own "
                "node; set LABTRACK_TRACKING_URI to an address the cluster can reach"
            )
        token = config.first_env(config.TRACKING_TOKEN_ENVS)  # the one this client sends
        if token and token == os.environ.get(config.HUB_API_TOKEN_ENV):
            # In a hub's Jupyter server MLFLOW_TRACKING_TOKEN is that server's token by default.
            raise ExecutionException(
                f"the Ray job needs a token for {tracking_uri}, and the one set here is this "
                f"server's {config.HUB_API_TOKEN_ENV}, which is not handed to a cluster (it "
                "opens your Jupyter server too): create a token with access to the labtrack "
                "service only (the hub's token page) and set LABTRACK_TRACKING_TOKEN to it"
            )
        out = {config.TRACKING_URI_ENV: tracking_uri, config.MLFLOW_TRACKING_URI_ENV: tracking_uri}
        if token:
            out.update(dict.fromkeys(_TRACKING_TOKENS, token))
        return out
    parts = urlsplit(tracking_uri)
    if parts.password:
        raise ExecutionException(
            "--backend ray would hand the tracking database's password to the cluster: run a "
            "tracking server (labtrack lab, labtrack service) and set LABTRACK_TRACKING_URI "
            "to its http(s) URL"
        )
    if not local_cluster and (parts.scheme == "sqlite" or _names_this_machine(parts.hostname)):
        raise ExecutionException(
            f"the tracking store {tracking_uri} is on this machine, and the Ray cluster at "
            f"{address} is elsewhere: run a tracking server and set LABTRACK_TRACKING_URI to "
            "its http(s) URL"
        )
    out = {config.TRACKING_URI_ENV: tracking_uri}
    root = os.environ.get(config.ARTIFACT_ROOT_ENV)
    if root:
        out[config.ARTIFACT_ROOT_ENV] = root
    return out


def submit(
    client: TrackingClient,
    jobs: Any,
    run_id: str,
    command: str,
    project_dir: Path,
    env: Mapping[str, str],
    tracking: Mapping[str, str],
    conf: Mapping[str, Any],
    synchronous: bool,
    log: Callable[[str], None],
) -> SubmittedRun:
    """Submit the run's command as a Ray job; ``tracking`` is ``tracking_variables``' answer,
    ``env`` the run's environment (only the run and experiment ids are taken from it)."""
    address = cluster_address(conf)
    runtime_env = dict(conf.get("runtime_env") or {})
    runtime_env["working_dir"] = str(project_dir)
    env_vars = dict(runtime_env.get("env_vars") or {})
    env_vars.update({k: env[k] for k in _RUN_ENVS if env.get(k)})
    env_vars.update(tracking)
    runtime_env["env_vars"] = env_vars
    python = str(conf.get("python") or "python")
    entrypoint = shlex.join([python, "-m", "labtrack.projects.backends.local", run_id, command])
    kwargs: dict[str, Any] = {"entrypoint": entrypoint, "runtime_env": runtime_env}
    kwargs["metadata"] = {"labtrack_run_id": run_id, **dict(conf.get("metadata") or {})}
    if conf.get("entrypoint_num_cpus") is not None:
        kwargs["entrypoint_num_cpus"] = conf["entrypoint_num_cpus"]
    try:
        job_id = jobs.submit_job(**kwargs)
    except Exception as exc:
        client.set_terminated(run_id, RunStatus.FAILED.value)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ExecutionException(f"Ray did not accept the job: {first}") from None
    client.set_tag(run_id, system_tags.PROJECT_RAY_JOB_ID, job_id)
    log(f"labtrack: run {run_id} submitted to Ray at {address} as job {job_id}")
    submitted = RaySubmittedRun(run_id, client, jobs, job_id)
    if synchronous:
        from labtrack.projects.runner import ProjectRunFailed

        try:
            with sigterm_raises():
                submitted.wait()
        except KeyboardInterrupt:
            # Ctrl-C while waiting: stop the job too (its supervisor records KILLED).
            submitted.cancel()
            raise
        except Terminated as exc:
            submitted.cancel()
            raise ProjectRunFailed(run_id, RunStatus.KILLED.value, 128 + exc.signum) from None
        logs = submitted.logs()
        if logs:
            print(logs, end="" if logs.endswith("\n") else "\n", flush=True)
        status = submitted.get_status()
        log(f"labtrack: run {run_id} {status} (Ray job {job_id}: {submitted.job_status()})")
        if status != RunStatus.FINISHED.value:
            code = client.get_run(run_id).data.tags.get(system_tags.PROJECT_EXIT_CODE, "1")
            raise ProjectRunFailed(run_id, status, int(code) if code.isdigit() else 1)
    return submitted


class RaySubmittedRun(SubmittedRun):
    """A project run executing as a Ray job."""

    def __init__(self, run_id: str, client: TrackingClient, jobs: Any, job_id: str) -> None:
        super().__init__(run_id, client)
        self._jobs = jobs
        self.job_id = job_id

    def job_status(self) -> str:
        return str(getattr(self._jobs.get_job_status(self.job_id), "value", ""))

    def logs(self) -> str:
        return str(self._jobs.get_job_logs(self.job_id))

    def wait(self, poll_seconds: float = 0.5) -> bool:
        while self.job_status() not in _TERMINAL:
            time.sleep(poll_seconds)
        self._settle()
        return self.get_status() == RunStatus.FINISHED.value

    def cancel(self) -> None:
        if self.job_status() not in _TERMINAL:
            self._jobs.stop_job(self.job_id)
            deadline = time.monotonic() + 60
            while self.job_status() not in _TERMINAL and time.monotonic() < deadline:
                time.sleep(0.5)
        self._mark_killed_if_running()

    def _settle(self) -> None:
        """The job ended; if its supervisor never ran (the job failed before its entrypoint,
        e.g. the working dir could not be set up), the run ends here."""
        if self.get_status() == RunStatus.RUNNING.value:
            final = self.job_status()
            status = {"SUCCEEDED": RunStatus.FINISHED, "STOPPED": RunStatus.KILLED}.get(
                final, RunStatus.FAILED
            )
            self._client.set_terminated(self.run_id, status.value)
