"""SQLite WAL checkpoints in a background thread, for a long-lived writer (the server).

By default SQLite copies its write-ahead log back into the database file inside whichever
commit finds the log over 1,000 pages: every ~50 log-batch requests, one of them paid ~10 ms
for it, about 0.5 ms per request on average. Here a thread with its own connection runs a
PASSIVE checkpoint every ``every`` commits instead. SQLite releases the GIL while it copies, and
a PASSIVE checkpoint waits for no one: writers go on appending to the log, readers go on reading,
and the commit that triggers it only sets an event.

Commits keep a raised autocheckpoint threshold as a backstop (``BACKSTOP_PAGES``), should the
thread fall behind, so the log stays bounded either way.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

# Commits between two background checkpoints: a 1,000-point batch adds ~20 pages to the log.
EVERY_COMMITS = 32
# The autocheckpoint threshold of the engine's own connections, in pages (16 MB).
BACKSTOP_PAGES = 4096


class WalCheckpointer:
    """Checkpoints ``path`` after every ``every`` commits made through ``engine``."""

    def __init__(self, engine: Engine, path: str, every: int = EVERY_COMMITS) -> None:
        self.path = path
        self.every = every
        self.checkpoints = 0  # completed, for tests and diagnostics
        self._commits = 0
        self._wake = threading.Event()
        self._stopped = False
        self._engine = engine
        event.listen(engine, "connect", _raise_backstop)
        event.listen(engine, "commit", self._on_commit)
        self._thread = threading.Thread(
            target=self._run, name="labtrack-wal-checkpoint", daemon=True
        )
        self._thread.start()

    def _on_commit(self, _conn: Any) -> None:
        # Runs just before each commit; counting is all it does on the writer's thread.
        self._commits += 1
        if self._commits % self.every == 0:
            self._wake.set()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopped:
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:  # the next one, or the backstop, catches up
                    log.debug("labtrack: background WAL checkpoint failed", exc_info=True)
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the thread (after any checkpoint under way) and forget the engine."""
        if self._stopped:
            return
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=10)
        event.remove(self._engine, "commit", self._on_commit)
        event.remove(self._engine, "connect", _raise_backstop)


def _raise_backstop(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
