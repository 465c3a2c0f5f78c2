"""The MLproject format, as MLflow defines it: loading, validation and building the command.

A bottom-layer module: the projects feature runs what it describes, and the server reads it to
describe a project's entry points to JupyterLab (the server may not import the features).

An MLproject file is YAML with ``name``, at most one environment (``python_env``, ``conda_env``
or ``docker_env``) and ``entry_points``; each entry point has typed ``parameters`` and a
``command`` with ``{param}`` placeholders. A folder without an MLproject file runs its ``.py``
and ``.sh`` files as entry points. Parameter values are always shell-quoted: a value is data,
never code.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labtrack.errors import ExecutionException

MLPROJECT_NAMES = ("MLproject", "mlproject")
PARAMETER_TYPES = ("string", "float", "int", "path", "uri")
SCRIPT_SUFFIXES = (".py", ".sh")
_TOP_LEVEL_KEYS = {"name", "python_env", "conda_env", "docker_env", "entry_points"}
_ENTRY_POINT_KEYS = {"parameters", "command"}
_PARAMETER_KEYS = {"type", "default", "description"}
_DOCKER_KEYS = {"image", "volumes", "environment", "run_params"}
# ``{name}`` is a placeholder; ``{{`` and ``}}`` are literal braces (as in MLflow's str.format).
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
# A URI has a scheme (two letters or more, so a Windows drive letter is not one).
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str = "string"
    default: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class DockerEnv:
    image: str
    volumes: tuple[str, ...] = ()
    environment: tuple[Any, ...] = ()


@dataclass(frozen=True)
class EntryPoint:
    name: str
    command: str
    parameters: dict[str, Parameter] = field(default_factory=dict)

    def resolve_parameters(
        self, given: Mapping[str, Any], project_dir: Path, cwd: Path | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Declared parameters (given or default, checked and converted) and extra ones.

        User values that are relative paths are taken from ``cwd`` (where the user typed
        them); defaults from the project folder (where the author meant them)."""
        cwd = cwd or Path.cwd()
        missing = [n for n, p in self.parameters.items() if p.required and n not in given]
        if missing:
            names = ", ".join(repr(n) for n in missing)
            raise ExecutionException(
                f"entry point {self.name!r}: no value given for required parameter(s) {names}"
            )
        declared: dict[str, str] = {}
        for name, param in self.parameters.items():
            if name in given:
                declared[name] = _convert(self.name, param, _as_text(given[name]), cwd)
            else:
                assert param.default is not None
                declared[name] = _convert(self.name, param, param.default, project_dir)
        extra = {k: _as_text(v) for k, v in given.items() if k not in self.parameters}
        for key in extra:
            if not _PARAM_NAME.match(key):
                raise ExecutionException(f"invalid parameter name {key!r}")
        return declared, extra

    def command_line(self, declared: Mapping[str, str], extra: Mapping[str, str]) -> str:
        """The shell command: placeholders replaced by quoted values, extras as ``--key value``."""

        def fill(match: re.Match[str]) -> str:
            token = match.group(0)
            if token in ("{{", "}}"):
                return token[0]
            return shlex.quote(declared[match.group(1).strip()])

        command = _PLACEHOLDER.sub(fill, self.command)
        tail = [f"{shlex.quote('--' + k)} {shlex.quote(v)}" for k, v in extra.items()]
        return " ".join([command, *tail])


@dataclass(frozen=True)
class Project:
    """A loaded project folder."""

    directory: Path
    name: str
    entry_points: dict[str, EntryPoint]
    python_env: Path | None = None
    conda_env: Path | None = None
    docker_env: DockerEnv | None = None
    spec_file: Path | None = None

    @property
    def env_type(self) -> str:
        """What the project asks for: ``python``, ``conda``, ``docker`` or ``none``."""
        if self.docker_env is not None:
            return "docker"
        if self.conda_env is not None:
            return "conda"
        if self.python_env is not None:
            return "python"
        return "none"

    def entry_point(self, name: str) -> EntryPoint:
        if name in self.entry_points:
            return self.entry_points[name]
        # A script in the folder is an entry point of its own, as in MLflow; its parameters
        # all go to the command line as ``--key value``.
        script = (self.directory / name).resolve()
        inside = script == self.directory or self.directory in script.parents
        if inside and script.suffix in SCRIPT_SUFFIXES and script.is_file():
            runner = "python" if script.suffix == ".py" else os.environ.get("SHELL") or "bash"
            command = f"{runner} {shlex.quote(name)}"
            return EntryPoint(name, command.replace("{", "{{").replace("}", "}}"))
        known = ", ".join(sorted(self.entry_points)) or "none"
        where = self.spec_file or self.directory
        raise ExecutionException(
            f"{where}: unknown entry point {name!r} (entry points: {known}; "
            f"or a {'/'.join(SCRIPT_SUFFIXES)} file in the project folder)"
        )


def load_project(directory: str | os.PathLike[str]) -> Project:
    """Read and validate ``MLproject`` in ``directory`` (or describe a folder of scripts)."""
    folder = Path(directory).resolve()
    if not folder.is_dir():
        raise ExecutionException(f"{folder}: not a project folder (no such directory)")
    spec_file = next((folder / n for n in MLPROJECT_NAMES if (folder / n).is_file()), None)
    if spec_file is None:
        return _folder_project(folder)
    import yaml

    try:
        data = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ExecutionException(f"{spec_file}: invalid YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExecutionException(f"{spec_file}: cannot read: {exc}") from None
    return _parse(spec_file, folder, data if data is not None else {})


def _folder_project(folder: Path) -> Project:
    python_env = folder / "python_env.yaml"
    conda_env = folder / "conda.yaml"
    return Project(
        directory=folder,
        name=folder.name,
        entry_points={},
        python_env=python_env if python_env.is_file() else None,
        conda_env=conda_env if conda_env.is_file() and not python_env.is_file() else None,
    )


def _fail(spec_file: Path, problem: str) -> ExecutionException:
    return ExecutionException(f"{spec_file}: {problem}")


def _parse(spec_file: Path, folder: Path, data: Any) -> Project:
    if not isinstance(data, dict):
        raise _fail(spec_file, f"expected a mapping at the top level, got {_kind(data)}")
    unknown = sorted(set(map(str, data)) - _TOP_LEVEL_KEYS)
    if unknown:
        allowed = ", ".join(sorted(_TOP_LEVEL_KEYS))
        raise _fail(spec_file, f"unknown key {unknown[0]!r} (allowed: {allowed})")
    envs = [k for k in ("python_env", "conda_env", "docker_env") if data.get(k) is not None]
    if len(envs) > 1:
        raise _fail(spec_file, f"give at most one environment, not {' and '.join(envs)}")
    name = data.get("name", folder.name)
    if not isinstance(name, str | int | float) or isinstance(name, bool):
        raise _fail(spec_file, f"'name' must be a string, got {_kind(name)}")
    python_env = _env_file(spec_file, folder, data, "python_env")
    conda_env = _env_file(spec_file, folder, data, "conda_env")
    docker_env = _docker_env(spec_file, data.get("docker_env"))
    raw_entry_points = data.get("entry_points") or {}
    if not isinstance(raw_entry_points, dict):
        raise _fail(spec_file, f"'entry_points' must be a mapping, got {_kind(raw_entry_points)}")
    entry_points = {
        str(ep_name): _entry_point(spec_file, str(ep_name), body)
        for ep_name, body in raw_entry_points.items()
    }
    return Project(
        directory=folder,
        name=str(name),
        entry_points=entry_points,
        python_env=python_env,
        conda_env=conda_env,
        docker_env=docker_env,
        spec_file=spec_file,
    )


def _env_file(spec_file: Path, folder: Path, data: dict[str, Any], key: str) -> Path | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(spec_file, f"{key!r} must be a file name, got {_kind(value)}")
    path = (folder / value).resolve()
    if path != folder and folder not in path.parents:
        raise _fail(spec_file, f"{key!r} file {value!r} is outside the project folder")
    if not path.is_file():
        raise _fail(spec_file, f"{key!r} file {value!r} does not exist")
    return path


def _docker_env(spec_file: Path, value: Any) -> DockerEnv | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(spec_file, f"'docker_env' must be a mapping, got {_kind(value)}")
    unknown = sorted(set(map(str, value)) - _DOCKER_KEYS)
    if unknown:
        raise _fail(spec_file, f"docker_env: unknown key {unknown[0]!r}")
    image = value.get("image")
    if not isinstance(image, str) or not image:
        raise _fail(spec_file, "docker_env: 'image' must be a non-empty string")
    volumes = value.get("volumes") or []
    environment = value.get("environment") or []
    if not isinstance(volumes, list) or not isinstance(environment, list):
        raise _fail(spec_file, "docker_env: 'volumes' and 'environment' must be lists")
    return DockerEnv(image, tuple(map(str, volumes)), tuple(environment))


def _entry_point(spec_file: Path, name: str, body: Any) -> EntryPoint:
    where = f"entry point {name!r}"
    if isinstance(body, str):  # shorthand: just a command
        body = {"command": body}
    if not isinstance(body, dict):
        raise _fail(spec_file, f"{where} must be a mapping, got {_kind(body)}")
    unknown = sorted(set(map(str, body)) - _ENTRY_POINT_KEYS)
    if unknown:
        allowed = "command, parameters"
        raise _fail(spec_file, f"{where}: unknown key {unknown[0]!r} (allowed: {allowed})")
    command = body.get("command")
    if not isinstance(command, str) or not command.strip():
        raise _fail(spec_file, f"{where}: 'command' must be a non-empty string")
    raw_params = body.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise _fail(spec_file, f"{where}: 'parameters' must be a mapping, got {_kind(raw_params)}")
    params = {str(k): _parameter(spec_file, where, str(k), v) for k, v in raw_params.items()}
    for match in _PLACEHOLDER.finditer(command):
        placeholder = match.group(1)
        if placeholder is not None and placeholder.strip() not in params:
            raise _fail(
                spec_file, f"{where}: command uses {{{placeholder}}}, which is not a parameter"
            )
    return EntryPoint(name, command, params)


def _parameter(spec_file: Path, where: str, name: str, value: Any) -> Parameter:
    if not _PARAM_NAME.match(name):
        raise _fail(spec_file, f"{where}: invalid parameter name {name!r}")
    if value is None or isinstance(value, str):  # shorthand: ``alpha: float``
        ptype, default = value or "string", None
    elif isinstance(value, dict):
        unknown = sorted(set(map(str, value)) - _PARAMETER_KEYS)
        if unknown:
            raise _fail(spec_file, f"{where}, parameter {name!r}: unknown key {unknown[0]!r}")
        ptype, default = value.get("type", "string"), value.get("default")
    else:
        raise _fail(spec_file, f"{where}, parameter {name!r}: expected a type or a mapping")
    if ptype not in PARAMETER_TYPES:
        allowed = ", ".join(PARAMETER_TYPES)
        raise _fail(spec_file, f"{where}, parameter {name!r}: unknown type {ptype!r} ({allowed})")
    if default is not None and not isinstance(default, str | int | float | bool):
        raise _fail(
            spec_file,
            f"{where}, parameter {name!r}: default must be one value, not {_kind(default)}",
        )
    param = Parameter(name, ptype, None if default is None else _as_text(default))
    if param.default is not None and ptype in ("float", "int"):
        try:
            _check_number(ptype, param.default)
        except ValueError:
            raise _fail(
                spec_file, f"{where}, parameter {name!r}: default {default!r} is not a {ptype}"
            ) from None
    return param


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_number(ptype: str, text: str) -> None:
    if ptype == "int":
        int(text.strip())
    else:
        float(text)


def _convert(entry_point: str, param: Parameter, value: str, base: Path) -> str:
    where = f"entry point {entry_point!r}, parameter {param.name!r}"
    if param.type in ("float", "int"):
        try:
            _check_number(param.type, value)
        except ValueError:
            raise ExecutionException(f"{where}: {value!r} is not a {param.type}") from None
        return value
    if param.type == "path":
        if value.startswith("file://"):
            value = value[len("file://") :]
        elif _URI.match(value):
            raise ExecutionException(
                f"{where}: {value!r} is a URI; a 'path' parameter takes a local path "
                "(declare the parameter as 'uri' to pass URIs through)"
            )
        path = (base / value).resolve() if not os.path.isabs(value) else Path(value)
        if not path.exists():
            raise ExecutionException(f"{where}: no such file or directory: {value!r}")
        return str(path)
    if param.type == "uri" and not _URI.match(value):
        # As in MLflow: a 'uri' parameter takes a URI (scheme:...), passed through as given.
        raise ExecutionException(
            f"{where}: expected a URI (like s3://... or file:///...), got {value!r}"
        )
    return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"a {type(value).__name__} ({value!r:.40})"
