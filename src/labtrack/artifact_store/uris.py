"""Artifact URIs <-> paths relative to the artifact root.

The server hands out ``mlflow-artifacts:`` URIs, which MLflow clients resolve against the
tracking server (``<tracking uri>/api/2.0/mlflow-artifacts/artifacts/<path>``). The path part of
such a URI is relative to the artifact root:

- a run:          ``mlflow-artifacts:/<experiment_id>/<run_id>/artifacts``
- a logged model: ``mlflow-artifacts:/<experiment_id>/models/<model_id>/artifacts``
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote, urlsplit

from labtrack.artifact_store.paths import clean_relpath
from labtrack.entities import artifact_uris as _logical
from labtrack.entities.artifact_uris import SCHEME
from labtrack.errors import LabtrackException

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# RFC 3986: a scheme is a letter then letters, digits, "+", "-", "."; schemes are
# case-insensitive, so every check compares the lowercased scheme.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def uri_scheme(uri: str) -> str:
    """The URI's scheme, lowercased; ``""`` for a plain path (and for a Windows drive ``C:``)."""
    match = _SCHEME.match(uri)
    if not match or len(match.group(1)) == 1:
        return ""
    return match.group(1).lower()


def _with_lower_scheme(uri: str, scheme: str) -> str:
    return scheme + uri[len(scheme) :] if scheme else uri


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

    - ``mlflow-artifacts:/a/b`` or ``mlflow-artifacts:///a/b``. An authority
      (``mlflow-artifacts://host:port/...``) is refused: MLflow clients send the user's
      credentials to the host it names, and this server answers only for itself;
    - ``file:///<root>/a/b`` or ``/<root>/a/b`` when under ``artifact_root``;
    - any other URI with ``artifact_root`` as a prefix (e.g. ``s3://bucket/prefix/a/b``);
    - a plain relative path ``a/b``.

    Schemes match in any case (``File:``, ``MLFLOW-ARTIFACTS:``). The result is validated by
    :func:`clean_relpath`. Anything outside the root raises ``INVALID_PARAMETER_VALUE``.
    """
    if not isinstance(uri, str) or not uri:
        raise LabtrackException(
            "Artifact URI must be a non-empty string", "INVALID_PARAMETER_VALUE"
        )
    if _CONTROL.search(uri):
        # Before urlsplit, which silently drops tabs and newlines ("a\nb" would become "ab").
        raise LabtrackException(
            f"Artifact URI {uri!r} contains control characters.", "INVALID_PARAMETER_VALUE"
        )
    scheme = uri_scheme(uri)
    uri = _with_lower_scheme(uri, scheme)
    if scheme == SCHEME:
        parts = urlsplit(uri)
        if parts.netloc:
            raise LabtrackException(
                f"Artifact URI {uri!r} names another server ({parts.netloc!r}): "
                f"{SCHEME}: URIs here have no host part ({SCHEME}:/<path>).",
                "INVALID_PARAMETER_VALUE",
            )
        if parts.query or parts.fragment:
            raise LabtrackException(
                f"Artifact URI {uri!r} may not have a query or fragment.",
                "INVALID_PARAMETER_VALUE",
            )
        return clean_relpath(parts.path.lstrip("/"))
    if scheme == "file" and urlsplit(uri).netloc not in ("", "localhost"):
        raise LabtrackException(
            f"Artifact URI {uri!r} names a remote host; file: URIs must be local.",
            "INVALID_PARAMETER_VALUE",
        )
    if artifact_root:
        if scheme == "file" or uri.startswith("/"):
            path = unquote(urlsplit(uri).path) if scheme == "file" else uri
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
    if "://" in uri or uri.startswith("/") or scheme:
        raise LabtrackException(
            f"Artifact URI {uri!r} is not inside the artifact root of this server",
            "INVALID_PARAMETER_VALUE",
        )
    return clean_relpath(uri)
