"""The tracking system of record: experiments, runs, params, tags, metrics, datasets.

``TrackingStore`` is a facade: each job lives in its own module over one ``Database``
(``experiments``, ``runs``, ``metrics``, ``run_search``); the facade keeps the method names the
service calls and writes ``log_batch``, the one call that spans runs and metrics.

Integrity that needs the database (unique names, immutable params, writes to deleted runs, no
duplicate metric points) is enforced in the store, inside one transaction per call. Input
validation and product rules live in ``labtrack.service``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from labtrack.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    MetricSeries,
    PagedList,
    Run,
    RunInfo,
    ViewType,
)
from labtrack.entities.permissions import Viewer
from labtrack.store.database import Database, encode_page_token, now_ms
from labtrack.store.experiments import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, Experiments
from labtrack.store.hard_delete import HardDeletes
from labtrack.store.metric_chunks import Points
from labtrack.store.metrics import (
    COMPACT_EVERY,
    SETTLED_POINTS,
    HistoryPage,
    Metrics,
    SeriesKey,
    write_metrics,
    write_series,
)
from labtrack.store.permission_store import PermissionStore
from labtrack.store.run_search import SEARCH_MAX_RESULTS, RunSearch
from labtrack.store.runs import Runs, log_params, require_active_run, set_run_tags

# Names other layers and tests import from here.
__all__ = [
    "COMPACT_EVERY",
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "SEARCH_MAX_RESULTS",
    "SETTLED_POINTS",
    "HistoryPage",
    "SeriesKey",
    "TrackingStore",
    "encode_page_token",
    "now_ms",
]


class TrackingStore:
    """SQL implementation of the tracking store, for SQLite and PostgreSQL."""

    def __init__(
        self, uri: str, artifact_root: str | None = None, *, background_checkpoints: bool = False
    ) -> None:
        """``background_checkpoints``: for a long-lived writer on SQLite (the server), copy the
        write-ahead log into the database from a thread of its own, not inside commits."""
        self.db = Database(uri, background_checkpoints=background_checkpoints)
        self.uri = uri
        self.engine = self.db.engine
        self.experiments = Experiments(self.db)
        self.runs = Runs(self.db)
        self.metrics = Metrics(self.db)
        self.run_search = RunSearch(self.db)
        self.hard_deletes = HardDeletes(self.db)
        self.permissions = PermissionStore(self.db)
        self.artifact_root = self.db.settle_artifact_root(artifact_root)
        self.experiments.ensure_default()

    def dispose(self) -> None:
        self.db.dispose()

    # ---- experiments --------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        owner: str | None = None,
    ) -> str:
        return self.experiments.create(name, artifact_location, tags, owner)

    def get_experiment(self, experiment_id: str | int) -> Experiment:
        return self.experiments.get(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.experiments.get_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
        viewer: Viewer | None = None,
    ) -> PagedList:
        return self.experiments.search(
            view_type, max_results, filter_string, order_by, page_token, viewer
        )

    def delete_experiment(self, experiment_id: str | int) -> None:
        self.experiments.delete(experiment_id)

    def restore_experiment(self, experiment_id: str | int) -> None:
        self.experiments.restore(experiment_id)

    def rename_experiment(self, experiment_id: str | int, new_name: str) -> None:
        self.experiments.rename(experiment_id, new_name)

    def set_experiment_tag(self, experiment_id: str | int, key: str, value: str) -> None:
        self.experiments.set_tag(experiment_id, key, value)

    def delete_experiment_tag(self, experiment_id: str | int, key: str) -> None:
        self.experiments.delete_tag(experiment_id, key)

    # ---- runs ---------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str | int,
        user_id: str,
        start_time: int | None,
        tags: dict[str, str],
        run_name: str,
    ) -> Run:
        return self.runs.create(experiment_id, user_id, start_time, tags, run_name)

    def get_run(self, run_id: str) -> Run:
        return self.runs.get(run_id)

    def update_run_info(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        return self.runs.update_info(run_id, status, end_time, run_name)

    def heartbeat(self, run_id: str) -> None:
        self.runs.heartbeat(run_id)

    def kill_silent_runs(self, timeout_ms: int, now: int | None = None) -> list[str]:
        return self.runs.kill_silent(timeout_ms, now)

    def delete_run(self, run_id: str) -> None:
        self.runs.set_lifecycle(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        self.runs.set_lifecycle(run_id, LifecycleStage.ACTIVE)

    def child_run_ids(self, run_id: str) -> list[str]:
        return self.runs.child_run_ids(run_id)

    # ---- params, tags, metrics, datasets ------------------------------------------------

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

        def work(conn: Connection) -> None:
            # Metrics alone append without waiting for other writers of the run.
            eid = require_active_run(conn, run_id, shared=not (params or tags))
            if params:
                log_params(conn, run_id, params)
            if tags:
                set_run_tags(conn, run_id, tags)
            if metrics:
                write_metrics(conn, run_id, eid, metrics)
            if series:
                write_series(conn, run_id, eid, series)
            self.db.record_change(conn, "data", eid, run_id)

        self.db.write_retrying(work)

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.log_batch(run_id, tags=[(key, value)])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.runs.delete_tag(run_id, key)

    def log_series(self, run_id: str, series: dict[SeriesKey, Points]) -> None:
        """The fast path for batched clients: points already grouped by series, as columns,
        written in one transaction."""
        self.metrics.log_series(run_id, series)

    def log_inputs(self, run_id: str, inputs: Sequence[DatasetInput]) -> None:
        self.runs.log_inputs(run_id, inputs)

    def read_points(self, run_id: str, key: str) -> Points:
        """All points of a metric, ordered by step then timestamp."""
        return self.metrics.read_points(run_id, key)

    def read_history_page(
        self, run_id: str, key: str, offset: int, limit: int | None
    ) -> HistoryPage:
        return self.metrics.read_history_page(run_id, key, offset, limit)

    def get_metric_history_points(
        self,
        run_id: str,
        key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> tuple[HistoryPage, str | None]:
        return self.metrics.get_metric_history_points(run_id, key, max_results, page_token)

    def get_metric_history(
        self,
        run_id: str,
        key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        return self.metrics.get_metric_history(run_id, key, max_results, page_token)

    def get_metric_series(
        self,
        run_id: str,
        key: str,
        max_points: int | None = 2000,
        x: str = "step",
        x_min: float | None = None,
        x_max: float | None = None,
    ) -> MetricSeries:
        return self.metrics.get_metric_series(run_id, key, max_points, x, x_min, x_max)

    # ---- search -------------------------------------------------------------------------

    def search_runs(
        self,
        experiment_ids: Sequence[str | int],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        return self.run_search.search_runs(
            experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
        )

    def search_runs_json(
        self,
        experiment_ids: Sequence[str | int],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[bytes], str | None]:
        return self.run_search.search_runs_json(
            experiment_ids, filter_string, run_view_type, max_results, order_by, page_token
        )

    def count_runs(
        self,
        experiment_ids: Sequence[str | int],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
    ) -> dict[str, int]:
        return self.run_search.count_runs(experiment_ids, filter_string, run_view_type)

    # ---- change feed --------------------------------------------------------------------

    def changes_since(
        self, cursor: int | None, limit: int = 1000, viewer: Viewer | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        return self.db.changes_since(cursor, limit, viewer)
