"""``TrackingClient``: the explicit-id API (MLflow's ``MlflowClient`` names).

One client, two transports: a database URI talks to the service in-process; an ``http(s)://``
URI talks to a labtrack (or MLflow) server over its REST API. Both expose the service's methods,
so the client is written once.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labtrack.client.batching import MetricQueue
from labtrack.config import (
    ARTIFACT_ROOT_ENV,
    default_artifact_root,
    is_http_uri,
    resolve_tracking_uri,
)
from labtrack.entities import (
    DatasetInput,
    Experiment,
    LoggedModel,
    Metric,
    ModelVersion,
    PagedList,
    RegisteredModel,
    Run,
    RunInfo,
    ViewType,
    system_tags,
)
from labtrack.entities.validation import validate_key, validate_metric_value, validate_step
from labtrack.errors import invalid

if TYPE_CHECKING:
    from labtrack.artifacts.store import ArtifactStore, FileInfo
    from labtrack.service.tracking import TrackingService

# One service per store URI per process: kernels open a store once, however many clients.
_SERVICES: dict[tuple[str, str | None], Any] = {}
_SERVICES_LOCK = threading.Lock()


def _in_process_service(uri: str, artifact_root: str | None) -> TrackingService:
    with _SERVICES_LOCK:
        key = (uri, artifact_root)
        if key not in _SERVICES:
            from labtrack.service.tracking import TrackingService
            from labtrack.store.tracking_store import TrackingStore

            _SERVICES[key] = TrackingService(TrackingStore(uri, artifact_root))
        return _SERVICES[key]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# Metric keys already validated in this process: a training loop repeats a handful of keys.
_VALID_KEYS: set[str] = set()


class _RegistryMethods:
    """Model registry methods (MLflow's ``MlflowClient`` names), mixed into TrackingClient.

    Every call goes to ``self.service.registry``: the in-process ``RegistryService`` or the REST
    backend's registry (same method names), so the rules live in one place.
    """

    service: Any

    @property
    def _registry(self) -> Any:
        return self.service.registry

    # ---- registered models ----------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        return self._registry.create_registered_model(name, _str_dict(tags), description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._registry.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self._registry.rename_registered_model(name, new_name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return self._registry.update_registered_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        self._registry.delete_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        return self._registry.search_registered_models(
            filter_string, max_results, order_by, page_token
        )

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._registry.set_registered_model_tag(name, key, str(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._registry.delete_registered_model_tag(name, key)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        return list(self._registry.get_latest_versions(name, list(stages or [])))

    # ---- versions -------------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        await_creation_for: int = 300,
        model_id: str | None = None,
    ) -> ModelVersion:
        del await_creation_for  # versions are READY when created
        from labtrack.client.context import current_user

        return self._registry.create_model_version(
            name,
            source,
            run_id=run_id,
            tags=_str_dict(tags),
            run_link=run_link,
            description=description,
            user_id=current_user(),
            model_id=model_id,
        )

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return self._registry.get_model_version(name, str(version))

    def update_model_version(
        self, name: str, version: str | int, description: str | None = None
    ) -> ModelVersion:
        return self._registry.update_model_version(name, str(version), description)

    def delete_model_version(self, name: str, version: str | int) -> None:
        self._registry.delete_model_version(name, str(version))

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        return self._registry.transition_model_version_stage(
            name, str(version), stage, archive_existing_versions
        )

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        return str(self._registry.get_model_version_download_uri(name, str(version)))

    def set_model_version_tag(
        self, name: str, version: str | int | None = None, key: str = "", value: Any = ""
    ) -> None:
        self._registry.set_model_version_tag(name, str(version), key, str(value))

    def delete_model_version_tag(
        self, name: str, version: str | int | None = None, key: str = ""
    ) -> None:
        self._registry.delete_model_version_tag(name, str(version), key)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        return self._registry.search_model_versions(
            filter_string, max_results, order_by, page_token
        )

    # ---- aliases --------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._registry.set_registered_model_alias(name, alias, str(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._registry.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._registry.get_model_version_by_alias(name, alias)

    # ---- logged models (MLflow 3) ---------------------------------------------------------

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        return self.service.logged_models.create_logged_model(
            str(experiment_id),
            name=name,
            model_type=model_type,
            source_run_id=source_run_id,
            tags=_str_dict(tags),
            params=_str_dict(params),
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self.service.logged_models.get_logged_model(model_id)

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        return self.service.logged_models.finalize_logged_model(model_id, status)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> LoggedModel:
        return self.service.logged_models.set_logged_model_tags(model_id, _str_dict(tags))

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[Any] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        return self.service.logged_models.search_logged_models(
            [str(e) for e in experiment_ids], filter_string, max_results, order_by or [], page_token
        )

    def log_model_outputs(self, run_id: str, model_ids: Sequence[str], step: int = 0) -> None:
        self.service.logged_models.log_outputs(run_id, [(m, step) for m in model_ids])

    def _record_logged_model(self, run_id: str, model_json: str) -> None:
        """Append to the run's ``mlflow.log-model.history`` tag (2.x ``runs/log-model``)."""
        self.service.logged_models.record_logged_model(run_id, model_json)


def _str_dict(d: dict[str, Any] | None) -> dict[str, str]:
    return {str(k): v if isinstance(v, str) else str(v) for k, v in (d or {}).items()}


class TrackingClient(_RegistryMethods):
    """Experiments, runs, metrics, params, tags and artifacts by explicit id."""

    def __init__(self, tracking_uri: str | None = None, artifact_root: str | None = None) -> None:
        self.tracking_uri = resolve_tracking_uri(tracking_uri)
        self._artifact_root = artifact_root or os.environ.get(ARTIFACT_ROOT_ENV)
        self._service: Any = None
        self._queue: MetricQueue | None = None
        self._artifact_store: ArtifactStore | None = None
        self._lock = threading.Lock()

    # ---- transport ----------------------------------------------------------------------

    @property
    def service(self) -> Any:
        """The in-process service or the REST backend (same method names)."""
        if self._service is None:
            with self._lock:
                if self._service is None:
                    if is_http_uri(self.tracking_uri):
                        from labtrack.client.rest import RestBackend

                        self._service = RestBackend(self.tracking_uri)
                    else:
                        self._service = _in_process_service(self.tracking_uri, self._artifact_root)
        return self._service

    @property
    def metric_queue(self) -> MetricQueue:
        if self._queue is None:
            # Resolve the service first: its property takes the same (non-reentrant) lock.
            log_series = self.service.log_series
            with self._lock:
                if self._queue is None:
                    self._queue = MetricQueue(log_series)
        return self._queue

    # ---- experiments --------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> str:
        return self.service.create_experiment(
            name, artifact_location, {k: str(v) for k, v in (tags or {}).items()}
        )

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.service.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        from labtrack.errors import LabtrackException

        try:
            return self.service.get_experiment_by_name(name)
        except LabtrackException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise

    def search_experiments(
        self,
        view_type: ViewType | str = ViewType.ACTIVE_ONLY,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        return self.service.search_experiments(
            view_type, max_results, filter_string, order_by, page_token
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self.service.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self.service.restore_experiment(str(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.service.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.service.set_experiment_tag(str(experiment_id), key, str(value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.service.delete_experiment_tag(str(experiment_id), key)

    # ---- runs ---------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
        user_id: str | None = None,
    ) -> Run:
        return self.service.create_run(
            str(experiment_id),
            user_id,
            start_time,
            {k: str(v) for k, v in (tags or {}).items()},
            run_name,
        )

    def get_run(self, run_id: str) -> Run:
        return self.service.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        parent = self.get_run(run_id).data.tags.get(system_tags.PARENT_RUN_ID)
        return self.get_run(parent) if parent else None

    def update_run(
        self, run_id: str, status: str | None = None, name: str | None = None
    ) -> RunInfo:
        return self.service.update_run(run_id, status=status, run_name=name)

    def set_terminated(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> RunInfo:
        """End a run: flush its queued metrics first, so nothing logged is left behind."""
        if self._queue is not None:
            self._queue.flush()
        return self.service.update_run(
            run_id, status=status, end_time=_now_ms() if end_time is None else end_time
        )

    def delete_run(self, run_id: str) -> None:
        self.service.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.service.restore_run(run_id)

    # ---- logging ------------------------------------------------------------------------

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
        synchronous: bool = False,
    ) -> None:
        """Queue a point (returns at once); ``synchronous=True`` writes it before returning."""
        # The hot path of every training loop: plain types skip the general validators.
        if key not in _VALID_KEYS:
            validate_key("metric", key)
            _VALID_KEYS.add(key)
        if type(value) is not float:
            value = validate_metric_value(key, value)
        if step is None:
            step = 0
        elif type(step) is not int:
            step = validate_step(key, step)
        ts = time.time_ns() // 1_000_000 if timestamp is None else int(timestamp)
        if synchronous:
            self.service.log_batch(run_id, metrics=[Metric(key, value, ts, step)])
        else:
            (self._queue or self.metric_queue).put(run_id, key, value, ts, step)

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self.service.log_batch(run_id, params=[(key, _param_str(value))])
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.service.log_batch(run_id, tags=[(key, str(value))])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.service.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Any] = (),
        tags: Sequence[Any] = (),
    ) -> None:
        """Write synchronously, in MLflow-sized pieces, each piece all-or-nothing."""
        param_pairs = [_pair(p, _param_str) for p in params]
        tag_pairs = [_pair(t, str) for t in tags]
        metrics = list(metrics)
        for i in range(0, max(len(metrics), 1), 1000):
            self.service.log_batch(
                run_id,
                metrics=metrics[i : i + 1000],
                params=param_pairs if i == 0 else (),
                tags=tag_pairs if i == 0 else (),
            )

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self.service.log_inputs(run_id, list(datasets))

    def flush(self) -> None:
        """Block until every queued metric point is written; raise if any could not be."""
        if self._queue is not None:
            self._queue.flush()

    # ---- reading ------------------------------------------------------------------------

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self.flush()
        return list(self.service.get_metric_history(run_id, key).items)

    def get_metric_series(self, run_id: str, key: str, **kwargs: Any) -> Any:
        self.flush()
        return self.service.get_metric_series(run_id, key, **kwargs)

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str = "",
        run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        return self.service.search_runs(
            [str(e) for e in experiment_ids],
            filter_string,
            run_view_type,
            max_results,
            order_by,
            page_token,
        )

    # ---- artifacts ----------------------------------------------------------------------

    @property
    def artifact_store(self) -> ArtifactStore:
        if self._artifact_store is None:
            from labtrack.artifacts.store import ArtifactStore

            service = self.service
            root = getattr(service, "artifact_root", None) or default_artifact_root(
                self.tracking_uri
            )
            self._artifact_store = ArtifactStore(root)
        return self._artifact_store

    def _artifact_base(self, run_id: str) -> str:
        if is_http_uri(self.tracking_uri):
            raise invalid("Artifact operations over HTTP use the REST artifact API.")
        return self.artifact_store.relpath(self.get_run(run_id).info.artifact_uri)

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        if _notebook_progress(local_path):  # a large upload from a notebook: show a bar
            from labtrack.widgets.progress import log_artifact_with_progress

            return log_artifact_with_progress(self, run_id, local_path, artifact_path)
        if is_http_uri(self.tracking_uri):
            self.service.log_artifact(self.get_run(run_id), local_path, artifact_path)
            return
        from labtrack.artifacts.paths import join_relpath

        self.artifact_store.log_artifact(
            local_path, join_relpath(self._artifact_base(run_id), artifact_path)
        )

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        if _notebook_progress(local_dir):  # a large upload from a notebook: show a bar
            from labtrack.widgets.progress import log_artifacts_with_progress

            return log_artifacts_with_progress(self, run_id, local_dir, artifact_path)
        if is_http_uri(self.tracking_uri):
            self.service.log_artifacts(self.get_run(run_id), local_dir, artifact_path)
            return
        from labtrack.artifacts.paths import join_relpath

        self.artifact_store.log_artifacts(
            local_dir, join_relpath(self._artifact_base(run_id), artifact_path)
        )

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None:
        """Write ``data`` as the artifact ``artifact_file`` (a path inside the run)."""
        name = os.path.basename(artifact_file)
        folder = os.path.dirname(artifact_file) or None
        with tempfile.TemporaryDirectory(prefix="labtrack-") as tmp:
            local = os.path.join(tmp, name)
            with open(local, "wb") as f:
                f.write(data)
            self.log_artifact(run_id, local, folder)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        if is_http_uri(self.tracking_uri):
            return self.service.list_artifacts(self.get_run(run_id), path)
        from labtrack.artifacts.paths import join_relpath

        entries = self.artifact_store.list_dir(join_relpath(self._artifact_base(run_id), path))
        # MLflow's client API names entries relative to the run's artifact root.
        return [type(e)(join_relpath(path, e.path), e.is_dir, e.file_size) for e in entries or []]

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | None = None) -> str:
        dst = dst_path or tempfile.mkdtemp(prefix="labtrack-download-")
        if "ipykernel" in sys.modules:  # a large download into a notebook shows a bar
            from labtrack.widgets.progress import download_with_progress

            done = download_with_progress(self, run_id, path, dst)
            if done is not None:
                return done
        if is_http_uri(self.tracking_uri):
            return self.service.download_artifacts(self.get_run(run_id), path, dst)
        from labtrack.artifacts.paths import join_relpath

        return self.artifact_store.download(join_relpath(self._artifact_base(run_id), path), dst)

    # ---- artifacts by URI (model packages) --------------------------------------------------

    def artifact_relpath(self, artifact_uri: str) -> str:
        """The path of an artifact URI (``mlflow-artifacts:/...`` or inside the root) relative
        to the artifact root of this store/server."""
        if is_http_uri(self.tracking_uri):
            from labtrack.artifacts.uris import uri_to_relpath

            return uri_to_relpath(artifact_uri)
        return self.artifact_store.relpath(artifact_uri)

    def download_artifact_uri(self, artifact_uri: str, dst_path: str | None = None) -> str:
        """Copy the file or directory at ``artifact_uri`` into ``dst_path``; the local path."""
        dst = dst_path or tempfile.mkdtemp(prefix="labtrack-download-")
        rel = self.artifact_relpath(artifact_uri)
        if is_http_uri(self.tracking_uri):
            return self.service.download_relpath(rel, dst)
        return self.artifact_store.download(rel, dst)

    def list_artifact_uri(self, artifact_uri: str) -> list[FileInfo]:
        """Entries of the directory at ``artifact_uri`` (basenames); [] when missing."""
        rel = self.artifact_relpath(artifact_uri)
        if is_http_uri(self.tracking_uri):
            return self.service.list_relpath(rel)
        return self.artifact_store.list_dir(rel) or []

    def upload_to_artifact_uri(self, local_dir: str, artifact_uri: str) -> None:
        """Copy a local directory tree to ``artifact_uri``."""
        rel = self.artifact_relpath(artifact_uri)
        if is_http_uri(self.tracking_uri):
            self.service.upload_dir(local_dir, rel)
        else:
            self.artifact_store.log_artifacts(local_dir, rel)


def _notebook_progress(local_path: str) -> bool:
    """Whether a transfer gets a progress bar: only inside a Jupyter kernel, for big payloads."""
    if "ipykernel" not in sys.modules:
        return False
    from labtrack.widgets.progress import local_size, wanted

    return wanted(local_size(local_path))


def _param_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _pair(item: Any, conv: Any) -> tuple[str, str]:
    if isinstance(item, tuple):
        return item[0], conv(item[1])
    return item.key, conv(item.value)
