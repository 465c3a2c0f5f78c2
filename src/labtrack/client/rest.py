"""The REST transport: the backend protocols of ``client.backends`` over MLflow's REST API.

Works against a labtrack server (``http://host:8888/labtrack``, a JupyterHub service) and, for
the MLflow subset, against an MLflow tracking server. Stdlib HTTP only (keeps ``import labtrack``
light); one keep-alive connection per thread; idempotent retries with backoff on 429/5xx and
connection errors (the server drops duplicate metric points, so a retried batch is harmless).
"""

from __future__ import annotations

import http.client
import json
import os
import posixpath
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

from labtrack.artifact_store.paths import local_files
from labtrack.artifact_store.store import FileInfo
from labtrack.artifact_store.uris import uri_to_relpath
from labtrack.client.backends import (
    ArtifactsBackend,
    Backend,
    BytesDone,
    LoggedModelsBackend,
    RegistryBackend,
    TrackingBackend,
)
from labtrack.config import TRACKING_TOKEN_ENVS, first_env
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
    wire,
)
from labtrack.entities import endpoints as ep
from labtrack.entities.endpoints import Endpoint
from labtrack.errors import LabtrackException

_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_MAX_BATCH_METRICS = 1000


def _token() -> str | None:
    return first_env(TRACKING_TOKEN_ENVS)


class RestBackend:
    """``TrackingBackend`` over MLflow's tracking routes (and labtrack's additions); also the
    HTTP connection the registry, logged-model and artifact parts share."""

    def __init__(self, uri: str, token: str | None = None, retries: int = 5) -> None:
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LabtrackException(f"Not an http(s) URL: {uri!r}", "INVALID_PARAMETER_VALUE")
        self.uri = uri.rstrip("/")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self._token = token if token is not None else _token()
        self._retries = retries
        self._local = threading.local()

    # ---- HTTP ---------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = (
                http.client.HTTPSConnection
                if self._scheme == "https"
                else http.client.HTTPConnection
            )
            conn = cls(self._host, self._port, timeout=120)
            self._local.conn = conn
        return conn

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "labtrack"}
        if content_type:
            headers["Content-Type"] = content_type
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        raw: bytes | None = None,
    ) -> Any:
        """One API call: JSON in, JSON out, MLflow errors raised as ``LabtrackException``."""
        url = self._base + path
        if query:
            url += "?" + urlencode(
                [(k, v) for k, v in _flatten(query) if v is not None], doseq=True
            )
        payload: bytes | None = raw
        content_type = "application/octet-stream" if raw is not None else None
        if body is not None:
            payload = json.dumps(body).encode()
            content_type = "application/json"
        elif method in ("POST", "PATCH", "DELETE") and raw is None:
            payload, content_type = b"{}", "application/json"
        delay = 0.2
        for attempt in range(self._retries + 1):
            try:
                conn = self._connection()
                conn.request(method, url, body=payload, headers=self._headers(content_type))
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                self._local.conn = None
                if attempt == self._retries:
                    raise LabtrackException(
                        f"Cannot reach the tracking server at {self.uri}: {exc}",
                        "TEMPORARILY_UNAVAILABLE",
                    ) from exc
            else:
                if resp.status < 300:
                    if not data:
                        return {}
                    ctype = resp.getheader("Content-Type", "")
                    return json.loads(data) if "json" in ctype else data
                if resp.status not in _RETRY_STATUS or attempt == self._retries:
                    raise _error(resp.status, data, method, url)
            time.sleep(delay)
            delay = min(delay * 2, 10)
        raise AssertionError("unreachable")  # pragma: no cover

    def call(
        self, endpoint: Endpoint, path_params: dict[str, str] | None = None, **fields: Any
    ) -> Any:
        """One operation of ``labtrack.entities.endpoints``: fields go in the query string of a
        GET and in the JSON body otherwise (``None`` fields are left out)."""
        path = endpoint.url(**path_params) if path_params else endpoint.path
        fields = {k: v for k, v in fields.items() if v is not None}
        if endpoint.method == "GET":
            return self.request("GET", path, query=fields)
        return self.request(endpoint.method, path, fields)

    # ---- experiments --------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        return str(
            self.call(
                ep.EXPERIMENTS_CREATE,
                name=name,
                artifact_location=artifact_location,
                tags=_key_values(tags),
            )["experiment_id"]
        )

    def get_experiment(self, experiment_id: str) -> Experiment:
        return wire.experiment_from_json(
            self.call(ep.EXPERIMENTS_GET, experiment_id=experiment_id)["experiment"]
        )

    def get_experiment_by_name(self, name: str) -> Experiment:
        return wire.experiment_from_json(
            self.call(ep.EXPERIMENTS_GET_BY_NAME, experiment_name=name)["experiment"]
        )

    def search_experiments(
        self,
        view_type: Any = None,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        vt = _view_type_name(view_type)
        resp = self.call(
            ep.EXPERIMENTS_SEARCH,
            view_type=vt,
            max_results=max_results,
            filter=filter_string,
            order_by=order_by or None,
            page_token=page_token,
        )
        return _page(resp, "experiments", wire.experiment_from_json)

    def delete_experiment(self, experiment_id: str) -> None:
        self.call(ep.EXPERIMENTS_DELETE, experiment_id=experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self.call(ep.EXPERIMENTS_RESTORE, experiment_id=experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.call(ep.EXPERIMENTS_UPDATE, experiment_id=experiment_id, new_name=new_name)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self.call(ep.EXPERIMENTS_SET_TAG, experiment_id=experiment_id, key=key, value=value)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.call(ep.EXPERIMENTS_DELETE_TAG, experiment_id=experiment_id, key=key)

    # ---- runs ---------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str | None = None,
        user_id: str | None = None,
        start_time: int | None = None,
        tags: dict[str, str] | None = None,
        run_name: str | None = None,
    ) -> Run:
        resp = self.call(
            ep.RUNS_CREATE,
            experiment_id=experiment_id,
            user_id=user_id,
            start_time=start_time if start_time is not None else int(time.time() * 1000),
            tags=_key_values(tags),
            run_name=run_name,
        )
        return wire.run_from_json(resp["run"])

    def get_run(self, run_id: str) -> Run:
        return wire.run_from_json(self.call(ep.RUNS_GET, run_id=run_id)["run"])

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        resp = self.call(
            ep.RUNS_UPDATE,
            run_id=run_id,
            run_uuid=run_id,
            status=status,
            end_time=end_time,
            run_name=run_name,
        )
        return wire.run_info_from_json(resp["run_info"])

    def heartbeat(self, run_id: str) -> None:
        self.call(ep.LABTRACK_RUNS_HEARTBEAT, run_id=run_id)

    def delete_run(self, run_id: str) -> None:
        self.call(ep.RUNS_DELETE, run_id=run_id)

    def restore_run(self, run_id: str) -> None:
        self.call(ep.RUNS_RESTORE, run_id=run_id)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Iterable[tuple[str, object]] = (),
        tags: Iterable[tuple[str, object]] = (),
    ) -> None:
        self.call(
            ep.RUNS_LOG_BATCH,
            run_id=run_id,
            metrics=[wire.metric_to_json(m) for m in metrics],
            params=[{"key": k, "value": str(v)} for k, v in params],
            tags=[{"key": k, "value": str(v)} for k, v in tags],
        )

    def log_series(self, run_id: str, series: dict[Any, Any]) -> None:
        """The batching queue's write: columns -> MLflow-sized log-batch requests."""
        metrics: list[Metric] = []
        for (key, model_id, ds_name, ds_digest), points in series.items():
            for step, ts, value in zip(
                points.steps.tolist(),
                points.timestamps.tolist(),
                points.values.tolist(),
                strict=True,
            ):
                metrics.append(Metric(key, value, ts, step, model_id, ds_name, ds_digest))
        for i in range(0, len(metrics), _MAX_BATCH_METRICS):
            self.log_batch(run_id, metrics[i : i + _MAX_BATCH_METRICS])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.call(ep.RUNS_DELETE_TAG, run_id=run_id, key=key)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self.call(
            ep.RUNS_LOG_INPUTS,
            run_id=run_id,
            datasets=[
                {
                    "tags": [{"key": t.key, "value": t.value} for t in d.tags],
                    "dataset": {
                        k: v
                        for k, v in {
                            "name": d.dataset.name,
                            "digest": d.dataset.digest,
                            "source_type": d.dataset.source_type,
                            "source": d.dataset.source,
                            "schema": d.dataset.schema,
                            "profile": d.dataset.profile,
                        }.items()
                        if v is not None
                    },
                }
                for d in datasets
            ],
        )

    # ---- reading ------------------------------------------------------------------------

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        if max_results is not None:
            resp = self.call(
                ep.METRICS_GET_HISTORY,
                run_id=run_id,
                metric_key=metric_key,
                max_results=max_results,
                page_token=page_token,
            )
            return _page(resp, "metrics", wire.metric_from_json)
        items: list[Metric] = []
        token = page_token
        while True:
            resp = self.call(
                ep.METRICS_GET_HISTORY, run_id=run_id, metric_key=metric_key, page_token=token
            )
            items.extend(wire.metric_from_json(m) for m in resp.get("metrics", []))
            token = resp.get("next_page_token")
            if not token:
                return PagedList(items, None)

    def get_metric_series(
        self,
        run_id: str,
        metric_key: str,
        max_points: int | None = 2000,
        x: str = "step",
        x_min: float | None = None,
        x_max: float | None = None,
    ) -> MetricSeries:
        resp = self.call(
            ep.LABTRACK_METRIC_SERIES,
            run_ids=[run_id],
            metric_key=metric_key,
            max_points=max_points,
            x=x,
            x_min=x_min,
            x_max=x_max,
        )
        return wire.series_from_json(resp["series"][0])

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: Any = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        vt = _view_type_name(run_view_type)
        resp = self.call(
            ep.RUNS_SEARCH,
            experiment_ids=list(experiment_ids),
            filter=filter_string or None,
            run_view_type=vt,
            max_results=max_results,
            order_by=order_by or None,
            page_token=page_token,
        )
        return _page(resp, "runs", wire.run_from_json)

    def changes_since(self, cursor: int | None, limit: int = 1000) -> tuple[int, list[dict]]:
        resp = self.call(ep.LABTRACK_CHANGES, cursor=cursor, limit=limit)
        return int(resp["cursor"]), resp.get("changes", [])


class RestArtifacts:
    """``ArtifactsBackend`` over MLflow's artifact proxy (``mlflow-artifacts`` routes); paths
    are relative to the server's artifact root, which the server checks."""

    def __init__(self, backend: RestBackend) -> None:
        self._b = backend

    def relpath(self, artifact_uri: str) -> str:
        return uri_to_relpath(artifact_uri)

    def _listing(self, rel: str) -> list[FileInfo] | None:
        """Entries of the directory ``rel``; ``None`` when it is a file or missing (the server
        answers ``{}``; an empty directory is ``{"files": []}``)."""
        resp = self._b.call(ep.ARTIFACT_LIST, path=rel)
        if "files" not in resp:
            return None
        return [
            FileInfo(f["path"], bool(f.get("is_dir")), f.get("file_size")) for f in resp["files"]
        ]

    def list(self, rel: str) -> list[FileInfo]:
        return self._listing(rel) or []

    def size(self, rel: str) -> int:
        entries = self._listing(rel)
        if entries is None:  # a file (its parent's listing has its size) or nothing
            parent, name = posixpath.split(rel)
            found = [e for e in self.list(parent) if e.path == name and not e.is_dir]
            return int(found[0].file_size or 0) if found else 0
        total = 0
        for entry in entries:
            child = posixpath.join(rel, entry.path)
            total += self.size(child) if entry.is_dir else int(entry.file_size or 0)
        return total

    def download(self, rel: str, dst: str) -> str:
        entries = self._listing(rel)
        name = posixpath.basename(rel.rstrip("/"))
        target = os.path.join(dst, name) if name else dst
        if entries is None:  # a file, or a missing path (the download says which)
            data = self._b.request(
                ep.ARTIFACT_DOWNLOAD.method, ep.ARTIFACT_DOWNLOAD.url(artifact_path=rel)
            )
            os.makedirs(dst, exist_ok=True)
            with open(target, "wb") as f:
                f.write(data if isinstance(data, bytes) else json.dumps(data).encode())
            return target
        os.makedirs(target, exist_ok=True)
        for entry in entries:
            self.download(posixpath.join(rel, entry.path), target)
        return target

    def upload_file(
        self,
        local_path: str,
        rel: str,
        progress: BytesDone | None = None,
        overwrite: bool = False,
    ) -> None:
        with open(local_path, "rb") as f:
            data = f.read()
        self._b.request(
            ep.ARTIFACT_UPLOAD.method,
            ep.ARTIFACT_UPLOAD.url(artifact_path=rel),
            raw=data,
            query={"overwrite": "true"} if overwrite else None,
        )
        if progress is not None:
            progress(len(data))

    def upload_dir(
        self,
        local_dir: str,
        rel: str,
        progress: BytesDone | None = None,
        overwrite: bool = False,
    ) -> None:
        done = 0
        for src, sub in local_files(local_dir):
            self.upload_file(src, posixpath.join(rel, sub), overwrite=overwrite)
            done += os.path.getsize(src)
            if progress is not None:
                progress(done)


class RestRegistry:
    """``RegistryService``'s methods over MLflow's registry REST routes."""

    def __init__(self, backend: RestBackend) -> None:
        self._b = backend

    @staticmethod
    def _model(resp: Any) -> RegisteredModel:
        return wire.registered_model_from_json(resp["registered_model"])

    @staticmethod
    def _version(resp: Any) -> ModelVersion:
        return wire.model_version_from_json(resp["model_version"])

    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        return self._model(
            self._b.call(
                ep.REGISTERED_MODELS_CREATE,
                name=name,
                tags=_key_values(tags),
                description=description,
            )
        )

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._model(self._b.call(ep.REGISTERED_MODELS_GET, name=name))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self._model(self._b.call(ep.REGISTERED_MODELS_RENAME, name=name, new_name=new_name))

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        return self._model(
            self._b.call(ep.REGISTERED_MODELS_UPDATE, name=name, description=description)
        )

    def delete_registered_model(self, name: str) -> None:
        self._b.call(ep.REGISTERED_MODELS_DELETE, name=name)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        self._b.call(ep.REGISTERED_MODELS_SET_TAG, name=name, key=key, value=value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._b.call(ep.REGISTERED_MODELS_DELETE_TAG, name=name, key=key)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        resp = self._b.call(
            ep.REGISTERED_MODELS_SEARCH,
            filter=filter_string or None,
            max_results=max_results,
            order_by=order_by or None,
            page_token=page_token,
        )
        return _page(resp, "registered_models", wire.registered_model_from_json)

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        resp = self._b.call(
            ep.REGISTERED_MODELS_GET_LATEST_VERSIONS, name=name, stages=list(stages or [])
        )
        return [wire.model_version_from_json(m) for m in resp.get("model_versions", [])]

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
    ) -> ModelVersion:
        del user_id  # the server records the authenticated user
        return self._version(
            self._b.call(
                ep.MODEL_VERSIONS_CREATE,
                name=name,
                source=source,
                run_id=run_id,
                tags=_key_values(tags),
                run_link=run_link,
                description=description,
                model_id=model_id,
            )
        )

    def get_model_version(self, name: str, version: object) -> ModelVersion:
        return self._version(self._b.call(ep.MODEL_VERSIONS_GET, name=name, version=str(version)))

    def update_model_version(
        self, name: str, version: object, description: str | None
    ) -> ModelVersion:
        return self._version(
            self._b.call(
                ep.MODEL_VERSIONS_UPDATE,
                name=name,
                version=str(version),
                description=description,
            )
        )

    def delete_model_version(self, name: str, version: object) -> None:
        self._b.call(ep.MODEL_VERSIONS_DELETE, name=name, version=str(version))

    def transition_model_version_stage(
        self, name: str, version: object, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        return self._version(
            self._b.call(
                ep.MODEL_VERSIONS_TRANSITION_STAGE,
                name=name,
                version=str(version),
                stage=stage,
                archive_existing_versions=bool(archive_existing_versions),
            )
        )

    def get_model_version_download_uri(self, name: str, version: object) -> str:
        resp = self._b.call(ep.MODEL_VERSIONS_GET_DOWNLOAD_URI, name=name, version=str(version))
        return str(resp.get("artifact_uri", ""))

    def set_model_version_tag(self, name: str, version: object, key: str, value: str) -> None:
        self._b.call(
            ep.MODEL_VERSIONS_SET_TAG, name=name, version=str(version), key=key, value=value
        )

    def delete_model_version_tag(self, name: str, version: object, key: str) -> None:
        self._b.call(ep.MODEL_VERSIONS_DELETE_TAG, name=name, version=str(version), key=key)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        resp = self._b.call(
            ep.MODEL_VERSIONS_SEARCH,
            filter=filter_string or None,
            max_results=max_results,
            order_by=order_by or None,
            page_token=page_token,
        )
        return _page(resp, "model_versions", wire.model_version_from_json)

    def set_registered_model_alias(self, name: str, alias: str, version: object) -> None:
        self._b.call(ep.REGISTERED_MODELS_SET_ALIAS, name=name, alias=alias, version=str(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._b.call(ep.REGISTERED_MODELS_DELETE_ALIAS, name=name, alias=alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._version(
            self._b.call(ep.REGISTERED_MODELS_GET_BY_ALIAS, name=name, alias=alias)
        )


class RestLoggedModels:
    """``LoggedModelService``'s client-side methods over the MLflow 3 logged-model routes."""

    def __init__(self, backend: RestBackend) -> None:
        self._b = backend

    @staticmethod
    def _model(resp: Any) -> LoggedModel:
        return wire.logged_model_from_json(resp["model"])

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        model_type: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> LoggedModel:
        return self._model(
            self._b.call(
                ep.LOGGED_MODELS_CREATE,
                experiment_id=experiment_id,
                name=name,
                model_type=model_type,
                source_run_id=source_run_id,
                tags=_key_values(tags),
                params=_key_values(params),
            )
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self._model(self._b.call(ep.LOGGED_MODELS_GET, {"model_id": model_id}))

    def finalize_logged_model(self, model_id: str, status: str) -> LoggedModel:
        return self._model(
            self._b.call(
                ep.LOGGED_MODELS_FINALIZE, {"model_id": model_id}, model_id=model_id, status=status
            )
        )

    def set_logged_model_tags(self, model_id: str, tags: dict[str, str]) -> LoggedModel:
        return self._model(
            self._b.call(ep.LOGGED_MODELS_SET_TAGS, {"model_id": model_id}, tags=_key_values(tags))
        )

    def delete_logged_model(self, model_id: str) -> None:
        self._b.call(ep.LOGGED_MODELS_DELETE, {"model_id": model_id})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self._b.call(ep.LOGGED_MODELS_DELETE_TAG, {"model_id": model_id, "tag_key": key})

    def log_logged_model_params(self, model_id: str, params: dict[str, str]) -> None:
        self._b.call(
            ep.LOGGED_MODELS_LOG_PARAMS,
            {"model_id": model_id},
            model_id=model_id,
            params=_key_values(params),
        )

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[Any] = (),
        page_token: str | None = None,
        datasets: Sequence[Mapping[str, Any]] | None = None,
    ) -> PagedList:
        resp = self._b.call(
            ep.LOGGED_MODELS_SEARCH,
            experiment_ids=list(experiment_ids),
            filter=filter_string,
            max_results=max_results,
            order_by=list(order_by) or None,
            page_token=page_token,
            datasets=[dict(d) for d in datasets] if datasets else None,
        )
        return _page(resp, "models", wire.logged_model_from_json)

    def log_model_inputs(self, run_id: str, model_ids: Sequence[str]) -> None:
        self._b.call(ep.RUNS_LOG_INPUTS, run_id=run_id, models=[{"model_id": m} for m in model_ids])

    def log_outputs(self, run_id: str, models: Sequence[tuple[str, int]]) -> None:
        self._b.call(
            ep.RUNS_OUTPUTS,
            run_id=run_id,
            models=[{"model_id": m, "step": s} for m, s in models],
        )

    def record_logged_model(self, run_id: str, model_json: str) -> None:
        self._b.call(ep.RUNS_LOG_MODEL, run_id=run_id, model_json=model_json)


def rest_backend(uri: str, token: str | None = None) -> Backend:
    """The REST transport to the server at ``uri``, as a ``Backend``."""
    tracking = RestBackend(uri, token)
    # Typed parts: mypy checks each class against the protocol it stands in for.
    registry: RegistryBackend = RestRegistry(tracking)
    logged_models: LoggedModelsBackend = RestLoggedModels(tracking)
    artifacts: ArtifactsBackend = RestArtifacts(tracking)
    checked: TrackingBackend = tracking
    return Backend(checked, registry, logged_models, artifacts)


def _view_type_name(value: Any) -> Any:
    """A view type as the wire takes it (the enum's name; the server, as MLflow's, refuses an
    empty or lower-case one): the Python API's ``"all"`` or ``""`` mean what they mean
    in-process. Anything else is sent as given, for the server to refuse."""
    if isinstance(value, ViewType):
        return value.value
    if value is None or value == "":
        return None
    return value.upper() if isinstance(value, str) else value


def _page(resp: Mapping[str, Any], key: str, parse: Callable[[Any], Any]) -> PagedList:
    """A search answer (``resp[key]``'s items, parsed, and its ``next_page_token``)."""
    return PagedList([parse(item) for item in resp.get(key, [])], resp.get("next_page_token"))


def _key_values(items: dict[str, str] | None) -> list[dict[str, str]]:
    """MLflow's repeated key/value messages (tags, params)."""
    return [{"key": k, "value": v} for k, v in (items or {}).items()]


def _flatten(query: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    for key, value in query.items():
        if isinstance(value, (list, tuple)):
            for item in value:
                yield key, item
        elif isinstance(value, bool):
            yield key, "true" if value else "false"
        else:
            yield key, value


def _error(status: int, data: bytes, method: str, url: str) -> LabtrackException:
    try:
        body = json.loads(data)
        code = body.get("error_code", "INTERNAL_ERROR")
        message = body.get("message", "")
    except (ValueError, AttributeError):
        code = {
            400: "BAD_REQUEST",
            401: "UNAUTHENTICATED",
            403: "PERMISSION_DENIED",
            404: "ENDPOINT_NOT_FOUND",
        }.get(status, "INTERNAL_ERROR")
        message = data[:200].decode(errors="replace")
    return LabtrackException(f"{method} {url} failed ({status} {code}): {message}", code)
