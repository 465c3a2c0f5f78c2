"""Where a project comes from: a folder, a local git repository (``path#subdir``) or a git URL.

Git URLs (and local repositories asked for a ``version``) are cloned with the ``git`` command
into a temporary folder, so the user's own working tree is never checked out or modified.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from labtrack.projects.errors import ExecutionException

_GIT_URL_PREFIXES = ("http://", "https://", "ssh://", "git://", "git+", "file://", "git@")


@dataclass
class ProjectSource:
    """A project folder ready to run, and what to record about where it came from."""

    uri: str  # as the user gave it; recorded as mlflow.source.name
    directory: Path  # the project folder (the subdirectory inside a repository)
    git_commit: str | None = None
    git_repo_url: str | None = None
    git_branch: str | None = None
    _temp_dir: Path | None = field(default=None, repr=False)

    def cleanup(self) -> None:
        """Remove a clone made for this run (never a folder the user gave)."""
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None


def is_git_url(uri: str) -> bool:
    return uri.startswith(_GIT_URL_PREFIXES)


def without_credentials(url: str) -> str:
    """``url`` as it may be recorded in a run's tags, which the tracking server keeps and shows:
    an http(s) URL loses its whole user part (a token is often the user name there, as in
    ``https://<token>@github.com/...``), any other URL its password."""
    base, hash_, fragment = url.partition("#")
    prefix = "git+" if base.startswith("git+") else ""
    try:
        parts = urlsplit(base.removeprefix(prefix))
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    netloc = host if parts.scheme in ("http", "https") else f"{user}@{host}"
    return prefix + urlunsplit(parts._replace(netloc=netloc)) + hash_ + fragment


def fetch_project(uri: str, version: str | None = None) -> ProjectSource:
    """Resolve ``uri`` to a local folder, cloning when needed."""
    base, _, subdir = uri.partition("#")
    if not base:
        raise ExecutionException(f"invalid project URI {uri!r}")
    if is_git_url(base):
        return _clone(uri, base.removeprefix("git+"), subdir, version, repo_url=base)
    root = Path(base).expanduser().resolve()
    if not root.is_dir():
        raise ExecutionException(f"project {uri!r}: no such folder (or give a git URL)")
    if version is not None:
        if _git(root, "rev-parse", "--show-toplevel") is None:
            raise ExecutionException(
                f"project {uri!r}: --version needs a git repository, and this folder is not one"
            )
        return _clone(uri, str(root), subdir, version, repo_url=_origin(root) or str(root))
    directory = _subdir(uri, root, subdir)
    commit = _git(directory, "rev-parse", "HEAD")
    return ProjectSource(
        uri=str(directory) if not subdir else f"{root}#{subdir}",
        directory=directory,
        git_commit=commit,
        git_repo_url=_origin(directory) if commit else None,
    )


def _subdir(uri: str, root: Path, subdir: str) -> Path:
    if not subdir:
        return root
    directory = (root / subdir).resolve()
    if root not in directory.parents and directory != root:
        raise ExecutionException(f"project {uri!r}: subdirectory {subdir!r} is outside the project")
    if not directory.is_dir():
        raise ExecutionException(f"project {uri!r}: no subdirectory {subdir!r}")
    return directory


def _clone(uri: str, repo: str, subdir: str, version: str | None, repo_url: str) -> ProjectSource:
    if shutil.which("git") is None:
        raise ExecutionException(f"project {uri!r}: cloning needs the 'git' command, not found")
    temp = Path(tempfile.mkdtemp(prefix="labtrack-project-"))
    clone = temp / "repo"
    try:
        _run_git(uri, temp, "clone", "--quiet", "--", repo, str(clone))
        branch = None
        if version is not None:
            _run_git(uri, clone, "checkout", "--quiet", version, "--")
            # A branch name given as the version is recorded as the branch (as MLflow does).
            if _git(clone, "rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{version}"):
                branch = version
        source = ProjectSource(
            uri=without_credentials(uri),
            directory=_subdir(uri, clone.resolve(), subdir),
            git_commit=_git(clone, "rev-parse", "HEAD"),
            git_repo_url=without_credentials(repo_url),
            git_branch=branch,
            _temp_dir=temp,
        )
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return source


def _run_git(uri: str, cwd: Path, *args: str) -> None:
    # No prompts: a clone that needs credentials must fail, not hang waiting for a terminal.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        detail = lines[-1] if lines else f"exit code {proc.returncode}"
        raise ExecutionException(f"project {uri!r}: git {args[0]} failed: {detail}")


def _git(cwd: Path, *args: str) -> str | None:
    """One line of git output, or None when git is missing or says no."""
    if shutil.which("git") is None:
        return None
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None


def _origin(directory: Path) -> str | None:
    url = _git(directory, "config", "--get", "remote.origin.url")
    return without_credentials(url) if url else None
