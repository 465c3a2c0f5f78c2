"""``/api/2.0/mlflow-artifacts/artifacts``: MLflow's artifact proxy over the artifact store.

Paths are relative to the artifact root (``<experiment_id>/<run_id>/artifacts/<file>``) and are
validated by the artifact layer (``labtrack.artifact_store.paths``) before anything touches a disk.
Uploads are raw ``PUT`` bodies streamed to a temporary file and renamed into place when complete;
downloads are served as attachments with a content type that a browser will never execute.

Writes (``PUT``, ``DELETE``) must land inside a live run's or logged model's artifact folder
(``TrackingService.artifact_owner``): the store's own layout is not writable. A finished run's or
finalized model's existing files are not replaced unless the upload says ``?overwrite=true``,
and they are not deleted.
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import quote

from labtrack.artifact_store.paths import clean_relpath
from labtrack.artifact_store.store import CHUNK_SIZE, ArtifactWriter
from labtrack.errors import LabtrackException
from labtrack.server.base import LabtrackHandler, endpoint

# Content types by extension: the right type for what a browser shows or hands to a viewer
# (PDF, images, audio, video, text), never one that runs code in the page: HTML, XHTML, SVG,
# JavaScript and XML are served as application/octet-stream (with the attachment disposition,
# nosniff and a sandboxing CSP on every download besides). Unknown types too.
_SAFE_TYPES = {
    ".txt": "text/plain; charset=utf-8",
    ".log": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".py": "text/plain; charset=utf-8",
    ".yaml": "text/plain; charset=utf-8",
    ".yml": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".tsv": "text/tab-separated-values; charset=utf-8",
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".gz": "application/gzip",
    ".zip": "application/zip",
    ".tar": "application/x-tar",
}
_UPLOAD_FLUSH_BYTES = 1024 * 1024


def safe_content_type(path: str) -> str:
    name = posixpath.basename(path)
    if name == "MLmodel":
        return "text/plain; charset=utf-8"
    return _SAFE_TYPES.get(posixpath.splitext(name)[1].lower(), "application/octet-stream")


def content_disposition(path: str) -> str:
    name = posixpath.basename(path) or "artifact"
    fallback = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:150] or "artifact"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class _RunModelReads:
    labtrack: Any

    def _run_model_path(self, rel: str) -> str | None:
        return self.labtrack.get_service().logged_models.run_model_path(rel)


class ArtifactListHandler(_RunModelReads, LabtrackHandler):
    """``GET .../artifacts?path=<dir>`` -> ``{"files": [...]}``; ``{}`` for a missing dir."""

    @endpoint
    async def get(self) -> None:
        # Raw query value: tornado's get_query_argument would silently strip control characters.
        path = self.query_fields().get("path") or ""
        if not isinstance(path, str):
            raise LabtrackException("'path' must be given once", "INVALID_PARAMETER_VALUE")
        rel = clean_relpath(path)
        store = self.labtrack.artifact_store
        entries = await self.run_blocking(lambda: store.list_dir(rel))
        if entries is None:
            model_rel = await self.run_blocking(self._run_model_path, rel)
            if model_rel is not None:
                entries = await self.run_blocking(lambda: store.list_dir(model_rel))
        if entries is None:
            self.write_json({})
            return
        self.write_json({"files": [e.to_json() for e in entries]})


class ArtifactHandler(_RunModelReads, LabtrackHandler):
    """``PUT`` (raw body upload), ``GET`` (download), ``DELETE`` one artifact path.

    A read of ``<run folder>/<name>/...`` that the run's folder lacks is answered from the
    run's logged model ``name`` (``LoggedModelService.run_model_path``): how MLflow 2 clients
    load ``runs:/<run>/<name>`` of a model written in MLflow 3's layout."""

    requires_json_body = False

    def initialize(self, name: str = "labtrack", **kwargs: Any) -> None:
        super().initialize(name, **kwargs)
        self._writer: ArtifactWriter | None = None
        self._pending = bytearray()

    def body_limit(self) -> int:
        if (self.request.method or "").upper() == "PUT":
            return int(self.labtrack.max_upload_bytes)
        return super().body_limit()

    def _rel(self) -> str:
        rel = clean_relpath(self.path_kwargs.get("artifact_path") or "")
        if not rel:
            raise LabtrackException("An artifact path is required", "INVALID_PARAMETER_VALUE")
        return rel

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()  # authentication + authorization + size checks happen here
        if self._finished or (self.request.method or "").upper() != "PUT":
            return
        rel = self._rel()  # hostile paths are refused before a single body byte is read
        overwrite = self.query_fields().get("overwrite") in ("true", "1")
        await self.run_blocking(self._check_write, rel, overwrite)
        store = self.labtrack.artifact_store
        self._writer = await self.run_blocking(store.open_writer, rel)

    def _check_write(self, rel: str, replace_closed: bool) -> None:
        """The owner rule of the module docstring (blocking: reads the store)."""
        owner = self.labtrack.get_service().artifact_owner(rel)
        info = self.labtrack.artifact_store.stat(rel)
        uploading = (self.request.method or "").upper() == "PUT"
        if uploading and info is not None and info.is_dir:
            raise LabtrackException(
                f"Artifact path {rel!r} is a directory", "INVALID_PARAMETER_VALUE"
            )
        if owner.closed and info is not None and not replace_closed:
            what = "finished run" if owner.kind == "run" else "finalized logged model"
            verb = "replaced" if uploading else "deleted"
            hint = " (upload with ?overwrite=true to replace it)" if verb == "replaced" else ""
            raise LabtrackException(
                f"Artifact {rel!r} of the {what} {owner.id} is not {verb}{hint}.",
                "RESOURCE_ALREADY_EXISTS" if verb == "replaced" else "INVALID_STATE",
            )

    async def data_received(self, chunk: bytes) -> None:
        if self._writer is None:
            super().data_received(chunk)
            return
        self._pending.extend(chunk)
        if len(self._pending) >= _UPLOAD_FLUSH_BYTES:
            await self._flush_pending()

    async def _flush_pending(self) -> None:
        if self._writer is None or not self._pending:
            return
        data = bytes(self._pending)
        self._pending.clear()
        await self.run_blocking(self._writer.write, data)

    def on_finish(self) -> None:
        self._abort_upload()

    def on_connection_close(self) -> None:
        super().on_connection_close()
        self._abort_upload()

    def _abort_upload(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            # Not committed (the client went away or an error happened): drop the temp file.
            try:
                self.labtrack.executor.submit(writer.abort)
            except RuntimeError:  # the executor is shut down: the server is stopping
                writer.abort()

    @endpoint
    async def put(self, artifact_path: str) -> None:
        writer = self._writer
        if writer is None:  # pragma: no cover - prepare always opens it for PUT
            raise RuntimeError("upload was not prepared")
        await self._flush_pending()
        self._writer = None
        try:
            await self.run_blocking(writer.commit)
        except BaseException:
            await self.run_blocking(writer.abort)
            raise
        self.write_json({})

    @endpoint
    async def get(self, artifact_path: str) -> None:
        rel = self._rel()
        store = self.labtrack.artifact_store
        try:
            f, size = await self.run_blocking(store.open_sized, rel)
        except LabtrackException as exc:
            model_rel = None
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                model_rel = await self.run_blocking(self._run_model_path, rel)
            if model_rel is None:
                raise
            f, size = await self.run_blocking(store.open_sized, model_rel)
        try:
            ctype = safe_content_type(rel)
            self.set_header("Content-Type", ctype)
            self.set_header("Content-Disposition", content_disposition(rel))
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("Content-Security-Policy", "default-src 'none'; sandbox")
            self.set_header("Cache-Control", "no-store")
            # The size the store reports (a file's, or an object's in the bucket): clients
            # show progress by it and tell a complete download from a cut-off one.
            self.set_header("Content-Length", str(size))
            remaining = size
            while remaining > 0:
                chunk = await self.run_blocking(f.read, min(CHUNK_SIZE, remaining))
                if not chunk:
                    break  # shorter than announced (replaced meanwhile): the client sees it
                remaining -= len(chunk)
                self.write(chunk)
                await self.flush()
        finally:
            await self.run_blocking(f.close)
        self.finish(set_content_type=ctype)

    @endpoint
    async def delete(self, artifact_path: str) -> None:
        rel = self._rel()
        await self.run_blocking(self._check_write, rel, False)
        store = self.labtrack.artifact_store
        # Deleting what is already gone succeeds: a retried DELETE must not fail.
        await self.run_blocking(lambda: store.delete(rel, missing_ok=True))
        self.write_json({})
