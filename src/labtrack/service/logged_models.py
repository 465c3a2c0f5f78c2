"""The rules for MLflow 3 logged models, run outputs, the 2.x ``runs/log-model`` record and the
run artifact listing (``mlflow/artifacts/list``).

A logged model is created ``LOGGED_MODEL_PENDING`` with a server-chosen artifact location
(``mlflow-artifacts:/<exp>/models/<model_id>/artifacts``); the client uploads its files there
and then finalizes it (``LOGGED_MODEL_READY`` or ``LOGGED_MODEL_UPLOAD_FAILED``).

Search filters are MLflow's filter language, parsed by the store's search grammar
(``labtrack.store.search``, kind ``logged_model``): clauses ``key op value`` joined by ``AND``,
keys ``name``, ``model_id``, ``status``, ``model_type``, ``source_run_id``,
``creation_timestamp``/``creation_time``, ``last_updated_timestamp``, ``tags.<k>`` and
``params.<k>`` and ``metrics.<k>`` (a model matches when any point it has of the metric does,
as in MLflow 3.17), backticks or double quotes around keys with odd characters. ``datasets``
(``[{"dataset_name", "dataset_digest"?}]``) keeps models with metrics on one of them and narrows
metric clauses to those points. ``order_by`` ``metrics.<k>`` sorts by each model's latest point
of the metric (by timestamp, then step; on the order's dataset when it names one), missing last.

A metric point logged to a run with a ``model_id`` is also that model's metric (``metrics`` of
the model); registering a version of a logged model appends ``{"name", "version"}`` to its
``mlflow.modelVersions`` tag, as MLflow 3.17's server does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from labtrack.artifact_store.uris import uri_to_relpath
from labtrack.entities import LoggedModel, PagedList
from labtrack.entities import validation as v
from labtrack.errors import LabtrackException, invalid
from labtrack.store.logged_model_store import ATTRIBUTE_COLUMNS, LoggedModelStore, Order
from labtrack.store.search import parser as search_parser
from labtrack.store.search.parser import Comparison

if TYPE_CHECKING:
    from labtrack.artifact_store.store import ArtifactStore, FileInfo
    from labtrack.service.tracking import TrackingService

STATUSES = (
    "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
)
_STATUS_ALIASES = {
    "PENDING": "LOGGED_MODEL_PENDING",
    "READY": "LOGGED_MODEL_READY",
    "FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
    "UPLOAD_FAILED": "LOGGED_MODEL_UPLOAD_FAILED",
    "UNSPECIFIED": "LOGGED_MODEL_STATUS_UNSPECIFIED",
}
SEARCH_DEFAULT_RESULTS = 100
SEARCH_MAX_RESULTS = 10_000
MAX_MODEL_PARAMS_PER_CALL = 1000
_BAD_NAME_CHARS = ("/", ":", ".", "%", '"', "'")
_LOG_MODEL_REQUIRED = ("artifact_path", "flavors", "utc_time_created", "run_id")


def status_name(value: object) -> str:
    """A status enum name from its name, short name or proto number."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(STATUSES):
        return STATUSES[value]
    text = str(value).strip().upper()
    if text.isdigit() and int(text) < len(STATUSES):
        return STATUSES[int(text)]
    text = _STATUS_ALIASES.get(text, text)
    if text not in STATUSES:
        raise invalid(f"Invalid logged model status {value!r}: one of {', '.join(STATUSES)}.")
    return text


def validate_model_name(name: str) -> str:
    if not isinstance(name, str) or not name or any(c in name for c in _BAD_NAME_CHARS):
        raise invalid(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string "
            f"and cannot contain the following characters: {_BAD_NAME_CHARS}"
        )
    if len(name) > v.MAX_RUN_NAME_LENGTH:
        raise invalid(f"Model name is longer than {v.MAX_RUN_NAME_LENGTH} characters.")
    return name


# ---- the filter language ----------------------------------------------------------------


def parse_filter(text: str | None) -> list[Comparison]:
    """Parse a logged model filter with the search grammar (``INVALID_PARAMETER_VALUE`` on
    errors); status values may be given by any of their names."""
    conditions = search_parser.parse_filter(text, "logged_model")
    for i, c in enumerate(conditions):
        if c.entity_type == "attribute" and c.key == "status":
            if isinstance(c.value, tuple):
                conditions[i] = replace(c, value=tuple(status_name(x) for x in c.value))
            else:
                conditions[i] = replace(c, value=status_name(c.value))
    return conditions


def parse_order_by(items: Iterable[Any]) -> list[Order]:
    """``order_by`` as MLflow's client sends it (``{"field_name", "ascending"}`` objects) or as
    strings ``"<field> [ASC|DESC]"``."""
    out = []
    for item in items:
        if isinstance(item, Mapping):
            field = item.get("field_name")
            ascending = item.get("ascending", True)
            if isinstance(ascending, str):
                ascending = ascending.strip().lower() != "false"
        elif isinstance(item, str):
            parts = item.split()
            field = parts[0] if parts else None
            if len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
                raise invalid(f"Invalid order_by clause {item!r}.")
            ascending = len(parts) < 2 or parts[1].upper() == "ASC"
        else:
            raise invalid(f"Invalid order_by clause {item!r}.")
        if not isinstance(field, str) or not field:
            raise invalid(f"Invalid order_by clause {item!r}: 'field_name' is required.")
        key = field.removeprefix("attributes.").removeprefix("attribute.")
        if key.startswith(("metrics.", "metric.")):
            metric = key.split(".", 1)[1].strip('`"')
            if not metric:
                raise invalid(f"Invalid order_by field {field!r}: a metric name is needed.")
            dataset = item if isinstance(item, Mapping) else {}
            ds_name, ds_digest = dataset.get("dataset_name"), dataset.get("dataset_digest")
            for name, value in (("dataset_name", ds_name), ("dataset_digest", ds_digest)):
                if value is not None and not isinstance(value, str):
                    raise invalid(f"Invalid order_by {name} {value!r}: a string.")
            out.append(Order(metric, bool(ascending), True, ds_name or None, ds_digest or None))
            continue
        if key not in ATTRIBUTE_COLUMNS:
            allowed = ", ".join(sorted(ATTRIBUTE_COLUMNS))
            raise invalid(f"Invalid order_by field {field!r}: one of {allowed}.")
        out.append(Order(key, bool(ascending)))
    return out


MAX_SEARCH_DATASETS = 100


def parse_datasets(items: Iterable[Any]) -> list[tuple[str, str | None]]:
    """The ``datasets`` of a logged-model search: ``{"dataset_name", "dataset_digest"?}``
    objects (a name is required, as MLflow 3.17 requires it)."""
    out: list[tuple[str, str | None]] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise invalid(f"Invalid entry of 'datasets' {item!r}: an object is expected.")
        name, digest = item.get("dataset_name"), item.get("dataset_digest")
        if not isinstance(name, str) or not name:
            raise invalid("`dataset_name` in the `datasets` clause must be specified.")
        if digest is not None and not isinstance(digest, str):
            raise invalid(f"Invalid 'dataset_digest' {digest!r} in 'datasets': a string.")
        out.append((name, digest or None))
    if len(out) > MAX_SEARCH_DATASETS:
        raise invalid(f"At most {MAX_SEARCH_DATASETS} entries in 'datasets'.")
    return out


@lru_cache(maxsize=8)
def _artifact_store(root: str) -> ArtifactStore:
    from labtrack.artifact_store.store import ArtifactStore

    return ArtifactStore(root)


class LoggedModelService:
    """Logged models and related run records, over the tracking service's store."""

    def __init__(self, tracking: TrackingService) -> None:
        self.tracking = tracking
        self.store = LoggedModelStore(tracking.store)

    # ---- logged models ------------------------------------------------------------------

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        model_type: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, object] | None = None,
        params: Mapping[str, object] | None = None,
    ) -> LoggedModel:
        if experiment_id in (None, ""):
            raise invalid("Missing value for required parameter 'experiment_id'.")
        if name:
            validate_model_name(name)
        else:
            from labtrack.service.tracking import random_run_name

            name = random_run_name()
        if source_run_id:
            v.validate_run_id(source_run_id)
        return self.store.create(
            str(experiment_id),
            name,
            model_type or None,
            source_run_id or None,
            self._tags(tags or {}),
            self._params(params or {}),
        )

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        return self.store.get(self._model_id(model_id), allow_deleted)

    def finalize_logged_model(self, model_id: str, status: object) -> LoggedModel:
        return self.store.set_status(self._model_id(model_id), status_name(status))

    def delete_logged_model(self, model_id: str) -> None:
        self.store.delete(self._model_id(model_id))

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, object]) -> LoggedModel:
        return self.store.set_tags(self._model_id(model_id), self._tags(tags))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.store.delete_tag(self._model_id(model_id), v.validate_key("tag", key))

    def log_logged_model_params(self, model_id: str, params: Mapping[str, object]) -> None:
        if len(params) > MAX_MODEL_PARAMS_PER_CALL:
            raise invalid(f"At most {MAX_MODEL_PARAMS_PER_CALL} params per request.")
        if params:
            self.store.log_params(self._model_id(model_id), self._params(params))
        else:  # nothing to write, but an unknown model is still an error (as MLflow's)
            self.get_logged_model(self._model_id(model_id))

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Iterable[Any] = (),
        page_token: str | None = None,
        datasets: Iterable[Mapping[str, Any]] | None = None,
    ) -> PagedList:
        if isinstance(experiment_ids, (str, int)):
            experiment_ids = [str(experiment_ids)]
        if not experiment_ids:
            raise invalid("Missing value for required parameter 'experiment_ids'.")
        limit = v.validate_max_results(
            SEARCH_DEFAULT_RESULTS if max_results is None else max_results, SEARCH_MAX_RESULTS
        )
        return self.store.search(
            self.tracking.readable_experiment_ids([str(e) for e in experiment_ids]),
            parse_filter(filter_string),
            limit,
            parse_order_by(order_by),
            page_token,
            parse_datasets(datasets or ()),
        )

    # ---- run records --------------------------------------------------------------------

    def log_outputs(self, run_id: str, models: Sequence[tuple[str, int]]) -> None:
        """Record logged models as outputs of a run (``(model_id, step)`` pairs)."""
        v.validate_run_id(run_id)
        clean = [(self._model_id(m), v.validate_step(m, step or 0)) for m, step in models]
        if clean:
            self.store.log_outputs(run_id, clean)

    def log_model_inputs(self, run_id: str, model_ids: Sequence[str]) -> None:
        """Record logged models a run used (``runs/log-inputs`` with ``models``). Like
        MLflow, the models are not looked up: an id is a reference, as a source run is."""
        v.validate_run_id(run_id)
        clean = [self._model_id(m) for m in model_ids]
        if clean:
            self.store.log_model_inputs(run_id, clean)

    def record_logged_model(self, run_id: str, model_json: str) -> None:
        """2.x ``runs/log-model``: append the model's description to the run's
        ``mlflow.log-model.history`` tag."""
        v.validate_run_id(run_id)
        try:
            model = json.loads(model_json)
        except (TypeError, ValueError):
            raise invalid(f"Malformed model info. {model_json!r} is not a valid JSON.") from None
        if not isinstance(model, dict):
            raise invalid("Malformed model info: model_json must be a JSON object.")
        missing = [f for f in _LOG_MODEL_REQUIRED if f not in model]
        if missing:
            raise invalid(f"Model json is missing mandatory fields: {missing}")
        self.store.append_log_model_history(run_id, model, v.MAX_TAG_VALUE_LENGTH)

    def list_run_artifacts(
        self, run_id: str, path: str | None = None
    ) -> tuple[str, list[FileInfo]]:
        """(the run's artifact URI, entries of ``path`` named relative to the run's root)."""
        from labtrack.artifact_store.paths import clean_relpath, join_relpath

        run = self.tracking.get_run(run_id)
        store = _artifact_store(self.tracking.artifact_root)
        sub = clean_relpath(path)
        entries = store.list_dir(store.relpath(run.info.artifact_uri, sub)) or []
        files = [type(e)(join_relpath(sub, e.path), e.is_dir, e.file_size) for e in entries]
        return run.info.artifact_uri, files

    def run_model_path(self, rel: str) -> str | None:
        """Where a read of ``rel`` (relative to the artifact root) finds a run's logged model:
        ``<run folder>/<name>[/<rest>]`` -> ``<model folder>[/<rest>]`` for the run's newest
        ready logged model called ``name``; None when ``rel`` names no such model.

        MLflow 2 clients know no logged models and load ``runs:/<run>/<name>`` from the run's
        own artifact folder; labtrack (like MLflow 3) writes models to their own folder. The
        artifact proxy asks this only for paths missing from the run's folder, so the run's
        own files always win; reads only, the store keeps one copy.
        """
        segments = rel.split("/") if rel else []
        for i in range(1, len(segments) - 1):
            if segments[i] != "artifacts" or not re.fullmatch(r"[0-9a-f]{32}", segments[i - 1]):
                continue
            run_id, name, rest = segments[i - 1], segments[i + 1], segments[i + 2 :]
            try:
                run = self.tracking.get_run(run_id)
            except LabtrackException:
                return None
            if uri_to_relpath(run.info.artifact_uri) != "/".join(segments[: i + 1]):
                return None
            found = self.store.search(
                [run.info.experiment_id],
                parse_filter(
                    f"source_run_id = '{run_id}' AND status = 'LOGGED_MODEL_READY'"
                    " AND name = '" + name.replace("'", "''") + "'"
                ),
                1,
            )
            if not found.items:
                return None
            return "/".join([uri_to_relpath(found.items[0].artifact_location), *rest])
        return None

    # ---- helpers ------------------------------------------------------------------------

    def check_model_id(self, model_id: object) -> str:
        """A logged model id of a valid form (not looked up)."""
        return self._model_id(model_id)

    @staticmethod
    def _model_id(model_id: object) -> str:
        if not isinstance(model_id, str) or not re.fullmatch(r"[\w\-]{1,64}", model_id):
            raise invalid(f"Invalid logged model ID {model_id!r}.")
        return model_id

    @staticmethod
    def _tags(tags: Mapping[str, object]) -> dict[str, str]:
        return {v.validate_key("tag", k): v.validate_tag_value(k, val) for k, val in tags.items()}

    @staticmethod
    def _params(params: Mapping[str, object]) -> dict[str, str]:
        return {
            v.validate_key("param", k): v.validate_param_value(k, val) for k, val in params.items()
        }
