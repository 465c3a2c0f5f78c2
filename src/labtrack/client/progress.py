"""Progress of long artifact transfers: the client reports, whoever registered a factory shows.

The client knows nothing of notebooks: ``labtrack`` registers the widget progress bar
(``labtrack.widgets.progress``) when imported inside a Jupyter kernel. Without a factory (scripts,
servers) transfers cost nothing extra: no sizes are computed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Protocol


class TransferProgress(Protocol):
    """One transfer's display: ``update(done)`` with bytes so far; ``close(ok)`` at the end."""

    def update(self, done: int) -> None: ...

    def close(self, ok: bool = True) -> None: ...


# (total bytes, label) -> a display for this transfer, or None when it is not worth one.
ProgressFactory = Callable[[int, str], "TransferProgress | None"]

_factory: ProgressFactory | None = None


def set_progress_factory(factory: ProgressFactory | None) -> ProgressFactory | None:
    """Use ``factory`` for the transfers of every client in this process; the previous one."""
    global _factory
    previous, _factory = _factory, factory
    return previous


def local_size(path: str) -> int:
    """Bytes of a file, or of every file under a directory."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            with suppress(OSError):
                total += os.path.getsize(os.path.join(folder, name))
    return total


@contextmanager
def upload_progress(local_path: str, label: str) -> Iterator[Callable[[int], None] | None]:
    """The ``update`` callback of a display for this upload, or ``None`` when there is none."""
    factory = _factory
    display = factory(local_size(local_path), label) if factory is not None else None
    if display is None:
        yield None
        return
    ok = False
    try:
        yield display.update
        ok = True
    finally:
        display.close(ok)


@contextmanager
def download_progress(total: Callable[[], int], dst: str, label: str) -> Iterator[None]:
    """A display for a download into ``dst`` (bytes landed there, polled); ``total()`` is
    asked only when a factory is registered (it may cost requests)."""
    factory = _factory
    display = factory(total(), label) if factory is not None else None
    if display is None:
        yield
        return
    before = local_size(dst) if os.path.isdir(dst) else 0
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.2):
            with suppress(OSError):
                display.update(local_size(dst) - before)

    watcher = threading.Thread(target=poll, name="labtrack-progress", daemon=True)
    watcher.start()
    ok = False
    try:
        yield
        ok = True
    finally:
        stop.set()
        watcher.join(1)
        display.close(ok)
