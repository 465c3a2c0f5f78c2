"""Run search: ``search_runs`` (runs), ``search_runs_json`` (runs as stored wire JSON) and
``count_runs``, over the statements ``labtrack.store.search.sql`` compiles from a filter.

The statements of a search are built once per distinct search (an LRU bounded by the filter
characters it holds); a search ordered by a
metric is several statements (tiers) read one after another, paged with offsets.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, func, select

from labtrack._gc import gc_paused
from labtrack.entities import PagedList, ViewType
from labtrack.entities.wire import run_to_json
from labtrack.errors import invalid
from labtrack.store import schema as s
from labtrack.store.database import (
    Database,
    decode_page_token,
    encode_page_token,
    parse_experiment_id,
)
from labtrack.store.runs import RUN_ROW_COLUMNS, load_runs, runs_from_rows

SEARCH_MAX_RESULTS = 50_000
# For search_runs_json: the run's id and its stored JSON.
RUN_WIRE_COLUMNS: tuple[Any, ...] = (s.runs.c.run_uuid, s.runs.c.run_json)


class RunSearch:
    """Searching and counting the runs of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def search_runs(
        self,
        experiment_ids: Sequence[str | int],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        with self.db.read() as conn, gc_paused():
            # The search reads whole run rows (summaries included) as it finds them.
            rows, token = _search_runs(
                conn,
                RUN_ROW_COLUMNS,
                experiment_ids,
                filter_string,
                run_view_type,
                max_results,
                order_by,
                page_token,
            )
            return PagedList(runs_from_rows(conn, rows), token)

    def search_runs_json(
        self,
        experiment_ids: Sequence[str | int],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[bytes], str | None]:
        """``search_runs`` with each run already encoded as ``wire.run_to_json`` would encode
        it: REST answers splice each run's stored ``run_json`` instead of parsing its summary
        and encoding it again. Runs without it (those with inputs or outputs, after a bulk
        lifecycle change, or last written before revision 0002) take the general path."""
        with self.db.read() as conn, gc_paused():
            rows, token = _search_runs(
                conn,
                RUN_WIRE_COLUMNS,
                experiment_ids,
                filter_string,
                run_view_type,
                max_results,
                order_by,
                page_token,
            )
            encoded: list[bytes] = []
            general: dict[str, int] = {}
            for i, (run_id, run_json) in enumerate(rows):
                if run_json is None:
                    general[run_id] = i
                    encoded.append(b"")
                else:
                    encoded.append(run_json)
            if general:
                for run in load_runs(conn, list(general)):
                    encoded[general[run.info.run_id]] = orjson.dumps(run_to_json(run))
        return encoded, token

    def count_runs(
        self,
        experiment_ids: Sequence[str | int],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> dict[str, int]:
        """How many runs of each experiment match ``filter_string`` (every listed experiment
        gets an entry, 0 when it has none or does not exist)."""
        eids = tuple(parse_experiment_id(e) for e in experiment_ids)
        (stmt,) = _run_search_statements(
            eids, tuple(run_view_type.stages()), filter_string or "", (), (s.runs.c.experiment_id,)
        )
        found = stmt.subquery()
        counts = {str(e): 0 for e in eids}
        with self.db.read() as conn:
            for eid, n in conn.execute(
                select(found.c.experiment_id, func.count()).group_by(found.c.experiment_id)
            ):
                counts[str(eid)] = int(n)
        return counts


def _search_runs(
    conn: Connection,
    columns: Sequence[Any],
    experiment_ids: Sequence[str | int],
    filter_string: str | None,
    run_view_type: ViewType,
    max_results: int,
    order_by: list[str] | None,
    page_token: str | None,
) -> tuple[list[Any], str | None]:
    if max_results > SEARCH_MAX_RESULTS:
        raise invalid(
            f"Invalid value {max_results} for parameter 'max_results' supplied. "
            f"It must be at most {SEARCH_MAX_RESULTS}."
        )
    eids = tuple(parse_experiment_id(e) for e in experiment_ids)
    offset = decode_page_token(page_token)
    statements = _run_search_statements(
        eids,
        tuple(run_view_type.stages()),
        filter_string or "",
        tuple(order_by or ()),
        tuple(columns),
    )
    rows = _concatenated_page(conn, statements, offset, max_results + 1)
    more = len(rows) > max_results
    return rows[:max_results], encode_page_token(offset + max_results) if more else None


# The statements of a search hold memory in proportion to its filter: ~0.5 KB of SQLAlchemy
# objects per filter character (measured: 1.35 MB for 100 conditions in 2,700 characters).
# The cache is bounded by the filter characters it holds as well as by its entries, so distinct
# long filters (each new literal is a new entry) cannot pin hundreds of MB: at most ~16 MB for
# their characters. Longer searches (an IN list of run ids) are seldom repeated: never cached.
CACHED_FILTER_CHARS = 4096
CACHE_FILTER_CHARS = 32_768
CACHE_ENTRIES = 256


class _StatementCache:
    """LRU of built search statements, bounded by entries and by total filter characters."""

    def __init__(self, max_entries: int, max_chars: int) -> None:
        self.max_entries, self.max_chars = max_entries, max_chars
        self._entries: OrderedDict[tuple[Any, ...], tuple[list[Any], int]] = OrderedDict()
        self.chars = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[Any, ...], chars: int, build: Callable[[], list[Any]]) -> list[Any]:
        """The statements cached under ``key``, else ``build()``'s, cached at a cost of
        ``chars`` (the filter's length) per statement."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit[0]
        built = build()  # outside the lock: searches of other filters need not wait
        with self._lock:
            if key not in self._entries:
                cost = max(chars, 1) * len(built)
                self._entries[key] = (built, cost)
                self.chars += cost
                while len(self._entries) > self.max_entries or self.chars > self.max_chars:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self.chars -= dropped
        return built


_statement_cache = _StatementCache(CACHE_ENTRIES, CACHE_FILTER_CHARS)


def _run_search_statements(
    experiment_ids: tuple[int, ...],
    stages: tuple[str, ...],
    filter_string: str,
    order_by: tuple[str, ...],
    columns: tuple[Any, ...],
) -> list[Any]:
    """The statements of a run search, built once per distinct (short) search: building them
    costs more than a fast search."""
    args = (experiment_ids, stages, filter_string, order_by, columns)
    if len(filter_string) > CACHED_FILTER_CHARS:
        return _build_statements(*args)
    return _statement_cache.get(args, len(filter_string), lambda: _build_statements(*args))


def _build_statements(
    experiment_ids: tuple[int, ...],
    stages: tuple[str, ...],
    filter_string: str,
    order_by: tuple[str, ...],
    columns: tuple[Any, ...],
) -> list[Any]:
    from labtrack.store.search.sql import run_search_statements

    lifecycle = s.runs.c.lifecycle_stage.in_(stages)
    return run_search_statements(
        experiment_ids, filter_string, list(order_by), columns, where=[lifecycle]
    )


def _concatenated_page(
    conn: Connection, statements: Sequence[Any], offset: int, limit: int
) -> list[Any]:
    """Rows ``offset`` to ``offset + limit`` of the concatenated results of ``statements``."""
    ids: list[Any] = []
    for stmt in statements:
        rows = conn.execute(stmt.offset(offset).limit(limit - len(ids))).all()
        if rows:
            ids += rows
            offset = 0  # a tier returned rows, so the offset ended inside it
        elif offset:
            # The page starts after this tier: skip it whole.
            count = select(func.count()).select_from(stmt.order_by(None).subquery())
            offset -= conn.execute(count).scalar_one()
        if len(ids) >= limit:
            break
    return ids
