"""Plain data objects shared by every layer. No I/O here.

Names and fields follow MLflow's entities so that users and the wire format line up.
Times are epoch milliseconds (int); ids are strings on the outside.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class LifecycleStage(str, Enum):
    ACTIVE = "active"
    DELETED = "deleted"


class RunStatus(str, Enum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminated(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


class ViewType(str, Enum):
    ACTIVE_ONLY = "ACTIVE_ONLY"
    DELETED_ONLY = "DELETED_ONLY"
    ALL = "ALL"

    def stages(self) -> tuple[str, ...]:
        if self is ViewType.ACTIVE_ONLY:
            return (LifecycleStage.ACTIVE.value,)
        if self is ViewType.DELETED_ONLY:
            return (LifecycleStage.DELETED.value,)
        return (LifecycleStage.ACTIVE.value, LifecycleStage.DELETED.value)


@dataclass(frozen=True, slots=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunTag:
    key: str
    value: str


ExperimentTag = RunTag


# Not frozen: a million-point history builds a million of these, and frozen dataclasses pay
# an object.__setattr__ per field.
@dataclass(slots=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int = 0
    # 3.x clients may attach a point to a logged model and a dataset.
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None


@dataclass(slots=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = LifecycleStage.ACTIVE.value
    creation_time: int | None = None
    last_update_time: int | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str = LifecycleStage.ACTIVE.value

    @property
    def run_uuid(self) -> str:
        return self.run_id


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetInput:
    dataset: Dataset
    tags: tuple[RunTag, ...] = ()


@dataclass(frozen=True, slots=True)
class LoggedModelOutput:
    model_id: str
    step: int = 0


@dataclass(frozen=True, slots=True)
class LoggedModelInput:
    """A logged model a run used (MLflow 3's ``LoggedModelInput``)."""

    model_id: str


class RunData:
    """A run's params, tags and latest metric values, as MLflow's ``RunData``: ``metrics`` maps
    each key to its latest value (a float); ``latest_metrics`` has those latest points as
    ``Metric`` (with step and timestamp), built on first use."""

    __slots__ = ("_latest", "_points", "metrics", "params", "tags")

    def __init__(
        self,
        metrics: Mapping[str, Metric] | Iterable[Metric] = (),
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        points = metrics.values() if isinstance(metrics, Mapping) else metrics
        self._latest: dict[str, Metric] | None = {m.key: m for m in points}
        self._points: Mapping[str, Sequence[Any]] | None = None
        self.metrics: dict[str, float] = {k: m.value for k, m in self._latest.items()}
        self.params: dict[str, str] = {} if params is None else params
        self.tags: dict[str, str] = {} if tags is None else tags

    @classmethod
    def from_points(
        cls,
        points: Mapping[str, Sequence[Any]],
        params: dict[str, str],
        tags: dict[str, str],
    ) -> RunData:
        """From latest points as ``key -> (value, timestamp, step)``: the fast path for loading
        many runs, where most callers only read values."""
        self = cls.__new__(cls)
        self._latest = None
        self._points = points
        self.metrics = {k: p[0] for k, p in points.items()}
        self.params = params
        self.tags = tags
        return self

    def latest_points(self) -> list[tuple[str, float, int, int]]:
        """``(key, value, timestamp, step)`` of each latest point, without building Metrics."""
        if self._latest is None and self._points is not None:
            return [(k, p[0], p[1], p[2]) for k, p in self._points.items()]
        return [(m.key, m.value, m.timestamp, m.step) for m in self.latest_metrics.values()]

    @property
    def latest_metrics(self) -> dict[str, Metric]:
        if self._latest is None:
            points = self._points or {}
            self._latest = {k: Metric(k, p[0], p[1], p[2]) for k, p in points.items()}
        return self._latest

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunData):
            return NotImplemented
        return (self.params, self.tags, self.latest_metrics) == (
            other.params,
            other.tags,
            other.latest_metrics,
        )

    def __repr__(self) -> str:
        return f"RunData(metrics={self.metrics!r}, params={self.params!r}, tags={self.tags!r})"


@dataclass(slots=True)
class RunInputs:
    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[LoggedModelInput] = field(default_factory=list)


@dataclass(slots=True)
class RunOutputs:
    model_outputs: list[LoggedModelOutput] = field(default_factory=list)


@dataclass(slots=True)
class Run:
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)


@dataclass(slots=True)
class PagedList:
    """A page of results plus the opaque token for the next page (None on the last page)."""

    items: list
    token: str | None = None

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


@dataclass(slots=True)
class MetricSeries:
    """A metric history as columns, the fast form for charts and DataFrames."""

    run_id: str
    key: str
    steps: list[int]
    timestamps: list[int]
    values: list[float]
    # Present when the series was downsampled: per-bucket extremes, so spikes survive.
    mins: list[float] | None = None
    maxs: list[float] | None = None
    total_points: int = 0


@dataclass(slots=True)
class LoggedModel:
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str = "LOGGED_MODEL_PENDING"
    lifecycle_stage: str = LifecycleStage.ACTIVE.value
    model_type: str | None = None
    source_run_id: str | None = None
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[Metric] = field(default_factory=list)


@dataclass(slots=True)
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> version
    latest_versions: list[ModelVersion] = field(default_factory=list)


@dataclass(slots=True)
class ModelVersion:
    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    current_stage: str = "None"
    description: str | None = None
    user_id: str | None = None
    source: str | None = None
    run_id: str | None = None
    run_link: str | None = None
    status: str = "READY"
    status_message: str | None = None
    storage_location: str | None = None
    model_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
