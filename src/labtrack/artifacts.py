"""MLflow's ``mlflow.artifacts`` module: download, list and read artifacts by URI or run.

URIs are the ones MLflow accepts: ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``
(and stages, aliases, logged model ids), ``mlflow-artifacts:/...``, or a local path. Every
call goes through a ``TrackingClient`` (in-process or REST, as the tracking URI says).
"""

from __future__ import annotations

import json
import os
import posixpath
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from labtrack.client.tracking_client import TrackingClient
from labtrack.errors import LabtrackException, invalid

if TYPE_CHECKING:
    from labtrack.artifact_store.store import FileInfo

__all__ = ["download_artifacts", "list_artifacts", "load_dict", "load_image", "load_text"]


def _client(tracking_uri: str | None) -> TrackingClient:
    if tracking_uri is not None:
        return TrackingClient(tracking_uri)
    from labtrack.client.fluent import current_client

    return current_client()


def _split_runs_uri(uri: str) -> tuple[str, str]:
    rest = uri[len("runs:") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise invalid(f"Invalid artifact URI {uri!r}: runs:/<run_id>/<path>.")
    return run_id, path.strip("/")


def _is_local(uri: str) -> bool:
    from labtrack.models.uris import _is_local as local

    return bool(local(uri))


def download_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    dst_path: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Download an artifact file or directory; the local path of what was downloaded.

    Exactly one of ``artifact_uri`` or ``run_id`` (with an optional ``artifact_path`` inside
    the run). ``dst_path`` is created if missing; without it a new temporary folder is used,
    and a local ``artifact_uri`` is returned as it is."""
    if (artifact_uri is None) == (run_id is None):
        raise invalid("Exactly one of `run_id` or `artifact_uri` must be specified")
    if artifact_uri is not None and artifact_path is not None:
        raise invalid("`artifact_path` cannot be specified if `artifact_uri` is specified")
    if dst_path is not None:
        os.makedirs(dst_path, exist_ok=True)
    client = _client(tracking_uri)
    if run_id is not None:
        return client.download_artifacts(run_id, artifact_path or "", dst_path)
    assert artifact_uri is not None
    if artifact_uri.startswith("runs:"):
        rid, path = _split_runs_uri(artifact_uri)
        return client.download_artifacts(rid, path, dst_path)
    if artifact_uri.startswith("models:"):
        from labtrack.models.uris import download_model

        return download_model(artifact_uri, dst_path, client)
    if _is_local(artifact_uri):
        from labtrack.models.uris import download_model

        local = download_model(artifact_uri)
        if dst_path is None:
            return local
        target = os.path.join(dst_path, os.path.basename(local.rstrip(os.sep)))
        if os.path.isdir(local):
            shutil.copytree(local, target, dirs_exist_ok=True)
        else:
            shutil.copy2(local, target)
        return target
    return client.download_artifact_uri(artifact_uri, dst_path)


def list_artifacts(
    artifact_uri: str | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[FileInfo]:
    """Entries (``path``, ``is_dir``, ``file_size``) directly under an artifact directory.

    With ``run_id`` (and ``artifact_path``) paths are relative to the run's artifact root, as
    ``MlflowClient.list_artifacts`` names them; with ``artifact_uri`` they are relative to it."""
    if (artifact_uri is None) == (run_id is None):
        raise invalid("Exactly one of `run_id` or `artifact_uri` must be specified")
    if artifact_uri is not None and artifact_path is not None:
        raise invalid("`artifact_path` cannot be specified if `artifact_uri` is specified")
    client = _client(tracking_uri)
    if run_id is not None:
        return client.list_artifacts(run_id, artifact_path)
    assert artifact_uri is not None
    if artifact_uri.startswith("runs:"):
        rid, path = _split_runs_uri(artifact_uri)
        return client.list_artifacts(rid, path or None)
    if _is_local(artifact_uri):
        from labtrack.artifact_store.store import FileInfo

        root = (
            artifact_uri[len("file://") :] if artifact_uri.startswith("file://") else artifact_uri
        )
        if not os.path.isdir(root):
            return []
        out = []
        for name in sorted(os.listdir(root)):
            full = os.path.join(root, name)
            is_dir = os.path.isdir(full)
            out.append(FileInfo(name, is_dir, None if is_dir else os.path.getsize(full)))
        return out
    return client.list_artifact_uri(artifact_uri)


def _download_file(artifact_uri: str) -> tuple[str, str]:
    """(temporary folder, local file) for the single file ``artifact_uri``."""
    tmp = tempfile.mkdtemp(prefix="labtrack-artifact-")
    try:
        local = download_artifacts(artifact_uri, dst_path=tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not os.path.isfile(local):
        shutil.rmtree(tmp, ignore_errors=True)
        raise LabtrackException(
            f"Artifact {artifact_uri!r} is not a file.", "INVALID_PARAMETER_VALUE"
        )
    return tmp, local


def load_text(artifact_uri: str) -> str:
    """The artifact file's content, decoded as UTF-8."""
    tmp, local = _download_file(artifact_uri)
    try:
        with open(local, encoding="utf-8") as f:
            return f.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_dict(artifact_uri: str) -> dict[str, Any]:
    """The artifact file parsed as JSON (or as YAML for ``.yaml``/``.yml``), as a dict."""
    text = load_text(artifact_uri)
    if posixpath.splitext(artifact_uri)[1].lower() in (".yaml", ".yml"):
        import yaml

        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise invalid(f"Unable to parse YAML from {artifact_uri!r}: {exc}") from None
    else:
        try:
            value = json.loads(text)
        except ValueError:
            raise invalid(
                f"Unable to form a JSON object from file content: {text[:100]!r}"
            ) from None
    return value


def load_image(artifact_uri: str) -> Any:
    """The artifact file as a ``PIL.Image.Image`` (loaded, so the file can go)."""
    from PIL import Image, UnidentifiedImageError

    tmp, local = _download_file(artifact_uri)
    try:
        try:
            with Image.open(local) as image:
                image.load()
                return image.copy()
        except UnidentifiedImageError:
            raise invalid(f"Artifact {artifact_uri!r} is not an image.") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
