"""Non-blocking metric logging: points are queued and written in batches by a background thread.

``put`` costs an append under an uncontended lock. A writer thread drains the queue every
``interval`` seconds (sooner when it grows), groups points by run and series, and writes each run's
points in one transaction. ``flush`` blocks until everything queued so far is durable and raises if
any of it could not be written; transient failures (a locked database, an unreachable server) are
retried with backoff and nothing is dropped, failures the server refuses (e.g. a deleted run) are
kept and reported to the user on the next ``flush``/``end_run`` and as a warning.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import warnings
import weakref
from array import array
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from labtrack.errors import LabtrackException

logger = logging.getLogger("labtrack")

SeriesKey = tuple[str, None, None, None]
WriteFn = Callable[[str, dict[Any, Any]], None]


class _SeriesBuffer:
    """Points of one (run, key) as typed arrays: the writer turns them into numpy columns
    without touching each point again."""

    __slots__ = ("steps", "timestamps", "values")

    def __init__(self) -> None:
        self.steps = array("q")
        self.timestamps = array("q")
        self.values = array("d")

    def __len__(self) -> int:
        return len(self.values)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, LabtrackException):
        return exc.http_status >= 500 or exc.http_status == 429
    # Database locks, connection errors, timeouts: worth another try.
    return isinstance(exc, (OSError, TimeoutError)) or type(exc).__name__ in (
        "OperationalError",
        "ConnectionError",
        "DBAPIError",
    )


class MetricQueue:
    def __init__(self, write: WriteFn, interval: float = 0.25, max_pending: int = 200_000) -> None:
        self._write = write
        self._interval = interval
        self._max_pending = max_pending
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], _SeriesBuffer] = {}
        self._count = 0
        self._wake = threading.Event()
        # One drain at a time (the writer thread's or a flushing caller's), in queue order.
        self._drain_lock = threading.Lock()
        self._failures: list[tuple[str, LabtrackException]] = []
        self._thread: threading.Thread | None = None
        self._closed = False
        _QUEUES.add(self)

    # ---- producer side ------------------------------------------------------------------

    def put(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        with self._lock:
            buf = self._pending.get((run_id, key))
            if buf is None:
                buf = self._pending[(run_id, key)] = _SeriesBuffer()
            buf.steps.append(step)
            buf.timestamps.append(timestamp)
            buf.values.append(value)
            self._count += 1
            n = self._count
        if self._thread is None:
            self._start()
        if n >= self._max_pending:
            # Back-pressure only when the writer is far behind: wake it and let it catch up.
            self._wake.set()
            if n >= 4 * self._max_pending:
                self.flush()

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything queued before this call is written; raise on failures.

        The caller writes the pending points itself (no hand-off to the writer thread); if the
        writer is in the middle of a batch, the drain lock makes this wait for it first.
        """
        if not self._drain_lock.acquire(timeout=-1 if timeout is None else timeout):
            raise LabtrackException(
                f"Timed out after {timeout}s waiting for {self._count} metric points to be "
                "written.",
                "TEMPORARILY_UNAVAILABLE",
            )
        try:
            self._drain_locked()
        finally:
            self._drain_lock.release()
        self.raise_failures()

    def raise_failures(self, run_id: str | None = None) -> None:
        with self._lock:
            mine = [f for f in self._failures if run_id is None or f[0] == run_id]
            self._failures = [f for f in self._failures if f not in mine]
        if mine:
            first = mine[0][1]
            raise LabtrackException(
                f"{len(mine)} metric batch(es) could not be written; first error: {first.message}",
                first.error_code,
            )

    # ---- writer side --------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="labtrack-metric-writer", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        with self._drain_lock:
            self._drain_locked()

    def _drain_locked(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, {}
            self._count = 0
        if batch:
            self._write_batch(batch)

    def _write_batch(self, batch: dict[tuple[str, str], _SeriesBuffer]) -> None:
        from labtrack.entities.points import Points

        by_run: dict[str, dict[SeriesKey, Points]] = defaultdict(dict)
        for (run_id, key), buf in batch.items():
            by_run[run_id][(key, None, None, None)] = Points.from_arrays(
                buf.steps, buf.timestamps, buf.values
            )
        for run_id, series in by_run.items():
            self._write_run(run_id, series)

    def _write_run(self, run_id: str, series: dict) -> None:
        delay = 0.1
        for attempt in range(8):
            try:
                self._write(run_id, series)
                return
            except Exception as exc:
                if _is_transient(exc) and attempt < 7:
                    logger.debug("labtrack: retrying metric write for %s: %s", run_id, exc)
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                error = (
                    exc
                    if isinstance(exc, LabtrackException)
                    else LabtrackException(f"{type(exc).__name__}: {exc}", "INTERNAL_ERROR")
                )
                n = sum(len(v) for v in series.values())  # points lost for this run
                warnings.warn(
                    f"labtrack: {n} metric points for run {run_id} could not be written: "
                    f"{error.message}",
                    RuntimeWarning,
                    stacklevel=1,
                )
                with self._lock:
                    self._failures.append((run_id, error))
                return

    def close(self) -> None:
        try:
            self.flush(timeout=60)
        finally:
            self._closed = True
            self._wake.set()


_QUEUES: weakref.WeakSet[MetricQueue] = weakref.WeakSet()


@atexit.register
def _flush_all_at_exit() -> None:
    for queue in list(_QUEUES):
        try:
            queue.close()
        except Exception as exc:
            logger.error("labtrack: metrics lost at interpreter exit: %s", exc)
