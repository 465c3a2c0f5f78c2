"""MLflow 3 logged models: rows in ``logged_models`` with their tags and params, the run outputs
that point at them, and the 2.x ``mlflow.log-model.history`` run tag.

Uses the tracking store's ``Database`` (same engine, transactions and change feed), so a model
and the run it came from are written with the same locking rules. Validation lives in
``labtrack.service.logged_models``; integrity that needs the database (the experiment and run
exist and are active, params are immutable) is checked here.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, case, delete, insert, select, update

from labtrack.entities import LoggedModel, Metric, PagedList, system_tags
from labtrack.entities.artifact_uris import logged_model_artifact_uri
from labtrack.errors import invalid, not_found
from labtrack.store import schema as s
from labtrack.store.database import (
    Database,
    decode_page_token,
    encode_page_token,
    insert_ignore,
    mark_run_stale,
    now_ms,
    parse_experiment_id,
    upsert,
)
from labtrack.store.experiments import require_active_experiment
from labtrack.store.runs import require_active_run, set_run_tags
from labtrack.store.search.parser import Comparison
from labtrack.store.search.sql import DatasetFilter, logged_model_filter_clauses

if TYPE_CHECKING:
    from labtrack.store.tracking_store import TrackingStore

MODEL_ID_PREFIX = "m-"

_M = s.logged_models.c
# Attribute keys an order_by may name -> column (MLflow spells some two ways). Filters are
# compiled by labtrack.store.search.sql.
ATTRIBUTE_COLUMNS: dict[str, Any] = {
    "model_id": _M.model_id,
    "name": _M.name,
    "status": _M.status,
    "model_type": _M.model_type,
    "source_run_id": _M.source_run_id,
    "experiment_id": _M.experiment_id,
    "creation_timestamp": _M.creation_timestamp,
    "creation_time": _M.creation_timestamp,
    "creation_timestamp_ms": _M.creation_timestamp,
    "last_updated_timestamp": _M.last_updated_timestamp,
    "last_updated_time": _M.last_updated_timestamp,
    "last_updated_timestamp_ms": _M.last_updated_timestamp,
}


@dataclass(frozen=True)
class Order:
    """An order_by field: an attribute (``key`` in ATTRIBUTE_COLUMNS) or, with ``metric``, a
    metric's latest value, optionally on one dataset."""

    key: str
    ascending: bool = True
    metric: bool = False
    dataset_name: str | None = None
    dataset_digest: str | None = None


def new_model_id() -> str:
    return MODEL_ID_PREFIX + uuid.uuid4().hex


def _unique_versions(value: str) -> str:
    """A ``mlflow.modelVersions`` value with repeated (name, version) entries dropped (the
    first kept); anything but a JSON list of objects is left as it is."""
    try:
        entries = json.loads(value)
    except ValueError:
        return value
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return value
    seen: set[tuple[str, str]] = set()
    kept = []
    for entry in entries:
        ident = (str(entry.get("name")), str(entry.get("version")))
        if ident not in seen:
            seen.add(ident)
            kept.append(entry)
    return value if len(kept) == len(entries) else json.dumps(kept)


def record_model_version(conn: Connection, model_id: str, name: str, version: int) -> None:
    """Append ``{"name", "version"}`` to the logged model's ``mlflow.modelVersions`` tag, in
    the registry's transaction (MLflow 3.17's server does this on model-versions/create; the
    version is a number there)."""
    t = s.logged_model_tags.c
    current = conn.execute(
        select(t.value).where(t.model_id == model_id, t.key == system_tags.MODEL_VERSIONS)
    ).scalar()
    entries: list[Any] = []
    if current:
        try:
            loaded = json.loads(current)
        except ValueError:
            loaded = []
        entries = loaded if isinstance(loaded, list) else []
    entry = {"name": name, "version": version}
    if entry not in entries:
        entries.append(entry)
    upsert(
        conn,
        s.logged_model_tags,
        [{"model_id": model_id, "key": system_tags.MODEL_VERSIONS, "value": json.dumps(entries)}],
        ("model_id", "key"),
    )


def _latest_metric(order: Order) -> Any:
    """The model's latest point of ``order.key`` (newest timestamp, then step, as MLflow 3.17
    orders), NULL when it has none or that point is NaN; a scalar subquery per model."""
    lmm = s.logged_model_metrics.alias("latest")
    where = [lmm.c.model_id == _M.model_id, lmm.c.key == order.key]
    if order.dataset_name:
        where.append(lmm.c.dataset_name == order.dataset_name)
    if order.dataset_digest:
        where.append(lmm.c.dataset_digest == order.dataset_digest)
    value = case((lmm.c.is_nan.is_(True), None), else_=lmm.c.value)
    return (
        select(value)
        .where(*where)
        .order_by(lmm.c.timestamp.desc(), lmm.c.step.desc(), lmm.c.run_uuid.asc())
        .limit(1)
        .correlate(s.logged_models)
        .scalar_subquery()
    )


class LoggedModelStore:
    """Logged models in the database of a :class:`TrackingStore`."""

    def __init__(self, tracking_store: TrackingStore) -> None:
        self.db: Database = tracking_store.db

    # ---- models -------------------------------------------------------------------------

    def create(
        self,
        experiment_id: str,
        name: str,
        model_type: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> LoggedModel:
        eid = parse_experiment_id(experiment_id)
        model_id = new_model_id()
        t = now_ms()
        with self.db.write() as conn:
            require_active_experiment(conn, eid)
            # source_run_id is a reference MLflow does not check; neither does labtrack.
            conn.execute(
                insert(s.logged_models).values(
                    model_id=model_id,
                    experiment_id=eid,
                    name=name,
                    artifact_location=logged_model_artifact_uri(str(eid), model_id),
                    creation_timestamp=t,
                    last_updated_timestamp=t,
                    status="LOGGED_MODEL_PENDING",
                    lifecycle_stage="active",
                    model_type=model_type,
                    source_run_id=source_run_id or None,
                )
            )
            if tags:
                conn.execute(
                    insert(s.logged_model_tags),
                    [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()],
                )
            if params:
                conn.execute(
                    insert(s.logged_model_params),
                    [{"model_id": model_id, "key": k, "value": v} for k, v in params.items()],
                )
            self.db.record_change(conn, "logged_model", eid, source_run_id or None)
            return self._load(conn, [model_id])[0]

    def get(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        with self.db.read() as conn:
            found = self._load(conn, [model_id])
        if not found or (found[0].lifecycle_stage != "active" and not allow_deleted):
            raise not_found(f"Logged model with ID '{model_id}' not found.")
        return found[0]

    def _active_row(self, conn: Connection, model_id: str) -> Any:
        row = conn.execute(
            select(_M.experiment_id, _M.lifecycle_stage, _M.source_run_id).where(
                _M.model_id == model_id
            )
        ).first()
        if row is None or row.lifecycle_stage != "active":
            raise not_found(f"Logged model with ID '{model_id}' not found.")
        return row

    def _touch(self, conn: Connection, model_id: str, **values: Any) -> None:
        row = self._active_row(conn, model_id)
        conn.execute(
            update(s.logged_models)
            .where(_M.model_id == model_id)
            .values(last_updated_timestamp=now_ms(), **values)
        )
        self.db.record_change(conn, "logged_model", row.experiment_id, row.source_run_id)

    def set_status(self, model_id: str, status: str, message: str | None = None) -> LoggedModel:
        with self.db.write() as conn:
            self._touch(conn, model_id, status=status, status_message=message)
            return self._load(conn, [model_id])[0]

    def delete(self, model_id: str) -> None:
        with self.db.write() as conn:
            self._touch(conn, model_id, lifecycle_stage="deleted")

    def set_tags(self, model_id: str, tags: dict[str, str]) -> LoggedModel:
        versions = tags.get(system_tags.MODEL_VERSIONS)
        if versions is not None:
            # MLflow 3's register_model appends to what the server already wrote: keep one
            # entry per version.
            tags = {**tags, system_tags.MODEL_VERSIONS: _unique_versions(versions)}
        with self.db.write() as conn:
            self._touch(conn, model_id)
            upsert(
                conn,
                s.logged_model_tags,
                [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()],
                ("model_id", "key"),
            )
            return self._load(conn, [model_id])[0]

    def delete_tag(self, model_id: str, key: str) -> None:
        t = s.logged_model_tags.c
        with self.db.write() as conn:
            self._touch(conn, model_id)
            done = conn.execute(
                delete(s.logged_model_tags).where(t.model_id == model_id, t.key == key)
            ).rowcount
            if not done:
                raise not_found(f"No tag with key '{key}' on logged model '{model_id}'.")

    def log_params(self, model_id: str, params: dict[str, str]) -> None:
        """Params are immutable, as on runs: the same value again is fine, another is 400."""
        p = s.logged_model_params.c
        with self.db.write() as conn:
            self._touch(conn, model_id)
            existing = dict(
                conn.execute(
                    select(p.key, p.value).where(p.model_id == model_id, p.key.in_(list(params)))
                ).all()
            )
            for key, value in params.items():
                if key in existing and existing[key] != value:
                    raise invalid(
                        f"Changing param values is not allowed. Param with key='{key}' was "
                        f"already logged with value='{existing[key]}' for logged model ID="
                        f"'{model_id}'. Attempted logging new value '{value}'."
                    )
            insert_ignore(
                conn,
                s.logged_model_params,
                [{"model_id": model_id, "key": k, "value": v} for k, v in params.items()],
            )

    def _load(self, conn: Connection, model_ids: list[str]) -> list[LoggedModel]:
        """Models in the order of ``model_ids`` (missing ones skipped) with tags and params."""
        if not model_ids:
            return []
        models: dict[str, LoggedModel] = {}
        for r in conn.execute(select(s.logged_models).where(_M.model_id.in_(model_ids))):
            models[r.model_id] = LoggedModel(
                model_id=r.model_id,
                experiment_id=str(r.experiment_id),
                name=r.name,
                artifact_location=r.artifact_location,
                creation_timestamp=r.creation_timestamp,
                last_updated_timestamp=r.last_updated_timestamp,
                status=r.status,
                lifecycle_stage=r.lifecycle_stage,
                model_type=r.model_type,
                source_run_id=r.source_run_id,
                status_message=r.status_message,
            )
        if models:
            ids = list(models)
            for table, attr in ((s.logged_model_tags, "tags"), (s.logged_model_params, "params")):
                rows = conn.execute(
                    select(table.c.model_id, table.c.key, table.c.value)
                    .where(table.c.model_id.in_(ids))
                    .order_by(table.c.model_id, table.c.key)
                )
                for model_id, key, value in rows:
                    getattr(models[model_id], attr)[key] = value
            lmm = s.logged_model_metrics.c
            points = conn.execute(
                select(
                    lmm.model_id,
                    lmm.key,
                    lmm.value,
                    lmm.is_nan,
                    lmm.timestamp,
                    lmm.step,
                    lmm.dataset_name,
                    lmm.dataset_digest,
                    lmm.run_uuid,
                )
                .where(lmm.model_id.in_(ids))
                .order_by(lmm.model_id, lmm.key, lmm.step, lmm.timestamp, lmm.run_uuid)
            )
            for model_id, key, value, nan, ts, step, ds_name, ds_digest, run_id in points:
                models[model_id].metrics.append(
                    Metric(
                        key,
                        math.nan if nan else value,
                        ts,
                        step,
                        model_id,
                        ds_name or None,
                        ds_digest or None,
                        run_id,
                    )
                )
        return [models[m] for m in model_ids if m in models]

    # ---- search -------------------------------------------------------------------------

    def search(
        self,
        experiment_ids: Sequence[str],
        conditions: Sequence[Comparison] = (),
        max_results: int = 100,
        order_by: Sequence[Order] = (),
        page_token: str | None = None,
        datasets: Sequence[DatasetFilter] = (),
    ) -> PagedList:
        """``datasets``: only models with metrics on one of them (a name, and a digest when
        given); metric filters then look only at points on those datasets (MLflow 3.17)."""
        eids = [parse_experiment_id(e) for e in experiment_ids]
        offset = decode_page_token(page_token)
        stmt = select(_M.model_id).where(
            _M.experiment_id.in_(eids),
            _M.lifecycle_stage == "active",
            *logged_model_filter_clauses(conditions, datasets),
        )
        keys = []
        for o in order_by:
            col = _latest_metric(o) if o.metric else ATTRIBUTE_COLUMNS[o.key]
            # Missing values last in both directions, as for runs.
            keys.append(col.is_(None))
            keys.append(col.asc() if o.ascending else col.desc())
        if not order_by:
            keys.append(_M.creation_timestamp.desc())
        keys.append(_M.model_id.asc())
        stmt = stmt.order_by(*keys).offset(offset).limit(max_results + 1)
        with self.db.read() as conn:
            ids = list(conn.execute(stmt).scalars())
            page = self._load(conn, ids[:max_results])
        more = len(ids) > max_results
        return PagedList(page, encode_page_token(offset + max_results) if more else None)

    # ---- runs ---------------------------------------------------------------------------

    def log_outputs(self, run_id: str, outputs: Sequence[tuple[str, int]]) -> None:
        """Record ``(model_id, step)`` outputs of a run (repeating one updates its step)."""
        with self.db.write() as conn:
            eid = require_active_run(conn, run_id)
            for model_id, _step in outputs:
                self._active_row(conn, model_id)
            upsert(
                conn,
                s.run_outputs,
                [{"run_uuid": run_id, "model_id": m, "step": step} for m, step in outputs],
                ("run_uuid", "model_id"),
            )
            mark_run_stale(conn, run_id)  # its wire document no longer tells all
            self.db.record_change(conn, "data", eid, run_id)

    def log_model_inputs(self, run_id: str, model_ids: Sequence[str]) -> None:
        """Record logged models a run used (repeating one is a no-op)."""
        with self.db.write() as conn:
            eid = require_active_run(conn, run_id)
            insert_ignore(
                conn,
                s.run_model_inputs,
                [{"run_uuid": run_id, "model_id": m} for m in dict.fromkeys(model_ids)],
            )
            mark_run_stale(conn, run_id)  # its wire document no longer tells all
            self.db.record_change(conn, "data", eid, run_id)

    def append_log_model_history(self, run_id: str, model: dict[str, Any], max_len: int) -> None:
        """Append ``model`` to the run's ``mlflow.log-model.history`` tag (a JSON list), in one
        transaction. Oldest entries are dropped if the tag would exceed ``max_len``."""
        t = s.tags.c
        with self.db.write() as conn:
            eid = require_active_run(conn, run_id)
            current = conn.execute(
                select(t.value).where(t.run_uuid == run_id, t.key == system_tags.LOG_MODEL_HISTORY)
            ).scalar()
            history: list[Any] = []
            if current:
                try:
                    loaded = json.loads(current)
                except ValueError:
                    loaded = []
                history = loaded if isinstance(loaded, list) else []
            history.append(model)
            value = json.dumps(history)
            while len(value) > max_len and len(history) > 1:
                history.pop(0)
                value = json.dumps(history)
            if len(value) > max_len:
                raise invalid(
                    f"The model description is {len(value)} characters long; the tag "
                    f"'{system_tags.LOG_MODEL_HISTORY}' holds at most {max_len}."
                )
            set_run_tags(conn, run_id, [(system_tags.LOG_MODEL_HISTORY, value)])
            self.db.record_change(conn, "data", eid, run_id)
