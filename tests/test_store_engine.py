"""How the store talks to its databases: statements prepared for the driver, and background
WAL checkpoints for the server's long-lived SQLite writer."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from labtrack.entities import Metric
from labtrack.store import schema
from labtrack.store.checkpoints import BACKSTOP_PAGES, EVERY_COMMITS
from labtrack.store.prepared import PreparedStatement, in_params
from labtrack.store.tracking_store import TrackingStore


def test_prepared_statements_read_write_and_raise_sqlalchemy_errors(store):
    """On both backends: dict parameters, rows as tuples, and a driver's constraint error
    raised as SQLAlchemy's IntegrityError (the ingest retry on PostgreSQL relies on it)."""
    dialect = store.engine.dialect
    add = PreparedStatement(
        insert(schema.store_settings).values(key=bindparam("key"), value=bindparam("value")),
        dialect,
    )
    keys = [f"k{i}" for i in range(3)]
    read = PreparedStatement(
        select(schema.store_settings.c.key, schema.store_settings.c.value)
        .where(schema.store_settings.c.key.in_([bindparam(f"k{i}") for i in range(3)]))
        .order_by(schema.store_settings.c.key),
        dialect,
    )
    with store.engine.begin() as conn:
        add.execute_many(conn, [{"key": k, "value": k.upper()} for k in keys])
        assert read.rows(conn, in_params("k", keys)) == [(k, k.upper()) for k in keys]
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        assert add.run(conn, {"key": "k0", "value": "again"}) == 1
    with store.engine.connect() as conn:  # the failed transaction left nothing behind
        assert read.first(conn, in_params("k", keys)) == ("k0", "K0")


def test_prepared_statements_take_every_value_as_a_parameter(store):
    # A Python constant in an expression binds a value SQLAlchemy would fill in on each call.
    stmt = select(schema.runs.c.run_uuid).where(schema.runs.c.start_time > 5)
    with pytest.raises(ValueError, match="bound constants"):
        PreparedStatement(stmt, store.engine.dialect)


def test_background_checkpoints_copy_the_log_outside_commits(tmp_path):
    path = tmp_path / "labtrack.db"
    store = TrackingStore(f"sqlite:///{path}", str(tmp_path / "a"), background_checkpoints=True)
    checkpointer = store.db.checkpointer
    assert checkpointer is not None
    with store.engine.connect() as conn:
        # Commits checkpoint only as a backstop, should the thread fall behind.
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == BACKSTOP_PAGES
    run_id = store.create_run("0", "u", 1, {}, "r").info.run_id
    for i in range(EVERY_COMMITS * 3):
        store.log_batch(run_id, [Metric("m", float(i), i, i)])
    for _ in range(100):  # the thread runs on its own time
        if checkpointer.checkpoints >= 1:
            break
        checkpointer._thread.join(0.05)
    assert checkpointer.checkpoints >= 1
    store.dispose()
    assert not checkpointer._thread.is_alive()
    # Everything committed is in the file.
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM latest_metrics").fetchone() == (1,)
    reopened = TrackingStore(f"sqlite:///{path}")
    assert len(reopened.read_points(run_id, "m")) == EVERY_COMMITS * 3
    reopened.dispose()


def test_stores_without_background_checkpoints_keep_sqlites_default(tmp_path):
    store = TrackingStore(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert store.db.checkpointer is None
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    store.dispose()
