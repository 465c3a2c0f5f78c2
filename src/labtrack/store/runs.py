"""Runs: create, read, update, lifecycle, params, tags and dataset inputs.

Every write checks the run is active and holds its row (``require_active_run``; metric appends
in a shared mode, see ``_LOCKS``) for the rest of the transaction; writes that change what a
run shows mark its summary stale.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from functools import cache, lru_cache
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.engine import Dialect

from labtrack._gc import gc_paused
from labtrack.entities import (
    Dataset,
    DatasetInput,
    LifecycleStage,
    LoggedModelInput,
    LoggedModelOutput,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    system_tags,
)
from labtrack.entities.artifact_uris import run_artifact_uri
from labtrack.errors import invalid, not_found
from labtrack.store import schema as s
from labtrack.store.database import (
    STATEMENT_CACHE,
    Database,
    in_chunks,
    insert_ignore,
    mark_run_stale,
    now_ms,
    parse_experiment_id,
    upsert,
)
from labtrack.store.prepared import PreparedStatement
from labtrack.store.summaries import (
    has_inputs_or_outputs,
    run_info_columns,
    summary_from_tables,
    summary_parts,
)

# What ``runs_from_rows`` reads: the RunInfo fields, the summary, whether inputs/outputs exist.
RUN_ROW_COLUMNS: tuple[Any, ...] = (
    *run_info_columns(),
    s.runs.c.summary,
    has_inputs_or_outputs().label("has_io"),
)
# Ids per IN list when loading runs.
_LOAD_CHUNK = 5000


class RunRow(NamedTuple):
    lifecycle_stage: str
    experiment_id: int
    status: str


# Row locks on a run (PostgreSQL; SQLite's writers take turns with BEGIN IMMEDIATE):
# - "share" (KEY SHARE): metric appends. They wait neither for each other nor for summary
#   writers.
# - "write" (NO KEY UPDATE): writes of what a run's summary shows (params, tags, info, latest
#   metrics); they take turns, and each then reads the committed state to rewrite the summary.
# - "lifecycle" (UPDATE): a lifecycle change waits for every writer in flight, and writers
#   after it see the new stage (PostgreSQL re-reads a row whose lock it waited for).
# Order: the run row before any latest_metrics or tags row, in every transaction.
_LOCKS: dict[str, dict[str, bool]] = {
    "share": {"read": True, "key_share": True},
    "write": {"key_share": True},
    "lifecycle": {},
}


def _run_row_statement(lock: str | None) -> Any:
    stmt = select(s.runs.c.lifecycle_stage, s.runs.c.experiment_id, s.runs.c.status).where(
        s.runs.c.run_uuid == bindparam("run")
    )
    if lock is None:
        return stmt
    mode = _LOCKS[lock]
    return stmt.with_for_update(
        read=mode.get("read", False), key_share=mode.get("key_share", False)
    )


@lru_cache(maxsize=STATEMENT_CACHE)
def _row_statements(dialect: Dialect) -> dict[str | None, PreparedStatement]:
    """The run row (``run``), without a lock or with each of ``_LOCKS``: every write reads it."""
    return {lock: PreparedStatement(_run_row_statement(lock), dialect) for lock in (None, *_LOCKS)}


@cache
def _load_statements() -> SimpleNamespace:
    """Statements that load runs by id (``ids`` expands)."""
    ids: Any = bindparam("ids", expanding=True)
    rc = s.runs.c
    return SimpleNamespace(
        infos=select(*run_info_columns()).where(rc.run_uuid.in_(ids)),
        runs=select(*RUN_ROW_COLUMNS).where(rc.run_uuid.in_(ids)),
    )


def run_row(conn: Connection, run_id: str, lock: str | None = None) -> RunRow:
    """The run's stage, experiment and status (``lock``: a mode of ``_LOCKS``, held until the
    end of the transaction); RESOURCE_DOES_NOT_EXIST if there is no such run."""
    row = _row_statements(conn.dialect)[lock].first(conn, {"run": run_id})
    if row is None:
        raise not_found(f"Run '{run_id}' not found")
    return RunRow(*row)


def lock_run_for_write(conn: Connection, run_id: str) -> None:
    """Hold the run row for a write of what its summary shows (see ``_LOCKS``)."""
    if conn.dialect.name == "postgresql":
        run_row(conn, run_id, lock="write")


def require_active_run(conn: Connection, run_id: str, shared: bool = False) -> int:
    """Check the run accepts writes and hold its row until the transaction ends (``shared``:
    for metric appends, which do not wait for each other); the run's experiment id."""
    row = run_row(conn, run_id, lock="share" if shared else "write")
    if row.lifecycle_stage != "active":
        raise invalid(
            f"The run {run_id} must be in the 'active' state. "
            f"Current state is {row.lifecycle_stage}."
        )
    return int(row.experiment_id)


def set_run_tags(conn: Connection, run_id: str, tags: Sequence[tuple[str, str]]) -> None:
    """Upsert run tags; the run name and parent tags also set their ``runs`` columns."""
    merged = dict(tags)
    upsert(
        conn,
        s.tags,
        [{"run_uuid": run_id, "key": k, "value": v} for k, v in merged.items()],
        ("run_uuid", "key"),
    )
    mark_run_stale(conn, run_id)
    run_values: dict[str, Any] = {}
    if system_tags.RUN_NAME in merged:
        run_values["name"] = merged[system_tags.RUN_NAME]
    if system_tags.PARENT_RUN_ID in merged:
        run_values["parent_run_id"] = merged[system_tags.PARENT_RUN_ID]
    if run_values:
        conn.execute(update(s.runs).where(s.runs.c.run_uuid == run_id).values(**run_values))


def log_params(conn: Connection, run_id: str, params: Sequence[tuple[str, str]]) -> None:
    """Insert new params; the same value again is fine, another value is refused."""
    merged: dict[str, str] = {}
    for key, value in params:
        if key in merged and merged[key] != value:
            raise invalid(f"Duplicate parameter key '{key}' with different values in one batch.")
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
        {"run_uuid": run_id, "key": k, "value": v} for k, v in merged.items() if k not in existing
    ]
    if new:
        conn.execute(insert(s.params), new)
        mark_run_stale(conn, run_id)


def load_runs(conn: Connection, run_ids: list[str]) -> list[Run]:
    """Runs in the order of ``run_ids`` (missing ones skipped) with their data and inputs."""
    if not run_ids:
        return []
    st = _load_statements()
    rows: list[Any] = []
    for chunk in in_chunks(run_ids, _LOAD_CHUNK):
        rows += conn.execute(st.runs, {"ids": chunk}).all()
    loaded = {run.info.run_id: run for run in runs_from_rows(conn, rows)}
    return [loaded[i] for i in run_ids if i in loaded]


def runs_from_rows(conn: Connection, rows: Sequence[Any]) -> list[Run]:
    """Runs from rows of ``RUN_ROW_COLUMNS``, in the same order."""
    runs: list[Run] = []
    with_io: dict[str, Run] = {}
    with gc_paused():
        for r in rows:
            runs.append(_run_from_row(conn, r))
            if r[10]:
                with_io[r[0]] = runs[-1]
    for chunk in in_chunks(list(with_io), _LOAD_CHUNK):
        _load_inputs_outputs(conn, chunk, with_io)
    return runs


def _run_from_row(conn: Connection, r: Any) -> Run:
    doc = r[9]
    # A run without a summary (none written yet) is read from the tables.
    params, tags, points = (
        summary_parts(doc) if doc is not None else summary_from_tables(conn, r[0])
    )
    return Run(
        RunInfo(r[0], str(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8]),
        RunData.from_points(points, params, tags),
    )


def _load_inputs_outputs(conn: Connection, run_ids: list[str], runs: dict[str, Run]) -> None:
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
    mi = s.run_model_inputs.c
    for run_id, model_id in conn.execute(
        select(mi.run_uuid, mi.model_id).where(mi.run_uuid.in_(run_ids)).order_by(mi.model_id)
    ):
        runs[run_id].inputs.model_inputs.append(LoggedModelInput(model_id))


class Runs:
    """The runs of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        experiment_id: str | int,
        user_id: str,
        start_time: int | None,
        tags: dict[str, str],
        run_name: str,
    ) -> Run:
        eid = parse_experiment_id(experiment_id)
        run_id = uuid.uuid4().hex
        with self.db.write() as conn:
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
            artifact_uri = run_artifact_uri(row.artifact_location, run_id)
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
            mark_run_stale(conn, run_id)
            self.db.record_change(conn, "run", eid, run_id)
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

    def get(self, run_id: str) -> Run:
        with self.db.read() as conn:
            runs = load_runs(conn, [run_id])
        if not runs:
            raise not_found(f"Run '{run_id}' not found")
        return runs[0]

    def update_info(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        with self.db.write() as conn:
            eid = require_active_run(conn, run_id)
            values: dict[str, Any] = {}
            if status is not None:
                values["status"] = status
                if status == RunStatus.RUNNING.value:
                    # Resumed: silent until its (new) writer beats, never killed meanwhile.
                    values["heartbeat_time"] = None
            if end_time is not None:
                values["end_time"] = end_time
            if run_name:
                values["name"] = run_name
                upsert(
                    conn,
                    s.tags,
                    [{"run_uuid": run_id, "key": system_tags.RUN_NAME, "value": run_name}],
                    ("run_uuid", "key"),
                )
            if values:
                conn.execute(update(s.runs).where(s.runs.c.run_uuid == run_id).values(**values))
                mark_run_stale(conn, run_id)  # its stored JSON shows the info too
            self.db.record_change(conn, "run", eid, run_id)
            r = conn.execute(_load_statements().infos, {"ids": [run_id]}).one()
        return RunInfo(r[0], str(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8])

    def set_lifecycle(self, run_id: str, stage: LifecycleStage) -> None:
        with self.db.write() as conn:
            row = run_row(conn, run_id, lock="lifecycle")
            conn.execute(
                update(s.runs)
                .where(s.runs.c.run_uuid == run_id)
                .values(
                    lifecycle_stage=stage.value,
                    deleted_time=now_ms() if stage is LifecycleStage.DELETED else None,
                )
            )
            mark_run_stale(conn, run_id)  # its stored JSON shows the lifecycle stage
            self.db.record_change(conn, "run", row.experiment_id, run_id)

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.db.write() as conn:
            eid = require_active_run(conn, run_id)
            done = conn.execute(
                delete(s.tags).where(s.tags.c.run_uuid == run_id, s.tags.c.key == key)
            ).rowcount
            if not done:
                raise not_found(f"No tag with name: {key} in run with id {run_id}")
            mark_run_stale(conn, run_id)
            self.db.record_change(conn, "data", eid, run_id)

    def log_inputs(self, run_id: str, inputs: Sequence[DatasetInput]) -> None:
        with self.db.write() as conn:
            eid = require_active_run(conn, run_id)
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
                insert_ignore(
                    conn, s.run_inputs, [{"run_uuid": run_id, "dataset_uuid": dataset_uuid}]
                )
                upsert(
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
            mark_run_stale(conn, run_id)  # its wire document no longer tells all
            self.db.record_change(conn, "data", eid, run_id)

    def heartbeat(self, run_id: str) -> None:
        """Record that the run's writer is alive (a RUNNING run only; others are left as
        they are). Not part of what the run shows: no summary rewrite, no change feed."""
        rc = s.runs.c
        with self.db.write() as conn:
            lock_run_for_write(conn, run_id)
            done = conn.execute(
                update(s.runs)
                .where(rc.run_uuid == run_id, rc.status == RunStatus.RUNNING.value)
                .values(heartbeat_time=now_ms())
            ).rowcount
            if not done:
                run_row(conn, run_id)  # RESOURCE_DOES_NOT_EXIST for an unknown run

    def kill_silent(self, timeout_ms: int, now: int | None = None) -> list[str]:
        """Mark KILLED every RUNNING run whose last heartbeat is older than ``timeout_ms``,
        ending it at that heartbeat and saying why in a system tag; the runs' ids. Runs that
        never beat (logged by MLflow's clients) are left alone."""
        rc = s.runs.c
        cutoff = (now_ms() if now is None else now) - timeout_ms
        silent = (
            rc.status == RunStatus.RUNNING.value,
            rc.heartbeat_time.is_not(None),
            rc.heartbeat_time < cutoff,
        )
        with self.db.read() as conn:
            candidates = list(conn.execute(select(rc.run_uuid).where(*silent)).scalars())
        killed = []
        for run_id in candidates:
            with self.db.write() as conn:
                # Again under the run's lock: a heartbeat or end_run may have come since.
                lock_run_for_write(conn, run_id)
                row = conn.execute(
                    select(rc.heartbeat_time, rc.experiment_id).where(
                        rc.run_uuid == run_id, *silent
                    )
                ).first()
                if row is None:
                    continue
                beat, eid = row
                conn.execute(
                    update(s.runs)
                    .where(rc.run_uuid == run_id)
                    .values(status=RunStatus.KILLED.value, end_time=beat)
                )
                reason = (
                    f"No heartbeat from the run's writer for over {timeout_ms / 1000:g} s "
                    f"(last at {beat} ms since the epoch): its process was killed or lost."
                )
                set_run_tags(conn, run_id, [(system_tags.KILLED_REASON, reason)])
                self.db.record_change(conn, "run", eid, run_id)
                killed.append(run_id)
        return killed

    def child_run_ids(self, run_id: str) -> list[str]:
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(s.runs.c.run_uuid).where(s.runs.c.parent_run_id == run_id)
                ).scalars()
            )
