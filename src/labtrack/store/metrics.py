"""Metric points: ingest into columnar chunks, history pages and chart series.

``metric_chunks`` holds up to ``CHUNK_POINTS`` points of one (run, key) per row as packed
columns (see ARCHITECTURE.md, "Metric history as columnar chunks"): an append writes its points
as a new small chunk and never rewrites settled ones; ``latest_metrics`` keeps each key's latest
point for search. The write path runs a fixed number of prepared statements per batch.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate
from types import SimpleNamespace
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.engine import Dialect

from labtrack._gc import gc_paused
from labtrack.entities import Metric, MetricSeries, PagedList
from labtrack.store import schema as s
from labtrack.store.database import (
    STATEMENT_CACHE,
    Database,
    binds,
    decode_page_token,
    dialect_insert,
    encode_page_token,
    insert_ignore,
    mark_run_stale,
)
from labtrack.store.metric_chunks import Points, chunks_in_order, downsample, latest_point, rechunk
from labtrack.store.prepared import PreparedStatement, in_params
from labtrack.store.runs import require_active_run, run_row

# (key, model_id, dataset_name, dataset_digest): points that share one chunk sequence.
SeriesKey = tuple[str, str | None, str | None, str | None]
# (model_id, dataset_name, dataset_digest) of the points in one chunk row.
ChunkLabel = tuple[str | None, str | None, str | None]
_NO_LABEL: ChunkLabel = (None, None, None)


class HistoryPage(NamedTuple):
    """A page of one metric's history: its points, the metric's total number of points, and
    each point's (model_id, dataset name, dataset digest), or ``None`` when none names any."""

    points: Points
    total: int
    labels: list[ChunkLabel] | None


# Merge a key's small appended chunks once this many follow its last settled chunk: reads stay
# a few dozen rows per key, while an append writes only its own points.
COMPACT_EVERY = 32
# A chunk of at least this many points is settled: never merged again. Merging only until then
# (not until a chunk is full) writes each point of a 100-point-per-batch series twice in all
# instead of three times, and merges carry half the bytes; readers read a few more rows.
SETTLED_POINTS = s.CHUNK_POINTS // 4


def write_metrics(
    conn: Connection, run_id: str, experiment_id: int, metrics: Sequence[Metric]
) -> None:
    """``write_series`` for ``Metric`` objects, in the caller's write transaction."""
    # Group points into series; a series is (key, model, dataset) since chunks carry those.
    rows: dict[SeriesKey, list[tuple[int, int, float]]] = defaultdict(list)
    for m in metrics:
        rows[(m.key, m.model_id, m.dataset_name, m.dataset_digest)].append(
            (m.step, m.timestamp, m.value)
        )
    series = {k: Points.from_tuples(v) for k, v in rows.items()}
    write_series(conn, run_id, experiment_id, series)


def write_series(
    conn: Connection, run_id: str, experiment_id: int, series: dict[SeriesKey, Points]
) -> None:
    """Append points as new chunk rows; never rewrite stored points on the hot path.

    Each batch adds one small chunk per key. Once a key has COMPACT_EVERY small chunks after
    its last settled one (SETTLED_POINTS or more), or a batch fills a chunk, that tail is
    merged with the new points into chunks of up to CHUNK_POINTS, so a point is rewritten a
    few times at most, not on every append.
    Seqs stay dense (0, 1, 2, ...) and in insertion order, which readers rely on.
    """
    if any(k[1] is not None for k in series):
        _attach_to_models(conn, run_id, series)
    # The ingest hot path: a fixed number of prebuilt statements per batch, whatever its size.
    st = _ingest_statements(conn.dialect)
    keys = list(dict.fromkeys(k[0] for k in series))
    state = {
        r[0]: _ChunkState(*r)
        for r in st.chunk_state(len(keys)).rows(conn, {"run": run_id, **in_params("k", keys)})
    }
    new_parts: dict[str, list[tuple[ChunkLabel, Points]]] = {key: [] for key in keys}
    latest_rows: list[dict] = []
    for (key, model_id, ds_name, ds_digest), all_new in series.items():
        if len(all_new) == 0:
            continue
        points = all_new.unique()
        row = state.get(key)
        if row is not None:
            points = _drop_stored(conn, run_id, key, points, row)
        if len(points):
            new_parts[key].append(((model_id, ds_name, ds_digest), points))
        step, ts, value = latest_point(all_new)
        nan = value != value
        latest_rows.append(
            {
                "run_uuid": run_id,
                "key": key,
                "value": 0.0 if nan else value,
                "timestamp": ts,
                "step": step,
                "is_nan": nan,
                "experiment_id": experiment_id,
            }
        )
    # Where each key's new chunks go: after its last one, or over its small tail when
    # that tail is due for merging (COMPACT_EVERY chunks, or a batch that fills a chunk).
    next_seqs: dict[str, int] = {}
    tails: dict[str, int] = {}
    for key, parts in new_parts.items():
        row = state.get(key)
        if not parts:
            continue
        next_seqs[key] = 0 if row is None else row.seq + 1
        tail_start = 0 if row is None else row.last_settled + 1
        tail = next_seqs[key] - tail_start  # all small, and seqs are dense
        added = sum(len(p) for _, p in parts)
        # Crossing a multiple rather than reaching a size: chunks of different models
        # cannot merge, and such a tail must not be rewritten on every batch.
        crossed = (tail + len(parts)) // COMPACT_EVERY > tail // COMPACT_EVERY
        if tail and (added >= s.CHUNK_POINTS or crossed):
            tails[key] = next_seqs[key] = tail_start
    if tails:
        for key, stored in _take_tails(conn, run_id, tails).items():
            new_parts[key] = stored + new_parts[key]
    new_chunks: list[dict] = []
    for key, parts in new_parts.items():
        if not parts:
            continue
        next_seq = next_seqs[key]
        for label, chunk in rechunk(parts, s.CHUNK_POINTS):
            model_id, ds_name, ds_digest = label
            new_chunks.append(
                {
                    "run_uuid": run_id,
                    "key": key,
                    "seq": next_seq,
                    "model_id": model_id,
                    "dataset_name": ds_name,
                    "dataset_digest": ds_digest,
                    **_chunk_values(chunk),
                }
            )
            next_seq += 1
    st.insert_chunk.execute_many(conn, new_chunks)
    if latest_rows:
        st.upsert_latest.execute_many(conn, _merge_latest(latest_rows))
        mark_run_stale(conn, run_id)


def _attach_to_models(conn: Connection, run_id: str, series: dict[SeriesKey, Points]) -> None:
    """Points logged with a model id are also that logged model's metrics (MLflow 3); exact
    repeats (a retried request) are ignored by the primary key.

    A point naming a model this store does not have stays in the run's history with its
    label and is attached to nothing. MLflow's server refuses the whole batch (a foreign-key
    error); here batches are also written from a client's background queue, where refusing
    would lose every other point of the batch after the caller was told it was logged."""
    wanted = sorted({k[1] for k in series if k[1] is not None})
    lm = s.logged_models.c
    found = set(conn.execute(select(lm.model_id).where(lm.model_id.in_(wanted))).scalars())
    rows = []
    for (key, model_id, ds_name, ds_digest), points in series.items():
        if model_id not in found:
            continue
        for step, timestamp, value in zip(
            points.steps.tolist(), points.timestamps.tolist(), points.values.tolist(), strict=True
        ):
            nan = value != value
            rows.append(
                {
                    "model_id": model_id,
                    "key": key,
                    "timestamp": timestamp,
                    "step": step,
                    "run_uuid": run_id,
                    "dataset_name": ds_name or "",
                    "dataset_digest": ds_digest or "",
                    "value": 0.0 if nan else value,
                    "is_nan": nan,
                }
            )
    insert_ignore(conn, s.logged_model_metrics, rows)


def _take_tails(
    conn: Connection, run_id: str, tails: dict[str, int]
) -> dict[str, list[tuple[ChunkLabel, Points]]]:
    """Read and delete the chunks of each key from its given seq on (all of them small),
    for rewriting, in seq order; two statements whatever the number of keys."""
    st = _ingest_statements(conn.dialect)
    # Consecutive chunks of one label are joined as bytes and parsed once: a tail is dozens
    # of small rows, and numpy's per-call cost would outweigh the copying.
    runs: dict[str, list[tuple[ChunkLabel, list[bytes], list[bytes], list[bytes]]]] = {
        key: [] for key in tails
    }
    arg = {"run": run_id, **in_params("k", tails)}
    for key, seq, model_id, ds_name, ds_digest, steps, stamps, values in st.small_chunks(
        len(tails)
    ).rows(conn, arg):
        if seq < tails[key]:
            continue
        label = (model_id, ds_name, ds_digest)
        parts = runs[key]
        if not parts or parts[-1][0] != label:
            parts.append((label, [], [], []))
        parts[-1][1].append(steps)
        parts[-1][2].append(stamps)
        parts[-1][3].append(values)
    out = {
        key: [
            (label, Points.from_blobs(b"".join(s), b"".join(t), b"".join(v)))
            for label, s, t, v in parts
        ]
        for key, parts in runs.items()
    }
    st.delete_tail.execute_many(
        conn, [{"b_run": run_id, "b_key": key, "b_seq": seq} for key, seq in tails.items()]
    )
    return out


def _drop_stored(conn: Connection, run_id: str, key: str, points: Points, state: Any) -> Points:
    """Remove points already stored (a retried request must not duplicate data).

    A stored duplicate has the same step and timestamp, so only chunks overlapping the
    batch in both can hold one. A training loop's new points are past what is stored in
    at least one of the two (fixed timestamps with rising steps, or the reverse), so
    usually nothing is read: without the step bound, a series logged with one timestamp
    re-read all its chunks on every batch.
    """
    lo_step, hi_step, lo_ts, hi_ts, _ = points.bounds()
    if lo_ts > state.key_max_ts or lo_step > state.key_max_step:
        return points
    mc = s.metric_chunks.c
    stored = Points.concat(
        Points.from_blobs(r.steps, r.timestamps, r.values)
        for r in conn.execute(
            select(mc.steps, mc.timestamps, mc["values"]).where(
                mc.run_uuid == run_id,
                mc.key == key,
                mc.min_timestamp <= hi_ts,
                mc.max_timestamp >= lo_ts,
                mc.min_step <= hi_step,
                mc.max_step >= lo_step,
            )
        )
    )
    return points.without(stored)


class Metrics:
    """The metric points of one database's runs."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def log_series(self, run_id: str, series: dict[SeriesKey, Points]) -> None:
        """The fast path for batched clients: points already grouped by series, as columns,
        written in one transaction."""

        def work(conn: Connection) -> None:
            eid = require_active_run(conn, run_id)
            write_series(conn, run_id, eid, series)
            self.db.record_change(conn, "data", eid, run_id)

        self.db.write_retrying(work)

    def read_points(self, run_id: str, key: str) -> Points:
        """All points of a metric, ordered by step then timestamp."""
        mc = s.metric_chunks.c
        with self.db.read() as conn:
            run_row(conn, run_id)
            rows = conn.execute(
                select(mc.steps, mc.timestamps, mc["values"])
                .where(mc.run_uuid == run_id, mc.key == key)
                .order_by(mc.seq)
            ).all()
        return Points.concat(Points.from_blobs(*r) for r in rows).sorted_by_step()

    def read_history_page(
        self, run_id: str, key: str, offset: int, limit: int | None
    ) -> HistoryPage:
        """Points ``offset`` to ``offset + limit`` of the (step, timestamp) order, with the
        model and dataset each names when any point of the page names one.

        When the chunks are in order (each one's points all sort before the next one's, as a
        training loop writes them) only the chunks the page covers are read; otherwise all.
        """
        mc = s.metric_chunks.c
        where = (mc.run_uuid == run_id, mc.key == key)
        with self.db.read() as conn:
            run_row(conn, run_id)
            meta = conn.execute(
                select(
                    mc.seq,
                    mc.n_points,
                    mc.min_step,
                    mc.max_step,
                    mc.min_timestamp,
                    mc.max_timestamp,
                )
                .where(*where)
                .order_by(mc.seq)
            ).all()
            total = sum(r.n_points for r in meta)
            end = total if limit is None else min(total, offset + limit)
            if offset >= end:
                return HistoryPage(Points.empty(), total, None)
            blobs = (
                select(
                    mc.steps,
                    mc.timestamps,
                    mc["values"],
                    mc.model_id,
                    mc.dataset_name,
                    mc.dataset_digest,
                )
                .where(*where)
                .order_by(mc.seq)
            )
            base = 0
            if chunks_in_order([tuple(r[2:]) for r in meta]):
                starts = list(accumulate((r.n_points for r in meta), initial=0))
                first = bisect_right(starts, offset) - 1
                last = bisect_right(starts, end - 1) - 1
                base = starts[first]
                blobs = blobs.where(mc.seq >= meta[first].seq, mc.seq <= meta[last].seq)
            rows = conn.execute(blobs).all()
        chunks = [Points.from_blobs(r[0], r[1], r[2]) for r in rows]
        points = Points.concat(chunks)
        order = points.step_order()
        if order is not None:
            points = points.take(order)
        window = slice(offset - base, end - base)
        labels = None
        chunk_labels: list[ChunkLabel] = [(r[3], r[4], r[5]) for r in rows]
        if any(label != _NO_LABEL for label in chunk_labels):
            # Which chunk each point came from, put through the same order and window.
            source = np.repeat(np.arange(len(chunks)), [len(c) for c in chunks])
            if order is not None:
                source = source[order]
            labels = [chunk_labels[i] for i in source[window].tolist()]
        return HistoryPage(points.take(window), total, labels)

    def get_metric_history_points(
        self,
        run_id: str,
        key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> tuple[HistoryPage, str | None]:
        """A page of a metric's history as columns, and the next page's token."""
        offset = decode_page_token(page_token)
        page = self.read_history_page(run_id, key, offset, max_results)
        end = offset + len(page.points)
        return page, (encode_page_token(end) if end < page.total else None)

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        page, token = self.get_metric_history_points(run_id, key, max_results, page_token)
        p = page.points
        with gc_paused():
            columns = zip(p.steps.tolist(), p.timestamps.tolist(), p.values.tolist(), strict=True)
            if page.labels is None:
                items = [Metric(key, v, t, st) for st, t, v in columns]
            else:
                items = [
                    Metric(key, v, t, st, *label)
                    for (st, t, v), label in zip(columns, page.labels, strict=True)
                ]
        return PagedList(items, token)

    def get_metric_series(
        self,
        run_id: str,
        key: str,
        max_points: int | None = 2000,
        x: str = "step",
        x_min: float | None = None,
        x_max: float | None = None,
    ) -> MetricSeries:
        """A chart-ready series: optionally a zoomed x range, downsampled keeping min/max."""
        points = self.read_points(run_id, key)
        if x == "timestamp":
            order = points.timestamps.argsort(kind="stable")
            points = points.take(order)
        total = len(points)
        xs = points.steps if x == "step" else points.timestamps
        if x_min is not None or x_max is not None:
            lo = -float("inf") if x_min is None else x_min
            hi = float("inf") if x_max is None else x_max
            points = points.take((xs >= lo) & (xs <= hi))
        mins = maxs = None
        if max_points is not None and len(points) > max_points:
            points, mins_a, maxs_a = downsample(points, max_points, x)
            mins, maxs = mins_a.tolist(), maxs_a.tolist()
        return MetricSeries(
            run_id=run_id,
            key=key,
            steps=points.steps.tolist(),
            timestamps=points.timestamps.tolist(),
            values=points.values.tolist(),
            mins=mins,
            maxs=maxs,
            total_points=total,
        )


class _ChunkState(NamedTuple):
    """A key's chunks at a glance (see ``chunk_state``)."""

    key: str
    seq: int
    key_max_ts: int
    key_max_step: int
    last_settled: int


# Statements of the write paths, prepared once per dialect (see labtrack.store.prepared): every


_CHUNK_COLUMNS = (
    "run_uuid",
    "key",
    "seq",
    "model_id",
    "dataset_name",
    "dataset_digest",
    "n_points",
    "min_step",
    "max_step",
    "min_timestamp",
    "max_timestamp",
    "steps",
    "timestamps",
    "values",
)
_LATEST_COLUMNS = ("run_uuid", "key", "value", "timestamp", "step", "is_nan", "experiment_id")


@lru_cache(maxsize=STATEMENT_CACHE)
def _ingest_statements(dialect: Dialect) -> SimpleNamespace:
    """Statements of the ingest path. ``chunk_state(n)`` and ``small_chunks(n)`` take ``run``
    and the ``n`` keys ``k0 .. k{n-1}`` (see ``in_params``)."""
    mc = s.metric_chunks.c
    upsert = dialect_insert(dialect.name)(s.latest_metrics).values(binds(_LATEST_COLUMNS))
    latest_cols = ("value", "timestamp", "step", "is_nan")
    settled: Any = literal_column(str(SETTLED_POINTS))  # in the SQL: no parameter to fill

    def keys_in(n: int) -> Any:
        return mc.key.in_([bindparam(f"k{i}") for i in range(n)])

    @lru_cache(maxsize=64)
    def chunk_state(n: int) -> PreparedStatement:
        # Per key: the last seq, the newest timestamp and step stored (to skip the duplicate
        # check) and the seq of the last settled chunk (-1 if none); no blobs are read. Writers
        # to one run are serialized by the run row lock.
        return PreparedStatement(
            select(
                mc.key,
                func.max(mc.seq),
                func.max(mc.max_timestamp),
                func.max(mc.max_step),
                func.max(case((mc.n_points >= settled, mc.seq), else_=literal_column("-1"))),
            )
            .where(mc.run_uuid == bindparam("run"), keys_in(n))
            .group_by(mc.key),
            dialect,
        )

    @lru_cache(maxsize=64)
    def small_chunks(n: int) -> PreparedStatement:
        # Rewriting tails: the small chunks of some keys, in seq order, then deleting them.
        return PreparedStatement(
            select(
                mc.key,
                mc.seq,
                mc.model_id,
                mc.dataset_name,
                mc.dataset_digest,
                mc.steps,
                mc.timestamps,
                mc["values"],
            )
            .where(mc.run_uuid == bindparam("run"), keys_in(n), mc.n_points < settled)
            .order_by(mc.key, mc.seq),
            dialect,
        )

    return SimpleNamespace(
        chunk_state=chunk_state,
        small_chunks=small_chunks,
        delete_tail=PreparedStatement(
            delete(s.metric_chunks).where(
                mc.run_uuid == bindparam("b_run"),
                mc.key == bindparam("b_key"),
                mc.seq >= bindparam("b_seq"),
            ),
            dialect,
        ),
        insert_chunk=PreparedStatement(
            insert(s.metric_chunks).values(binds(_CHUNK_COLUMNS)), dialect
        ),
        upsert_latest=PreparedStatement(
            upsert.on_conflict_do_update(
                index_elements=["run_uuid", "key"],
                set_={c: upsert.excluded[c] for c in latest_cols},
                where=_newer_than(s.latest_metrics, upsert.excluded),
            ),
            dialect,
        ),
    )


def _chunk_values(p: Points) -> dict[str, Any]:
    steps, timestamps, values = p.blobs()
    b = p.bounds()
    return {
        "n_points": len(p),
        "min_step": b.min_step,
        "max_step": b.max_step,
        "min_timestamp": b.min_timestamp,
        "max_timestamp": b.max_timestamp,
        "steps": steps,
        "timestamps": timestamps,
        "values": values,
    }


def _latest_rank(row: dict) -> tuple:
    return (row["step"], row["timestamp"], 0 if row["is_nan"] else 1, row["value"])


def _merge_latest(rows: list[dict]) -> list[dict]:
    """One row per key (a key can appear in several series of one batch)."""
    best: dict[str, dict] = {}
    for row in rows:
        cur = best.get(row["key"])
        if cur is None or _latest_rank(row) > _latest_rank(cur):
            best[row["key"]] = row
    return list(best.values())


def _newer_than(table: Any, excluded: Any) -> Any:
    """ON CONFLICT ... WHERE: replace the latest value only with a later point."""
    t = table.c
    return or_(
        excluded.step > t.step,
        and_(excluded.step == t.step, excluded.timestamp > t.timestamp),
        and_(
            excluded.step == t.step,
            excluded.timestamp == t.timestamp,
            or_(
                and_(t.is_nan, ~excluded.is_nan),
                and_(~t.is_nan, ~excluded.is_nan, excluded.value > t.value),
            ),
        ),
    )
