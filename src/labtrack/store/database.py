"""The database every store module writes through: the engine, transactions, the change feed,
run summaries refreshed before commit, the WAL checkpointer, and the small dialect helpers
(upserts, page tokens, ids) the stores share.

A write transaction (``Database.write``) begins IMMEDIATE on SQLite; writers that change what a
run's summary shows mark the run stale (``mark_run_stale``) and the summary is rewritten once,
just before the commit (see ``labtrack.store.summaries``).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, func, insert, or_, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError

from labtrack.entities.permissions import Viewer
from labtrack.errors import invalid, is_database_conflict
from labtrack.store import schema as s
from labtrack.store.checkpoints import WalCheckpointer
from labtrack.store.engine import create_store_engine, ensure_schema, sqlite_file, write_options
from labtrack.store.prepared import PreparedStatement
from labtrack.store.summaries import refresh_summary

T = TypeVar("T")

# Statements prepared once per dialect (see labtrack.store.prepared).
STATEMENT_CACHE = 16
# conn.info key: the runs whose summaries this transaction made stale.
_STALE_SUMMARIES = "labtrack.stale_run_summaries"
# conn.info key: the changes this transaction appends to the feed when it commits.
_PENDING_CHANGES = "labtrack.pending_changes"
# PostgreSQL advisory lock (any constant of our own): writers number their changes in turn.
_CHANGE_FEED_LOCK = 0x6C74_6368  # "ltch"
# Attempts of a write that can lose a PostgreSQL race for a new row (``write_retrying``).
_RACE_ATTEMPTS = 5


def now_ms() -> int:
    return int(time.time() * 1000)


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except Exception as exc:
        raise invalid(f"Invalid page token {token!r}") from exc
    if not isinstance(offset, int) or offset < 0:
        raise invalid(f"Invalid page token {token!r}")
    return offset


def parse_experiment_id(experiment_id: str | int) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise invalid(f"Invalid experiment id {experiment_id!r}: it must be an integer") from None


def binds(columns: Iterable[str]) -> dict[str, Any]:
    """``values()`` of an INSERT taking each column from the parameter of its name."""
    return {c: bindparam(c) for c in columns}


def dialect_insert(dialect: str) -> Any:
    """``insert`` with ON CONFLICT support for the backend (both dialects spell it alike)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def upsert(conn: Connection, table: Any, rows: list[dict], keys: Sequence[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, portable across SQLite and PostgreSQL."""
    if not rows:
        return
    stmt = dialect_insert(conn.dialect.name)(table)
    set_ = {c.name: stmt.excluded[c.name] for c in table.c if c.name not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=set_), rows)


def insert_ignore(conn: Connection, table: Any, rows: list[dict]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING."""
    if not rows:
        return
    conn.execute(dialect_insert(conn.dialect.name)(table).on_conflict_do_nothing(), rows)


def retryable(exc: Exception) -> bool:
    """Whether a failed write transaction was rolled back for a conflict a retry cures."""
    return isinstance(exc, IntegrityError) or is_database_conflict(exc)


def mark_run_stale(conn: Connection, run_id: str) -> None:
    """Note that the run's params, tags, latest metrics or info changed in this transaction;
    ``Database.write`` rewrites its summary before committing."""
    conn.info.setdefault(_STALE_SUMMARIES, set()).add(run_id)


@lru_cache(maxsize=STATEMENT_CACHE)
def _change_statement(dialect: Dialect) -> PreparedStatement:
    # Every write transaction appends one change: prepared, like the rest of the write path.
    columns = ("time", "kind", "experiment_id", "run_uuid")
    return PreparedStatement(insert(s.changes).values(binds(columns)), dialect)


class FairLock:
    """A lock granted in the order it was asked for (``threading.Lock`` lets a thread that
    just released it take it again ahead of threads that have waited for seconds): no writer
    of this process starves while others keep writing."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._next_ticket = 0
        self._serving = 0

    def __enter__(self) -> None:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            while self._serving != ticket:
                self._cond.wait()

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._serving += 1
            self._cond.notify_all()


class Database:
    """One store database (SQLite or PostgreSQL), opened and brought to the current schema."""

    def __init__(self, uri: str, *, background_checkpoints: bool = False) -> None:
        """``background_checkpoints``: for a long-lived writer on SQLite (the server), copy the
        write-ahead log into the database from a thread of its own, not inside commits."""
        self.uri = uri
        self.engine = create_store_engine(uri)
        self.checkpointer: WalCheckpointer | None = None
        path = sqlite_file(uri)
        # SQLite has one writer at a time, and its busy handler is not fair: under steady
        # contention a waiting writer can sleep past the busy timeout ("database is locked")
        # while others get in. This process's writers take turns on a lock instead; only
        # writers in other processes (kernels, scripts) still meet the busy handler.
        self._write_turn = FairLock() if self.engine.dialect.name == "sqlite" else None
        if background_checkpoints and path:
            # Before the first connection: the engine's connections get the backstop setting.
            self.checkpointer = WalCheckpointer(self.engine, path)
        ensure_schema(self.engine)

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
            self.checkpointer = None
        self.engine.dispose()

    # ---- transactions -------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite); stale run summaries are rewritten
        just before it commits."""
        with self._write_turn or nullcontext(), self._write_transaction() as conn:
            yield conn

    @contextmanager
    def _write_transaction(self) -> Iterator[Connection]:
        conn = self.engine.connect().execution_options(**write_options())
        with conn, conn.begin():
            try:
                yield conn
                # Once per transaction, however many writes touched a run.
                # In one order: each refresh locks its run row (PostgreSQL).
                for run_id in sorted(conn.info.pop(_STALE_SUMMARIES, ())):
                    refresh_summary(conn, run_id)
                self._append_changes(conn, conn.info.pop(_PENDING_CHANGES, ()))
            finally:
                conn.info.pop(_STALE_SUMMARIES, None)  # the info dict outlives the checkout
                conn.info.pop(_PENDING_CHANGES, None)

    @staticmethod
    def _append_changes(conn: Connection, changes: Sequence[dict[str, Any]]) -> None:
        """Number and append this transaction's changes, last thing before it commits.

        Pollers move their cursor past the highest number they saw, so numbers must follow
        commit order. On PostgreSQL concurrent writers (threads, replicas) would otherwise
        draw 10 and 11, commit 11 first, and a poll in between would skip 10 for good; a
        transaction-scoped advisory lock, held from the INSERT to the COMMIT, makes them take
        turns for that last step only. SQLite has one writer at a time already."""
        if not changes:
            return
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_CHANGE_FEED_LOCK})")
        statement = _change_statement(conn.dialect)
        for change in changes:
            statement.run(conn, change)

    def write_retrying(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` in a write transaction, run again from the start when the database
        rolled it back for a reason a retry cures: a race to insert the same new row (an
        IntegrityError; PostgreSQL writers of one metric draw seqs from a sequence, so this is
        a backstop), a deadlock or serialization failure (PostgreSQL aborts one of two
        transactions that wait for each other), or SQLite's busy timeout (a writer in another
        process held the database for longer). Nothing of a rolled-back attempt was stored,
        so running it again cannot duplicate anything."""
        for attempt in range(_RACE_ATTEMPTS):
            try:
                with self.write() as conn:
                    return work(conn)
            except Exception as exc:  # SQLite's BEGIN IMMEDIATE raises the driver's own error
                if attempt == _RACE_ATTEMPTS - 1 or not retryable(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- change feed --------------------------------------------------------------------

    def record_change(
        self, conn: Connection, kind: str, experiment_id: int | None, run_id: str | None = None
    ) -> None:
        """Append to the change feed, in the writer's transaction (numbered when it commits:
        see ``_append_changes``)."""
        change = {"time": now_ms(), "kind": kind, "experiment_id": experiment_id}
        conn.info.setdefault(_PENDING_CHANGES, []).append({**change, "run_uuid": run_id})

    def changes_since(
        self, cursor: int | None, limit: int = 1000, viewer: Viewer | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """Changes after ``cursor`` (oldest first) and the new cursor; ``None`` asks only for
        the current cursor. Cheap to poll.

        ``viewer`` (team mode): changes of experiments they may not read are left out (in
        SQL, so ``limit`` counts what they see); changes naming no experiment (the registry's)
        say nothing but that something changed and stay in."""
        from labtrack.store.permission_store import readable_clause

        c = s.changes.c
        with self.read() as conn:
            if cursor is None:
                head = conn.execute(select(func.max(c.seq))).scalar() or 0
                return int(head), []
            filtered = viewer is not None and not viewer.principal.is_admin
            # The head is read before the rows: changes commit in seq order, so every change
            # up to it is visible to the next statement. (Read after, on PostgreSQL's READ
            # COMMITTED, it could name a change that committed after the rows were read,
            # and the cursor would skip the ones between for good.)
            head = conn.execute(select(func.max(c.seq))).scalar() or cursor if filtered else 0
            rows = conn.execute(
                select(c.seq, c.time, c.kind, c.experiment_id, c.run_uuid)
                .where(
                    c.seq > cursor,
                    or_(
                        c.experiment_id.is_(None),
                        readable_clause(viewer, "experiment", c.experiment_id),
                    ),
                )
                .order_by(c.seq)
                .limit(limit)
            ).all()
            if filtered and len(rows) < limit:
                # Nothing more the viewer may see up to the head: skip past what they may not,
                # so that the next poll does not scan it again.
                if not rows:
                    return max(int(head), cursor), []
                rows_cursor = max(int(head), int(rows[-1].seq))
            else:
                rows_cursor = int(rows[-1].seq) if rows else cursor
        if not rows:
            return cursor, []
        return rows_cursor, [
            {
                "seq": r.seq,
                "time": r.time,
                "kind": r.kind,
                "experiment_id": None if r.experiment_id is None else str(r.experiment_id),
                "run_id": r.run_uuid,
            }
            for r in rows
        ]

    # ---- settings -----------------------------------------------------------------------

    def settle_artifact_root(self, requested: str | None) -> str:
        """The first process to open a store fixes its artifact root; later ones read it."""
        from labtrack.config import default_artifact_root

        query = select(s.store_settings.c.value).where(s.store_settings.c.key == "artifact_root")
        with self.read() as conn:
            stored = conn.execute(query).scalar()
        if stored is not None:
            return requested or stored
        root = requested or default_artifact_root(self.uri)
        with self.write() as conn:
            insert_ignore(conn, s.store_settings, [{"key": "artifact_root", "value": root}])
            stored = conn.execute(query).scalar()
        return requested or stored or root


def in_chunks(items: list[T], size: int) -> Iterator[list[T]]:
    """``items`` in slices of at most ``size`` (long IN lists are split)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
