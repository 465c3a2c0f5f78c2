"""Opening a database: engine settings per backend, and bringing the schema to the current revision.

SQLite runs in WAL mode (readers never block the writer; a committed transaction survives a crash
of the process) with a busy timeout, and every write transaction begins IMMEDIATE so that a write
that depends on a read (e.g. "next version number") cannot interleave with another writer.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.pool import NullPool

from labtrack.errors import LabtrackException

# The alembic revision this code expects; tests check it equals the migrations' head.
HEAD_REVISION = "0006"

_BUSY_TIMEOUT_MS = 30_000
_IMMEDIATE = "labtrack_immediate"


def create_store_engine(uri: str) -> Engine:
    """An engine for ``uri`` with labtrack's per-backend settings."""
    scheme, sep, rest = uri.partition("://")
    backend, _, driver = scheme.lower().partition("+")
    if backend == "sqlite":
        return _sqlite_engine(uri)
    if backend in ("postgresql", "postgres") and sep:
        # psycopg 3 is the maintained driver; prefer it when no driver is named. A named driver
        # (postgresql+psycopg2://...) is used as given: SQLAlchemy loads it.
        return create_engine(
            f"postgresql+{driver or 'psycopg'}://{rest}",
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
        )
    if backend in ("mysql", "mariadb", "mssql", "oracle"):
        raise LabtrackException(
            f"Store URI {_redacted(uri)!r}: {backend} is not supported as a labtrack store; use "
            "SQLite (sqlite:///path/to/file.db) or PostgreSQL (postgresql://user@host/db).",
            "INVALID_PARAMETER_VALUE",
        )
    raise LabtrackException(
        f"Unsupported store URI {_redacted(uri)!r}: use sqlite:///path/to/file.db or "
        "postgresql://user@host/db (postgresql+psycopg:// and postgresql+psycopg2:// work too).",
        "INVALID_PARAMETER_VALUE",
    )


def _redacted(uri: str) -> str:
    """The URI without a password, for error messages."""
    scheme, sep, rest = uri.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if sep and at and ":" in userinfo:
        return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"
    return uri


def sqlite_file(uri: str) -> str | None:
    """The database file of a ``sqlite:///`` URI (``None`` for other backends and memory)."""
    if not uri.startswith("sqlite:"):
        return None
    path = uri.split("///", 1)[1] if "///" in uri else ""
    return path if path and path != ":memory:" else None


def _sqlite_engine(uri: str) -> Engine:
    path = uri.split("///", 1)[1] if "///" in uri else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        uri,
        # One connection per checkout is cheap for SQLite and avoids sharing across threads.
        poolclass=NullPool if path in ("", ":memory:") else None,
        connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (see below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        _enable_wal(cur)
        # NORMAL in WAL mode: a commit survives any process crash; only an OS crash or power
        # loss can drop the last transactions.
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-65536")
        # Reads map the file instead of copying pages through read(): the random primary-key
        # probes of a filtered search get about a third cheaper. Address space, not memory.
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        # On the driver: every write transaction starts here, and SQLAlchemy's execution path
        # costs more than the statement.
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _enable_wal(cur: Any) -> None:
    """WAL is a property of the file, set once. Switching can fail with "database is locked"
    without waiting on the busy handler while another process creates the file: retry briefly."""
    import sqlite3

    if cur.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    for attempt in range(200):
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 199:
                raise
            time.sleep(0.05)


def write_options() -> dict[str, bool]:
    """Execution options for a connection that will write (BEGIN IMMEDIATE on SQLite)."""
    return {_IMMEDIATE: True}


_upgrade_lock = threading.Lock()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine) -> None:
    """Create or upgrade the database to HEAD_REVISION; refuse a database newer than this code.

    The common case (already current) costs one small query and never imports alembic.
    """
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        return
    with _upgrade_lock:
        revision = current_revision(engine)
        if revision == HEAD_REVISION:
            return
        from labtrack.store.migrations import known_revisions, upgrade

        if revision is not None and revision not in known_revisions():
            raise LabtrackException(
                f"The labtrack database is at revision {revision!r}, which this version of "
                "labtrack does not know (it was written by a newer labtrack). Upgrade labtrack.",
                "INTERNAL_ERROR",
            )
        upgrade(engine)
