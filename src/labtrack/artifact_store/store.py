"""One artifact store over fsspec: a local folder or an S3-compatible bucket (``s3://``, s3fs).

All paths given to :class:`ArtifactStore` are relative to its root and go through
:func:`labtrack.artifact_store.paths.clean_relpath`; on a local root every access is also checked
against symlinks and real-path containment (:func:`~labtrack.artifact_store.paths.resolve_local`).
Writes are atomic: data goes to a temporary file beside the target, inside the root, and is
renamed into place only when complete (object stores publish an object on close anyway).

Object stores: the fsspec file system is built with :func:`remote_storage_options` (endpoint
from ``MLFLOW_S3_ENDPOINT_URL``/``AWS_ENDPOINT_URL``; credentials from ``AWS_*``, read by
botocore) and without a listings cache, so several processes over one bucket agree.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import secrets
import shutil
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO
from urllib.parse import unquote, urlsplit

import fsspec

from labtrack.artifact_store.paths import clean_relpath, join_relpath, local_files, resolve_local
from labtrack.artifact_store.uris import uri_scheme, uri_to_relpath
from labtrack.errors import LabtrackException

TMP_PREFIX = ".labtrack-tmp-"
CHUNK_SIZE = 1024 * 1024
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def remote_storage_options(root: str) -> dict[str, Any]:
    """fsspec options for a remote artifact root, from the environment."""
    from labtrack.config import S3_ENDPOINT_ENVS, first_env

    scheme = uri_scheme(root)
    if scheme not in ("s3", "s3a"):
        return {}
    # Another process may write the bucket: never answer from a stale listing.
    options: dict[str, Any] = {"use_listings_cache": False}
    endpoint = first_env(S3_ENDPOINT_ENVS)
    if endpoint:
        options["client_kwargs"] = {"endpoint_url": endpoint}
    return options


def _invalid(message: str) -> LabtrackException:
    return LabtrackException(message, "INVALID_PARAMETER_VALUE")


def _missing(rel: str) -> LabtrackException:
    return LabtrackException(f"Artifact {rel!r} does not exist", "RESOURCE_DOES_NOT_EXIST")


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One listing entry, in MLflow's shape: ``path`` is relative to the listed directory."""

    path: str
    is_dir: bool
    file_size: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "is_dir": self.is_dir}
        if not self.is_dir and self.file_size is not None:
            out["file_size"] = self.file_size
        return out


class ArtifactWriter:
    """An atomic write in progress: ``write`` chunks, then ``commit`` (or ``abort``).

    Used as a context manager it commits on success and aborts on an exception.
    """

    def __init__(self, store: ArtifactStore, rel: str, target: str) -> None:
        self._store = store
        self.rel = rel
        self._target = target
        self._fs = store.fs
        self.bytes_written = 0
        self._done = False
        self._tmp: str | None = None
        self._file: IO[bytes]
        if store.is_local:
            parent = os.path.dirname(target)
            self._tmp = os.path.join(parent, f"{TMP_PREFIX}{secrets.token_hex(8)}")
            fd = os.open(
                self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o644
            )
            self._file = os.fdopen(fd, "wb")
        else:
            # Object stores publish the object when the upload completes, never half-written.
            self._file = self._fs.open(target, "wb")

    def write(self, data: bytes) -> None:
        if self._done:
            raise ValueError("write after commit/abort")
        self._file.write(data)
        self.bytes_written += len(data)

    def commit(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            if self._tmp is None:
                self._file.close()
                return
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            # Re-check right before the rename: nothing may have turned into a symlink.
            target = resolve_local(self._store.root_real, self.rel)
            if os.path.isdir(target):
                raise _invalid(f"Cannot write artifact {self.rel!r}: it is a directory")
            os.replace(self._tmp, target)
            self._tmp = None
            _fsync_dir(os.path.dirname(target))
        except BaseException:
            self._discard()
            raise

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._discard()

    def _discard(self) -> None:
        discard = getattr(self._file, "discard", None)
        with contextlib.suppress(Exception):
            if self._tmp is None and callable(discard):
                # An object store's upload: abort it (a multipart upload is cancelled), then
                # mark the file closed, or its finalizer would try to complete the upload.
                discard()
                self._file.closed = True  # type: ignore[misc]
            else:
                self._file.close()
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            self._tmp = None

    def __enter__(self) -> ArtifactWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class ArtifactStore:
    """Artifacts under one root: ``put``/``open``/``list``/``delete``/``exists``/copy in/out.

    ``root`` is a local path, a ``file://`` URI or an fsspec URL such as ``s3://bucket/prefix``
    (``storage_options`` default: :func:`remote_storage_options`). Paths passed to methods are
    relative to the root.
    """

    def __init__(
        self, root: str, *, create: bool = True, storage_options: dict[str, Any] | None = None
    ) -> None:
        if not root:
            raise ValueError("artifact root must not be empty")
        self.artifact_root = root
        if root.startswith("file:") or "://" not in root:
            path = unquote(urlsplit(root).path) if root.startswith("file:") else root
            path = os.path.abspath(os.path.expanduser(path))
            if create:
                os.makedirs(path, exist_ok=True)
            self.is_local = True
            self.fs: fsspec.AbstractFileSystem = fsspec.filesystem("file")
            # Real path of the root, so a root reached through a symlink (e.g. /tmp on macOS)
            # still contains its own files.
            self.root_real = os.path.realpath(path)
            self.root = self.root_real
        else:
            if storage_options is None:
                storage_options = remote_storage_options(root)
            fs, fs_root = fsspec.core.url_to_fs(root, **storage_options)
            self.is_local = False
            self.fs = fs
            self.root = fs_root.rstrip("/")
            self.root_real = self.root

    def __repr__(self) -> str:
        return f"ArtifactStore({self.artifact_root!r})"

    # -- paths ------------------------------------------------------------------------------

    def relpath(self, uri: str, path: str | None = None) -> str:
        """Root-relative path of ``path`` inside the artifact URI ``uri`` (see ``uris``)."""
        return join_relpath(uri_to_relpath(uri, self.artifact_root), path)

    def _full(self, rel: str | None) -> tuple[str, str]:
        """(clean relative path, full path in ``self.fs``); all safety checks happen here."""
        rel = clean_relpath(rel)
        if any(seg.startswith(TMP_PREFIX) for seg in rel.split("/")):
            raise _invalid(f"Artifact path {rel!r} uses a reserved name")
        if self.is_local:
            return rel, resolve_local(self.root_real, rel)
        return rel, f"{self.root}/{rel}" if rel else self.root

    def _info(self, full: str) -> dict[str, Any] | None:
        try:
            info: dict[str, Any] = self.fs.info(full)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if info.get("islink"):
            return None
        return info

    def sweep_temp_files(self, older_than_seconds: float = 3600.0) -> tuple[int, int]:
        """Delete upload temp files left by a crash (kill -9 mid-upload): those not written to
        for ``older_than_seconds`` (an upload in progress writes every MiB). Local stores only:
        object stores never publish a half-written object. Returns (files, bytes) removed."""
        if not self.is_local:
            return 0, 0
        cutoff = time.time() - older_than_seconds
        files = size = 0
        for folder, dirs, names in os.walk(self.root_real):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in names:
                if not name.startswith(TMP_PREFIX):
                    continue
                path = os.path.join(folder, name)
                try:
                    st = os.lstat(path)
                    if st.st_mtime > cutoff or not stat.S_ISREG(st.st_mode):
                        continue
                    os.unlink(path)
                except OSError:
                    continue
                files += 1
                size += st.st_size
        return files, size

    # -- queries ----------------------------------------------------------------------------

    def exists(self, path: str | None) -> bool:
        _, full = self._full(path)
        return self._info(full) is not None

    def stat(self, path: str | None) -> FileInfo | None:
        """A :class:`FileInfo` (``path`` = basename) or ``None`` when missing."""
        rel, full = self._full(path)
        info = self._info(full)
        if info is None:
            return None
        is_dir = info.get("type") == "directory"
        size = None if is_dir else int(info.get("size") or 0)
        return FileInfo(posixpath.basename(rel), is_dir, size)

    def list_dir(self, path: str | None = None) -> list[FileInfo] | None:
        """Entries of a directory (sorted by name); ``None`` if it is missing or a file.

        Symlinks and in-progress uploads are not listed.
        """
        _, full = self._full(path)
        info = self._info(full)
        if info is None or info.get("type") != "directory":
            return None
        entries = []
        for entry in self.fs.ls(full, detail=True):
            name = posixpath.basename(str(entry["name"]).rstrip("/"))
            if not name or name.startswith(TMP_PREFIX) or entry.get("islink"):
                continue
            is_dir = entry.get("type") == "directory"
            entries.append(FileInfo(name, is_dir, None if is_dir else int(entry.get("size") or 0)))
        entries.sort(key=lambda e: e.path)
        return entries

    def walk_files(self, path: str | None = None) -> Iterator[tuple[str, int]]:
        """Every file below ``path`` as (path relative to ``path``, size), depth first."""
        rel = clean_relpath(path)
        listing = self.list_dir(rel)
        if listing is None:
            return
        for entry in listing:
            child = f"{rel}/{entry.path}" if rel else entry.path
            if entry.is_dir:
                for sub, size in self.walk_files(child):
                    yield f"{entry.path}/{sub}", size
            else:
                yield entry.path, entry.file_size or 0

    # -- writing ----------------------------------------------------------------------------

    def open_writer(self, path: str) -> ArtifactWriter:
        """Start an atomic write of the file at ``path`` (parents are created)."""
        rel, full = self._full(path)
        if not rel:
            raise _invalid("An artifact path is required")
        info = self._info(full)
        if info is not None and info.get("type") == "directory":
            raise _invalid(f"Cannot write artifact {rel!r}: it is a directory")
        parent = posixpath.dirname(rel)
        try:
            if self.is_local:
                os.makedirs(os.path.dirname(full), exist_ok=True)
                # makedirs may have raced with a planted link: check again now that it exists.
                full = resolve_local(self.root_real, rel)
            elif parent:
                self.fs.makedirs(self._full(parent)[1], exist_ok=True)
            return ArtifactWriter(self, rel, full)
        except (FileExistsError, NotADirectoryError) as exc:
            raise _invalid(f"Cannot write artifact {rel!r}: a parent is a file") from exc

    def put_bytes(self, path: str, data: bytes) -> int:
        with self.open_writer(path) as writer:
            writer.write(data)
        return len(data)

    def put_stream(self, path: str, stream: BinaryIO | IO[bytes] | Iterable[bytes]) -> int:
        """Write a file from a binary stream (``read``) or an iterable of chunks."""
        with self.open_writer(path) as writer:
            read = getattr(stream, "read", None)
            if callable(read):
                while chunk := read(CHUNK_SIZE):
                    writer.write(chunk)
            else:
                for chunk in stream:
                    writer.write(chunk)
            return writer.bytes_written

    def delete(self, path: str, *, missing_ok: bool = False) -> None:
        """Delete a file or a directory tree. The root itself cannot be deleted."""
        rel, full = self._full(path)
        if not rel:
            raise _invalid("Refusing to delete the artifact root")
        info = self._info(full)
        if info is None:
            if self.is_local and os.path.islink(full):  # pragma: no cover - refused by _full
                raise _invalid(f"Refusing to delete link {rel!r}")
            if missing_ok:
                return
            raise _missing(rel)
        self.fs.rm(full, recursive=info.get("type") == "directory")

    # -- reading ----------------------------------------------------------------------------

    def open_read(self, path: str) -> IO[bytes]:
        """Open a file for reading (binary). Missing -> RESOURCE_DOES_NOT_EXIST."""
        return self.open_sized(path)[0]

    def open_sized(self, path: str) -> tuple[IO[bytes], int]:
        """A file open for reading and its size in bytes (what a download's Content-Length
        says). Missing -> RESOURCE_DOES_NOT_EXIST.

        An object store's file fetches at most ``CHUNK_SIZE`` ahead of what was read: s3fs's
        default read-ahead block is 50 MiB, so serving any object under that size would have
        held all of it in memory, per download."""
        rel, full = self._full(path)
        info = self._info(full)
        if info is None:
            raise _missing(rel)
        if info.get("type") == "directory":
            raise _invalid(f"Artifact {rel!r} is a directory")
        if not self.is_local:
            f = self.fs.open(full, "rb", block_size=CHUNK_SIZE, cache_type="readahead")
            return f, int(getattr(f, "size", None) or info.get("size") or 0)
        try:
            fd = os.open(full, os.O_RDONLY | _NOFOLLOW | _BINARY)
        except FileNotFoundError as exc:
            raise _missing(rel) from exc
        except OSError as exc:  # ELOOP: the final component became a symlink
            raise _invalid(f"Cannot open artifact {rel!r}") from exc
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise _invalid(f"Artifact {rel!r} is not a regular file")
        return os.fdopen(fd, "rb"), st.st_size

    def read_bytes(self, path: str) -> bytes:
        with self.open_read(path) as f:
            return f.read()

    def iter_chunks(self, path: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        with self.open_read(path) as f:
            while chunk := f.read(chunk_size):
                yield chunk

    # -- copying in and out (the in-process client) -------------------------------------------

    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        """Copy one local file to ``<artifact_path>/<basename>``; returns the relative path."""
        local = os.fspath(local_path)
        if not os.path.isfile(local):
            raise LabtrackException(f"No such file: {local}", "RESOURCE_DOES_NOT_EXIST")
        dest = join_relpath(artifact_path, os.path.basename(local))
        with open(local, "rb") as src:
            self.put_stream(dest, src)
        return dest

    def log_artifacts(
        self, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> list[str]:
        """Copy a local directory tree under ``artifact_path``; returns the relative paths.

        Directory symlinks are not followed (no loops); file symlinks are copied as files.
        """
        local = os.fspath(local_dir)
        if not os.path.isdir(local):
            raise LabtrackException(f"No such directory: {local}", "RESOURCE_DOES_NOT_EXIST")
        base = clean_relpath(artifact_path)
        written = []
        for src, rel in local_files(local):
            dest = join_relpath(base, rel)
            with open(src, "rb") as f:
                self.put_stream(dest, f)
            written.append(dest)
        return written

    def download(self, path: str | None, dst_dir: str | os.PathLike[str]) -> str:
        """Copy a file or directory tree to ``dst_dir``; returns the local path created.

        A file lands at ``dst_dir/<basename>``, a directory at ``dst_dir/<basename>/...``
        (the root at ``dst_dir`` itself).
        """
        rel = clean_relpath(path)
        info = self.stat(rel)
        if info is None:
            raise _missing(rel)
        dst = os.fspath(dst_dir)
        os.makedirs(dst, exist_ok=True)
        target = os.path.join(dst, posixpath.basename(rel)) if rel else dst
        if not info.is_dir:
            self._download_file(rel, target)
            return target
        os.makedirs(target, exist_ok=True)
        for sub, _size in self.walk_files(rel):
            local = os.path.join(target, *sub.split("/"))
            os.makedirs(os.path.dirname(local), exist_ok=True)
            self._download_file(join_relpath(rel, sub), local)
        return target

    def _download_file(self, rel: str, local: str) -> None:
        tmp = f"{local}{TMP_PREFIX}{secrets.token_hex(4)}"
        try:
            with self.open_read(rel) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK_SIZE)
            os.replace(tmp, local)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
