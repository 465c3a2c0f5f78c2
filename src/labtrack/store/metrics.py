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
from itertools import accumulate, pairwise
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
    text,
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
from labtrack.store.runs import lock_run_for_write, require_active_run, run_row

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


# Merge a key's unsettled (appended) chunks once it has this many: reads stay a few dozen rows
# per key, while an append writes only its own points.
COMPACT_EVERY = 32
# An appended chunk of at least this many points is settled at once: never merged. Merged
# chunks are always settled, so each point is written twice at most.
SETTLED_POINTS = s.CHUNK_POINTS // 4
# A merge cuts where consecutive steps jump by more than this many times the median gap.
GAP_FACTOR = 16


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

    Each batch adds one chunk per series (settled at once when it holds SETTLED_POINTS or
    more). Once a key has COMPACT_EVERY unsettled chunks, they are merged, sorted by step, into
    settled chunks of up to CHUNK_POINTS, cut where the steps jump (see ``_merge_pieces``): a
    point is written twice at most.

    Concurrency (PostgreSQL; SQLite's writers take turns): the caller holds the run row in KEY
    SHARE mode, so writers of one run append in parallel. Chunk seqs come from one sequence,
    a merge of a key's chunks is done by whoever gets its advisory lock (the others skip it),
    and a batch locks what a retry of it would lock (``_lock_retries``) before looking for its
    points. Only a batch that moves a key's latest point takes the run row for writing, late,
    to update ``latest_metrics`` and the run's summary.
    """
    if any(k[1] is not None for k in series):
        _attach_to_models(conn, run_id, series)
    # The ingest hot path: a fixed number of prebuilt statements per batch, whatever its size.
    st = _ingest_statements(conn.dialect)
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        _lock_retries(conn, run_id, series)
    keys = list(dict.fromkeys(k[0] for k in series))
    state = {
        r[0]: _ChunkState(*r)
        for r in st.chunk_state(len(keys)).rows(conn, {"run": run_id, **in_params("k", keys)})
    }
    new_chunks: list[tuple[str, ChunkLabel, Points]] = []
    latest_rows: list[dict] = []
    for (key, model_id, ds_name, ds_digest), all_new in series.items():
        if len(all_new) == 0:
            continue
        points = all_new.unique()
        row = state.get(key)
        if row is not None:
            points = _drop_stored(conn, run_id, key, points, row)
        if len(points):
            for label, chunk in rechunk([((model_id, ds_name, ds_digest), points)], s.CHUNK_POINTS):
                new_chunks.append((key, label, chunk))
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
    seqs = _new_seqs(conn, state, [key for key, _, _ in new_chunks])
    # Merge a key's unsettled chunks when it has COMPACT_EVERY of them, or when this batch
    # fills a chunk (its points then go through the merge with them).
    unsettled = {key: row.unsettled for key, row in state.items()}
    added: dict[str, int] = defaultdict(int)
    small: dict[str, int] = defaultdict(int)
    for key, _, chunk in new_chunks:
        added[key] += len(chunk)
        small[key] += len(chunk) < SETTLED_POINTS
    due = {
        key
        for key in added
        if unsettled.get(key, 0) + small[key] >= COMPACT_EVERY
        or (unsettled.get(key, 0) and added[key] >= s.CHUNK_POINTS)
    }
    rows = [
        _chunk_row(run_id, key, seq, label, chunk, len(chunk) >= SETTLED_POINTS and key not in due)
        for (key, label, chunk), seq in zip(new_chunks, seqs, strict=True)
    ]
    st.insert_chunk.execute_many(conn, rows)
    if due:
        _merge_unsettled(conn, run_id, sorted(due))
    if latest_rows:
        newer = _newer_latest(conn, run_id, _merge_latest(latest_rows))
        if newer:
            # The run row before any latest_metrics row: every writer takes them in this
            # order, and the summary refreshed before commit then reads committed state.
            lock_run_for_write(conn, run_id)
            st.upsert_latest.execute_many(conn, newer)
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


def _chunk_row(
    run_id: str, key: str, seq: int, label: ChunkLabel, chunk: Points, settled: bool
) -> dict[str, Any]:
    model_id, ds_name, ds_digest = label
    return {
        "run_uuid": run_id,
        "key": key,
        "seq": seq,
        "model_id": model_id,
        "dataset_name": ds_name,
        "dataset_digest": ds_digest,
        "settled": settled,
        **_chunk_values(chunk),
    }


def _new_seqs(conn: Connection, state: dict[str, _ChunkState], keys: list[str]) -> list[int]:
    """A seq for each new chunk of ``keys`` (in order), after every stored chunk of its key."""
    if not keys:
        return []
    if conn.dialect.name == "postgresql":
        drawn = conn.execute(
            text("SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :n)"),
            {"seq": s.METRIC_CHUNK_SEQUENCE, "n": len(keys)},
        ).scalars()
        return sorted(int(x) for x in drawn)
    # SQLite: writers take turns, so the next number per key is free.
    nxt = {key: row.seq + 1 for key, row in state.items()}
    out = []
    for key in keys:
        seq = nxt.get(key, 0)
        nxt[key] = seq + 1
        out.append(seq)
    return out


def _lock_retries(conn: Connection, run_id: str, series: dict[SeriesKey, Points]) -> None:
    """PostgreSQL: take, for each series, a transaction lock named by (run, key, first step).

    A retried request carries the same points as the original, so it waits here until the
    original commits or rolls back, and then finds its points stored (or not). Batches of
    different steps do not wait for each other.
    """
    names = sorted(
        {f"{run_id}/{key[0]}/{int(p.bounds().min_step)}" for key, p in series.items() if len(p)}
    )
    if names:
        conn.execute(
            text(
                "SELECT count(pg_advisory_xact_lock(hashtextextended(n, 0))) "
                "FROM unnest(CAST(:names AS text[])) WITH ORDINALITY AS t(n, i)"
            ),
            {"names": names},
        )


def _merge_unsettled(conn: Connection, run_id: str, keys: list[str]) -> None:
    """Merge each key's unsettled chunks into settled ones, sorted by step.

    On PostgreSQL only one writer merges a key at a time (an advisory lock it does not wait
    for: a writer that does not get it leaves the merge to the next batch); chunks that other
    writers have not committed yet are not seen, and stay for the next merge.
    """
    if conn.dialect.name == "postgresql":
        got = conn.execute(
            text(
                "SELECT k FROM unnest(CAST(:keys AS text[])) AS t(k) "
                "WHERE pg_try_advisory_xact_lock(hashtextextended('merge/' || :run || '/' || k, 0))"
            ),
            {"keys": keys, "run": run_id},
        ).scalars()
        keys = sorted(got)
        if not keys:
            return
    st = _ingest_statements(conn.dialect)
    arg = {"run": run_id, **in_params("k", keys)}
    # Per key: its unsettled chunks in seq order, consecutive chunks of one label joined.
    found: dict[str, list[int]] = {key: [] for key in keys}
    runs: dict[str, list[tuple[ChunkLabel, list[bytes], list[bytes], list[bytes]]]] = {
        key: [] for key in keys
    }
    for key, seq, model_id, ds_name, ds_digest, steps, stamps, values in st.unsettled_chunks(
        len(keys)
    ).rows(conn, arg):
        found[key].append(seq)
        label = (model_id, ds_name, ds_digest)
        parts = runs[key]
        if not parts or parts[-1][0] != label:
            parts.append((label, [], [], []))
        parts[-1][1].append(steps)
        parts[-1][2].append(stamps)
        parts[-1][3].append(values)
    st.delete_chunk.execute_many(
        conn,
        [{"b_run": run_id, "b_key": key, "b_seq": seq} for key in keys for seq in found[key]],
    )
    rows = []
    for key in keys:
        free = iter(found[key])  # the merged chunks take the smallest seqs of what they replace
        for label, s_, t_, v_ in runs[key]:
            merged = Points.from_blobs(b"".join(s_), b"".join(t_), b"".join(v_))
            for piece in _merge_pieces(merged.sorted_by_step(), len(s_)):
                rows.append(_chunk_row(run_id, key, next(free), label, piece, True))
    st.insert_chunk.execute_many(conn, rows)


def _merge_pieces(p: Points, at_most: int) -> list[Points]:
    """Cut step-sorted points into at most ``at_most`` chunks of up to CHUNK_POINTS, first
    where the steps jump (gaps over GAP_FACTOR times the median gap, largest first).

    Writers that interleave disjoint step ranges (distributed training) then get a chunk per
    range instead of chunks spanning all ranges, which every later batch would have to read
    to find duplicates.
    """
    n = len(p)
    size_cuts = max(1, -(-n // s.CHUNK_POINTS))
    gaps = np.diff(p.steps)
    cuts: list[int] = []
    if len(gaps) and at_most > size_cuts:
        median = max(float(np.median(gaps)), 1.0)
        candidates = np.flatnonzero(gaps > GAP_FACTOR * median)
        # Largest jumps first, as many as the budget of chunks allows.
        ranked = candidates[np.argsort(-gaps[candidates], kind="stable")]
        for i in ranked.tolist():
            trial = sorted([*cuts, i + 1])
            bounds = [0, *trial, n]
            pieces = sum(-(-(b - a) // s.CHUNK_POINTS) for a, b in pairwise(bounds))
            if pieces <= at_most:
                cuts = trial
    out: list[Points] = []
    for a, b in pairwise([0, *cuts, n]):
        for start in range(a, b, s.CHUNK_POINTS):
            out.append(p.take(slice(start, min(b, start + s.CHUNK_POINTS))))
    return out


def _newer_latest(conn: Connection, run_id: str, rows: list[dict]) -> list[dict]:
    """The rows that would replace the stored latest point of their key. Read without a
    lock: a stored latest point only ever moves forward, so a row older than what this read
    sees stays older."""
    st = _ingest_statements(conn.dialect)
    keys = [r["key"] for r in rows]
    stored = {
        key: (step, ts, 0 if is_nan else 1, value)
        for key, step, ts, is_nan, value in st.latest_of(len(keys)).rows(
            conn, {"run": run_id, **in_params("k", keys)}
        )
    }
    return [r for r in rows if r["key"] not in stored or _latest_rank(r) > stored[r["key"]]]


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
            eid = require_active_run(conn, run_id, shared=True)
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
    unsettled: int


# Statements of the write paths, prepared once per dialect (see labtrack.store.prepared).

_CHUNK_COLUMNS = (
    "run_uuid",
    "key",
    "seq",
    "model_id",
    "dataset_name",
    "dataset_digest",
    "settled",
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
    """Statements of the ingest path. ``chunk_state(n)``, ``unsettled_chunks(n)`` and
    ``latest_of(n)`` take ``run`` and the ``n`` keys ``k0 .. k{n-1}`` (see ``in_params``)."""
    mc, lm = s.metric_chunks.c, s.latest_metrics.c
    upsert = dialect_insert(dialect.name)(s.latest_metrics).values(binds(_LATEST_COLUMNS))
    latest_cols = ("value", "timestamp", "step", "is_nan")
    one: Any = literal_column("1")  # in the SQL: no parameter to fill
    zero: Any = literal_column("0")

    def keys_in(column: Any, n: int) -> Any:
        return column.in_([bindparam(f"k{i}") for i in range(n)])

    @lru_cache(maxsize=64)
    def chunk_state(n: int) -> PreparedStatement:
        # Per key: the last seq, the newest timestamp and step stored (to skip the duplicate
        # check) and the number of unsettled chunks; no blobs are read.
        return PreparedStatement(
            select(
                mc.key,
                func.max(mc.seq),
                func.max(mc.max_timestamp),
                func.max(mc.max_step),
                func.sum(case((mc.settled, zero), else_=one)),
            )
            .where(mc.run_uuid == bindparam("run"), keys_in(mc.key, n))
            .group_by(mc.key),
            dialect,
        )

    @lru_cache(maxsize=64)
    def unsettled_chunks(n: int) -> PreparedStatement:
        # Merging: the unsettled chunks of some keys, in seq order, then deleting them.
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
            .where(mc.run_uuid == bindparam("run"), keys_in(mc.key, n), ~mc.settled)
            .order_by(mc.key, mc.seq),
            dialect,
        )

    @lru_cache(maxsize=64)
    def latest_of(n: int) -> PreparedStatement:
        return PreparedStatement(
            select(lm.key, lm.step, lm.timestamp, lm.is_nan, lm.value).where(
                lm.run_uuid == bindparam("run"), keys_in(lm.key, n)
            ),
            dialect,
        )

    return SimpleNamespace(
        chunk_state=chunk_state,
        unsettled_chunks=unsettled_chunks,
        latest_of=latest_of,
        delete_chunk=PreparedStatement(
            delete(s.metric_chunks).where(
                mc.run_uuid == bindparam("b_run"),
                mc.key == bindparam("b_key"),
                mc.seq == bindparam("b_seq"),
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
