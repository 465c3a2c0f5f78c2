"""Experiments: create, read, search, rename, delete/restore (with their runs), tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from labtrack.entities import Experiment, PagedList, ViewType
from labtrack.entities.artifact_uris import experiment_artifact_uri
from labtrack.entities.permissions import EXPERIMENT, MANAGE, USER, Viewer
from labtrack.errors import already_exists, invalid, not_found
from labtrack.store import schema as s
from labtrack.store.database import (
    Database,
    decode_page_token,
    encode_page_token,
    insert_ignore,
    now_ms,
    parse_experiment_id,
    upsert,
)
from labtrack.store.permission_store import grant_in, readable_clause

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"


def require_active_experiment(conn: Connection, eid: int) -> None:
    """Raise unless the experiment exists and is active."""
    stage = conn.execute(
        select(s.experiments.c.lifecycle_stage).where(s.experiments.c.experiment_id == eid)
    ).scalar()
    if stage is None:
        raise not_found(f"No Experiment with id={eid} exists")
    if stage != "active":
        raise invalid(f"The experiment {eid} must be in the 'active' state. Current: {stage}.")


def experiments_by_ids(conn: Connection, ids: list[int]) -> dict[int, Experiment]:
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


class Experiments:
    """The experiments of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure_default(self) -> None:
        """Create experiment 0 ("Default") if it is missing."""
        with self.db.read() as conn:
            if conn.execute(
                select(s.experiments.c.experiment_id).where(s.experiments.c.experiment_id == 0)
            ).first():
                return
        t = now_ms()
        with self.db.write() as conn:
            insert_ignore(
                conn,
                s.experiments,
                [
                    {
                        "experiment_id": 0,
                        "name": DEFAULT_EXPERIMENT_NAME,
                        "artifact_location": experiment_artifact_uri(0),
                        "lifecycle_stage": "active",
                        "creation_time": t,
                        "last_update_time": t,
                    }
                ],
            )

    def create(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        owner: str | None = None,
    ) -> str:
        """``owner`` (team mode): the creator, who gets MANAGE in the same transaction."""
        t = now_ms()
        try:
            with self.db.write() as conn:
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
                    # The default location names the id, known only after the insert.
                    conn.execute(
                        update(s.experiments)
                        .where(s.experiments.c.experiment_id == exp_id)
                        .values(artifact_location=experiment_artifact_uri(exp_id))
                    )
                if tags:
                    conn.execute(
                        insert(s.experiment_tags),
                        [{"experiment_id": exp_id, "key": k, "value": v} for k, v in tags.items()],
                    )
                if owner:
                    grant_in(conn, EXPERIMENT, str(exp_id), USER, owner, MANAGE.name)
                self.db.record_change(conn, "experiment", exp_id)
        except IntegrityError as exc:
            raise already_exists(f"Experiment '{name}' already exists.") from exc
        return str(exp_id)

    def get(self, experiment_id: str | int) -> Experiment:
        eid = parse_experiment_id(experiment_id)
        with self.db.read() as conn:
            found = experiments_by_ids(conn, [eid])
        if eid not in found:
            raise not_found(f"No Experiment with id={experiment_id} exists")
        return found[eid]

    def get_by_name(self, name: str) -> Experiment | None:
        with self.db.read() as conn:
            eid = conn.execute(
                select(s.experiments.c.experiment_id).where(s.experiments.c.name == name)
            ).scalar()
            if eid is None:
                return None
            return experiments_by_ids(conn, [eid])[eid]

    def search(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
        viewer: Viewer | None = None,
    ) -> PagedList:
        """``viewer`` (team mode): only the experiments they may read, filtered before paging."""
        from labtrack.store.search.sql import apply_experiment_order, experiment_filter_clauses

        offset = decode_page_token(page_token)
        stmt = select(s.experiments.c.experiment_id).where(
            s.experiments.c.lifecycle_stage.in_(view_type.stages()),
            *experiment_filter_clauses(filter_string),
            readable_clause(viewer, EXPERIMENT, s.experiments.c.experiment_id),
        )
        stmt = apply_experiment_order(stmt, order_by).offset(offset).limit(max_results + 1)
        with self.db.read() as conn:
            ids: list[int] = [r[0] for r in conn.execute(stmt)]
            page, more = ids[:max_results], len(ids) > max_results
            found = experiments_by_ids(conn, page)
        return PagedList(
            [found[i] for i in page], encode_page_token(offset + max_results) if more else None
        )

    def _update(self, experiment_id: str | int, **values: Any) -> None:
        eid = parse_experiment_id(experiment_id)
        with self.db.write() as conn:
            done = conn.execute(
                update(s.experiments)
                .where(s.experiments.c.experiment_id == eid)
                .values(last_update_time=now_ms(), **values)
            ).rowcount
            if not done:
                raise not_found(f"No Experiment with id={experiment_id} exists")
            self.db.record_change(conn, "experiment", eid)

    def delete(self, experiment_id: str | int) -> None:
        """Delete the experiment and its active runs."""
        if str(experiment_id) == DEFAULT_EXPERIMENT_ID:
            raise invalid("Cannot delete the default experiment '0'.")
        eid = parse_experiment_id(experiment_id)
        self._update(eid, lifecycle_stage="deleted")
        with self.db.write() as conn:
            # PostgreSQL: wait for writers in flight to these runs, and make later ones see
            # the runs deleted (runs._LOCKS, "lifecycle").
            conn.execute(
                select(s.runs.c.run_uuid)
                .where(s.runs.c.experiment_id == eid, s.runs.c.lifecycle_stage == "active")
                .with_for_update()
            )
            conn.execute(
                update(s.runs)
                .where(s.runs.c.experiment_id == eid, s.runs.c.lifecycle_stage == "active")
                # Thousands of runs at once: their JSON is dropped, not rewritten (search
                # encodes them from their summaries until their next write).
                .values(lifecycle_stage="deleted", deleted_time=now_ms(), run_json=None)
            )

    def restore(self, experiment_id: str | int) -> None:
        """Restore the experiment and its deleted runs."""
        eid = parse_experiment_id(experiment_id)
        self._update(eid, lifecycle_stage="active")
        with self.db.write() as conn:
            conn.execute(
                update(s.runs)
                .where(s.runs.c.experiment_id == eid, s.runs.c.lifecycle_stage == "deleted")
                .values(lifecycle_stage="active", deleted_time=None, run_json=None)
            )

    def rename(self, experiment_id: str | int, new_name: str) -> None:
        try:
            self._update(experiment_id, name=new_name)
        except IntegrityError as exc:
            raise already_exists(f"Experiment '{new_name}' already exists.") from exc

    def set_tag(self, experiment_id: str | int, key: str, value: str) -> None:
        eid = parse_experiment_id(experiment_id)
        with self.db.write() as conn:
            require_active_experiment(conn, eid)
            upsert(
                conn,
                s.experiment_tags,
                [{"experiment_id": eid, "key": key, "value": value}],
                ("experiment_id", "key"),
            )
            self.db.record_change(conn, "experiment", eid)

    def delete_tag(self, experiment_id: str | int, key: str) -> None:
        eid = parse_experiment_id(experiment_id)
        with self.db.write() as conn:
            require_active_experiment(conn, eid)
            conn.execute(
                delete(s.experiment_tags).where(
                    s.experiment_tags.c.experiment_id == eid, s.experiment_tags.c.key == key
                )
            )
