"""``run()``: fetch a project, check its parameters, prepare its environment, record the run and
hand it to a backend. Everything the user can get wrong is checked before a run is created,
so a typo never leaves a stray run behind.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from labtrack import config
from labtrack.client.context import current_user
from labtrack.client.tracking_client import TrackingClient
from labtrack.entities import RunStatus, system_tags
from labtrack.errors import LabtrackException
from labtrack.mlproject import load_project
from labtrack.projects.backends import local
from labtrack.projects.environments import choose_env_manager, prepare_environment
from labtrack.projects.errors import ExecutionException
from labtrack.projects.sources import fetch_project
from labtrack.projects.submitted import CompletedRun, LocalSubmittedRun, SubmittedRun

BACKENDS = ("local", "ray")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(
    uri: str,
    entry_point: str = "main",
    parameters: Mapping[str, Any] | None = None,
    env_manager: str | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    synchronous: bool = True,
    backend: str = "local",
    backend_config: Mapping[str, Any] | str | None = None,
    version: str | None = None,
    run_id: str | None = None,
    log: Callable[[str], None] = _stderr,
) -> SubmittedRun:
    """Run a project (a folder, ``repo#subdir`` or a git URL) as MLflow's ``mlflow.run`` does.

    Returns a ``SubmittedRun``; with ``synchronous=True`` (the default) the project has ended
    and a failure raises ``ExecutionException``. Called inside an active run, the project's
    run is nested under it (``mlflow.parentRunId``).
    """
    if backend not in BACKENDS:
        choices = ", ".join(BACKENDS)
        raise ExecutionException(f"unknown backend {backend!r} (choose one of {choices})")
    if experiment_name is not None and experiment_id is not None:
        raise ExecutionException("give experiment_name or experiment_id, not both")
    backend_conf = parse_backend_config(backend_config)
    source = fetch_project(uri, version)
    keep_source = False
    try:
        project = load_project(source.directory)
        entry = project.entry_point(entry_point)
        declared, extra = entry.resolve_parameters(dict(parameters or {}), project.directory)
        manager = choose_env_manager(project, env_manager)
        command = entry.command_line(declared, extra)
        client = TrackingClient(_absolute_store_uri(config.resolve_tracking_uri()))
        tracking: dict[str, str] = {}
        if backend == "ray":
            from labtrack.projects.backends import ray_jobs as ray_backend

            ray_backend.check_config(backend_conf, manager)
            jobs = ray_backend.connect(backend_conf)
            address = ray_backend.cluster_address(backend_conf)
            tracking = ray_backend.tracking_variables(client.tracking_uri, address)
            environment = None
        else:
            environment = prepare_environment(project, manager, log)
        tags = _run_tags(source, entry_point, manager, backend)
        if environment is not None and environment.docker_image:
            tags[system_tags.DOCKER_IMAGE_NAME] = environment.docker_image
        run_id, exp_id = _start_run(
            client, run_id, experiment_name, experiment_id, run_name, tags, {**declared, **extra}
        )
        log(f"labtrack: run {run_id} (experiment {exp_id}): {command}")
        env = child_environment(client.tracking_uri, run_id, exp_id)
        if backend == "ray":
            return ray_backend.submit(
                client,
                jobs,
                run_id,
                command,
                project.directory,
                env,
                tracking,
                backend_conf,
                synchronous,
                log,
            )
        assert environment is not None
        env = environment.apply(env)
        if environment.docker_image:
            argv = local.docker_argv(command, environment.docker_image, project.directory, env)
        else:
            argv = local.shell_argv(command)
        if not synchronous:
            # The supervisor process owns the clone from here on; it is left in place (as
            # MLflow leaves its clones) rather than deleted under a running project.
            keep_source = True
            proc = local.spawn_supervisor(argv, project.directory, env, run_id)
            return LocalSubmittedRun(run_id, client, proc)
        code = local.supervise(argv, project.directory, env, run_id, client)
        status = client.get_run(run_id).info.status
        log(f"labtrack: run {run_id} {status} (exit code {code})")
        if status != RunStatus.FINISHED.value:
            raise ProjectRunFailed(run_id, status, code)
        return CompletedRun(run_id, client, code)
    finally:
        if not keep_source:
            source.cleanup()


class ProjectRunFailed(ExecutionException):
    """A synchronous project run ended FAILED or KILLED."""

    def __init__(self, run_id: str, status: str, exit_code: int) -> None:
        super().__init__(f"run {run_id} {status} (exit code {exit_code})")
        self.run_id = run_id
        self.status = status
        self.exit_code = exit_code


def parse_backend_config(value: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """A mapping, a JSON string, or the path of a JSON file."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value).expanduser()
        if not path.is_file():
            raise ExecutionException(f"--backend-config {value!r}: not JSON and not a file")
        text = path.read_text()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ExecutionException(f"--backend-config: invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ExecutionException("--backend-config: expected a JSON object")
    return data


def _run_tags(source: Any, entry_point: str, manager: str, backend: str) -> dict[str, str]:
    tags = {
        system_tags.USER: current_user(),
        system_tags.SOURCE_TYPE: system_tags.SOURCE_TYPE_PROJECT,
        system_tags.SOURCE_NAME: source.uri,
        system_tags.PROJECT_ENTRY_POINT: entry_point,
        system_tags.PROJECT_ENV: manager,
        system_tags.PROJECT_BACKEND: backend,
    }
    if source.git_commit:
        tags[system_tags.GIT_COMMIT] = source.git_commit
    if source.git_repo_url:
        tags[system_tags.GIT_REPO_URL] = source.git_repo_url
        tags[system_tags.LEGACY_GIT_REPO_URL] = source.git_repo_url
    if source.git_branch:
        tags[system_tags.GIT_BRANCH] = source.git_branch
    return tags


def _parent_run_id() -> str | None:
    """The run a project started here nests under: the caller's active run, else the run of
    the project this process belongs to (a workflow step started from a workflow's command)."""
    from labtrack.client import fluent

    active = fluent.active_run()
    if active is not None:
        return active.info.run_id
    return config.first_env(config.RUN_ID_ENVS)


def _start_run(
    client: TrackingClient,
    run_id: str | None,
    experiment_name: str | None,
    experiment_id: str | None,
    run_name: str | None,
    tags: dict[str, str],
    params: dict[str, str],
) -> tuple[str, str]:
    resumed = run_id is not None
    try:
        if run_id is not None:
            run = client.get_run(run_id)
            if run.info.lifecycle_stage != "active":
                raise ExecutionException(f"run {run_id} is deleted; restore it before resuming")
            client.update_run(run_id, status=RunStatus.RUNNING.value, name=run_name)
            exp_id = run.info.experiment_id
        else:
            exp_id = _experiment_id(client, experiment_name, experiment_id)
            parent = _parent_run_id()
            if parent:
                tags[system_tags.PARENT_RUN_ID] = parent
            run_id = client.create_run(exp_id, tags=tags, run_name=run_name).info.run_id
        # A new run got its tags when it was created; a resumed one gets them now.
        items = list(tags.items()) if resumed else []
        pairs = list(params.items())
        try:
            for i in range(0, max(len(items), len(pairs)), 100):
                client.log_batch(run_id, params=pairs[i : i + 100], tags=items[i : i + 100])
        except BaseException:
            # E.g. resuming with a changed parameter: the run must not stay RUNNING.
            client.set_terminated(run_id, RunStatus.FAILED.value)
            raise
    except LabtrackException as exc:
        if isinstance(exc, ExecutionException):
            raise
        raise ExecutionException(exc.message) from None
    return run_id, exp_id


def _experiment_id(
    client: TrackingClient, experiment_name: str | None, experiment_id: str | None
) -> str:
    if experiment_id is not None:
        exp = client.get_experiment(str(experiment_id))
        return exp.experiment_id
    name = experiment_name or config.first_env(config.EXPERIMENT_NAME_ENVS)
    if name:
        found = client.get_experiment_by_name(name)
        if found is None:
            try:
                return client.create_experiment(name)
            except LabtrackException as exc:
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            found = client.get_experiment_by_name(name)
            assert found is not None
        return found.experiment_id
    return config.first_env(config.EXPERIMENT_ID_ENVS) or "0"


def _absolute_store_uri(uri: str) -> str:
    """A SQLite URI with a relative path names another file once the project runs in its own
    folder (or on a cluster): hand on the absolute one."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri[len(prefix) :].startswith(("/", ":memory:")):
        return uri
    path, sep, query = uri[len(prefix) :].partition("?")
    if not path:
        return uri
    return f"{prefix}{Path(path).resolve()}{sep}{query}"


def child_environment(tracking_uri: str, run_id: str, experiment_id: str) -> dict[str, str]:
    """The project's process environment: this one, plus the run to log to and where.

    ``MLFLOW_TRACKING_URI`` is only ever a server URL: MLflow's own client opens a database
    URI with MLflow's schema, which is not labtrack's, so for a database store it keeps an
    http(s) URL the user set (a server in front of the same store) and is dropped otherwise.
    """
    env = dict(os.environ)
    for name in (*config.EXPERIMENT_NAME_ENVS, config.STORE_URI_ENV):
        env.pop(name, None)
    for name in config.RUN_ID_ENVS:
        env[name] = run_id
    for name in config.EXPERIMENT_ID_ENVS:
        env[name] = experiment_id
    env[config.TRACKING_URI_ENV] = tracking_uri
    if config.is_http_uri(tracking_uri):
        env[config.MLFLOW_TRACKING_URI_ENV] = tracking_uri
    elif not config.is_http_uri(env.get(config.MLFLOW_TRACKING_URI_ENV, "")):
        env.pop(config.MLFLOW_TRACKING_URI_ENV, None)
    return env
