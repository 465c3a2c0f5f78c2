"""Permanent deletion (``labtrack gc``): runs, logged models and experiments in the ``deleted``
lifecycle stage lose their rows for good, each in one transaction.

Only what is already in the ``deleted`` stage can go; the store checks it under the row lock,
so a run restored while gc runs is never removed. Child rows are deleted explicitly, not left
to ``ON DELETE CASCADE``: the foreign keys of older databases and of SQLite connections without
``PRAGMA foreign_keys`` would not cascade. Which ids go, and their artifacts, is the service's
job (``labtrack.service.gc``).
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, or_, select

from labtrack.entities.permissions import EXPERIMENT
from labtrack.errors import invalid, not_found
from labtrack.store import schema as s
from labtrack.store.database import Database, mark_run_stale, now_ms
from labtrack.store.permission_store import drop_in

# Rows keyed by run id (run_input_tags before run_inputs: its foreign key names them).
_RUN_CHILD_TABLES = (
    s.params,
    s.tags,
    s.latest_metrics,
    s.metric_chunks,
    s.run_input_tags,
    s.run_inputs,
    s.run_model_inputs,
    s.run_outputs,
    s.logged_model_metrics,  # a model's metrics logged by this run (keyed by both)
)
_MODEL_CHILD_TABLES = (
    s.logged_model_tags,
    s.logged_model_params,
    s.logged_model_metrics,
    s.run_outputs,
)


def _cutoff(older_than_ms: int) -> int:
    return now_ms() - max(0, older_than_ms)


class HardDeletes:
    """Permanent deletes in one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- which ids are eligible ---------------------------------------------------------

    def deleted_run_ids(self, older_than_ms: int = 0) -> list[str]:
        """Runs in the deleted stage whose ``deleted_time`` is at least ``older_than_ms`` ago
        (MLflow's rule; with no age asked, runs deleted before deletion times were kept too)."""
        r = s.runs.c
        old = r.deleted_time <= _cutoff(older_than_ms)
        when = old if older_than_ms > 0 else or_(old, r.deleted_time.is_(None))
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(r.run_uuid)
                    .where(r.lifecycle_stage == "deleted", when)
                    .order_by(r.run_uuid)
                ).scalars()
            )

    def deleted_logged_model_ids(self, older_than_ms: int = 0) -> list[str]:
        """Logged models in the deleted stage last updated at least ``older_than_ms`` ago."""
        m = s.logged_models.c
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(m.model_id)
                    .where(
                        m.lifecycle_stage == "deleted",
                        m.last_updated_timestamp <= _cutoff(older_than_ms),
                    )
                    .order_by(m.model_id)
                ).scalars()
            )

    def deleted_experiment_ids(self, older_than_ms: int = 0) -> list[str]:
        """Experiments in the deleted stage last updated at least ``older_than_ms`` ago (the
        deletion updates it, as in MLflow)."""
        e = s.experiments.c
        cond = [e.lifecycle_stage == "deleted"]
        if older_than_ms > 0:
            cond.append(e.last_update_time < _cutoff(older_than_ms))
        with self.db.read() as conn:
            return [
                str(i)
                for i in conn.execute(
                    select(e.experiment_id).where(*cond).order_by(e.experiment_id)
                ).scalars()
            ]

    def run_ids_of_experiments(self, experiment_ids: list[int]) -> dict[str, str]:
        """{run id: lifecycle stage} of every run of these experiments."""
        r = s.runs.c
        with self.db.read() as conn:
            return {
                row.run_uuid: row.lifecycle_stage
                for row in conn.execute(
                    select(r.run_uuid, r.lifecycle_stage).where(r.experiment_id.in_(experiment_ids))
                )
            }

    # ---- deletes --------------------------------------------------------------------------

    def delete_run(self, run_id: str) -> None:
        """Delete a deleted run's params, metrics, tags, inputs, outputs and the run row, in
        one transaction."""
        r = s.runs.c
        with self.db.write() as conn:
            row = conn.execute(
                select(r.lifecycle_stage, r.experiment_id)
                .where(r.run_uuid == run_id)
                # PostgreSQL: waits for a writer of the run and blocks the next one.
                .with_for_update()
            ).first()
            if row is None:
                raise not_found(f"Run '{run_id}' not found")
            if row.lifecycle_stage != "deleted":
                raise invalid(
                    f"Run {run_id} is not in the deleted lifecycle stage: "
                    "only deleted runs can be permanently deleted."
                )
            for table in _RUN_CHILD_TABLES:
                conn.execute(delete(table).where(table.c.run_uuid == run_id))
            conn.execute(delete(s.runs).where(r.run_uuid == run_id))
            self.db.record_change(conn, "run", row.experiment_id, run_id)

    def delete_logged_model(self, model_id: str) -> None:
        """Delete a deleted logged model's tags, params, run links and its row."""
        m = s.logged_models.c
        with self.db.write() as conn:
            row = conn.execute(
                select(m.lifecycle_stage, m.experiment_id)
                .where(m.model_id == model_id)
                .with_for_update()
            ).first()
            if row is None:
                raise not_found(f"Logged model with ID '{model_id}' not found.")
            if row.lifecycle_stage != "deleted":
                raise invalid(
                    f"Logged model {model_id} is not in the deleted lifecycle stage: "
                    "only deleted logged models can be permanently deleted."
                )
            _delete_models(conn, [model_id])
            self.db.record_change(conn, "logged_model", row.experiment_id)

    def delete_experiment(self, experiment_id: str | int) -> list[str]:
        """Delete a deleted experiment that has no runs left: its tags, datasets and logged
        models (every stage, as MLflow's cascade does) go with it. The ids of those models."""
        e = s.experiments.c
        eid = int(experiment_id)
        with self.db.write() as conn:
            stage = conn.execute(
                select(e.lifecycle_stage).where(e.experiment_id == eid).with_for_update()
            ).scalar()
            if stage is None:
                raise not_found(f"No Experiment with id={experiment_id} exists")
            if stage != "deleted":
                raise invalid(
                    f"Experiment {eid} is not in the deleted lifecycle stage: "
                    "only deleted experiments can be permanently deleted."
                )
            left = conn.execute(
                select(func.count()).select_from(s.runs).where(s.runs.c.experiment_id == eid)
            ).scalar_one()
            if left:
                raise invalid(f"Experiment {eid} still has {left} runs; they must go first.")
            models = list(
                conn.execute(
                    select(s.logged_models.c.model_id).where(s.logged_models.c.experiment_id == eid)
                ).scalars()
            )
            _delete_models(conn, models)
            conn.execute(delete(s.experiment_tags).where(s.experiment_tags.c.experiment_id == eid))
            conn.execute(delete(s.datasets).where(s.datasets.c.experiment_id == eid))
            conn.execute(delete(s.experiments).where(e.experiment_id == eid))
            # Its grants go too: a later experiment given the same id starts with none.
            drop_in(conn, EXPERIMENT, str(eid))
            self.db.record_change(conn, "experiment", eid)
        return models


def _delete_models(conn: Connection, model_ids: list[str]) -> None:
    if not model_ids:
        return
    # Runs that named these models as outputs show them no more.
    for run_id in conn.execute(
        select(s.run_outputs.c.run_uuid).where(s.run_outputs.c.model_id.in_(model_ids))
    ).scalars():
        mark_run_stale(conn, run_id)
    for table in _MODEL_CHILD_TABLES:
        conn.execute(delete(table).where(table.c.model_id.in_(model_ids)))
    conn.execute(delete(s.logged_models).where(s.logged_models.c.model_id.in_(model_ids)))
