"""What a run records about where it came from: user, notebook or script, git commit.

Read once per process and cached; cheap (no subprocess, no git library).
"""

from __future__ import annotations

import getpass
import os
import sys
from functools import lru_cache
from pathlib import Path

from labtrack.config import USER_ENVS, first_env
from labtrack.entities import system_tags


def current_user() -> str:
    user = first_env(USER_ENVS)
    if user:
        return user
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def _notebook_path() -> str | None:
    # JupyterLab's kernels get the notebook path in JPY_SESSION_NAME (jupyter_server >= 2).
    session = os.environ.get("JPY_SESSION_NAME")
    if session and session.endswith(".ipynb"):
        return session
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        shell = ipython.get_ipython()
        if shell is not None:
            name = shell.user_ns.get("__session__") or shell.user_ns.get("__vsc_ipynb_file__")
            if isinstance(name, str) and name.endswith(".ipynb"):
                return name
    return None


def _script_path() -> str | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else None)
    if not path or path in ("-c", "-m"):
        return None
    return str(Path(path).resolve())


def _git_info(start: Path) -> dict[str, str]:
    for folder in (start, *start.parents):
        git = folder / ".git"
        if git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = git.read_text().strip()
            if text.startswith("gitdir:"):
                git = (folder / text[len("gitdir:") :].strip()).resolve()
        if git.is_dir():
            return _read_git_dir(git)
    return {}


def _read_git_dir(git: Path) -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        head = (git / "HEAD").read_text().strip()
    except OSError:
        return info
    commit = head
    if head.startswith("ref:"):
        ref = head[4:].strip()
        info[system_tags.GIT_BRANCH] = ref.removeprefix("refs/heads/")
        ref_file = git / ref
        commit = ""
        if ref_file.is_file():
            commit = ref_file.read_text().strip()
        elif (git / "packed-refs").is_file():
            for line in (git / "packed-refs").read_text().splitlines():
                if line.endswith(" " + ref):
                    commit = line.split(" ", 1)[0]
    if len(commit) == 40:
        info[system_tags.GIT_COMMIT] = commit
    config = git / "config"
    if config.is_file():
        in_origin = False
        for line in config.read_text().splitlines():
            line = line.strip()
            if line.startswith("["):
                in_origin = line == '[remote "origin"]'
            elif in_origin and line.startswith("url"):
                info[system_tags.GIT_REPO_URL] = line.split("=", 1)[1].strip()
    return info


def _in_kernel() -> bool:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


@lru_cache(maxsize=1)
def source_tags() -> dict[str, str]:
    """The system tags MLflow sets on a new run, for this process."""
    tags = {system_tags.USER: current_user()}
    notebook = _notebook_path()
    if notebook or _in_kernel():
        # A kernel started by nbclient/papermill has no notebook path; it is still a notebook.
        tags[system_tags.SOURCE_TYPE] = "NOTEBOOK"
        if notebook:
            tags[system_tags.SOURCE_NAME] = notebook
        where = Path(notebook).parent if notebook and Path(notebook).is_absolute() else Path.cwd()
    else:
        script = _script_path()
        tags[system_tags.SOURCE_TYPE] = "LOCAL"
        if script:
            tags[system_tags.SOURCE_NAME] = script
        where = Path(script).parent if script else Path.cwd()
    tags.update(_git_info(where))
    return tags
