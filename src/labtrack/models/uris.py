"""Model URIs -> a local package directory.

- a plain path or ``file://`` URI: used in place;
- ``runs:/<run_id>/<path>``: the run's artifacts, else (MLflow 3) the logged model named
  ``<path>`` that the run produced;
- ``models:/<name>/<version>``, ``models:/<name>/<stage>``, ``models:/<name>/latest``,
  ``models:/<name>@<alias>``: a registry version, then its source;
- ``models:/<model_id>``: an MLflow 3 logged model;
- ``mlflow-artifacts:/...``: a place in the tracking server's artifact store.

Everything goes through a ``TrackingClient``, so the same code works in-process and over REST.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any
from urllib.parse import unquote, urlsplit

from labtrack.errors import LabtrackException, invalid, not_found

_STAGES = {"none", "staging", "production", "archived"}


def _client(client: Any = None) -> Any:
    if client is not None:
        return client
    from labtrack.client.fluent import current_client

    return current_client()


def parse_models_uri(uri: str) -> tuple[str, str | None, str | None]:
    """(name or model id, version/stage/latest, alias) of a ``models:/`` URI."""
    rest = uri[len("models:") :].lstrip("/")
    if not rest:
        raise invalid(f"Invalid model URI {uri!r}.")
    if "@" in rest and "/" not in rest:
        name, alias = rest.split("@", 1)
        if not name or not alias:
            raise invalid(f"Invalid model URI {uri!r}: models:/<name>@<alias>.")
        return name, None, alias
    parts = rest.rstrip("/").split("/")
    if len(parts) == 1:
        return parts[0], None, None
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise invalid(f"Invalid model URI {uri!r}: models:/<name>/<version|stage|latest>.")
    return parts[0], parts[1], None


def resolve_model_version(uri: str, client: Any = None) -> Any:
    """The registry ``ModelVersion`` a ``models:/<name>/...`` URI names."""
    c = _client(client)
    name, which, alias = parse_models_uri(uri)
    if alias is not None:
        return c.get_model_version_by_alias(name, alias)
    if which is None:
        raise invalid(f"Invalid model URI {uri!r}: give a version, a stage or an alias.")
    if which.isdigit():
        return c.get_model_version(name, which)
    if which.lower() != "latest" and which.lower() not in _STAGES:
        raise invalid(
            f"Invalid model URI {uri!r}: {which!r} is not a version number, a stage "
            "(None, Staging, Production, Archived) or 'latest'."
        )
    stages = [] if which.lower() == "latest" else [which]
    versions = c.get_latest_versions(name, stages)
    if not versions:
        raise not_found(f"No versions of model {name!r} in stage {which!r}.")
    return max(versions, key=lambda m: int(m.version))


def _is_local(uri: str) -> bool:
    if uri.startswith("file:"):
        return True
    return not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", uri) or bool(re.match(r"^[A-Za-z]:\\", uri))


def download_model(
    model_uri: str | os.PathLike[str],
    dst_path: str | None = None,
    client: Any = None,
    _depth: int = 0,
) -> str:
    """A local directory holding the package ``model_uri`` names (downloaded if needed)."""
    uri = os.fspath(model_uri)
    if _depth > 5:
        raise invalid(f"Model URI {uri!r} refers to itself through too many indirections.")
    if _is_local(uri):
        path = unquote(urlsplit(uri).path) if uri.startswith("file:") else uri
        path = os.path.abspath(os.path.expanduser(path))
        if not os.path.exists(path):
            raise LabtrackException(f"No model at {path!r}.", "RESOURCE_DOES_NOT_EXIST")
        return path
    c = _client(client)
    dst = dst_path or tempfile.mkdtemp(prefix="labtrack-model-")
    if uri.startswith("runs:"):
        return _download_run_model(uri, dst, c)
    if uri.startswith("models:"):
        name, which, alias = parse_models_uri(uri)
        if which is None and alias is None:
            # models:/<model_id>: an MLflow 3 logged model.
            logged = c.get_logged_model(name)
            return _download_dir(c, logged.artifact_location, dst)
        mv = resolve_model_version(uri, c)
        source = c.get_model_version_download_uri(mv.name, mv.version) or mv.source
        if source and source.startswith(("models:", "runs:")):
            return download_model(source, dst, c, _depth + 1)
        return _download_dir(c, source, dst)
    if uri.startswith("mlflow-artifacts:"):
        return _download_dir(c, uri, dst)
    raise invalid(
        f"Unsupported model URI {uri!r}: a path, runs:/, models:/ or mlflow-artifacts:/ URI."
    )


def _download_dir(c: Any, artifact_uri: str, dst: str) -> str:
    """Download the directory ``artifact_uri`` so that its files land directly in ``dst``."""
    if _is_local(artifact_uri):
        # A path outside this store's artifact root (or a server's): a package on this disk.
        try:
            c.artifact_relpath(artifact_uri)
        except LabtrackException:
            return download_model(artifact_uri)
    local = c.download_artifact_uri(artifact_uri, dst)
    return local


def _download_run_model(uri: str, dst: str, c: Any) -> str:
    rest = uri[len("runs:") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    path = path.strip("/")
    if not run_id:
        raise invalid(f"Invalid model URI {uri!r}: runs:/<run_id>/<path>.")
    # MLflow 3 first: a logged model the run produced, named after the path. (The server
    # also shows such a model under the run's folder for MLflow 2 clients, so a listing of
    # the run cannot tell the two apart.)
    run = c.get_run(run_id)
    name_filter = f"source_run_id = '{run_id}'"
    if path:
        name_filter += " AND name = '" + path.replace("'", "''") + "'"
    found = c.search_logged_models([run.info.experiment_id], name_filter, 10)
    models = list(found.items if hasattr(found, "items") else found)
    if models:
        latest = max(models, key=lambda m: m.creation_timestamp)
        return _download_dir(c, latest.artifact_location, dst)
    entries = c.list_artifacts(run_id, path or None)
    if entries:
        return c.download_artifacts(run_id, path, dst)
    raise not_found(f"No model at {uri!r}: no MLmodel in the run's artifacts at {path!r}.")
