"""The change feed never skips a change committed after a later-numbered one (PostgreSQL).

Writers on PostgreSQL (threads of one server, or several replicas) commit concurrently. If a
change's number were drawn when it is written rather than when its transaction commits, a
poller could read number 11 (committed) while 10 was still in flight, move its cursor past
10, and never see it: the dashboard would miss a run. Changes are numbered in commit order.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.postgres


def test_a_change_committed_late_is_not_skipped(pg_database: str) -> None:
    from conftest import _reset_pg
    from labtrack.store.database import Database

    _reset_pg(pg_database)
    db = Database(pg_database)
    try:
        start, _ = db.changes_since(None)
        with db.write() as slow:
            db.record_change(slow, "run", 0, "slow-writer")
            # Another writer (another thread, another replica) commits first.
            with db.write() as quick:
                db.record_change(quick, "run", 0, "quick-writer")
            cursor, seen = db.changes_since(start)
        _, rest = db.changes_since(cursor)
        assert [c["run_id"] for c in seen] == ["quick-writer"]
        assert [c["run_id"] for c in rest] == ["slow-writer"]
    finally:
        db.dispose()
