"""``lt.doctor()`` / ``labtrack doctor``: what a bug report needs, and whether the store is
reachable (MLflow's ``mlflow.doctor``)."""

from __future__ import annotations

import platform
import sys
from importlib import metadata


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _labtrack_version() -> str:
    try:
        from labtrack._version import __version__
    except ImportError:  # a source tree that was never built
        return _version("labtrack") or "0.0.0+unknown"
    return __version__


def report(mask_envs: bool = False) -> list[tuple[str, str]]:
    """(label, value) lines: versions, tracking and registry URIs, whether the store answers."""
    import os

    from labtrack.client.fluent import get_registry_uri, get_tracking_uri
    from labtrack.client.tracking_client import TrackingClient
    from labtrack.config import ARTIFACT_ROOT_ENV, default_artifact_root, is_http_uri

    uri = get_tracking_uri()
    lines = [
        ("labtrack version", _labtrack_version()),
        ("Python version", platform.python_version()),
        ("Operating system", platform.platform()),
        ("Python executable", sys.executable),
        ("Tracking URI", _mask(uri)),
        ("Registry URI", _mask(get_registry_uri())),
    ]
    if not is_http_uri(uri):
        root = os.environ.get(ARTIFACT_ROOT_ENV) or default_artifact_root(uri)
        lines.append(("Artifact root", root))
    try:
        TrackingClient(uri).search_experiments(max_results=1)
        lines.append(("Store reachable", "yes"))
    except Exception as exc:  # the point is to report it, whatever it is
        lines.append(("Store reachable", f"no: {type(exc).__name__}: {exc}"))
    for dist in ("sqlalchemy", "alembic", "numpy", "pandas", "jupyter_server", "jupyterlab"):
        lines.append((f"{dist} version", _version(dist) or "not installed"))
    env_names = [n for n in sorted(os.environ) if n.startswith(("LABTRACK_", "MLFLOW_"))]
    for name in env_names:
        secret = any(word in name for word in ("TOKEN", "PASSWORD", "SECRET", "KEY"))
        lines.append((name, "***" if secret or mask_envs else os.environ[name]))
    return lines


def _mask(uri: str) -> str:
    # Credentials written into a URI (user:password@host) stay out of a pasted report.
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def doctor(mask_envs: bool = False) -> None:
    """Print versions, where runs go, whether the store answers, and labtrack/MLflow
    environment variables (tokens and passwords masked; ``mask_envs`` masks every value)."""
    lines = report(mask_envs)
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print(f"{label + ':':<{width + 1}} {value}")
