"""The tracking rules, written once for both the REST handlers and the in-process client.

Validation and limits, system tags, run names and lifecycle live here; the store keeps the
integrity that needs the database.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from labtrack.artifact_store.uris import SCHEME as ARTIFACTS_SCHEME
from labtrack.artifact_store.uris import uri_scheme, uri_to_relpath
from labtrack.entities import (
    DatasetInput,
    Experiment,
    Metric,
    MetricSeries,
    PagedList,
    Run,
    RunInfo,
    RunStatus,
    ViewType,
    system_tags,
)
from labtrack.entities import validation as v
from labtrack.entities.permissions import Viewer
from labtrack.entities.points import CHART_POINTS, Points
from labtrack.errors import LabtrackException, invalid, not_found
from labtrack.store.tracking_store import (
    SEARCH_MAX_RESULTS,
    HistoryPage,
    SeriesKey,
    TrackingStore,
    now_ms,
)

if TYPE_CHECKING:
    from labtrack.service.logged_models import LoggedModelService
    from labtrack.service.registry import RegistryService

MAX_EXPERIMENTS_PAGE = 50_000
MAX_HISTORY_PAGE = 25_000_000
MAX_CHANGES_PAGE = 10_000
MAX_SERIES_POINTS = 100_000
# Run counts are for lists of experiments a person picked (a sidebar, a dashboard).
MAX_COUNT_EXPERIMENTS = 1000
_INT64_MIN = -(2**63)

# Metric points as columns per series, as a request sent them: (steps, timestamps, values).
MetricColumns = dict[SeriesKey, tuple[Sequence[Any], Sequence[Any], Sequence[float]]]

_ADJECTIVES = (
    "amber bold brave bright calm clever crisp daring eager fancy gentle glowing grand happy "
    "honest jolly keen lively lucky merry mighty nimble noble polite proud quick quiet rare "
    "rustic sharp shiny silent smooth spry steady sunny swift tidy upbeat vivid warm witty zesty"
).split()
_NOUNS = (
    "badger bass bat bear bee bird bison boar carp cat cod colt crab crane deer dog dove duck "
    "eagle eel elk finch fish fox frog gnat goat goose gull hare hawk hen heron horse jay koala "
    "lark lion lynx mole moose mouse newt owl ox panda pig quail ram robin seal shark sheep slug "
    "snail sow squid stork swan tern tiger toad trout wasp whale wolf wren yak zebra"
).split()


@dataclass(frozen=True)
class ArtifactOwner:
    """Whose artifact folder a path lies in: a run's or a logged model's."""

    kind: str  # "run" or "logged_model"
    id: str
    experiment_id: str
    folder: str  # the owner's artifact folder, relative to the artifact root
    closed: bool  # a finished run or a finalized model: its files are not replaced silently


def random_run_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(1000)}"


# ``<experiment>/<run_id>/artifacts/<file>`` or ``<experiment>/models/<model_id>/artifacts/<file>``
_OWNED_PATH = re.compile(r"[0-9]+/(?:models/m-[0-9a-f]{32}|[a-zA-Z0-9_\-]{1,32})/artifacts/.")


def _status(value: object) -> str:
    try:
        return RunStatus(str(value).upper()).value
    except ValueError:
        allowed = ", ".join(s.value for s in RunStatus)
        raise invalid(f"Invalid run status {value!r}: one of {allowed}.") from None


def _experiment_location(location: str) -> str:
    """A caller-chosen experiment location, as the canonical ``mlflow-artifacts:/<path>``.

    Locations are inside this server's artifact root: a path elsewhere could point anywhere,
    and a host part would send MLflow clients (with the user's credentials) to another server.
    A plain relative path (``my_location``) names a folder inside the root, the same as
    ``mlflow-artifacts:/my_location``: MLflow's server would resolve it against its own
    working directory, a folder the users' clients cannot reach (or, on a shared disk, one
    outside any managed root).
    """
    scheme = uri_scheme(location) if isinstance(location, str) else None
    if scheme == "" and not location.startswith(("/", "~")):
        location = f"{ARTIFACTS_SCHEME}:/{location}"
    elif scheme != ARTIFACTS_SCHEME:
        raise invalid(
            f"Invalid artifact_location {location!r}: omit it (the server assigns one), or "
            f"give a relative path or an {ARTIFACTS_SCHEME}:/<path> URI, which name a folder "
            "inside this server's artifact root. Absolute paths and other URIs are refused."
        )
    try:
        rel = uri_to_relpath(location)
    except LabtrackException as exc:
        raise invalid(f"Invalid artifact_location: {exc.message}") from None
    if not rel:
        raise invalid(f"artifact_location {location!r} names the artifact root itself.")
    return f"{ARTIFACTS_SCHEME}:/{rel}"


def _check_metric_labels(model_id: object, dataset_name: object, dataset_digest: object) -> None:
    """A metric point's logged model and dataset, as the store can keep them."""
    if model_id is not None and (
        not isinstance(model_id, str) or not re.fullmatch(r"[\w\-]{1,64}", model_id)
    ):
        raise invalid(f"Invalid metric model_id {model_id!r}: a logged model ID.")
    for field, value, limit in (
        ("dataset_name", dataset_name, v.MAX_RUN_NAME_LENGTH),
        ("dataset_digest", dataset_digest, 64),
    ):
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise invalid(f"Invalid metric {field} {value!r}: a string of at most {limit}.")


def _view_type(value: object) -> ViewType:
    if isinstance(value, ViewType):
        return value
    if value is None or value == "":
        return ViewType.ACTIVE_ONLY
    try:
        return ViewType(str(value).upper())
    except ValueError:
        raise invalid(f"Invalid view type {value!r}: ACTIVE_ONLY, DELETED_ONLY or ALL.") from None


def _series_points(
    key: str, steps: Sequence[Any], timestamps: Sequence[Any], values: Sequence[float]
) -> Points:
    v.validate_key("metric", key)
    if _typecodes(steps, timestamps, values) == ("q", "q", "d"):
        # A typed decoder's columns hold int64s and doubles already: only the lowest int64 is
        # left to refuse (the rules allow -(2**63 - 1) at the lowest), read off the bounds the
        # store needs anyway.
        points = Points.from_arrays(steps, timestamps, values)
        b = points.bounds() if len(points) else None
        if b is None or (b.min_step > _INT64_MIN and b.min_timestamp > _INT64_MIN):
            return points
    return Points(
        _int64_column(key, steps, v.validate_step),
        _int64_column(key, timestamps, v.validate_timestamp),
        np.array(values, dtype=np.float64),
    )


def _typecodes(*columns: Sequence[Any]) -> tuple[str, ...]:
    return tuple(c.typecode if isinstance(c, array) else "" for c in columns)


def _int64_column(key: str, items: Sequence[Any], check: Callable[[str, Any], int]) -> np.ndarray:
    """Plain in-range ints at C speed; anything else through the per-point rule (its message)."""
    if set(map(type, items)) <= {int}:
        with contextlib.suppress(OverflowError):
            column = np.array(items, dtype=np.int64)
            if not items or min(items) > _INT64_MIN:
                return column
    return np.array([check(key, x) for x in items], dtype=np.int64)


def _search_args(
    experiment_ids: Sequence[str] | str | int, run_view_type: object, max_results: int | None
) -> tuple[Sequence[str], ViewType, int]:
    """The validated experiment ids, view type and page size of a run search."""
    if isinstance(experiment_ids, (str, int)):
        experiment_ids = [str(experiment_ids)]
    limit = v.validate_max_results(1000 if max_results is None else max_results, SEARCH_MAX_RESULTS)
    return experiment_ids, _view_type(run_view_type), limit


class TrackingService:
    def __init__(self, store: TrackingStore, viewer: Viewer | None = None) -> None:
        self.store = store
        # Team mode: whose request this is; searches, counts and the change feed keep only
        # what they may read, and what they create is theirs to MANAGE. None: solo mode.
        self.viewer = viewer

    def as_viewer(self, viewer: Viewer | None) -> TrackingService:
        """The same service for one team-mode request (cheap: shares the store)."""
        return TrackingService(self.store, viewer)

    def readable_experiment_ids(self, experiment_ids: Sequence[str]) -> list[str]:
        """The given experiment ids the viewer may read, in the given order (all of them in
        solo mode). Ids that are not experiment ids are kept: the search words their error."""
        if self.viewer is None or self.viewer.principal.is_admin:
            return list(experiment_ids)
        numeric = {e: int(e) for e in experiment_ids if str(e).strip().isdigit()}
        allowed = self.store.permissions.readable_experiment_ids(
            self.viewer, sorted(set(numeric.values()))
        )
        return [e for e in experiment_ids if e not in numeric or numeric[e] in allowed]

    @classmethod
    def open(cls, store_uri: str, artifact_root: str | None = None) -> TrackingService:
        """The service over the store at ``store_uri`` (opened, migrated if older)."""
        return cls(TrackingStore(store_uri, artifact_root))

    @cached_property
    def registry(self) -> RegistryService:
        """The model registry rules."""
        from labtrack.service.registry import RegistryService

        return RegistryService(self)

    @cached_property
    def logged_models(self) -> LoggedModelService:
        """MLflow 3 logged models."""
        from labtrack.service.logged_models import LoggedModelService

        return LoggedModelService(self)

    @property
    def artifact_root(self) -> str:
        return self.store.artifact_root

    # ---- artifacts ----------------------------------------------------------------------

    def artifact_owner(self, rel: str) -> ArtifactOwner:
        """The run or logged model whose artifact folder holds ``rel`` (a cleaned path relative
        to the artifact root), for writes and deletes through the artifact proxy.

        The store's own layout (experiment folders, the ``models`` folders, the owners' folders
        themselves) is never a file a client may create or replace, and a deleted owner takes
        no writes. Team mode checks its permissions on the owner's experiment.
        """
        owner = self._find_owner(rel, writing=True)
        if owner is not None:
            return owner
        if _OWNED_PATH.match(rel):  # the layout's form, but no such run or logged model
            raise not_found(f"No run or logged model has its artifact folder at {rel!r}.")
        raise invalid(
            f"Artifact path {rel!r} is not inside a run's or a logged model's artifact folder "
            "(<experiment>/<run_id>/artifacts/<file> or "
            "<experiment>/models/<model_id>/artifacts/<file>)."
        )

    def artifact_reader(self, rel: str) -> ArtifactOwner | None:
        """The run or logged model whose artifact folder is ``rel`` or holds it (for reads:
        team mode checks READ on its experiment); ``None`` outside every such folder."""
        return self._find_owner(rel, writing=False)

    def _find_owner(self, rel: str, *, writing: bool) -> ArtifactOwner | None:
        segments = rel.split("/") if rel else []
        for i, segment in enumerate(segments):
            # A write names a file inside the folder; a read may name the folder itself.
            if segment != "artifacts" or i == 0 or (writing and i + 1 >= len(segments)):
                continue
            owner_id, folder = segments[i - 1], "/".join(segments[: i + 1])
            if owner_id.startswith("m-") and i >= 2 and segments[i - 2] == "models":
                owner = self._model_owner(owner_id, folder)
            else:
                owner = self._run_owner(owner_id, folder, writing)
            if owner is not None:
                return owner
        return None

    def _run_owner(self, run_id: str, folder: str, writing: bool = True) -> ArtifactOwner | None:
        try:
            info = self.store.get_run(run_id).info
        except LabtrackException:
            return None
        if uri_to_relpath(info.artifact_uri) != folder:
            return None
        if writing and info.lifecycle_stage != "active":
            raise invalid(f"The run {run_id} is deleted: its artifacts take no writes.")
        closed = info.status not in (RunStatus.RUNNING.value, RunStatus.SCHEDULED.value)
        return ArtifactOwner("run", run_id, info.experiment_id, folder, closed)

    def _model_owner(self, model_id: str, folder: str) -> ArtifactOwner | None:
        try:
            model = self.logged_models.get_logged_model(model_id)
        except LabtrackException:
            return None
        if uri_to_relpath(model.artifact_location) != folder:
            return None
        closed = model.status != "LOGGED_MODEL_PENDING"
        return ArtifactOwner("logged_model", model_id, model.experiment_id, folder, closed)

    # ---- experiments --------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> str:
        v.validate_experiment_name(name)
        if artifact_location:
            artifact_location = _experiment_location(artifact_location)
        clean = {
            v.validate_key("tag", k): v.validate_tag_value(k, val)
            for k, val in (tags or {}).items()
        }
        owner = self.viewer.principal.name if self.viewer else None
        return self.store.create_experiment(name, artifact_location, clean, owner)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.store.get_experiment(experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment:
        exp = self.store.get_experiment_by_name(name)
        if exp is None:
            raise not_found(f"Could not find experiment with name '{name}'")
        return exp

    def search_experiments(
        self,
        view_type: object = None,
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        max_results = v.validate_max_results(
            1000 if max_results is None else max_results, MAX_EXPERIMENTS_PAGE
        )
        return self.store.search_experiments(
            _view_type(view_type), max_results, filter_string, order_by, page_token, self.viewer
        )

    def delete_experiment(self, experiment_id: str) -> None:
        self.store.delete_experiment(experiment_id)

    def restore_experiment(self, experiment_id: str) -> None:
        self.store.restore_experiment(experiment_id)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.store.rename_experiment(experiment_id, v.validate_experiment_name(new_name))

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        v.validate_key("tag", key)
        self.store.set_experiment_tag(experiment_id, key, v.validate_tag_value(key, value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.store.delete_experiment_tag(experiment_id, v.validate_key("tag", key))

    # ---- runs ---------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str | None = None,
        user_id: str | None = None,
        start_time: int | None = None,
        tags: dict[str, str] | None = None,
        run_name: str | None = None,
    ) -> Run:
        clean: dict[str, str] = {}
        for key, value in (tags or {}).items():
            clean[v.validate_key("tag", key)] = v.validate_tag_value(key, value)
        # The run name and its mlflow.runName tag are one fact; MLflow clients send either.
        name = run_name or clean.get(system_tags.RUN_NAME) or random_run_name()
        v.validate_run_name(name)
        if run_name and clean.get(system_tags.RUN_NAME, run_name) != run_name:
            raise invalid(
                f"Both 'run_name' ({run_name!r}) and tag '{system_tags.RUN_NAME}' "
                f"({clean[system_tags.RUN_NAME]!r}) were given and differ."
            )
        clean[system_tags.RUN_NAME] = name
        # A parent that does not exist (yet, or any more) is accepted, as MLflow accepts it:
        # clients create runs in any order, and the dashboard shows such a run at the top.
        user = user_id or clean.get(system_tags.USER) or ""
        return self.store.create_run(
            experiment_id if experiment_id not in (None, "") else "0",
            user,
            now_ms() if start_time is None else int(start_time),
            clean,
            name,
        )

    def get_run(self, run_id: str) -> Run:
        return self.store.get_run(v.validate_run_id(run_id))

    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        v.validate_run_id(run_id)
        if run_name is not None:
            v.validate_run_name(run_name)
        return self.store.update_run_info(
            run_id,
            None if status is None else _status(status),
            None if end_time is None else int(end_time),
            run_name,
        )

    def heartbeat(self, run_id: str) -> None:
        """The run's writer is alive (labtrack's clients call this while a run is active)."""
        self.store.heartbeat(v.validate_run_id(run_id))

    def kill_silent_runs(self, timeout_seconds: float) -> list[str]:
        """Mark KILLED the RUNNING runs whose writer stopped beating ``timeout_seconds`` ago."""
        if not timeout_seconds > 0:
            raise invalid(f"The heartbeat timeout must be positive, got {timeout_seconds!r}")
        return self.store.kill_silent_runs(int(timeout_seconds * 1000))

    def end_run(self, run_id: str, status: str = "FINISHED") -> RunInfo:
        return self.update_run(run_id, status=status, end_time=now_ms())

    def delete_run(self, run_id: str) -> None:
        self.store.delete_run(v.validate_run_id(run_id))

    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(v.validate_run_id(run_id))

    # ---- logging ------------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Iterable[tuple[str, object]] = (),
        tags: Iterable[tuple[str, object]] = (),
        columns: MetricColumns | None = None,
    ) -> None:
        """``columns``: more metric points, grouped per series (REST log-batch), checked by the
        same rules as ``metrics`` but a column at a time."""
        v.validate_run_id(run_id)
        params = list(params)
        tags = list(tags)
        n_columns = sum(len(c[2]) for c in columns.values()) if columns else 0
        v.validate_batch_sizes(len(metrics) + n_columns, len(params), len(tags))
        clean_metrics = [self._metric(m) for m in metrics]
        series = {k: _series_points(k[0], *c) for k, c in columns.items()} if columns else None
        for _key, *labels in list(series or ()):
            _check_metric_labels(*labels)
        clean_params = [
            (v.validate_key("param", k), v.validate_param_value(k, val)) for k, val in params
        ]
        clean_tags = [(v.validate_key("tag", k), v.validate_tag_value(k, val)) for k, val in tags]
        self.store.log_batch(run_id, clean_metrics, clean_params, clean_tags, series)

    def _metric(self, m: Metric) -> Metric:
        _check_metric_labels(m.model_id, m.dataset_name, m.dataset_digest)
        return Metric(
            v.validate_key("metric", m.key),
            v.validate_metric_value(m.key, m.value),
            v.validate_timestamp(m.key, m.timestamp),
            v.validate_step(m.key, m.step if m.step is not None else 0),
            m.model_id,
            m.dataset_name,
            m.dataset_digest,
        )

    def log_series(self, run_id: str, series: dict[SeriesKey, Points]) -> None:
        """Bulk path for the batching client; points were validated as they were queued."""
        v.validate_run_id(run_id)
        for key, *labels in series:
            v.validate_key("metric", key)
            _check_metric_labels(*labels)
        self.store.log_series(run_id, series)

    def log_metric(self, run_id: str, metric: Metric) -> None:
        self.log_batch(run_id, metrics=[metric])

    def log_param(self, run_id: str, key: str, value: object) -> None:
        self.log_batch(run_id, params=[(key, value)])

    def set_tag(self, run_id: str, key: str, value: object) -> None:
        self.log_batch(run_id, tags=[(key, value)])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.store.delete_tag(v.validate_run_id(run_id), v.validate_key("tag", key))

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        for item in datasets:
            for tag in item.tags:
                v.validate_key("tag", tag.key)
        self.store.log_inputs(v.validate_run_id(run_id), datasets)

    # ---- reading ------------------------------------------------------------------------

    def get_metric_history(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        if max_results is not None:
            v.validate_max_results(max_results, MAX_HISTORY_PAGE)
        return self.store.get_metric_history(
            v.validate_run_id(run_id), metric_key, max_results, page_token
        )

    def get_metric_history_points(
        self,
        run_id: str,
        metric_key: str,
        max_results: int | None = None,
        page_token: str | None = None,
    ) -> tuple[HistoryPage, str | None]:
        """``get_metric_history`` as columns (for the REST handler), and the next page token."""
        if max_results is not None:
            v.validate_max_results(max_results, MAX_HISTORY_PAGE)
        return self.store.get_metric_history_points(
            v.validate_run_id(run_id), metric_key, max_results, page_token
        )

    def get_metric_series(
        self,
        run_id: str,
        metric_key: str,
        max_points: int | None = CHART_POINTS,
        x: str = "step",
        x_min: float | None = None,
        x_max: float | None = None,
    ) -> MetricSeries:
        if x not in ("step", "timestamp"):
            raise invalid(f"Invalid x axis {x!r}: 'step' or 'timestamp'.")
        if max_points is not None:
            v.validate_max_results(max_points, MAX_SERIES_POINTS, "max_points")
        return self.store.get_metric_series(
            v.validate_run_id(run_id), metric_key, max_points, x, x_min, x_max
        )

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: object = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList:
        eids, view, limit = _search_args(experiment_ids, run_view_type, max_results)
        eids = self.readable_experiment_ids(eids)
        return self.store.search_runs(eids, filter_string, view, limit, order_by, page_token)

    def search_runs_json(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: object = None,
        max_results: int | None = None,
        order_by: list[str] | None = None,
        page_token: str | None = None,
    ) -> tuple[list[bytes], str | None]:
        """``search_runs`` with each run encoded as MLflow's JSON (for REST answers)."""
        eids, view, limit = _search_args(experiment_ids, run_view_type, max_results)
        eids = self.readable_experiment_ids(eids)
        return self.store.search_runs_json(eids, filter_string, view, limit, order_by, page_token)

    def count_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: object = None,
    ) -> dict[str, int]:
        """Runs per experiment matching the filter (what a runs list shows as its total)."""
        if len(experiment_ids) > MAX_COUNT_EXPERIMENTS:
            raise invalid(f"At most {MAX_COUNT_EXPERIMENTS} experiments per request.")
        return self.store.count_runs(
            self.readable_experiment_ids(experiment_ids),
            filter_string,
            _view_type(run_view_type),
        )

    def changes_since(self, cursor: int | None, limit: int = 1000) -> tuple[int, list[dict]]:
        if cursor is not None and not 0 <= cursor <= v.MAX_INT64:
            raise invalid(f"Invalid cursor {cursor}: a change sequence number (0 or more).")
        return self.store.changes_since(
            cursor, v.validate_max_results(limit, MAX_CHANGES_PAGE, "limit"), self.viewer
        )
