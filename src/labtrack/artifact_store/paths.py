"""Path safety for artifacts, in one place.

Every user-supplied artifact path (from a URL, a query string, a client call) goes through
:func:`clean_relpath` before it touches a file system. It accepts only a plain relative POSIX
path and returns it normalised (``"a/b/c"``; ``""`` for the root). The local store additionally
checks, on disk, that no component is a symlink and that the real path stays under the root
(:func:`resolve_local`).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from urllib.parse import unquote, unquote_to_bytes

from labtrack.errors import LabtrackException

MAX_PATH_CHARS = 4096
MAX_SEGMENT_BYTES = 255
# How many rounds of percent-decoding we look through (``%252e`` -> ``%2e`` -> ``.``).
_DECODE_ROUNDS = 4
_DRIVE = re.compile(r"^[A-Za-z]:")
# A path that starts like a URI ("file:", "FILE:", "s3:", "mlflow-artifacts:"): a layer that
# reads it as a URI would leave the store.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# In a decoded form: the control characters that truncate (NUL) or split lines and headers.
_DECODED_CONTROL = re.compile(r"[\x00\t\n\r]")
# Overlong UTF-8 (``%c0%ae`` for '.'): lead bytes C0/C1, E0 + 80-9F, F0 + 80-8F.
_OVERLONG = re.compile(rb"[\xc0\xc1]|\xe0[\x80-\x9f]|\xf0[\x80-\x8f]")
# Characters that look like, or normalise (NFKC) to, '.', '/' or '\\': fullwidth and small
# forms, the one-dot leader, the division, fraction and big solidus slashes. A layer that
# normalises Unicode would turn them into separators or '..'.
_LOOKALIKE = re.compile("[\uff0e\u2024\ufe52\uff0f\u2215\u2044\u29f8\u29f9\u2216\uff3c\ufe68]")


def _hostile(message: str, path: str) -> LabtrackException:
    shown = path if len(path) <= 200 else path[:200] + "..."
    return LabtrackException(
        f"Invalid artifact path {shown!r}: {message}", "INVALID_PARAMETER_VALUE"
    )


def _check_form(form: str, original: str, literal: bool) -> None:
    """Reject one (possibly decoded) form of a path if it could escape or confuse. Every
    control character is refused in the path itself; in a decoded form NUL, tab, CR and LF
    are: a literal ``%17`` in a file name is three harmless characters, and MLflow 2.x names
    its image-series files ``<key>%step%<n>%timestamp%<ms>%<uuid>``."""
    if _CONTROL.search(form) if literal else _DECODED_CONTROL.search(form):
        raise _hostile("control characters (including NUL) are not allowed", original)
    if _LOOKALIKE.search(form):
        raise _hostile("look-alikes of '.', '/' or '\\' are not allowed", original)
    if "\\" in form:
        raise _hostile("backslashes are not allowed", original)
    if form.startswith("/"):
        raise _hostile("absolute paths are not allowed", original)
    if _DRIVE.match(form):
        raise _hostile("drive letters are not allowed", original)
    if _SCHEME.match(form):
        raise _hostile("URI schemes are not allowed in artifact paths", original)
    if ".." in form.split("/"):
        raise _hostile("'..' segments are not allowed", original)
    if form.startswith("~"):
        raise _hostile("paths may not start with '~'", original)


def clean_relpath(path: str | None) -> str:
    """Validate a user-supplied relative artifact path and return it normalised.

    Rules: relative POSIX path; no ``..`` segment (also when percent-encoded once or more,
    e.g. ``%2e%2e`` or ``%252e%252e``); no leading ``/``, no drive letter, no backslash (these
    also when percent-encoded), no control character (NUL included); no empty segment except
    one trailing ``/``; ``.`` segments are dropped. ``None`` and ``""`` mean the root and give
    ``""``.

    Raises ``LabtrackException(..., "INVALID_PARAMETER_VALUE")``.
    """
    if path is None:
        return ""
    if not isinstance(path, str):
        raise LabtrackException("Artifact path must be a string", "INVALID_PARAMETER_VALUE")
    if len(path) > MAX_PATH_CHARS:
        raise _hostile(f"longer than {MAX_PATH_CHARS} characters", path)
    # Check the path as given and every percent-decoded form of it: an upstream layer (a proxy,
    # an fsspec backend, a future URL join) may decode once more than we expect.
    form = path
    for _ in range(_DECODE_ROUNDS):
        _check_form(form, path, literal=form is path)
        try:
            decoded = unquote(form, errors="strict")
        except UnicodeDecodeError:
            # Overlong UTF-8 (%c0%ae for '.') is refused: a lenient decoder elsewhere could
            # read it as a dot or a slash. Other broken bytes (MLflow's "%step%85%" holds a
            # lone 0x85) are kept as they are and checked as U+FFFD.
            if _OVERLONG.search(unquote_to_bytes(form)):
                raise _hostile("overlong UTF-8 percent-encoding", path) from None
            decoded = unquote(form, errors="replace")
        if decoded == form:
            break
        form = decoded
    else:
        _check_form(form, path, literal=False)
        if unquote(form) != form:
            raise _hostile("too many levels of percent-encoding", path)

    body = path[:-1] if path.endswith("/") else path
    if not body:
        return ""
    segments = []
    for segment in body.split("/"):
        if segment == "":
            raise _hostile("empty path segments are not allowed", path)
        if segment == ".":
            continue
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise _hostile(f"a segment is longer than {MAX_SEGMENT_BYTES} bytes", path)
        segments.append(segment)
    return "/".join(segments)


def join_relpath(*parts: str | None) -> str:
    """Join already-relative pieces, validating each; empty pieces are skipped."""
    cleaned = [clean_relpath(p) for p in parts]
    return "/".join(p for p in cleaned if p)


def local_files(local_dir: str) -> Iterator[tuple[str, str]]:
    """The files below the local folder ``local_dir``, folder by folder in name order: each
    file's path and its path relative to ``local_dir`` (``/``-separated). Folder symlinks are
    not followed (no loops); file symlinks count as files; anything else is passed over."""
    for folder, dirnames, filenames in os.walk(local_dir):
        dirnames.sort()
        sub = os.path.relpath(folder, local_dir)
        sub = "" if sub == "." else sub.replace(os.sep, "/")
        for name in sorted(filenames):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                yield path, f"{sub}/{name}" if sub else name


def resolve_local(root_real: str, rel: str) -> str:
    """Absolute path of ``rel`` (a :func:`clean_relpath` result) under ``root_real``.

    ``root_real`` must already be a real path (``os.path.realpath``). Every existing component
    below the root is checked with ``lstat``: a symlink anywhere is refused, so a link planted
    inside the store cannot lead outside it. Finally the real path must be inside the root.
    Missing trailing components are fine (they are about to be created).
    """
    rel = clean_relpath(rel)
    if not rel:
        return root_real
    current = root_real
    for segment in rel.split("/"):
        current = os.path.join(current, segment)
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            break
        except NotADirectoryError as exc:
            raise _hostile("a parent component is not a directory", rel) from exc
        if stat.S_ISLNK(st.st_mode):
            raise _hostile("symbolic links inside the artifact store are not followed", rel)
    target = os.path.join(root_real, *rel.split("/"))
    real = os.path.realpath(target)
    if real != root_real and not real.startswith(root_real.rstrip(os.sep) + os.sep):
        raise _hostile("resolves outside the artifact root", rel)
    return target
