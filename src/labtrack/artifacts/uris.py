"""Artifact URIs <-> paths relative to the artifact root.

The server hands out ``mlflow-artifacts:`` URIs, which MLflow clients resolve against the
tracking server (``<tracking uri>/api/2.0/mlflow-artifacts/artifacts/<path>``). The path part of
such a URI is relative to the artifact root:

- a run:          ``mlflow-artifacts:/<experiment_id>/<run_id>/artifacts``
- a logged model: ``mlflow-artifacts:/<experiment_id>/models/<model_id>/artifacts``
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlsplit

from labtrack.artifacts.paths import clean_relpath
from labtrack.entities import artifact_uris as _logical
from labtrack.entities.artifact_uris import SCHEME
from labtrack.errors import LabtrackException


# The builders of labtrack.entities.artifact_uris, for ids that may come from outside: each id
# is checked as a relative path first.
def experiment_artifact_uri(experiment_id: str) -> str:
    return _logical.experiment_artifact_uri(clean_relpath(str(experiment_id)))


def run_artifact_uri(experiment_id: str, run_id: str) -> str:
    location = experiment_artifact_uri(experiment_id)
    return _logical.run_artifact_uri(location, clean_relpath(run_id))


def logged_model_artifact_uri(experiment_id: str, model_id: str) -> str:
    return _logical.logged_model_artifact_uri(
        clean_relpath(str(experiment_id)), clean_relpath(model_id)
    )


def _root_path(root: str) -> str:
    """The root as a normalised path string (``file://`` stripped)."""
    if root.startswith("file://"):
        root = unquote(urlsplit(root).path)
    return posixpath.normpath(root) if root else root


def uri_to_relpath(uri: str, artifact_root: str | None = None) -> str:
    """Map an artifact URI (or a logical path) to a path relative to the artifact root.

    Accepted forms:

    - ``mlflow-artifacts:/a/b``, ``mlflow-artifacts:///a/b``, ``mlflow-artifacts://host/a/b``
      (the authority names the tracking server, not a place on disk, so it is ignored);
    - ``file:///<root>/a/b`` or ``/<root>/a/b`` when under ``artifact_root``;
    - any other URI with ``artifact_root`` as a prefix (e.g. ``s3://bucket/prefix/a/b``);
    - a plain relative path ``a/b``.

    The result is validated by :func:`clean_relpath`. Anything outside the root raises
    ``INVALID_PARAMETER_VALUE``.
    """
    if not isinstance(uri, str) or not uri:
        raise LabtrackException(
            "Artifact URI must be a non-empty string", "INVALID_PARAMETER_VALUE"
        )
    if uri.startswith(SCHEME + ":"):
        parts = urlsplit(uri)
        return clean_relpath(parts.path.lstrip("/"))
    if artifact_root:
        if uri.startswith("file:") or uri.startswith("/"):
            path = unquote(urlsplit(uri).path) if uri.startswith("file:") else uri
            # Lexical checks first, so "<root>/../x" is refused rather than normalised away.
            if ".." in path.split("/"):
                raise LabtrackException(
                    f"Artifact URI {uri!r} contains '..'", "INVALID_PARAMETER_VALUE"
                )
            root = _root_path(artifact_root)
            path = posixpath.normpath(path)
            if path == root:
                return ""
            if path.startswith(root.rstrip("/") + "/"):
                return clean_relpath(path[len(root.rstrip("/")) + 1 :])
        else:
            root_uri = artifact_root.rstrip("/")
            if uri == root_uri:
                return ""
            if uri.startswith(root_uri + "/"):
                return clean_relpath(uri[len(root_uri) + 1 :])
    if "://" in uri or uri.startswith(("/", "file:")):
        raise LabtrackException(
            f"Artifact URI {uri!r} is not inside the artifact root of this server",
            "INVALID_PARAMETER_VALUE",
        )
    return clean_relpath(uri)
