"""The tracking system of record: experiments, runs, params, tags, metrics, datasets.

Integrity that needs the database (unique names, immutable params, writes to deleted runs, no
duplicate metric points) is enforced here, inside one transaction per call. Input validation and
product rules live in ``labtrack.service``.
"""

from __future__ import annotations

import base64
import json
import math
import time
import uuid
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache, lru_cache
from itertools import accumulate
from types import SimpleNamespace
from typing import Any, NamedTuple

import numpy as np
import orjson
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
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError

from labtrack._gc import gc_paused
from labtrack.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LifecycleStage,
    LoggedModelOutput,
    Metric,
    MetricSeries,
    PagedList,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
    system_tags,
)
from labtrack.entities.wire import run_data_json_bytes, run_json_bytes, run_to_json
from labtrack.errors import already_exists, invalid, not_found
from labtrack.store import schema as s
from labtrack.store.checkpoints import WalCheckpointer
from labtrack.store.engine import create_store_engine, ensure_schema, sqlite_file, write_options
from labtrack.store.metric_chunks import (
    Points,
    chunks_in_order,
    downsample,
    latest_point,
    rechunk,
)
from labtrack.store.prepared import PreparedStatement, in_params

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
SEARCH_MAX_RESULTS = 50_000

# (key, model_id, dataset_name, dataset_digest): points that share one chunk sequence.
SeriesKey = tuple[str, str | None, str | None, str | None]
# (model_id, dataset_name, dataset_digest) of the points in one chunk row.
ChunkLabel = tuple[str | None, str | None, str | None]  # (model_id, dataset name, digest)
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


def _parse_experiment_id(experiment_id: str | int) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise invalid(f"Invalid experiment id {experiment_id!r}: it must be an integer") from None


def _dialect_insert(dialect: str) -> Any:
    """``insert`` with ON CONFLICT support for the backend (both dialects spell it alike)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _upsert(conn: Connection, table: Any, rows: list[dict], keys: Sequence[str], **kw: Any) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, portable across SQLite and PostgreSQL."""
    if not rows:
        return
    dialect_insert = _dialect_insert(conn.dialect.name)
    stmt = dialect_insert(table)
    update_cols = [c.name for c in table.c if c.name not in keys]
    set_ = {c: stmt.excluded[c] for c in update_cols}
    where = kw.get("where")
    if where is not None:
        where = where(table, stmt.excluded)
    conn.execute(
        stmt.on_conflict_do_update(index_elements=list(keys), set_=set_, where=where), rows
    )


def _insert_ignore(conn: Connection, table: Any, rows: list[dict]) -> None:
    if not rows:
        return
    dialect_insert = _dialect_insert(conn.dialect.name)
    conn.execute(dialect_insert(table).on_conflict_do_nothing(), rows)


class TrackingStore:
    """SQL implementation of the tracking store, for SQLite and PostgreSQL."""

    def __init__(
        self, uri: str, artifact_root: str | None = None, *, background_checkpoints: bool = False
    ) -> None:
        """``background_checkpoints``: for a long-lived writer on SQLite (the server), copy the
        write-ahead log into the database from a thread of its own, not inside commits."""
        self.uri = uri
        self.engine = create_store_engine(uri)
        self._checkpointer: WalCheckpointer | None = None
        path = sqlite_file(uri)
        if background_checkpoints and path:
            # Before the first connection: the engine's connections get the backstop setting.
            self._checkpointer = WalCheckpointer(self.engine, path)
        ensure_schema(self.engine)
        self.artifact_root = self._settle_artifact_root(artifact_root)
        self._ensure_default_experiment()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        self.engine.dispose()

    # ---- transactions -------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        conn = self.engine.connect().execution_options(**write_options())
        with conn, conn.begin():
            try:
                yield conn
                # Once per transaction, however many writes touched a run.
                for run_id in conn.info.pop(_STALE_SUMMARIES, ()):
                    self._refresh_summary(conn, run_id)
            finally:
                conn.info.pop(_STALE_SUMMARIES, None)  # the info dict outlives the checkout

    def _record_change(
        self, conn: Connection, kind: str, experiment_id: int | None, run_id: str | None = None
    ) -> None:
        change = {
            "time": now_ms(),
            "kind": kind,
            "experiment_id": experiment_id,
            "run_uuid": run_id,
        }
        _write_statements(conn.dialect).insert_change.run(conn, change)

    # ---- settings -----------------------------------------------------------------------

    def _settle_artifact_root(self, requested: str | None) -> str:
        """The first process to open a store fixes its artifact root; later ones read it."""
        from labtrack.config import default_artifact_root

        with self._read() as conn:
            stored = conn.execute(
                select(s.store_settings.c.value).where(s.store_settings.c.key == "artifact_root")
            ).scalar()
        if stored is not None:
            return requested or stored
        root = requested or default_artifact_root(self.uri)
        with self._write() as conn:
            _insert_ignore(conn, s.store_settings, [{"key": "artifact_root", "value": root}])
            stored = conn.execute(
                select(s.store_settings.c.value).where(s.store_settings.c.key == "artifact_root")
            ).scalar()
        return requested or stored or root

    def _ensure_default_experiment(self) -> None:
        with self._read() as conn:
            if conn.execute(
                select(s.experiments.c.experiment_id).where(s.experiments.c.experiment_id == 0)
            ).first():
                return
        t = now_ms()
        with self._write() as conn:
            _insert_ignore(
                conn,
                s.experiments,
                [
                    {
                        "experiment_id": 0,
                        "name": DEFAULT_EXPERIMENT_NAME,
                        "artifact_location": "mlflow-artifacts:/0",
                        "lifecycle_stage": "active",
                        "creation_time": t,
                        "last_update_time": t,
                    }
                ],
            )

    # ---- experiments --------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        t = now_ms()
        try:
            with self._write() as conn:
                if conn.execute(
                    select(s.experiments.c.experiment_id).where(s.experiments.c.name == name)
                ).first():
                    raise already_exists(f"Experiment '{name}' already exists.")
                exp_id = conn.execute(
                    insert(s.experiments)
                    .values(
                        name=name,
                        artifact_location=artifact_location or "",
                        lifecycle_stage="active",
                        creation_time=t,
                        last_update_time=t,
                    )
                    .returning(s.experiments.c.experiment_id)
                ).scalar_one()
                if not artifact_location:
                    conn.execute(
                        update(s.experiments)
                        .where(s.experiments.c.experiment_id == exp_id)
                        .values(artifact_location=f"mlflow-artifacts:/{exp_id}")
                    )
                if tags:
                    conn.execute(
                        insert(s.experiment_tags),
                        [{"experiment_id": exp_id, "key": k, "value": v} for k, v in tags.items()],
                    )
                self._record_change(conn, "experiment", exp_id)
        except IntegrityError as exc:
            raise already_exists(f"Experiment '{name}' already exists.") from exc
        return str(exp_id)

    def _experiments_by_ids(self, conn: Connection, ids: list[int]) -> dict[int, Experiment]:
        rows = conn.execute(select(s.experiments).where(s.experiments.c.experiment_id.in_(ids)))
        out = {
            r.experiment_id: Experiment(
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location,
                lifecycle_stage=r.lifecycle_stage,
                creation_time=r.creation_time,
                last_update_time=r.last_update_time,
            )
            for r in rows
        }
        if out:
            for r in conn.execute(
                select(s.experiment_tags).where(s.experiment_tags.c.experiment_id.in_(list(out)))
            ):
                out[r.experiment_id].tags[r.key] = r.value
        return out

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        eid = _parse_experiment_id(experiment_id)
        with self._read() as conn:
            found = self._experiments_by_ids(conn, [eid])
        if eid not in found:
            raise not_found(f"No Experiment with id={experiment_id} exists")
        return found[eid]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self._read() as conn:
            eid = conn.execute(
                select(s.experiments.c.experiment_id).where(s.experiments.c.name == name)
            ).scalar()
            if eid is None:
                return None
            return self._experiments_by_ids(conn, [eid])[eid]

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        from labtrack.store.search.sql import apply_experiment_order, experiment_filter_clauses

        offset = decode_page_token(page_token)
        stmt = select(s.experiments.c.experiment_id).where(
            s.experiments.c.lifecycle_stage.in_(view_type.stages()),
            *experiment_filter_clauses(filter_string),
        )
        stmt = apply_experiment_order(stmt, order_by).offset(offset).limit(max_results + 1)
        with self._read() as conn:
            ids: list[int] = [r[0] for r in conn.execute(stmt)]
            page, more = ids[:max_results], len(ids) > max_results
            found = self._experiments_by_ids(conn, page)
        return PagedList(
            [found[i] for i in page], encode_page_token(offset + max_results) if more else None
        )

    def _update_experiment(self, experiment_id: str | int, kind: str, **values: Any) -> None:
        eid = _parse_experiment_id(experiment_id)
        with self._write() as conn:
            done = conn.execute(
                update(s.experiments)
                .where(s.experiments.c.experiment_id == eid)
                .values(last_update_time=now_ms(), **values)
            ).rowcount
            if not done:
                raise not_found(f"No Experiment with id={experiment_id} exists")
            self._record_change(conn, kind, eid)

    def delete_experiment(self, experiment_id: str | int) -> None:
        if str(experiment_id) == DEFAULT_EXPERIMENT_ID:
            raise invalid("Cannot delete the default experiment '0'.")
        eid = _parse_experiment_id(experiment_id)
        self._update_experiment(eid, "experiment", lifecycle_stage="deleted")
        with self._write() as conn:
            conn.execute(
                update(s.runs)
                .where(s.runs.c.experiment_id == eid, s.runs.c.lifecycle_stage == "active")
                # Thousands of runs at once: their JSON is dropped, not rewritten (search
                # encodes them from their summaries until their next write).
                .values(lifecycle_stage="deleted", deleted_time=now_ms(), run_json=None)
            )

    def restore_experiment(self, experiment_id: str | int) -> None:
        eid = _parse_experiment_id(experiment_id)
        self._update_experiment(eid, "experiment", lifecycle_stage="active")
        with self._write() as conn:
            conn.execute(
                update(s.runs)
                .where(s.runs.c.experiment_id == eid, s.runs.c.lifecycle_stage == "deleted")
                .values(lifecycle_stage="active", deleted_time=None, run_json=None)
            )

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        try:
            self._update_experiment(experiment_id, "experiment", name=new_name)
        except IntegrityError as exc:
            raise already_exists(f"Experiment '{new_name}' already exists.") from exc

    def set_experiment_tag(self, experiment_id: str | int, key: str, value: str) -> None:
        eid = _parse_experiment_id(experiment_id)
        with self._write() as conn:
            self._require_active_experiment(conn, eid)
            _upsert(
                conn,
                s.experiment_tags,
                [{"experiment_id": eid, "key": key, "value": value}],
                ("experiment_id", "key"),
            )
            self._record_change(conn, "experiment", eid)

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        eid = _parse_experiment_id(experiment_id)
        with self._write() as conn:
            self._require_active_experiment(conn, eid)
            conn.execute(
                delete(s.experiment_tags).where(
                    s.experiment_tags.c.experiment_id == eid, s.experiment_tags.c.key == key
                )
            )

    def _require_active_experiment(self, conn: Connection, eid: int) -> None:
        stage = conn.execute(
            select(s.experiments.c.lifecycle_stage).where(s.experiments.c.experiment_id == eid)
        ).scalar()
        if stage is None:
            raise not_found(f"No Experiment with id={eid} exists")
        if stage != "active":
            raise invalid(f"The experiment {eid} must be in the 'active' state. Current: {stage}.")

    # ---- runs ---------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str | int,
        user_id: str,
        start_time: int | None,
        tags: dict[str, str],
        run_name: str,
    ) -> Run:
        eid = _parse_experiment_id(experiment_id)
        run_id = uuid.uuid4().hex
        artifact_uri = ""
        with self._write() as conn:
            row = conn.execute(
                select(s.experiments.c.lifecycle_stage, s.experiments.c.artifact_location).where(
                    s.experiments.c.experiment_id == eid
                )
            ).first()
            if row is None:
                raise not_found(f"No Experiment with id={experiment_id} exists")
            if row.lifecycle_stage != "active":
                raise invalid(
                    f"The experiment {eid} must be in the 'active' state. "
                    f"Current state is {row.lifecycle_stage}."
                )
            artifact_uri = f"{row.artifact_location.rstrip('/')}/{run_id}/artifacts"
            conn.execute(
                insert(s.runs).values(
                    run_uuid=run_id,
                    name=run_name,
                    experiment_id=eid,
                    user_id=user_id,
                    status=RunStatus.RUNNING.value,
                    start_time=start_time,
                    lifecycle_stage="active",
                    artifact_uri=artifact_uri,
                    parent_run_id=tags.get(system_tags.PARENT_RUN_ID),
                )
            )
            if tags:
                conn.execute(
                    insert(s.tags),
                    [{"run_uuid": run_id, "key": k, "value": v} for k, v in tags.items()],
                )
            _summary_is_stale(conn, run_id)
            self._record_change(conn, "run", eid, run_id)
        return Run(
            RunInfo(
                run_id,
                str(eid),
                run_name,
                user_id,
                RunStatus.RUNNING.value,
                start_time,
                None,
                artifact_uri,
                "active",
            ),
            RunData(tags=dict(tags)),
        )

    def get_run(self, run_id: str) -> Run:
        with self._read() as conn:
            runs = self._load_runs(conn, [run_id])
        if not runs:
            raise not_found(f"Run '{run_id}' not found")
        return runs[0]

    def _run_row(self, conn: Connection, run_id: str, lock: bool = False) -> _RunRow:
        st = _write_statements(conn.dialect)
        row = (st.run_row_locked if lock else st.run_row).first(conn, {"run": run_id})
        if row is None:
            raise not_found(f"Run '{run_id}' not found")
        return _RunRow(*row)

    def _require_active_run(self, conn: Connection, run_id: str) -> int:
        """Check the run accepts writes, and hold its row lock until the transaction ends."""
        row = self._run_row(conn, run_id, lock=True)
        if row.lifecycle_stage != "active":
            raise invalid(
                f"The run {run_id} must be in the 'active' state. "
                f"Current state is {row.lifecycle_stage}."
            )
        return int(row.experiment_id)

    def _load_runs(self, conn: Connection, run_ids: list[str]) -> list[Run]:
        """Runs in the order of ``run_ids`` with params, latest metrics, tags and inputs."""
        if not run_ids:
            return []
        st = _load_statements()
        rows: list[Any] = []
        for chunk in _chunks(run_ids, 5000):
            rows += conn.execute(st.runs, {"ids": chunk}).all()
        loaded = {run.info.run_id: run for run in self._runs_from_rows(conn, rows)}
        return [loaded[i] for i in run_ids if i in loaded]

    def _runs_from_rows(self, conn: Connection, rows: Sequence[Any]) -> list[Run]:
        """Runs from rows of ``RUN_ROW_COLUMNS``, in the same order."""
        runs: list[Run] = []
        with_io: dict[str, Run] = {}
        with gc_paused():
            for r in rows:
                runs.append(self._run_from_row(conn, r))
                if r[10]:
                    with_io[r[0]] = runs[-1]
        ids = list(with_io)
        for chunk in _chunks(ids, 5000):
            self._load_inputs_outputs(conn, chunk, with_io)
        return runs

    def _run_from_row(self, conn: Connection, r: Any) -> Run:
        doc = r[9]
        params, tags, points = (
            _summary_parts(doc) if doc is not None else self._summary_from_tables(conn, r[0])
        )
        return Run(
            RunInfo(r[0], str(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8]),
            RunData.from_points(points, params, tags),
        )

    def _summary_from_tables(
        self, conn: Connection, run_id: str
    ) -> tuple[dict[str, str], dict[str, str], dict[str, list[Any]]]:
        """The run's params, tags and latest points (``key -> [value, timestamp, step]``)."""
        st = _summary_statements(conn.dialect)
        arg = {"run": run_id}
        params = dict(st.params.rows(conn, arg))
        tags = dict(st.tags.rows(conn, arg))
        nan = float("nan")
        points = {
            key: [nan if is_nan else value, ts, step]
            for key, value, ts, step, is_nan in st.metrics.rows(conn, arg)
        }
        return params, tags, points

    def _refresh_summary(self, conn: Connection, run_id: str) -> None:
        """Rewrite the run's summary document from its params, tags and latest metrics (in
        the writer's transaction, so readers never see the two disagree)."""
        params, tags, points = self._summary_from_tables(conn, run_id)
        st = _summary_statements(conn.dialect)
        # Runs with dataset inputs or model outputs are encoded whole by search (no document).
        info = st.info.first(conn, {"run": run_id})
        assert info is not None  # the writer holds the run
        run_json = None
        if not info[-1]:
            run_json = run_json_bytes(info[:-1], run_data_json_bytes(params, tags, points))
        # JSON has no NaN or infinities: those values are named apart (0.0 in their place).
        nonfinite = {k: str(p[0]) for k, p in points.items() if not math.isfinite(p[0])}
        for key in nonfinite:
            points[key][0] = 0.0
        doc = orjson.dumps([params, tags, points, nonfinite]).decode()
        st.update.run(conn, {"run": run_id, "doc": doc, "run_json": run_json})

    def _load_inputs_outputs(
        self, conn: Connection, run_ids: list[str], runs: dict[str, Run]
    ) -> None:
        d, ri, rit = s.datasets.c, s.run_inputs.c, s.run_input_tags.c
        rows = conn.execute(
            select(
                ri.run_uuid,
                ri.dataset_uuid,
                d.name,
                d.digest,
                d.source_type,
                d.source,
                d.schema,
                d.profile,
            )
            .join(s.datasets, d.dataset_uuid == ri.dataset_uuid)
            .where(ri.run_uuid.in_(run_ids))
        ).all()
        if rows:
            input_tags: dict[tuple[str, str], list[RunTag]] = defaultdict(list)
            for t in conn.execute(
                select(rit.run_uuid, rit.dataset_uuid, rit.key, rit.value).where(
                    rit.run_uuid.in_(run_ids)
                )
            ):
                input_tags[(t[0], t[1])].append(RunTag(t[2], t[3]))
            for r in rows:
                runs[r[0]].inputs.dataset_inputs.append(
                    DatasetInput(
                        Dataset(r[2], r[3], r[4], r[5], r[6], r[7]),
                        tuple(input_tags.get((r[0], r[1]), ())),
                    )
                )
        for run_id, model_id, step in conn.execute(
            select(s.run_outputs.c.run_uuid, s.run_outputs.c.model_id, s.run_outputs.c.step).where(
                s.run_outputs.c.run_uuid.in_(run_ids)
            )
        ):
            runs[run_id].outputs.model_outputs.append(LoggedModelOutput(model_id, step))

    def update_run_info(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        with self._write() as conn:
            eid = self._require_active_run(conn, run_id)
            values: dict[str, Any] = {}
            if status is not None:
                values["status"] = status
            if end_time is not None:
                values["end_time"] = end_time
            if run_name:
                values["name"] = run_name
                _upsert(
                    conn,
                    s.tags,
                    [{"run_uuid": run_id, "key": system_tags.RUN_NAME, "value": run_name}],
                    ("run_uuid", "key"),
                )
            if values:
                conn.execute(update(s.runs).where(s.runs.c.run_uuid == run_id).values(**values))
                _summary_is_stale(conn, run_id)  # its stored JSON shows the info too
            self._record_change(conn, "run", eid, run_id)
            r = conn.execute(_load_statements().infos, {"ids": [run_id]}).one()
        return RunInfo(r[0], str(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8])

    def _set_run_lifecycle(self, run_id: str, stage: LifecycleStage) -> None:
        with self._write() as conn:
            row = self._run_row(conn, run_id)
            conn.execute(
                update(s.runs)
                .where(s.runs.c.run_uuid == run_id)
                .values(
                    lifecycle_stage=stage.value,
                    deleted_time=now_ms() if stage is LifecycleStage.DELETED else None,
                )
            )
            _summary_is_stale(conn, run_id)  # its stored JSON shows the lifecycle stage
            self._record_change(conn, "run", row.experiment_id, run_id)

    def delete_run(self, run_id: str) -> None:
        self._set_run_lifecycle(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        self._set_run_lifecycle(run_id, LifecycleStage.ACTIVE)

    # ---- params, tags, metrics ----------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[tuple[str, str]] = (),
        tags: Sequence[tuple[str, str]] = (),
        series: dict[SeriesKey, Points] | None = None,
    ) -> None:
        """Write everything in one transaction: all of it lands or none of it does.

        ``series`` carries metric points already grouped into columns (the REST log-batch
        path), written along with ``metrics``.
        """
        for attempt in range(5):
            try:
                with self._write() as conn:
                    eid = self._require_active_run(conn, run_id)
                    if params:
                        self._log_params(conn, run_id, params)
                    if tags:
                        self._set_tags(conn, run_id, tags)
                    if metrics:
                        self._log_metrics(conn, run_id, eid, metrics)
                    if series:
                        self._log_series(conn, run_id, eid, series)
                    self._record_change(conn, "data", eid, run_id)
                return
            except IntegrityError:
                # Two PostgreSQL writers raced to create the same chunk; the retry sees it.
                if attempt == 4:
                    raise
        return

    def _log_params(self, conn: Connection, run_id: str, params: Sequence[tuple[str, str]]) -> None:
        merged: dict[str, str] = {}
        for key, value in params:
            if key in merged and merged[key] != value:
                raise invalid(
                    f"Duplicate parameter key '{key}' with different values in one batch."
                )
            merged[key] = value
        existing = dict(
            conn.execute(
                select(s.params.c.key, s.params.c.value).where(
                    s.params.c.run_uuid == run_id, s.params.c.key.in_(list(merged))
                )
            ).all()
        )
        for key, value in merged.items():
            if key in existing and existing[key] != value:
                raise invalid(
                    f"Changing param values is not allowed. Param with key='{key}' was already "
                    f"logged with value='{existing[key]}' for run ID='{run_id}'. "
                    f"Attempted logging new value '{value}'."
                )
        new = [
            {"run_uuid": run_id, "key": k, "value": v}
            for k, v in merged.items()
            if k not in existing
        ]
        if new:
            conn.execute(insert(s.params), new)
            _summary_is_stale(conn, run_id)

    def _set_tags(self, conn: Connection, run_id: str, tags: Sequence[tuple[str, str]]) -> None:
        merged = dict(tags)
        _upsert(
            conn,
            s.tags,
            [{"run_uuid": run_id, "key": k, "value": v} for k, v in merged.items()],
            ("run_uuid", "key"),
        )
        _summary_is_stale(conn, run_id)
        run_values: dict[str, Any] = {}
        if system_tags.RUN_NAME in merged:
            run_values["name"] = merged[system_tags.RUN_NAME]
        if system_tags.PARENT_RUN_ID in merged:
            run_values["parent_run_id"] = merged[system_tags.PARENT_RUN_ID]
        if run_values:
            conn.execute(update(s.runs).where(s.runs.c.run_uuid == run_id).values(**run_values))

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.log_batch(run_id, tags=[(key, value)])

    def delete_tag(self, run_id: str, key: str) -> None:
        with self._write() as conn:
            eid = self._require_active_run(conn, run_id)
            done = conn.execute(
                delete(s.tags).where(s.tags.c.run_uuid == run_id, s.tags.c.key == key)
            ).rowcount
            if not done:
                raise not_found(f"No tag with name: {key} in run with id {run_id}")
            _summary_is_stale(conn, run_id)
            self._record_change(conn, "data", eid, run_id)

    def _log_metrics(
        self, conn: Connection, run_id: str, experiment_id: int, metrics: Sequence[Metric]
    ) -> None:
        # Group points into series; a series is (key, model, dataset) since chunks carry those.
        rows: dict[SeriesKey, list[tuple[int, int, float]]] = defaultdict(list)
        for m in metrics:
            rows[(m.key, m.model_id, m.dataset_name, m.dataset_digest)].append(
                (m.step, m.timestamp, m.value)
            )
        series = {k: Points.from_tuples(v) for k, v in rows.items()}
        self._log_series(conn, run_id, experiment_id, series)

    def log_series(self, run_id: str, series: dict[SeriesKey, Points]) -> None:
        """The fast path for batched clients: points already grouped by series, as columns,
        written in one transaction."""
        with self._write() as conn:
            eid = self._require_active_run(conn, run_id)
            self._log_series(conn, run_id, eid, series)
            self._record_change(conn, "data", eid, run_id)

    def _log_series(
        self, conn: Connection, run_id: str, experiment_id: int, series: dict[SeriesKey, Points]
    ) -> None:
        """Append points as new chunk rows; never rewrite stored points on the hot path.

        Each batch adds one small chunk per key. Once a key has COMPACT_EVERY small chunks after
        its last settled one (SETTLED_POINTS or more), or a batch fills a chunk, that tail is
        merged with the new points into chunks of up to CHUNK_POINTS, so a point is rewritten a
        few times at most, not on every append.
        Seqs stay dense (0, 1, 2, ...) and in insertion order, which readers rely on.
        """
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
                points = self._drop_stored(conn, run_id, key, points, row)
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
            for key, stored in self._take_tails(conn, run_id, tails).items():
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
            _summary_is_stale(conn, run_id)

    def _take_tails(
        self, conn: Connection, run_id: str, tails: dict[str, int]
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

    def _drop_stored(
        self, conn: Connection, run_id: str, key: str, points: Points, state: Any
    ) -> Points:
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

    def read_points(self, run_id: str, key: str) -> Points:
        """All points of a metric, ordered by step then timestamp."""
        mc = s.metric_chunks.c
        with self._read() as conn:
            self._run_row(conn, run_id)
            rows = conn.execute(
                select(mc.steps, mc.timestamps, mc["values"])
                .where(mc.run_uuid == run_id, mc.key == key)
                .order_by(mc.seq)
            ).all()
        return Points.concat(Points.from_blobs(*r) for r in rows).sorted_by_step()

    def read_points_page(
        self, run_id: str, key: str, offset: int, limit: int | None
    ) -> tuple[Points, int]:
        """Points ``offset`` to ``offset + limit`` of the (step, timestamp) order, and the total."""
        page = self.read_history_page(run_id, key, offset, limit)
        return page.points, page.total

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
        with self._read() as conn:
            self._run_row(conn, run_id)
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

    def metric_keys(self, run_id: str) -> list[str]:
        with self._read() as conn:
            return list(
                conn.execute(
                    select(s.latest_metrics.c.key)
                    .where(s.latest_metrics.c.run_uuid == run_id)
                    .order_by(s.latest_metrics.c.key)
                ).scalars()
            )

    # ---- datasets -----------------------------------------------------------------------

    def log_inputs(self, run_id: str, inputs: Sequence[DatasetInput]) -> None:
        with self._write() as conn:
            eid = self._require_active_run(conn, run_id)
            d = s.datasets.c
            for item in inputs:
                ds = item.dataset
                dataset_uuid = conn.execute(
                    select(d.dataset_uuid).where(
                        d.experiment_id == eid, d.name == ds.name, d.digest == ds.digest
                    )
                ).scalar()
                if dataset_uuid is None:
                    dataset_uuid = uuid.uuid4().hex
                    conn.execute(
                        insert(s.datasets).values(
                            dataset_uuid=dataset_uuid,
                            experiment_id=eid,
                            name=ds.name,
                            digest=ds.digest,
                            source_type=ds.source_type,
                            source=ds.source,
                            schema=ds.schema,
                            profile=ds.profile,
                        )
                    )
                _insert_ignore(
                    conn, s.run_inputs, [{"run_uuid": run_id, "dataset_uuid": dataset_uuid}]
                )
                _upsert(
                    conn,
                    s.run_input_tags,
                    [
                        {
                            "run_uuid": run_id,
                            "dataset_uuid": dataset_uuid,
                            "key": t.key,
                            "value": t.value,
                        }
                        for t in item.tags
                    ],
                    ("run_uuid", "dataset_uuid", "key"),
                )
            _summary_is_stale(conn, run_id)  # its wire document no longer tells all
            self._record_change(conn, "data", eid, run_id)

    # ---- search -------------------------------------------------------------------------

    def search_run_ids(
        self,
        experiment_ids: Sequence[str | int],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[str], str | None]:
        with self._read() as conn:
            rows, token = self._search_runs(
                conn,
                (s.runs.c.run_uuid,),
                experiment_ids,
                filter_string,
                run_view_type,
                max_results,
                order_by,
                page_token,
            )
        return [r[0] for r in rows], token

    def search_runs(
        self,
        experiment_ids: Sequence[str | int],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        with self._read() as conn, gc_paused():
            # The search reads whole run rows (summaries included) as it finds them.
            rows, token = self._search_runs(
                conn,
                RUN_ROW_COLUMNS,
                experiment_ids,
                filter_string,
                run_view_type,
                max_results,
                order_by,
                page_token,
            )
            return PagedList(self._runs_from_rows(conn, rows), token)

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
        with self._read() as conn, gc_paused():
            rows, token = self._search_runs(
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
                for run in self._load_runs(conn, list(general)):
                    encoded[general[run.info.run_id]] = orjson.dumps(run_to_json(run))
        return encoded, token

    def _search_runs(
        self,
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
        eids = tuple(_parse_experiment_id(e) for e in experiment_ids)
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

    def count_runs(
        self,
        experiment_ids: Sequence[str | int],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> dict[str, int]:
        """How many runs of each experiment match ``filter_string`` (every listed experiment
        gets an entry, 0 when it has none or does not exist)."""
        eids = tuple(_parse_experiment_id(e) for e in experiment_ids)
        (stmt,) = _run_search_statements(
            eids, tuple(run_view_type.stages()), filter_string or "", (), (s.runs.c.experiment_id,)
        )
        found = stmt.subquery()
        counts = {str(e): 0 for e in eids}
        with self._read() as conn:
            for eid, n in conn.execute(
                select(found.c.experiment_id, func.count()).group_by(found.c.experiment_id)
            ):
                counts[str(eid)] = int(n)
        return counts

    def child_run_ids(self, run_id: str) -> list[str]:
        with self._read() as conn:
            return list(
                conn.execute(
                    select(s.runs.c.run_uuid).where(s.runs.c.parent_run_id == run_id)
                ).scalars()
            )

    # ---- change feed --------------------------------------------------------------------

    def changes_since(
        self, cursor: int | None, limit: int = 1000
    ) -> tuple[int, list[dict[str, Any]]]:
        """Changes after ``cursor`` (oldest first) and the new cursor; ``None`` asks only for
        the current cursor. Cheap to poll."""
        c = s.changes.c
        with self._read() as conn:
            if cursor is None:
                head = conn.execute(select(func.max(c.seq))).scalar() or 0
                return int(head), []
            rows = conn.execute(
                select(c.seq, c.time, c.kind, c.experiment_id, c.run_uuid)
                .where(c.seq > cursor)
                .order_by(c.seq)
                .limit(limit)
            ).all()
        if not rows:
            return cursor, []
        return int(rows[-1].seq), [
            {
                "seq": r.seq,
                "time": r.time,
                "kind": r.kind,
                "experiment_id": None if r.experiment_id is None else str(r.experiment_id),
                "run_id": r.run_uuid,
            }
            for r in rows
        ]


@lru_cache(maxsize=256)
def _run_search_statements(
    experiment_ids: tuple[int, ...],
    stages: tuple[str, ...],
    filter_string: str,
    order_by: tuple[str, ...],
    columns: tuple[Any, ...],
) -> list[Any]:
    """The statements of a run search, built once per distinct search: a UI or notebook
    repeats the same few searches, and building them costs more than a fast search."""
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


_STALE_SUMMARIES = "labtrack.stale_run_summaries"


def _summary_is_stale(conn: Connection, run_id: str) -> None:
    """Note that the run's params, tags or latest metrics changed in this transaction; the
    writer rewrites its summary before committing."""
    conn.info.setdefault(_STALE_SUMMARIES, set()).add(run_id)


def _run_info_columns() -> tuple[Any, ...]:
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


def _has_inputs_or_outputs() -> Any:
    rc = s.runs.c
    return or_(
        select(s.run_inputs.c.run_uuid).where(s.run_inputs.c.run_uuid == rc.run_uuid).exists(),
        select(s.run_outputs.c.run_uuid).where(s.run_outputs.c.run_uuid == rc.run_uuid).exists(),
    )


# What ``_runs_from_rows`` reads: the RunInfo fields, the summary, whether inputs/outputs exist.
RUN_ROW_COLUMNS: tuple[Any, ...] = (
    *_run_info_columns(),
    s.runs.c.summary,
    _has_inputs_or_outputs().label("has_io"),
)
# For search_runs_json: the run's id and its stored JSON.
RUN_WIRE_COLUMNS: tuple[Any, ...] = (s.runs.c.run_uuid, s.runs.c.run_json)


def _summary_parts(doc: str) -> tuple[dict[str, str], dict[str, str], dict[str, list[Any]]]:
    params, tags, points, nonfinite = orjson.loads(doc)
    for key, name in nonfinite.items():  # "nan", "inf" or "-inf", as str() wrote them
        points[key][0] = float(name)
    return params, tags, points


class _RunRow(NamedTuple):
    lifecycle_stage: str
    experiment_id: int
    status: str


class _ChunkState(NamedTuple):
    """A key's chunks at a glance (see ``chunk_state``)."""

    key: str
    seq: int
    key_max_ts: int
    key_max_step: int
    last_settled: int


# Statements of the write paths, prepared once per dialect (see labtrack.store.prepared): every
# write transaction runs several of these, and ingest runs little else.
_STATEMENT_CACHE = 16


def _binds(columns: Iterable[str]) -> dict[str, Any]:
    """``values()`` of an INSERT taking each column from the parameter of its name."""
    return {c: bindparam(c) for c in columns}


@lru_cache(maxsize=_STATEMENT_CACHE)
def _summary_statements(dialect: Dialect) -> SimpleNamespace:
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
        # The RunInfo fields, then whether the run has dataset inputs or model outputs.
        info=PreparedStatement(
            select(*_run_info_columns(), _has_inputs_or_outputs()).where(s.runs.c.run_uuid == run),
            dialect,
        ),
        update=PreparedStatement(
            update(s.runs)
            .where(s.runs.c.run_uuid == run)
            .values(summary=bindparam("doc"), run_json=bindparam("run_json")),
            dialect,
        ),
    )


@cache
def _load_statements() -> SimpleNamespace:
    """Statements that load runs by id (``ids`` expands)."""
    ids: Any = bindparam("ids", expanding=True)
    rc = s.runs.c
    return SimpleNamespace(
        infos=select(*_run_info_columns()).where(rc.run_uuid.in_(ids)),
        runs=select(*RUN_ROW_COLUMNS).where(rc.run_uuid.in_(ids)),
    )


def _run_row_statement(lock: bool) -> Any:
    stmt = select(s.runs.c.lifecycle_stage, s.runs.c.experiment_id, s.runs.c.status).where(
        s.runs.c.run_uuid == bindparam("run")
    )
    # PostgreSQL: writers to one run take turns (SQLite's BEGIN IMMEDIATE already does).
    return stmt.with_for_update() if lock else stmt


@lru_cache(maxsize=_STATEMENT_CACHE)
def _write_statements(dialect: Dialect) -> SimpleNamespace:
    """The run row (``run``), with or without its lock, and the change feed's insert."""
    return SimpleNamespace(
        run_row=PreparedStatement(_run_row_statement(False), dialect),
        run_row_locked=PreparedStatement(_run_row_statement(True), dialect),
        insert_change=PreparedStatement(
            insert(s.changes).values(_binds(("time", "kind", "experiment_id", "run_uuid"))),
            dialect,
        ),
    )


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


@lru_cache(maxsize=_STATEMENT_CACHE)
def _ingest_statements(dialect: Dialect) -> SimpleNamespace:
    """Statements of the ingest path. ``chunk_state(n)`` and ``small_chunks(n)`` take ``run``
    and the ``n`` keys ``k0 .. k{n-1}`` (see ``in_params``)."""
    mc = s.metric_chunks.c
    upsert = _dialect_insert(dialect.name)(s.latest_metrics).values(_binds(_LATEST_COLUMNS))
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
            insert(s.metric_chunks).values(_binds(_CHUNK_COLUMNS)), dialect
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


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
