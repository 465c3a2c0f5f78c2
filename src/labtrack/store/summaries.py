"""Run summaries: ``runs.summary`` (params, tags and latest metric points as one JSON document)
and ``runs.run_json`` (the whole run as the wire encodes it), rewritten from the child tables.

The child tables stay the system of record; a summary is a copy for fast reads, rewritten in the
writer's transaction (``Database.write`` calls ``refresh_summary`` for every run marked stale),
so readers never see the two disagree.
"""

from __future__ import annotations

import math
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, or_, select, update
from sqlalchemy.engine import Dialect

from labtrack.entities.wire import run_data_json_bytes, run_json_bytes
from labtrack.store import schema as s
from labtrack.store.prepared import PreparedStatement

# A run's params, tags and latest points (``key -> [value, timestamp, step]``).
SummaryParts = tuple[dict[str, str], dict[str, str], dict[str, list[Any]]]


def run_info_columns() -> tuple[Any, ...]:
    """The ``runs`` columns of a ``RunInfo``, in its field order."""
    rc = s.runs.c
    return (
        rc.run_uuid,
        rc.experiment_id,
        rc.name,
        rc.user_id,
        rc.status,
        rc.start_time,
        rc.end_time,
        rc.artifact_uri,
        rc.lifecycle_stage,
    )


def has_inputs_or_outputs() -> Any:
    """Whether the run has dataset or model inputs or model outputs (which summaries do not
    hold)."""
    rc = s.runs.c
    return or_(
        *(
            select(t.c.run_uuid).where(t.c.run_uuid == rc.run_uuid).exists()
            for t in (s.run_inputs, s.run_model_inputs, s.run_outputs)
        )
    )


@lru_cache(maxsize=16)
def _statements(dialect: Dialect) -> SimpleNamespace:
    """What a summary refresh reads and writes; every statement takes ``run``."""
    run: Any = bindparam("run")
    pc, tc, lm = s.params.c, s.tags.c, s.latest_metrics.c
    return SimpleNamespace(
        params=PreparedStatement(select(pc.key, pc.value).where(pc.run_uuid == run), dialect),
        tags=PreparedStatement(select(tc.key, tc.value).where(tc.run_uuid == run), dialect),
        metrics=PreparedStatement(
            select(lm.key, lm.value, lm.timestamp, lm.step, lm.is_nan).where(lm.run_uuid == run),
            dialect,
        ),
        # The RunInfo fields, then whether the run has dataset inputs or model outputs. Locked
        # (PostgreSQL: NO KEY UPDATE, see runs._LOCKS) before the child tables are read, so
        # that each refresh reads what the previous one committed.
        info=PreparedStatement(
            select(*run_info_columns(), has_inputs_or_outputs())
            .where(s.runs.c.run_uuid == run)
            .with_for_update(key_share=True, of=s.runs),
            dialect,
        ),
        update=PreparedStatement(
            update(s.runs)
            .where(s.runs.c.run_uuid == run)
            .values(summary=bindparam("doc"), run_json=bindparam("run_json")),
            dialect,
        ),
    )


def summary_from_tables(conn: Connection, run_id: str) -> SummaryParts:
    """The run's params, tags and latest points, read from the child tables."""
    st = _statements(conn.dialect)
    arg = {"run": run_id}
    params = dict(st.params.rows(conn, arg))
    tags = dict(st.tags.rows(conn, arg))
    nan = float("nan")
    points = {
        key: [nan if is_nan else value, ts, step]
        for key, value, ts, step, is_nan in st.metrics.rows(conn, arg)
    }
    return params, tags, points


def summary_parts(doc: str) -> SummaryParts:
    """The parts of a stored summary document."""
    params, tags, points, nonfinite = orjson.loads(doc)
    for key, name in nonfinite.items():  # "nan", "inf" or "-inf", as str() wrote them
        points[key][0] = float(name)
    return params, tags, points


def refresh_summary(conn: Connection, run_id: str) -> None:
    """Rewrite the run's summary document and stored JSON from its child tables."""
    st = _statements(conn.dialect)
    # Runs with inputs or model outputs are encoded whole by search (no document).
    info = st.info.first(conn, {"run": run_id})
    assert info is not None  # the writer holds the run
    params, tags, points = summary_from_tables(conn, run_id)
    run_json = None
    if not info[-1]:
        run_json = run_json_bytes(info[:-1], run_data_json_bytes(params, tags, points))
    # JSON has no NaN or infinities: those values are named apart (0.0 in their place).
    nonfinite = {k: str(p[0]) for k, p in points.items() if not math.isfinite(p[0])}
    for key in nonfinite:
        points[key][0] = 0.0
    doc = orjson.dumps([params, tags, points, nonfinite]).decode()
    st.update.run(conn, {"run": run_id, "doc": doc, "run_json": run_json})
