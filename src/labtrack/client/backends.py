"""The typed seam between the client and the services: what the client needs, and who meets it.

``TrackingBackend``, ``RegistryBackend``, ``LoggedModelsBackend`` and ``ArtifactsBackend`` are
the operations the client calls; a ``Backend`` bundles one of each. Two implementations meet
them: in-process (``labtrack.service`` over the store and ``labtrack.artifact_store.ArtifactStore``,
see ``client.local``) and REST (``client.rest``). mypy checks both against these protocols
where the bundles are built.

The transport is chosen once, here, in ``open_backend``; one backend per (tracking URI, artifact
root, token) per process, with one metric queue shared by every client of that URI, so a point
queued by ``lt.log_metric`` is seen by any client's read (reads flush the shared queue).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from labtrack.client.batching import MetricQueue
from labtrack.config import TRACKING_TOKEN_ENVS, first_env, is_http_uri

if TYPE_CHECKING:
    from labtrack.artifact_store.store import FileInfo
    from labtrack.entities import (
        DatasetInput,
        Experiment,
        LoggedModel,
        Metric,
        MetricSeries,
        ModelVersion,
        PagedList,
        RegisteredModel,
        Run,
        RunInfo,
    )
    from labtrack.entities.points import Points

# A metric series in a batch: (key, model_id, dataset_name, dataset_digest).
SeriesKey = tuple[str, str | None, str | None, str | None]
# Bytes transferred so far, reported during a long upload.
BytesDone = Callable[[int], None]


class TrackingBackend(Protocol):
    """Experiments, runs, metrics, params, tags, inputs and the change feed."""

    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str: ...

    def get_experiment(self, experiment_id: str) -> Experiment: ...

    def get_experiment_by_name(self, name: str) -> Experiment: ...

    def search_experiments(
        self,
        view_type: object = None,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList: ...

    def delete_experiment(self, experiment_id: str) -> None: ...

    def restore_experiment(self, experiment_id: str) -> None: ...

    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    def create_run(
        self,
        experiment_id: str | None = None,
        user_id: str | None = None,
        start_time: int | None = None,
        tags: dict[str, str] | None = None,
        run_name: str | None = None,
    ) -> Run: ...

    def get_run(self, run_id: str) -> Run: ...

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo: ...

    def heartbeat(self, run_id: str) -> None:
        """The run's writer is alive (see ``config.HEARTBEAT_INTERVAL_ENV``)."""
        ...

    def delete_run(self, run_id: str) -> None: ...

    def restore_run(self, run_id: str) -> None: ...

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Iterable[tuple[str, object]] = (),
        tags: Iterable[tuple[str, object]] = (),
    ) -> None: ...

    def log_series(self, run_id: str, series: dict[SeriesKey, Points]) -> None:
        """The batching queue's write: already validated points, as columns per series."""

    def delete_tag(self, run_id: str, key: str) -> None: ...

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None: ...

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList: ...

    def get_metric_series(
        self,
        run_id: str,
        metric_key: str,
        max_points: int | None = 2000,
        x: str = "step",
        x_min: float | None = None,
        x_max: float | None = None,
    ) -> MetricSeries: ...

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: object = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList: ...

    def changes_since(self, cursor: int | None, limit: int = 1000) -> tuple[int, list[dict]]: ...


class RegistryBackend(Protocol):
    """Registered models, versions, stages, tags and aliases."""

    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel: ...

    def get_registered_model(self, name: str) -> RegisteredModel: ...

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel: ...

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel: ...

    def delete_registered_model(self, name: str) -> None: ...

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None: ...

    def delete_registered_model_tag(self, name: str, key: str) -> None: ...

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList: ...

    def get_latest_versions(
        self, name: str, stages: list[str] | None = None
    ) -> list[ModelVersion]: ...

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        user_id: str | None = None,
        model_id: str | None = None,
    ) -> ModelVersion: ...

    def get_model_version(self, name: str, version: str) -> ModelVersion: ...

    def update_model_version(
        self, name: str, version: str, description: str | None
    ) -> ModelVersion: ...

    def delete_model_version(self, name: str, version: str) -> None: ...

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion: ...

    def get_model_version_download_uri(self, name: str, version: str) -> str: ...

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None: ...

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None: ...

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList: ...

    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None: ...

    def delete_registered_model_alias(self, name: str, alias: str) -> None: ...

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...


class LoggedModelsBackend(Protocol):
    """MLflow 3 logged models and the run records that point at them."""

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        model_type: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> LoggedModel: ...

    def get_logged_model(self, model_id: str) -> LoggedModel: ...

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel: ...

    def set_logged_model_tags(self, model_id: str, tags: dict[str, str]) -> LoggedModel: ...

    def delete_logged_model(self, model_id: str) -> None: ...

    def delete_logged_model_tag(self, model_id: str, key: str) -> None: ...

    def log_logged_model_params(self, model_id: str, params: dict[str, str]) -> None: ...

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[Any] = (),
        page_token: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
    ) -> PagedList: ...

    def log_model_inputs(self, run_id: str, model_ids: Sequence[str]) -> None: ...

    def log_outputs(self, run_id: str, models: Sequence[tuple[str, int]]) -> None: ...

    def record_logged_model(self, run_id: str, model_json: str) -> None: ...


class ArtifactsBackend(Protocol):
    """Artifact files by path relative to the artifact root (``<exp>/<run>/artifacts/...``)."""

    def relpath(self, artifact_uri: str) -> str:
        """The path of an artifact URI (``mlflow-artifacts:/...``, or a location inside the
        root) relative to the root; refuses anything outside it."""
        ...

    def list(self, rel: str) -> list[FileInfo]:
        """Entries of the directory ``rel``, named relative to it; [] when missing."""
        ...

    def size(self, rel: str) -> int:
        """Bytes of the file ``rel``, or of every file under the directory ``rel``."""
        ...

    def download(self, rel: str, dst: str) -> str:
        """Copy the file or directory ``rel`` to ``dst/<basename>`` (the root: into ``dst``);
        the local path created."""
        ...

    def upload_file(
        self,
        local_path: str,
        rel: str,
        progress: BytesDone | None = None,
        overwrite: bool = False,
    ) -> None:
        """Store the local file as ``rel`` (``overwrite``: also replace a file of a finished
        run or finalized model, which a server otherwise keeps)."""
        ...

    def upload_dir(
        self,
        local_dir: str,
        rel: str,
        progress: BytesDone | None = None,
        overwrite: bool = False,
    ) -> None:
        """Store a local directory tree under ``rel``."""
        ...


class Backend:
    """One transport's tracking, registry, logged-model and artifact operations, and the metric
    queue every client of that transport shares in this process."""

    __slots__ = ("_lock", "_queue", "artifacts", "logged_models", "registry", "tracking")

    def __init__(
        self,
        tracking: TrackingBackend,
        registry: RegistryBackend,
        logged_models: LoggedModelsBackend,
        artifacts: ArtifactsBackend,
    ) -> None:
        self.tracking = tracking
        self.registry = registry
        self.logged_models = logged_models
        self.artifacts = artifacts
        self._queue: MetricQueue | None = None
        self._lock = threading.Lock()

    @property
    def metric_queue(self) -> MetricQueue:
        if self._queue is None:
            with self._lock:
                if self._queue is None:
                    self._queue = MetricQueue(self.tracking.log_series)
        return self._queue

    def flush_metrics(self) -> None:
        """Write every point queued so far (by any client of this backend); raise on failures."""
        if self._queue is not None:
            self._queue.flush()


_BACKENDS: dict[tuple[str, str | None, str | None], Backend] = {}
_BACKENDS_LOCK = threading.Lock()


def _cache_key(tracking_uri: str, artifact_root: str | None) -> tuple[str, str | None, str | None]:
    if is_http_uri(tracking_uri):
        # A server is reached with a token: another token is another identity.
        return tracking_uri, None, first_env(TRACKING_TOKEN_ENVS)
    return tracking_uri, artifact_root, None


def open_backend(tracking_uri: str, artifact_root: str | None = None) -> Backend:
    """The backend for a tracking URI: REST for ``http(s)://``, in-process otherwise (the store
    opened on first use). One per URI (and artifact root, or token) per process."""
    key = _cache_key(tracking_uri, artifact_root)
    backend = _BACKENDS.get(key)
    if backend is not None:
        return backend
    with _BACKENDS_LOCK:
        backend = _BACKENDS.get(key)
        if backend is None:
            if is_http_uri(tracking_uri):
                from labtrack.client.rest import rest_backend

                backend = rest_backend(tracking_uri, token=key[2])
            else:
                from labtrack.client.local import in_process_backend

                backend = in_process_backend(tracking_uri, artifact_root)
            _BACKENDS[key] = backend
        return backend


def opened_backend(tracking_uri: str, artifact_root: str | None = None) -> Backend | None:
    """The backend already opened for this URI, if any (never opens a store)."""
    return _BACKENDS.get(_cache_key(tracking_uri, artifact_root))
