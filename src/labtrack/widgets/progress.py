"""Progress bars for long artifact transfers from a notebook.

``TrackingClient`` asks for one only inside a Jupyter kernel and for payloads over
``THRESHOLD`` bytes: ``tqdm.auto`` when installed, else an ipywidgets ``IntProgress``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

THRESHOLD = 5 * 1024 * 1024


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


def wanted(total: int) -> bool:
    """A bar is shown inside a Jupyter kernel, for payloads over ``THRESHOLD``."""
    if total <= THRESHOLD:
        return False
    from labtrack.widgets._display import kernel_shell

    return kernel_shell() is not None


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class Bar:
    """One progress bar: ``update(done)`` with bytes done so far; ``close()`` when over."""

    def __init__(self, total: int, label: str) -> None:
        self.total = max(total, 1)
        self.label = label
        self.done = 0
        self._tqdm: Any = None
        self._widget: Any = None
        try:
            from tqdm.auto import tqdm

            self._tqdm = tqdm(total=self.total, desc=label, unit="B", unit_scale=True)
        except ImportError:
            import ipywidgets as widgets
            from IPython.display import display

            self._widget = widgets.IntProgress(
                value=0, min=0, max=self.total, description=label[:20], bar_style="info"
            )
            self._text = widgets.Label(f"0 / {_mb(self.total)}")
            box = widgets.HBox([self._widget, self._text])
            box.add_class("lt-Progress")
            self._box = box
            display(box)

    def update(self, done: int) -> None:
        done = min(max(done, 0), self.total)
        if done == self.done:
            return
        if self._tqdm is not None:
            self._tqdm.update(done - self.done)
        elif self._widget is not None:
            self._widget.value = done
            self._text.value = f"{_mb(done)} / {_mb(self.total)}"
        self.done = done

    def close(self, ok: bool = True) -> None:
        if ok:
            self.update(self.total)
        if self._tqdm is not None:
            self._tqdm.close()
        elif self._widget is not None:
            self._widget.bar_style = "success" if ok else "danger"


@contextmanager
def transfer(total: int, label: str, probe: Callable[[], int] | None = None) -> Iterator[Bar]:
    """A bar for the duration of the block; ``probe()`` (bytes done) is polled if given."""
    bar = Bar(total, label)
    stop = threading.Event()
    watcher = None
    if probe is not None:

        def poll() -> None:
            while not stop.wait(0.2):
                with suppress(OSError):
                    bar.update(probe())

        watcher = threading.Thread(target=poll, name="labtrack-progress", daemon=True)
        watcher.start()
    ok = False
    try:
        yield bar
        ok = True
    finally:
        stop.set()
        if watcher is not None:
            watcher.join(1)
        bar.close(ok)


class ProgressReader:
    """A binary file wrapper that reports bytes read to a ``Bar``."""

    def __init__(self, raw: Any, bar: Bar, offset: int = 0) -> None:
        self._raw = raw
        self._bar = bar
        self._offset = offset
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._read += len(chunk)
        self._bar.update(self._offset + self._read)
        return chunk


# ---- TrackingClient transfers with a bar -----------------------------------------------------


def log_artifact_with_progress(
    client: Any, run_id: str, local_path: str, artifact_path: str | None
) -> None:
    """``TrackingClient.log_artifact`` with a bar (bytes, as the file is read)."""
    from labtrack.config import is_http_uri

    name = os.path.basename(local_path)
    with transfer(local_size(local_path), f"upload {name}") as bar:
        if is_http_uri(client.tracking_uri):
            client.service.log_artifact(client.get_run(run_id), local_path, artifact_path)
            return
        from labtrack.artifacts.paths import join_relpath

        dest = join_relpath(client._artifact_base(run_id), artifact_path, name)
        with open(local_path, "rb") as f:
            client.artifact_store.put_stream(dest, ProgressReader(f, bar))


def log_artifacts_with_progress(
    client: Any, run_id: str, local_dir: str, artifact_path: str | None
) -> None:
    """``TrackingClient.log_artifacts`` with a bar (bytes for local stores, files over HTTP)."""
    from labtrack.config import is_http_uri

    http = is_http_uri(client.tracking_uri)
    run = client.get_run(run_id) if http else None
    with transfer(local_size(local_dir), f"upload {os.path.basename(local_dir)}") as bar:
        if not os.path.isdir(local_dir):
            raise FileNotFoundError(local_dir)
        from labtrack.artifacts.paths import join_relpath

        base = None if http else join_relpath(client._artifact_base(run_id), artifact_path)
        done = 0
        for folder, dirnames, filenames in os.walk(local_dir):
            dirnames.sort()
            sub = os.path.relpath(folder, local_dir)
            sub_rel = "" if sub == "." else sub.replace(os.sep, "/")
            for name in sorted(filenames):
                src = os.path.join(folder, name)
                if not os.path.isfile(src):
                    continue
                if http:
                    folder_rel = join_relpath(artifact_path, sub_rel) or None
                    client.service.log_artifact(run, src, folder_rel)
                else:
                    with open(src, "rb") as f:
                        client.artifact_store.put_stream(
                            join_relpath(base, sub_rel, name), ProgressReader(f, bar, done)
                        )
                done += os.path.getsize(src)
                bar.update(done)


def download_with_progress(client: Any, run_id: str, path: str, dst: str) -> str | None:
    """``TrackingClient.download_artifacts`` with a bar when the payload is large; ``None``
    when no bar is wanted (the caller downloads as usual)."""
    total = _remote_size(client, run_id, path)
    if not wanted(total):
        return None
    from labtrack.config import is_http_uri

    before = local_size(dst) if os.path.isdir(dst) else 0
    probe = lambda: local_size(dst) - before  # noqa: E731 - bytes landed so far
    with transfer(total, f"download {os.path.basename(path) or 'artifacts'}", probe):
        if is_http_uri(client.tracking_uri):
            return str(client.service.download_artifacts(client.get_run(run_id), path, dst))
        from labtrack.artifacts.paths import join_relpath

        rel = join_relpath(client._artifact_base(run_id), path)
        return str(client.artifact_store.download(rel, dst))


def _remote_size(client: Any, run_id: str, path: str) -> int:
    from labtrack.config import is_http_uri

    if not is_http_uri(client.tracking_uri):
        from labtrack.artifacts.paths import join_relpath

        store = client.artifact_store
        rel = join_relpath(client._artifact_base(run_id), path)
        info = store.stat(rel)
        if info is None:
            return 0
        if not info.is_dir:
            return int(info.file_size or 0)
        return sum(size for _sub, size in store.walk_files(rel))
    total = 0
    pending = [path or None]
    while pending:
        for entry in client.list_artifacts(run_id, pending.pop()):
            if entry.is_dir:
                pending.append(entry.path)
            else:
                total += int(entry.file_size or 0)
    return total
