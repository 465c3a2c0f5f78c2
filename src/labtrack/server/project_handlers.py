"""``/api/labtrack/projects/*``: JupyterLab's "Run project" (the user's own Jupyter server only).

``GET projects/describe?path=`` reads an MLproject (with ``labtrack.mlproject``, the parser
``labtrack run`` uses) and describes its entry points and typed parameters;
``POST projects/run`` checks the inputs the same way, creates the run and starts
``labtrack run <folder> --run-id <run>`` as a child process of the Jupyter server, which the
dashboard then follows live. Nothing of the project is imported here: models and user code run
in the child only.

Safety: the project folder must resolve (symlinks followed) inside the Jupyter server's root
folder, only local folders are accepted (no git URLs, no ``#subdir``), parameters go to the child
as separate ``-P key=value`` arguments (never through a shell here; ``labtrack run`` shell-quotes
them into the entry point's command). These routes are not served by the team service
(``labtrack service``): it runs as a service account, and running user code there would run it
as that account (``team_routes`` drops them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from labtrack import config
from labtrack.entities import RunStatus, system_tags
from labtrack.entities import endpoints as ep
from labtrack.errors import ExecutionException, LabtrackException
from labtrack.mlproject import MLPROJECT_NAMES, Project, load_project
from labtrack.server.base import LabtrackHandler, endpoint
from labtrack.server.routes import Route, handled_at

ENV_MANAGERS = ("local", "virtualenv", "uv", "conda")
# The project's path relative to the Jupyter root, so "Run again" finds the same project.
PROJECT_PATH_TAG = "labtrack.project.path"
# The last lines of a project that failed before its command started (environment build, ...).
PROJECT_ERROR_TAG = "labtrack.project.error"
_ERROR_TAIL_CHARS = 4000


def _bad(message: str) -> LabtrackException:
    return LabtrackException(message, "INVALID_PARAMETER_VALUE")


def resolve_project_dir(root_dir: str, path: str) -> tuple[Path, str]:
    """The project folder for ``path`` (an MLproject file or a folder, relative to the Jupyter
    root or absolute) and its path relative to the root; refused when it leaves the root."""
    if not isinstance(path, str) or not path.strip():
        raise _bad("Missing value for required parameter 'path'.")
    if "#" in path or "\x00" in path:
        raise _bad(f"Invalid value for parameter 'path': {path!r} (a folder, not a URI)")
    root = Path(root_dir).expanduser().resolve()
    # An absolute path (a run's mlflow.source.name, for "Run again") must lie inside the root too.
    target = (Path(path) if os.path.isabs(path) else root / path).resolve()
    if target != root and root not in target.parents:
        raise LabtrackException(
            f"Invalid value for parameter 'path': {path!r} is outside the Jupyter root folder",
            "PERMISSION_DENIED",
        )
    if target.is_file():
        if target.name not in MLPROJECT_NAMES:
            raise _bad(f"Invalid value for parameter 'path': {path!r} is not an MLproject file")
        target = target.parent
    if not target.is_dir():
        raise LabtrackException(
            f"Invalid value for parameter 'path': no such project folder {path!r}",
            "RESOURCE_DOES_NOT_EXIST",
        )
    return target, target.relative_to(root).as_posix() or "."


def describe(project: Project, relpath: str) -> dict[str, Any]:
    """The JSON description the "Run project" dialog is built from."""
    return {
        "name": project.name,
        "path": relpath,
        "env_type": project.env_type,
        "entry_points": [
            {
                "name": entry.name,
                "command": entry.command,
                "parameters": [
                    {
                        "name": p.name,
                        "type": p.type,
                        **({"default": p.default} if p.default is not None else {}),
                        "required": p.required,
                    }
                    for p in entry.parameters.values()
                ],
            }
            for entry in project.entry_points.values()
        ],
    }


def _parameters(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad("Invalid value for parameter 'parameters': expected an object of strings")
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise _bad(
                f"Invalid value {item!r} for parameter 'parameters.{key}': expected a string"
            )
        if "=" in key:
            raise _bad(f"Invalid parameter name {key!r} in 'parameters'")
        out[str(key)] = str(item)
    return out


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(f"Invalid value {value!r} for parameter '{key}': expected a string")
    return value


class ProjectDescribeHandler(LabtrackHandler):
    """``GET projects/describe?path=``: the entry points of an MLproject."""

    @endpoint
    async def get(self) -> None:
        path = self.get_query_argument("path", "")
        root = self.settings.get("server_root_dir") or os.getcwd()

        def work() -> dict[str, Any]:
            folder, relpath = resolve_project_dir(root, path)
            return describe(load_project(folder), relpath)

        self.write_json(await self.run_blocking(work))


class ProjectRunHandler(LabtrackHandler):
    """``POST projects/run``: check the inputs, create the run, start ``labtrack run``."""

    @endpoint
    async def post(self) -> None:
        body = self.json_body()
        root = self.settings.get("server_root_dir") or os.getcwd()
        app = self.labtrack
        user = self.username
        result = await self.run_blocking(
            start_project_run, body, root, app.get_service(), app.store_uri, app.artifact_root, user
        )
        self.write_json(result)


def start_project_run(
    body: dict[str, Any],
    root_dir: str,
    service: Any,
    store_uri: str,
    artifact_root: str,
    user: str,
) -> dict[str, Any]:
    folder, relpath = resolve_project_dir(root_dir, body.get("path", ""))
    entry_name = _optional_str(body, "entry_point") or "main"
    params = _parameters(body.get("parameters"))
    env_manager = _optional_str(body, "env_manager")
    if env_manager is not None and env_manager not in ENV_MANAGERS:
        raise _bad(
            f"Invalid value {env_manager!r} for parameter 'env_manager': "
            f"expected one of {', '.join(ENV_MANAGERS)}"
        )
    run_name = _optional_str(body, "run_name")
    experiment_id = _optional_str(body, "experiment_id") or "0"
    # Checked here, as the child would check them, so a mistake is a 400 in the dialog rather
    # than a FAILED run.
    try:
        project = load_project(folder)
        entry = project.entry_point(entry_name)
        entry.resolve_parameters(params, project.directory, cwd=project.directory)
    except ExecutionException as exc:
        raise _bad(exc.message) from None
    experiment = service.get_experiment(experiment_id)
    if experiment.lifecycle_stage != "active":
        raise _bad(
            f"Invalid value for parameter 'experiment_id': experiment {experiment_id} is deleted"
        )
    tags = {
        system_tags.SOURCE_TYPE: system_tags.SOURCE_TYPE_PROJECT,
        system_tags.SOURCE_NAME: str(folder),
        system_tags.PROJECT_ENTRY_POINT: entry_name,
        PROJECT_PATH_TAG: relpath,
    }
    if user:
        tags[system_tags.USER] = user
    run = service.create_run(experiment_id, user_id=user or None, tags=tags, run_name=run_name)
    run_id = run.info.run_id
    # ``--opt=value`` forms: a value starting with "-" stays a value. Parameter names match
    # ``[A-Za-z_]...`` (checked above), so ``-P name=value`` cannot be read as an option.
    argv = [sys.executable, "-m", "labtrack.cli", "run", str(folder)]
    argv.append(f"--entry-point={entry_name}")
    for key, value in params.items():
        argv += ["-P", f"{key}={value}"]
    if env_manager:
        argv.append(f"--env-manager={env_manager}")
    argv.append(f"--run-id={run_id}")
    env = dict(os.environ)
    env[config.TRACKING_URI_ENV] = store_uri
    env[config.ARTIFACT_ROOT_ENV] = artifact_root
    # ``python`` in an entry point's command (env manager local) is the server's interpreter,
    # as in an activated virtual environment.
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in (bindir, env.get("PATH")) if p)
    try:
        _spawn(argv, folder, env, service, run_id)
    except OSError as exc:
        service.update_run(run_id, status=RunStatus.FAILED.value, end_time=_now())
        raise LabtrackException(f"could not start the project: {exc}", "INTERNAL_ERROR") from None
    return {"run_id": run_id, "experiment_id": experiment_id}


def _now() -> int:
    import time

    return int(time.time() * 1000)


def _spawn(argv: list[str], cwd: Path, env: dict[str, str], service: Any, run_id: str) -> None:
    output = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the watcher
    proc = subprocess.Popen(  # argv, no shell: the values are data
        argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
    )

    def watch() -> None:
        with output:
            code = proc.wait()
            if code == 0:
                return
            # ``labtrack run`` ends the run itself once the command started; a failure before
            # that (environment, git) would leave it RUNNING, with the reason only in the log.
            try:
                run = service.get_run(run_id)
                if run.info.status != RunStatus.RUNNING.value:
                    return
                output.seek(0)
                tail = output.read().decode("utf-8", "replace")[-_ERROR_TAIL_CHARS:]
                service.set_tag(run_id, PROJECT_ERROR_TAG, tail.strip() or f"exit code {code}")
                service.set_tag(run_id, system_tags.PROJECT_EXIT_CODE, str(code))
                service.update_run(run_id, status=RunStatus.FAILED.value, end_time=_now())
            except Exception:  # a watcher thread has no one to report to
                return

    threading.Thread(target=watch, name=f"labtrack-project-{run_id}", daemon=True).start()


ROUTES: list[Route] = [
    *handled_at(ProjectDescribeHandler, ep.LABTRACK_PROJECTS_DESCRIBE),
    *handled_at(ProjectRunHandler, ep.LABTRACK_PROJECTS_RUN),
]
