"""The in-process transport: the services of ``labtrack.service`` and one ``ArtifactStore``.

Used for database URIs (kernels started by the Jupyter server, scripts): no HTTP hop. The
services (and through them the store, SQLAlchemy and numpy) are imported when the first backend
is opened, never by ``import labtrack``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from labtrack.artifact_store.paths import join_relpath, local_files
from labtrack.artifact_store.store import CHUNK_SIZE, ArtifactStore, FileInfo
from labtrack.client.backends import (
    ArtifactsBackend,
    Backend,
    BytesDone,
    LoggedModelsBackend,
    RegistryBackend,
    TrackingBackend,
)
from labtrack.config import default_artifact_root
from labtrack.errors import LabtrackException

if TYPE_CHECKING:
    from labtrack.service.tracking import TrackingService


class LocalArtifacts:
    """``ArtifactsBackend`` over an ``ArtifactStore`` (path safety is the store's)."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def relpath(self, artifact_uri: str) -> str:
        return self.store.relpath(artifact_uri)

    def list(self, rel: str) -> list[FileInfo]:
        return self.store.list_dir(rel) or []

    def size(self, rel: str) -> int:
        info = self.store.stat(rel)
        if info is None:
            return 0
        if not info.is_dir:
            return int(info.file_size or 0)
        return sum(size for _sub, size in self.store.walk_files(rel))

    def download(self, rel: str, dst: str) -> str:
        return self.store.download(rel, dst)

    def upload_file(
        self,
        local_path: str,
        rel: str,
        progress: BytesDone | None = None,
        overwrite: bool = False,
    ) -> None:
        # In-process writes replace files as they are: the keep-what-is-finished rule guards
        # the server's artifact proxy, which callers reach with overwrite=true.
        del overwrite
        if not os.path.isfile(local_path):
            raise LabtrackException(f"No such file: {local_path}", "RESOURCE_DOES_NOT_EXIST")
        with open(local_path, "rb") as f:
            self.store.put_stream(rel, f if progress is None else _counted(f, progress))

    def upload_dir(
        self,
        local_dir: str,
        rel: str,
        progress: BytesDone | None = None,
        overwrite: bool = False,
    ) -> None:
        del overwrite
        if progress is None:
            self.store.log_artifacts(local_dir, rel)
            return
        if not os.path.isdir(local_dir):
            raise LabtrackException(f"No such directory: {local_dir}", "RESOURCE_DOES_NOT_EXIST")
        done = 0
        for src, sub in local_files(local_dir):
            with open(src, "rb") as f:
                self.store.put_stream(join_relpath(rel, sub), _counted(f, progress, done))
            done += os.path.getsize(src)
            progress(done)


def _counted(f: IO[bytes], progress: BytesDone, done: int = 0) -> Iterator[bytes]:
    """The file's chunks, reporting the bytes read so far (plus ``done``, from earlier files)."""
    while chunk := f.read(CHUNK_SIZE):
        done += len(chunk)
        progress(done)
        yield chunk


def in_process_backend(tracking_uri: str, artifact_root: str | None = None) -> Backend:
    """The services over the store at ``tracking_uri`` (opened now), as a ``Backend``."""
    from labtrack.service.tracking import TrackingService

    service = TrackingService.open(tracking_uri, artifact_root)
    root = service.artifact_root or default_artifact_root(tracking_uri)
    return _bundle(service, LocalArtifacts(ArtifactStore(root)))


def _bundle(service: TrackingService, artifacts: ArtifactsBackend) -> Backend:
    # Typed parts: mypy checks each service against the protocol it stands in for.
    tracking: TrackingBackend = service
    registry: RegistryBackend = service.registry
    logged_models: LoggedModelsBackend = service.logged_models
    return Backend(tracking, registry, logged_models, artifacts)
