"""The environment a project's command runs in: ``local``, ``virtualenv``/``uv``, ``conda`` or
``docker``.

Virtual environments are built from ``python_env.yaml`` (or a ``conda.yaml``'s pip
dependencies) with an interpreter already on this machine (a Python is never downloaded),
cached under ``<labtrack home>/envs/<hash of what defines them>`` and reused: a cache hit costs
a few file checks.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from labtrack import config
from labtrack.mlproject import Project
from labtrack.projects.errors import ExecutionException

ENV_MANAGERS = ("local", "virtualenv", "uv", "conda")
# Bumped when the layout of a cached environment changes, so old ones are not reused.
_CACHE_FORMAT = 1
_MARKER = "labtrack-env.json"
_BRIDGE = "_labtrack_host.pth"
_PYTHON_ENV_KEYS = {"python", "build_dependencies", "dependencies"}

Log = Callable[[str], None]


@dataclass
class Environment:
    """How to start a command inside a prepared environment."""

    manager: str  # recorded as mlflow.project.env
    bin_dir: Path | None = None  # put first on PATH (``python`` is the env's)
    variables: dict[str, str] = field(default_factory=dict)
    docker_image: str | None = None

    def apply(self, env: dict[str, str]) -> dict[str, str]:
        out = dict(env)
        if self.bin_dir is not None:
            out["PATH"] = os.pathsep.join(p for p in (str(self.bin_dir), env.get("PATH")) if p)
            out.pop("PYTHONHOME", None)
        out.update(self.variables)
        return out


@dataclass(frozen=True)
class PythonEnvSpec:
    python: str | None
    build_dependencies: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()


def choose_env_manager(project: Project, requested: str | None) -> str:
    """The manager to use: the one asked for, else the one the project's files imply."""
    if requested is not None and requested not in ENV_MANAGERS:
        raise ExecutionException(
            f"unknown env manager {requested!r} (choose one of {', '.join(ENV_MANAGERS)})"
        )
    if project.env_type == "docker":
        return "docker"
    if requested is not None:
        return requested
    return {"python": "virtualenv", "conda": "conda"}.get(project.env_type, "local")


def prepare_environment(project: Project, manager: str, log: Log = print) -> Environment:
    if manager == "docker":
        assert project.docker_env is not None
        _check_docker()
        return Environment("docker", docker_image=project.docker_env.image)
    if manager == "local":
        return local_environment()
    if manager == "conda":
        return _conda_environment(project, log)
    if manager == "uv" and shutil.which("uv") is None:
        raise ExecutionException(
            "--env-manager uv needs the 'uv' command, which is not on PATH; "
            "use --env-manager virtualenv (python -m venv + pip) or local"
        )
    spec = read_env_spec(project)
    return virtualenv_environment(spec, project.directory, manager, log)


def local_environment() -> Environment:
    # "local" is the environment labtrack itself runs in. When that is a virtualenv, ``python``
    # in the command must be its interpreter (as if activated), not whatever PATH finds first.
    if sys.prefix != sys.base_prefix:
        bin_dir = Path(sys.executable).parent
        return Environment("local", bin_dir=bin_dir, variables={"VIRTUAL_ENV": sys.prefix})
    return Environment("local")


# ---- python_env.yaml ------------------------------------------------------------------------


def read_env_spec(project: Project) -> PythonEnvSpec:
    """What to build: python_env.yaml, or the python version and pip list of a conda.yaml."""
    if project.python_env is not None:
        return _read_python_env(project.python_env)
    if project.conda_env is not None:
        return _spec_from_conda(project.conda_env)
    return PythonEnvSpec(python=None)


def _load_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ExecutionException(f"{path}: invalid YAML{where}: {exc}".splitlines()[0]) from None


def _read_python_env(path: Path) -> PythonEnvSpec:
    data = _load_yaml(path) or {}
    if not isinstance(data, dict):
        raise ExecutionException(f"{path}: expected a mapping with python and dependencies")
    unknown = sorted(set(map(str, data)) - _PYTHON_ENV_KEYS)
    if unknown:
        raise ExecutionException(
            f"{path}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_PYTHON_ENV_KEYS))})"
        )
    python = data.get("python")
    if python is not None and not isinstance(python, str | int | float):
        raise ExecutionException(f"{path}: 'python' must be a version like '3.11'")
    lists = {}
    for key in ("build_dependencies", "dependencies"):
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ExecutionException(f"{path}: {key!r} must be a list of requirement strings")
        lists[key] = tuple(value)
    return PythonEnvSpec(
        None if python is None else str(python),
        lists["build_dependencies"],
        lists["dependencies"],
    )


def _spec_from_conda(path: Path) -> PythonEnvSpec:
    data = _load_yaml(path) or {}
    deps = data.get("dependencies") or [] if isinstance(data, dict) else []
    python: str | None = None
    pip_deps: list[str] = []
    for dep in deps:
        if isinstance(dep, str) and re.match(r"^python\s*[=<>]", dep):
            python = re.sub(r"^python\s*=*\s*", "", dep).split("=")[0].strip() or None
        elif isinstance(dep, dict) and isinstance(dep.get("pip"), list):
            pip_deps.extend(str(d) for d in dep["pip"])
    return PythonEnvSpec(python, (), tuple(pip_deps))


# ---- interpreters -----------------------------------------------------------------------------


@cache
def _probe(executable: str) -> str | None:
    """The full version of a Python interpreter, or None if it does not run (e.g. a pyenv shim
    for a version that is not selected)."""
    if executable == sys.executable:  # this interpreter: no need to start it (a cache hit's cost)
        return ".".join(map(str, sys.version_info[:3]))
    try:
        proc = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+", out) else None


def _candidates(minor: str) -> list[str]:
    found = [sys.executable]
    for name in (f"python{minor}", "python3", "python"):
        path = shutil.which(name)
        if path:
            found.append(path)
    # Interpreters pyenv installed but did not select: present on the machine, not on PATH.
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found.extend(str(p) for p in sorted(pyenv_root.glob(f"versions/{minor}*/bin/python{minor}")))
    found.extend(str(p) for p in sorted(Path("/usr/bin").glob(f"python{minor}")))
    return list(dict.fromkeys(found))


def find_interpreter(requested: str | None) -> tuple[str, str]:
    """An interpreter on this machine for ``requested`` ("3.11" or "3.11.4"): the exact
    version when present, else the same major.minor (patch releases are compatible)."""
    if requested is None:
        return sys.executable, ".".join(map(str, sys.version_info[:3]))
    parts = requested.strip().split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        raise ExecutionException(f"python version {requested!r} is not like '3.11' or '3.11.4'")
    minor = ".".join(parts[:2])
    same_minor: tuple[str, str] | None = None
    for candidate in _candidates(minor):
        version = _probe(candidate)
        if version is None or not (version + ".").startswith(minor + "."):
            continue
        if version == requested.strip() or len(parts) == 2:
            return candidate, version
        same_minor = same_minor or (candidate, version)
    if same_minor is not None:
        return same_minor
    raise ExecutionException(
        f"python {requested} is requested by the project's environment, and no python{minor} "
        "is installed on this machine (labtrack never downloads one); install it, or run with "
        "--env-manager local"
    )


# ---- virtualenvs ------------------------------------------------------------------------------


def _referenced_files(deps: tuple[str, ...], project_dir: Path) -> dict[str, str]:
    """Contents of ``-r``/``-c`` files named in the dependencies: they define the env too."""
    out = {}
    for dep in deps:
        match = re.match(r"^\s*(?:-r|-c|--requirement|--constraint)[\s=]+(\S+)", dep)
        if match:
            path = project_dir / match.group(1)
            out[match.group(1)] = path.read_text() if path.is_file() else "<missing>"
    return out


def env_cache_key(spec: PythonEnvSpec, project_dir: Path, interpreter: str, tool: str) -> str:
    data = {
        "format": _CACHE_FORMAT,
        "python": interpreter,
        "version": _probe(interpreter),
        "build_dependencies": list(spec.build_dependencies),
        "dependencies": list(spec.dependencies),
        "files": _referenced_files(spec.build_dependencies + spec.dependencies, project_dir),
        "tool": tool,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:20]


def envs_dir() -> Path:
    return config.labtrack_home() / "envs"


def virtualenv_environment(
    spec: PythonEnvSpec, project_dir: Path, manager: str, log: Log = print
) -> Environment:
    interpreter, version = find_interpreter(spec.python)
    tool = "uv" if shutil.which("uv") else "pip"
    key = env_cache_key(spec, project_dir, interpreter, tool)
    root = envs_dir()
    root.mkdir(parents=True, exist_ok=True)
    target = root / key
    # One builder per environment at a time (two runs of one project starting together).
    with open(root / f".{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = _read_marker(target)
        if marker is None:
            log(f"labtrack: building environment {target} (python {version}, {tool})")
            marker = _build(spec, project_dir, interpreter, tool, target)
    _bridge_labtrack(Path(marker["purelib"]), marker, version)
    return Environment(manager, bin_dir=target / "bin", variables={"VIRTUAL_ENV": str(target)})


def _read_marker(target: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((target / _MARKER).read_text())
    except (OSError, ValueError):
        return None
    return marker if (target / "bin" / "python").exists() else None


def _build(
    spec: PythonEnvSpec, project_dir: Path, interpreter: str, tool: str, target: Path
) -> dict[str, Any]:
    # The marker is written last: a crash mid-build leaves no marker, so the next run
    # starts over instead of using a half-built environment.
    shutil.rmtree(target, ignore_errors=True)
    try:
        needs_pip = bool(spec.build_dependencies or spec.dependencies)
        if tool == "uv":
            _step(["uv", "venv", "--quiet", "--python", interpreter, str(target)], project_dir)
        else:
            # Without pip the venv is made in about a second; pip is only seeded when needed.
            argv = [interpreter, "-m", "venv", str(target)]
            _step(argv if needs_pip else [*argv, "--without-pip"], project_dir)
        python = str(target / "bin" / "python")
        for deps in (spec.build_dependencies, spec.dependencies):
            if deps:
                _step(_install_argv(tool, python, deps), project_dir)
        purelib = _run_python(python, "import sysconfig; print(sysconfig.get_paths()['purelib'])")
        has_labtrack = _run_python(
            python, "import importlib.util as u; print(u.find_spec('labtrack') is not None)"
        )
        marker = {
            "python": interpreter,
            "spec": [spec.python, list(spec.build_dependencies), list(spec.dependencies)],
            "purelib": purelib,
            "has_labtrack": has_labtrack == "True",
        }
        (target / _MARKER).write_text(json.dumps(marker))
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return marker


def _install_argv(tool: str, python: str, deps: tuple[str, ...]) -> list[str]:
    if tool == "uv":
        # uv does not read pip's configuration; hand it pip's configured indexes.
        return ["uv", "pip", "install", "--quiet", "--python", python, *_pip_index_args(), *deps]
    return [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *deps]


def _pip_index_args() -> list[str]:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
        )
    except OSError:
        return []
    args: list[str] = []
    flags = {"index-url": "--index-url", "extra-index-url": "--extra-index-url"}
    flags["find-links"] = "--find-links"
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        option = flags.get(key.rsplit(".", 1)[-1])
        if option:
            for item in value.strip().strip("'\"").split():
                args += [option, item]
    return args


def _step(argv: list[str], cwd: Path) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln.strip()]
        detail = lines[-1] if lines else f"exit code {proc.returncode}"
        step = " ".join(argv[:4])
        raise ExecutionException(f"building the environment failed: {step} ...: {detail}")


def _run_python(python: str, code: str) -> str:
    # -I: what the environment itself holds, not what PYTHONPATH or user site-packages add.
    proc = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def _bridge_labtrack(purelib: Path, marker: dict[str, Any], version: str) -> None:
    """Make ``import labtrack`` work in an environment that does not install it.

    Installing labtrack into every project environment would pull in JupyterLab and take
    minutes; instead a ``.pth`` file appends the running labtrack's import location (and, when
    the Python versions match, this interpreter's site-packages, where labtrack's own
    dependencies live) *after* the environment's own site-packages. The project's declared
    packages always win; only what it lacks falls through to the host. The file is rewritten
    on each use, so a moved labtrack is followed.
    """
    bridge = purelib / _BRIDGE
    if marker.get("has_labtrack"):
        bridge.unlink(missing_ok=True)
        return
    # The folder holding the ``labtrack`` package (this file is labtrack/projects/environments.py).
    lines = [str(Path(__file__).resolve().parents[2])]
    if version.rsplit(".", 1)[0] == ".".join(map(str, sys.version_info[:2])):
        paths = sysconfig.get_paths()
        lines += [paths["purelib"], paths["platlib"]]
    text = "\n".join(dict.fromkeys(lines)) + "\n"
    if not bridge.is_file() or bridge.read_text() != text:
        bridge.write_text(text)


# ---- conda and docker ---------------------------------------------------------------------------


def _conda_environment(project: Project, log: Log) -> Environment:
    conda = os.environ.get("CONDA_EXE") or shutil.which("conda")
    if not conda:
        raise ExecutionException(
            "--env-manager conda needs conda, which is not installed; use --env-manager "
            "virtualenv (builds from the conda.yaml's python version and pip dependencies), "
            "uv, or local"
        )
    env_file = project.conda_env
    if env_file is None:
        raise ExecutionException(f"{project.directory}: --env-manager conda needs a conda.yaml")
    key = hashlib.sha256(env_file.read_bytes()).hexdigest()[:20]
    target = envs_dir() / f"conda-{key}"
    if not (target / "conda-meta").is_dir():
        log(f"labtrack: building conda environment {target}")
        target.parent.mkdir(parents=True, exist_ok=True)
        argv = [conda, "env", "create", "--quiet", "--prefix", str(target), "--file", str(env_file)]
        _step(argv, project.directory)
    return Environment("conda", bin_dir=target / "bin", variables={"CONDA_PREFIX": str(target)})


def _check_docker() -> None:
    if shutil.which("docker") is None:
        raise ExecutionException(
            "this project has a docker_env, and the 'docker' command is not installed; "
            "install Docker, or run the project's command in another environment"
        )
    try:
        proc = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        proc = None
    if proc is None or proc.returncode != 0 or not proc.stdout.strip():
        lines = (proc.stderr.strip().splitlines() if proc else []) or ["no answer in 20 s"]
        raise ExecutionException(
            f"this project has a docker_env, and no Docker daemon is reachable ({lines[0]}); "
            "start Docker or set DOCKER_HOST, or run it where Docker runs"
        )
