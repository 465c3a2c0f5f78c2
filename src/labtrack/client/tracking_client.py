"""``TrackingClient``: the explicit-id API (MLflow's ``MlflowClient`` names).

One client over the typed seam of ``client.backends``: a database URI is served in-process, an
``http(s)://`` URI by a labtrack (or MLflow) server over its REST API; ``open_backend`` chooses,
once per URI, and the client is written once against the protocols.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labtrack.client.artifact_files import ArtifactFileMethods
from labtrack.client.backends import (
    Backend,
    LoggedModelsBackend,
    RegistryBackend,
    TrackingBackend,
    open_backend,
    opened_backend,
)
from labtrack.client.batching import MetricQueue
from labtrack.client.context import current_user
from labtrack.client.progress import download_progress, upload_progress
from labtrack.config import ARTIFACT_ROOT_ENV, resolve_registry_uri, resolve_tracking_uri
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
    ViewType,
    system_tags,
)
from labtrack.entities.validation import validate_key, validate_metric_value, validate_step
from labtrack.errors import LabtrackException

if TYPE_CHECKING:
    from labtrack.artifact_store.store import FileInfo


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# Metric keys already validated in this process: a training loop repeats a handful of keys.
_VALID_KEYS: set[str] = set()


class _RegistryMethods:
    """Model registry methods (MLflow's ``MlflowClient`` names), mixed into TrackingClient.

    Every call goes to the backend's ``RegistryBackend`` (the in-process ``RegistryService``
    or the REST registry), so the rules live in one place.
    """

    @property
    def backend(self) -> Backend:
        raise NotImplementedError

    @property
    def _registry(self) -> RegistryBackend:
        return self.backend.registry if self._registry_uri is None else self._registry_backend()

    # The registry's own URI when it is not the tracking URI (MLflow's ``registry_uri``).
    _registry_uri: str | None = None

    def _registry_backend(self) -> RegistryBackend:
        assert self._registry_uri is not None
        return open_backend(self._registry_uri).registry

    @property
    def _logged_models(self) -> LoggedModelsBackend:
        return self.backend.logged_models

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
        return self._logged_models.create_logged_model(
            str(experiment_id),
            name=name,
            model_type=model_type,
            source_run_id=source_run_id,
            tags=_str_dict(tags),
            params=_str_dict(params),
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self._logged_models.get_logged_model(model_id)

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        return self._logged_models.finalize_logged_model(model_id, status)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> LoggedModel:
        return self._logged_models.set_logged_model_tags(model_id, _str_dict(tags))

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[Any] | None = None,
        page_token: str | None = None,
        datasets: Sequence[dict[str, Any]] | None = None,
    ) -> PagedList:
        """MLflow 3's logged-model search; ``datasets`` (``[{"dataset_name": ...,
        "dataset_digest": ...}]``) keeps models with metrics on one of those datasets."""
        return self._logged_models.search_logged_models(
            [str(e) for e in experiment_ids],
            filter_string,
            max_results,
            order_by or [],
            page_token,
            datasets,
        )

    def log_model_outputs(self, run_id: str, model_ids: Sequence[str], step: int = 0) -> None:
        self._logged_models.log_outputs(run_id, [(m, step) for m in model_ids])

    def delete_logged_model(self, model_id: str) -> None:
        self._logged_models.delete_logged_model(model_id)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self._logged_models.delete_logged_model_tag(model_id, key)

    def log_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        """Params of a logged model (MLflow sends at most 100 per request)."""
        items = list(_str_dict(params).items())
        for i in range(0, len(items), 100):
            self._logged_models.log_logged_model_params(model_id, dict(items[i : i + 100]))

    def log_outputs(self, run_id: str, models: Sequence[Any]) -> None:
        """Record logged models (``LoggedModelOutput``: model_id, step) as outputs of a run."""
        self._logged_models.log_outputs(
            run_id, [(m.model_id, int(getattr(m, "step", 0) or 0)) for m in models]
        )

    def list_logged_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        """Entries of the logged model's artifacts (or of ``path`` inside them), named
        relative to the model's artifact root."""
        root = self.backend.artifacts.relpath(self.get_logged_model(model_id).artifact_location)
        entries = self.backend.artifacts.list(join_relpath(root, path))
        return [type(e)(join_relpath(path, e.path), e.is_dir, e.file_size) for e in entries]

    def log_model_artifact(self, model_id: str, local_path: str) -> None:
        """Upload a local file to the root of the logged model's artifacts."""
        root = self.backend.artifacts.relpath(self.get_logged_model(model_id).artifact_location)
        name = os.path.basename(local_path)
        self.backend.artifacts.upload_file(local_path, join_relpath(root, name))

    def log_model_artifacts(self, model_id: str, local_dir: str) -> None:
        """Upload a local directory tree to the logged model's artifacts."""
        root = self.backend.artifacts.relpath(self.get_logged_model(model_id).artifact_location)
        self.backend.artifacts.upload_dir(local_dir, root)

    # ---- registry helpers -----------------------------------------------------------------

    def get_model_version_stages(self, name: str, version: str | int) -> list[str]:
        """The stages a version can move to (the same four for every version, as in MLflow)."""
        del name, version
        return ["None", "Staging", "Production", "Archived"]

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """A new version of ``dst_name`` (created if missing) whose source is the version
        ``src_model_uri`` names (``models:/<name>/<version>`` or ``models:/<name>@<alias>``);
        it keeps the source version's run, tags, description and logged model."""
        src = self._model_version_of_uri(src_model_uri)
        try:
            self.create_registered_model(dst_name)
        except LabtrackException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        return self._registry.create_model_version(
            dst_name,
            f"models:/{src.name}/{src.version}",
            run_id=src.run_id,
            tags=dict(src.tags),
            run_link=src.run_link,
            description=src.description,
            user_id=current_user(),
            model_id=src.model_id,
        )

    def _model_version_of_uri(self, uri: str) -> ModelVersion:
        rest = uri[len("models:/") :] if uri.startswith("models:/") else ""
        if "@" in rest and "/" not in rest:
            name, alias = rest.split("@", 1)
            return self.get_model_version_by_alias(name, alias)
        name, _, version = rest.partition("/")
        if not name or not version.isdigit():
            raise LabtrackException(
                f"Invalid src_model_uri {uri!r}: models:/<name>/<version> or "
                "models:/<name>@<alias>.",
                "INVALID_PARAMETER_VALUE",
            )
        return self.get_model_version(name, version)

    def _record_logged_model(self, run_id: str, model_json: str) -> None:
        """Append to the run's ``mlflow.log-model.history`` tag (2.x ``runs/log-model``)."""
        self._logged_models.record_logged_model(run_id, model_json)


def _str_dict(d: dict[str, Any] | None) -> dict[str, str]:
    return {str(k): v if isinstance(v, str) else str(v) for k, v in (d or {}).items()}


class TrackingClient(ArtifactFileMethods, _RegistryMethods):
    """Experiments, runs, metrics, params, tags and artifacts by explicit id."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        artifact_root: str | None = None,
        registry_uri: str | None = None,
    ) -> None:
        self.tracking_uri = resolve_tracking_uri(tracking_uri)
        registry = resolve_registry_uri(registry_uri, self.tracking_uri)
        self._registry_uri = None if registry == self.tracking_uri else registry
        self._artifact_root = artifact_root or os.environ.get(ARTIFACT_ROOT_ENV)
        self._backend: Backend | None = None
        self._queue: MetricQueue | None = None

    @property
    def registry_uri(self) -> str:
        """Where registered models live: the tracking URI unless set apart."""
        return self._registry_uri or self.tracking_uri

    # ---- transport ----------------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        """The transport for this URI (shared by every client of it in this process)."""
        if self._backend is None:
            # open_backend is thread-safe and returns one object per URI: no lock of ours, so
            # none can be taken twice (a fresh client's first log_metric once deadlocked on a
            # lock held while resolving the service).
            self._backend = open_backend(self.tracking_uri, self._artifact_root)
        return self._backend

    @property
    def _tracking(self) -> TrackingBackend:
        return self.backend.tracking

    @property
    def metric_queue(self) -> MetricQueue:
        """The backend's queue: every client of this URI in this process queues into it."""
        if self._queue is None:
            self._queue = self.backend.metric_queue
        return self._queue

    # ---- experiments --------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> str:
        return self._tracking.create_experiment(name, artifact_location, _str_dict(tags))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._tracking.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            return self._tracking.get_experiment_by_name(name)
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
        return self._tracking.search_experiments(
            view_type, max_results, filter_string, order_by, page_token
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self._tracking.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self._tracking.restore_experiment(str(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._tracking.rename_experiment(str(experiment_id), new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._tracking.set_experiment_tag(str(experiment_id), key, str(value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._tracking.delete_experiment_tag(str(experiment_id), key)

    # ---- runs ---------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
        user_id: str | None = None,
    ) -> Run:
        return self._tracking.create_run(
            str(experiment_id), user_id, start_time, _str_dict(tags), run_name
        )

    def get_run(self, run_id: str) -> Run:
        """The run as stored, including every metric point queued so far in this process."""
        self.backend.flush_metrics()
        return self._tracking.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        parent = self.get_run(run_id).data.tags.get(system_tags.PARENT_RUN_ID)
        return self.get_run(parent) if parent else None

    def update_run(
        self, run_id: str, status: str | None = None, name: str | None = None
    ) -> RunInfo:
        return self._tracking.update_run(run_id, status=status, run_name=name)

    def heartbeat(self, run_id: str) -> None:
        """Say the run's writer is alive (the fluent API does this while a run is active)."""
        self._tracking.heartbeat(run_id)

    def set_terminated(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> RunInfo:
        """End a run: flush the queued metrics first, so nothing logged is left behind."""
        self.flush()
        return self._tracking.update_run(
            run_id, status=status, end_time=_now_ms() if end_time is None else end_time
        )

    def delete_run(self, run_id: str) -> None:
        self._tracking.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self._tracking.restore_run(run_id)

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
            self._tracking.log_batch(run_id, metrics=[Metric(key, value, ts, step)])
        else:
            (self._queue or self.metric_queue).put(run_id, key, value, ts, step)

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self._tracking.log_batch(run_id, params=[(key, _param_str(value))])
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self._tracking.log_batch(run_id, tags=[(key, str(value))])

    def delete_tag(self, run_id: str, key: str) -> None:
        self._tracking.delete_tag(run_id, key)

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
            self._tracking.log_batch(
                run_id,
                metrics=metrics[i : i + 1000],
                params=param_pairs if i == 0 else (),
                tags=tag_pairs if i == 0 else (),
            )

    def log_inputs(
        self,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[Any] | None = None,
    ) -> None:
        """Datasets (``DatasetInput``) and logged models (``LoggedModelInput`` or model ids)
        the run used."""
        if datasets:
            self._tracking.log_inputs(run_id, list(datasets))
        if models:
            ids = [str(getattr(m, "model_id", m)) for m in models]
            self._logged_models.log_model_inputs(run_id, ids)

    def flush(self) -> None:
        """Block until every metric point queued in this process for this URI is written;
        raise if any could not be. Never opens a store just to find nothing queued."""
        backend = self._backend or opened_backend(self.tracking_uri, self._artifact_root)
        if backend is not None:
            backend.flush_metrics()

    # ---- reading ------------------------------------------------------------------------

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self.backend.flush_metrics()
        return list(self._tracking.get_metric_history(run_id, key).items)

    def get_metric_series(
        self,
        run_id: str,
        key: str,
        max_points: int | None = 2000,
        x: str = "step",
        x_min: float | None = None,
        x_max: float | None = None,
    ) -> MetricSeries:
        """A chart-ready series: min/max per bucket when downsampled, full resolution inside
        ``x_min``..``x_max``."""
        self.backend.flush_metrics()
        return self._tracking.get_metric_series(run_id, key, max_points, x, x_min, x_max)

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
        self.backend.flush_metrics()
        return self._tracking.search_runs(
            [str(e) for e in experiment_ids],
            filter_string,
            run_view_type,
            max_results,
            order_by,
            page_token,
        )

    def changes_since(self, cursor: int | None, limit: int = 1000) -> tuple[int, list[dict]]:
        """What changed in the store after ``cursor`` (``None``: just the current cursor)."""
        return self._tracking.changes_since(cursor, limit)

    # ---- artifacts ----------------------------------------------------------------------

    def _run_relpath(self, run_id: str, path: str | None = None) -> str:
        """``path`` inside the run's artifacts, relative to the artifact root (checked)."""
        run = self._tracking.get_run(run_id)
        return join_relpath(self.backend.artifacts.relpath(run.info.artifact_uri), path)

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        name = os.path.basename(local_path)
        dest = self._run_relpath(run_id, join_relpath(artifact_path, name))
        with upload_progress(local_path, f"upload {name}") as progress:
            self.backend.artifacts.upload_file(local_path, dest, progress)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        dest = self._run_relpath(run_id, artifact_path)
        with upload_progress(local_dir, f"upload {os.path.basename(local_dir)}") as progress:
            self.backend.artifacts.upload_dir(local_dir, dest, progress)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Write ``text`` (UTF-8) as the artifact ``artifact_file`` of the run."""
        self.log_bytes(run_id, text.encode("utf-8"), artifact_file)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """``dictionary`` as JSON, or as YAML when ``artifact_file`` ends in .yaml/.yml."""
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(dictionary, sort_keys=False)
        else:
            text = json.dumps(dictionary, indent=2, default=str)
        self.log_text(run_id, text, artifact_file)

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
        entries = self.backend.artifacts.list(self._run_relpath(run_id, path))
        # MLflow's client API names entries relative to the run's artifact root.
        return [type(e)(join_relpath(path, e.path), e.is_dir, e.file_size) for e in entries]

    def download_artifacts(self, run_id: str, path: str = "", dst_path: str | None = None) -> str:
        """Copy the file or directory ``path`` of the run into ``dst_path`` (a new temporary
        folder if omitted); the local path created."""
        dst = dst_path or tempfile.mkdtemp(prefix="labtrack-download-")
        artifacts = self.backend.artifacts
        root = self._run_relpath(run_id)
        rel = join_relpath(root, path)
        label = f"download {os.path.basename(path or '') or 'artifacts'}"
        with download_progress(lambda: artifacts.size(rel), dst, label):
            if rel != root:
                return artifacts.download(rel, dst)
            # The whole run: its files land in dst itself, as MLflow's client puts them.
            os.makedirs(dst, exist_ok=True)
            for entry in artifacts.list(rel):
                artifacts.download(f"{rel}/{entry.path}", dst)
            return dst

    # ---- artifacts by URI (model packages) --------------------------------------------------

    def artifact_relpath(self, artifact_uri: str) -> str:
        """The path of an artifact URI (``mlflow-artifacts:/...`` or inside the root) relative
        to the artifact root of this store/server."""
        return self.backend.artifacts.relpath(artifact_uri)

    def download_artifact_uri(self, artifact_uri: str, dst_path: str | None = None) -> str:
        """Copy the file or directory at ``artifact_uri`` into ``dst_path``; the local path."""
        dst = dst_path or tempfile.mkdtemp(prefix="labtrack-download-")
        return self.backend.artifacts.download(self.artifact_relpath(artifact_uri), dst)

    def list_artifact_uri(self, artifact_uri: str) -> list[FileInfo]:
        """Entries of the directory at ``artifact_uri`` (basenames); [] when missing."""
        return self.backend.artifacts.list(self.artifact_relpath(artifact_uri))

    def upload_to_artifact_uri(
        self, local_dir: str, artifact_uri: str, overwrite: bool = False
    ) -> None:
        """Copy a local directory tree to ``artifact_uri`` (``overwrite``: replace files a
        server would otherwise keep, e.g. of a finalized model)."""
        self.backend.artifacts.upload_dir(
            local_dir, self.artifact_relpath(artifact_uri), overwrite=overwrite
        )


def join_relpath(*parts: str | None) -> str:
    """``labtrack.artifact_store.paths.join_relpath``, imported on first use: the artifacts package
    loads fsspec, which ``import labtrack`` must not."""
    from labtrack.artifact_store.paths import join_relpath as join

    return join(*parts)


def _param_str(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _pair(item: Any, conv: Any) -> tuple[str, str]:
    if isinstance(item, tuple):
        return item[0], conv(item[1])
    return item.key, conv(item.value)


# MLflow's name for the explicit-id client (``mlflow.client.MlflowClient``).
MlflowClient = TrackingClient
