"""Entities <-> MLflow's REST JSON (proto3 JSON: snake_case, int64 as numbers, enums as names).

One module for both directions, used by the server handlers and by the REST client, so the two
cannot drift apart. Metric values NaN/±inf travel as the strings "NaN", "Infinity", "-Infinity".
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn, cast

from labtrack.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    Metric,
    MetricSeries,
    ModelVersion,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunTag,
)
from labtrack.errors import invalid


def float_to_json(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def float_from_json(value: Any, name: str = "value") -> float:
    """A double from JSON or a query string, as proto3's JSON mapping allows: a number, or a
    string holding a JSON number or exactly ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
    (Python's ``float()`` would also take ``"nan"``, ``" 1 "`` and ``"1_000"``.)"""
    if isinstance(value, bool):
        raise invalid(f"Invalid value {value!r} for parameter '{name}': expected a number")
    try:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            special = _SPECIAL_FLOATS.get(value)
            if special is not None:
                return special
            if _JSON_NUMBER.fullmatch(value):
                return float(value)
    except (ValueError, OverflowError):
        # OverflowError: an integer beyond the double range is a bad value, not a server error.
        pass
    raise invalid(f"Invalid value {value!r} for parameter '{name}': expected a number")


_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _kv(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in d.items()]


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


# ---- to JSON ----------------------------------------------------------------------------


def experiment_to_json(e: Experiment) -> dict[str, Any]:
    return _drop_none(
        {
            "experiment_id": e.experiment_id,
            "name": e.name,
            "artifact_location": e.artifact_location,
            "lifecycle_stage": e.lifecycle_stage,
            "creation_time": e.creation_time,
            "last_update_time": e.last_update_time,
            "tags": _kv(e.tags),
        }
    )


def metric_to_json(m: Metric) -> dict[str, Any]:
    # Built field by field: a search answer holds thousands of these.
    value = m.value
    out: dict[str, Any] = {
        "key": m.key,
        "value": value if math.isfinite(value) else float_to_json(value),
        "timestamp": m.timestamp,
        "step": m.step,
    }
    if m.model_id is not None:
        out["model_id"] = m.model_id
    if m.dataset_name is not None:
        out["dataset_name"] = m.dataset_name
    if m.dataset_digest is not None:
        out["dataset_digest"] = m.dataset_digest
    if m.run_id is not None:
        out["run_id"] = m.run_id
    return out


def metric_history_json(
    key: str,
    steps: Any,
    timestamps: Any,
    values: Any,
    next_page_token: str | None = None,
    labels: Sequence[tuple[str | None, str | None, str | None]] | None = None,
) -> bytes:
    """A ``metrics/get-history`` response, encoded from numpy columns (int64, int64, float64)
    and, if any point names one, each point's (model_id, dataset_name, dataset_digest).

    The same JSON as ``metric_to_json`` per point (values exact: shortest round-trip form;
    NaN/±inf as strings), built with one join instead of a dict per point.
    """
    import numpy as np

    tail = b"]}"
    if next_page_token:
        tail = b'],"next_page_token":' + json.dumps(next_page_token).encode() + b"}"
    n = len(values)
    if n == 0:
        return b'{"metrics":[' + tail
    values = np.asarray(values, dtype=np.float64)
    value_texts = _number_texts(values)
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        value_texts[i] = json.dumps(float_to_json(float(values[i]))).encode()
    k = json.dumps(key).encode()
    parts = [b""] * (6 * n)
    parts[0::6] = [b'},{"key":' + k + b',"value":'] * n
    parts[0] = b'{"metrics":[{"key":' + k + b',"value":'
    parts[1::6] = value_texts
    parts[2::6] = [b',"timestamp":'] * n
    parts[3::6] = _number_texts(np.asarray(timestamps, dtype=np.int64))
    parts[4::6] = [b',"step":'] * n
    parts[5::6] = _number_texts(np.asarray(steps, dtype=np.int64))
    if labels is not None:
        fields: dict[tuple[str | None, str | None, str | None], bytes] = {}
        for label in set(labels):
            named = zip(("model_id", "dataset_name", "dataset_digest"), label, strict=True)
            fields[label] = b"".join(
                b',"' + name.encode() + b'":' + json.dumps(value).encode()
                for name, value in named
                if value is not None
            )
        steps_texts = parts[5::6]
        parts[5::6] = [t + fields[label] for t, label in zip(steps_texts, labels, strict=True)]
    parts.append(b"}" + tail)
    return b"".join(parts)


def _number_texts(column: Any) -> list[bytes]:
    """The JSON text of each element of a numpy column (non-finite floats become "null").

    orjson writes the whole array in C, each number in its shortest exact form; splitting that
    text is far cheaper than formatting each number in Python.
    """
    import numpy as np
    import orjson

    text = orjson.dumps(np.ascontiguousarray(column), option=orjson.OPT_SERIALIZE_NUMPY)
    return text[1:-1].split(b",")


def run_info_to_json(i: RunInfo) -> dict[str, Any]:
    return _drop_none(
        {
            "run_id": i.run_id,
            "run_uuid": i.run_id,
            "run_name": i.run_name,
            "experiment_id": i.experiment_id,
            "user_id": i.user_id,
            "status": i.status,
            "start_time": i.start_time,
            "end_time": i.end_time,
            "artifact_uri": i.artifact_uri,
            "lifecycle_stage": i.lifecycle_stage,
        }
    )


def run_data_to_json(
    points: Iterable[tuple[str, float, int, int]],
    params: dict[str, str],
    tags: dict[str, str],
) -> dict[str, Any]:
    """A run's ``data``: latest points as ``(key, value, timestamp, step)``, params, tags."""
    return {
        # Straight from the latest points: a search answer holds thousands of these.
        "metrics": [
            {
                "key": key,
                "value": value if math.isfinite(value) else float_to_json(value),
                "timestamp": timestamp,
                "step": step,
            }
            for key, value, timestamp, step in points
        ],
        "params": _kv(params),
        "tags": _kv(tags),
    }


def run_data_json_bytes(
    params: dict[str, str], tags: dict[str, str], points: Mapping[str, Sequence[Any]]
) -> bytes:
    """``run_data_to_json`` encoded, from latest points as ``key -> (value, timestamp, step)``:
    what the store keeps per run so that search answers need not rebuild it."""
    import orjson

    latest = [(k, p[0], p[1], p[2]) for k, p in points.items()]
    return orjson.dumps(run_data_to_json(latest, params, tags))


# A run without dataset inputs or model outputs, as run_to_json writes it, around the info and
# data documents.
_RUN_JSON_PARTS = (b'{"info":', b',"data":', b',"inputs":{"dataset_inputs":[]}}')


def run_json_bytes(info: Sequence[Any], data_json: bytes) -> bytes:
    """The encoded ``run_to_json`` of a run without inputs or outputs, from its info as
    ``RunInfo`` fields in order and its already encoded data (``run_data_json_bytes``).

    The info object is written straight from the fields (no RunInfo): search answers build a
    thousand of these. Tests check it matches ``run_info_to_json`` byte for byte.
    """
    import orjson

    run_id, experiment_id, run_name, user_id, status, start, end, artifact_uri, stage = info
    doc = {
        "run_id": run_id,
        "run_uuid": run_id,
        "run_name": run_name,
        "experiment_id": str(experiment_id),
        "user_id": user_id,
        "status": status,
        "start_time": start,
        "end_time": end,
        "artifact_uri": artifact_uri,
        "lifecycle_stage": stage,
    }
    if None in (run_name, user_id, status, start, end, artifact_uri, stage):
        doc = _drop_none(doc)
    head, middle, tail = _RUN_JSON_PARTS
    return b"".join((head, orjson.dumps(doc), middle, data_json, tail))


def run_to_json(r: Run) -> dict[str, Any]:
    out: dict[str, Any] = {
        "info": run_info_to_json(r.info),
        "data": run_data_to_json(r.data.latest_points(), r.data.params, r.data.tags),
        "inputs": {
            "dataset_inputs": [
                {
                    "tags": [{"key": t.key, "value": t.value} for t in di.tags],
                    "dataset": _drop_none(
                        {
                            "name": di.dataset.name,
                            "digest": di.dataset.digest,
                            "source_type": di.dataset.source_type,
                            "source": di.dataset.source,
                            "schema": di.dataset.schema,
                            "profile": di.dataset.profile,
                        }
                    ),
                }
                for di in r.inputs.dataset_inputs
            ]
        },
    }
    if r.inputs.model_inputs:
        out["inputs"]["model_inputs"] = [{"model_id": m.model_id} for m in r.inputs.model_inputs]
    if r.outputs.model_outputs:
        out["outputs"] = {
            "model_outputs": [
                {"model_id": o.model_id, "step": o.step} for o in r.outputs.model_outputs
            ]
        }
    return out


def series_to_json(s: MetricSeries) -> dict[str, Any]:
    return _drop_none(
        {
            "run_id": s.run_id,
            "key": s.key,
            "steps": s.steps,
            "timestamps": s.timestamps,
            "values": [float_to_json(v) for v in s.values],
            "mins": None if s.mins is None else [float_to_json(v) for v in s.mins],
            "maxs": None if s.maxs is None else [float_to_json(v) for v in s.maxs],
            "total_points": s.total_points,
        }
    )


# ---- from JSON --------------------------------------------------------------------------

# (key, model_id, dataset_name, dataset_digest) -> (steps, timestamps, values), as sent.
MetricColumns = dict[
    tuple[str, str | None, str | None, str | None],
    tuple[Sequence[Any], Sequence[Any], Sequence[float]],
]


def metric_columns_from_json(items: list[dict[str, Any]]) -> MetricColumns:
    """log-batch ``metrics`` grouped into columns per series, without a ``Metric`` per point.

    Checks what only the JSON shows (a string key, value and timestamp present, the value a
    number or "NaN"/"Infinity"); steps and timestamps are range-checked by the service.
    """
    _Lists = tuple[list[Any], list[Any], list[float]]
    out: dict[tuple[str, str | None, str | None, str | None], _Lists] = {}
    # Points without model/dataset fields (nearly all): their series found by key alone.
    plain: dict[str, _Lists] = {}
    for item in items:
        try:
            key = item["key"]
            value = item["value"]
            timestamp = item["timestamp"]
        except KeyError:
            _missing_metric_field(item)
        if not isinstance(key, str):
            raise invalid("Every metric needs a string 'key'.")
        if type(value) is not float:
            value = float_from_json(value, key)
        n_fields = len(item)
        if n_fields == 3 or (n_fields == 4 and "step" in item):
            cols = plain.get(key)
            if cols is None:
                cols = plain[key] = out.setdefault((key, None, None, None), ([], [], []))
        else:
            series = (
                key,
                _optional_str(item, "model_id", key),
                _optional_str(item, "dataset_name", key),
                _optional_str(item, "dataset_digest", key),
            )
            cols = out.get(series)
            if cols is None:
                cols = out[series] = ([], [], [])
        step = item.get("step")
        # Only a missing step means 0: [], {} or "" are refused by the step check.
        cols[0].append(0 if step is None else step)
        cols[1].append(timestamp)
        cols[2].append(value)
    return cast("MetricColumns", out)  # dicts are invariant; the lists are sequences


def _optional_str(item: dict[str, Any], field: str, key: str) -> str | None:
    value = item.get(field)
    if value is not None and not isinstance(value, str):
        raise invalid(f"Invalid {field} {value!r:.200} for metric '{key}': expected a string.")
    return value


def _missing_metric_field(item: dict[str, Any]) -> NoReturn:
    key = item.get("key")
    if not isinstance(key, str):
        raise invalid("Every metric needs a string 'key'.")
    field = "value" if "value" not in item else "timestamp"
    raise invalid(f"Missing value for required parameter '{field}' of metric '{key}'.")


def _tags_from_json(items: Any) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in items or []}


def experiment_from_json(d: dict[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=str(d["experiment_id"]),
        name=d.get("name", ""),
        artifact_location=d.get("artifact_location", ""),
        lifecycle_stage=d.get("lifecycle_stage", "active"),
        creation_time=_int_or_none(d.get("creation_time")),
        last_update_time=_int_or_none(d.get("last_update_time")),
        tags=_tags_from_json(d.get("tags")),
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def metric_from_json(d: dict[str, Any]) -> Metric:
    return Metric(
        key=d["key"],
        value=float_from_json(d.get("value"), d.get("key", "value")),
        timestamp=int(d.get("timestamp", 0)),
        step=int(d.get("step", 0) or 0),
        model_id=d.get("model_id"),
        dataset_name=d.get("dataset_name"),
        dataset_digest=d.get("dataset_digest"),
        run_id=d.get("run_id"),
    )


def run_info_from_json(d: dict[str, Any]) -> RunInfo:
    return RunInfo(
        run_id=d.get("run_id") or d["run_uuid"],
        experiment_id=str(d.get("experiment_id", "")),
        run_name=d.get("run_name", ""),
        user_id=d.get("user_id", ""),
        status=d.get("status", "RUNNING"),
        start_time=_int_or_none(d.get("start_time")),
        end_time=_int_or_none(d.get("end_time")),
        artifact_uri=d.get("artifact_uri", ""),
        lifecycle_stage=d.get("lifecycle_stage", "active"),
    )


def run_from_json(d: dict[str, Any]) -> Run:
    data = d.get("data", {})
    inputs = d.get("inputs", {}) or {}
    outputs = d.get("outputs", {}) or {}
    return Run(
        info=run_info_from_json(d["info"]),
        data=RunData(
            metrics={m["key"]: metric_from_json(m) for m in data.get("metrics", [])},
            params={p["key"]: p.get("value", "") for p in data.get("params", [])},
            tags=_tags_from_json(data.get("tags")),
        ),
        inputs=RunInputs(
            dataset_inputs=[dataset_input_from_json(di) for di in inputs.get("dataset_inputs", [])],
            model_inputs=[
                LoggedModelInput(str(m["model_id"])) for m in inputs.get("model_inputs", []) or []
            ],
        ),
        outputs=RunOutputs(
            model_outputs=[
                LoggedModelOutput(o["model_id"], int(o.get("step", 0)))
                for o in outputs.get("model_outputs", [])
            ]
        ),
    )


def _dataset_tag(t: object) -> RunTag:
    if not isinstance(t, dict) or not isinstance(t.get("key"), str):
        raise invalid("Every tag of a dataset input needs a string 'key'.")
    value = t.get("value")
    if value is not None and not isinstance(value, str):
        raise invalid(f"Invalid value {value!r} for a dataset input tag: expected a string.")
    return RunTag(t["key"], value or "")


def dataset_input_from_json(d: dict[str, Any]) -> DatasetInput:
    ds = d.get("dataset") or {}
    if not isinstance(ds, dict):
        raise invalid(f"Invalid dataset {ds!r}: an object is expected.")
    for field in ("name", "digest", "source_type", "source"):
        if not isinstance(ds.get(field), str):
            raise invalid(f"Dataset is missing required field '{field}'.")
    return DatasetInput(
        Dataset(
            name=ds["name"],
            digest=ds["digest"],
            source_type=ds["source_type"],
            source=ds["source"],
            schema=ds.get("schema"),
            profile=ds.get("profile"),
        ),
        tuple(_dataset_tag(t) for t in d.get("tags", []) or []),
    )


def series_from_json(d: dict[str, Any]) -> MetricSeries:
    def floats(xs: Any) -> list[float] | None:
        return None if xs is None else [float_from_json(x) for x in xs]

    return MetricSeries(
        run_id=d["run_id"],
        key=d["key"],
        steps=[int(x) for x in d.get("steps", [])],
        timestamps=[int(x) for x in d.get("timestamps", [])],
        values=floats(d.get("values", [])) or [],
        mins=floats(d.get("mins")),
        maxs=floats(d.get("maxs")),
        total_points=int(d.get("total_points", 0)),
    )


# ---- model registry ---------------------------------------------------------------------


def model_version_to_json(m: ModelVersion) -> dict[str, Any]:
    return _drop_none(
        {
            "name": m.name,
            "version": m.version,
            "creation_timestamp": m.creation_timestamp,
            "last_updated_timestamp": m.last_updated_timestamp,
            "user_id": m.user_id,
            "current_stage": m.current_stage,
            "description": m.description or "",
            "source": m.source,
            "run_id": m.run_id,
            "status": m.status,
            "status_message": m.status_message,
            "tags": _kv(m.tags),
            "run_link": m.run_link,
            "aliases": list(m.aliases),
            "model_id": m.model_id,
        }
    )


def registered_model_to_json(r: RegisteredModel) -> dict[str, Any]:
    return _drop_none(
        {
            "name": r.name,
            "creation_timestamp": r.creation_timestamp,
            "last_updated_timestamp": r.last_updated_timestamp,
            "description": r.description,
            "latest_versions": [model_version_to_json(m) for m in r.latest_versions],
            "tags": _kv(r.tags),
            "aliases": [{"alias": a, "version": v} for a, v in r.aliases.items()],
        }
    )


def model_version_from_json(d: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        name=d["name"],
        version=str(d["version"]),
        creation_timestamp=int(d.get("creation_timestamp", 0)),
        last_updated_timestamp=int(d.get("last_updated_timestamp", 0)),
        current_stage=d.get("current_stage", "None"),
        description=d.get("description") or "",
        user_id=d.get("user_id"),
        source=d.get("source"),
        run_id=d.get("run_id"),
        run_link=d.get("run_link"),
        status=d.get("status", "READY"),
        status_message=d.get("status_message"),
        model_id=d.get("model_id"),
        tags=_tags_from_json(d.get("tags")),
        aliases=[str(a) for a in d.get("aliases", []) or []],
    )


def registered_model_from_json(d: dict[str, Any]) -> RegisteredModel:
    return RegisteredModel(
        name=d["name"],
        creation_timestamp=int(d.get("creation_timestamp", 0)),
        last_updated_timestamp=int(d.get("last_updated_timestamp", 0)),
        description=d.get("description"),
        tags=_tags_from_json(d.get("tags")),
        aliases={a["alias"]: str(a["version"]) for a in d.get("aliases", []) or []},
        latest_versions=[model_version_from_json(m) for m in d.get("latest_versions", []) or []],
    )


# ---- logged models (MLflow 3) -----------------------------------------------------------


def logged_model_to_json(m: LoggedModel) -> dict[str, Any]:
    """A ``LoggedModel`` message: ``{"info": {...}, "data": {"params", "metrics"}}``."""
    return {
        "info": _drop_none(
            {
                "model_id": m.model_id,
                "experiment_id": m.experiment_id,
                "name": m.name,
                "creation_timestamp_ms": m.creation_timestamp,
                "last_updated_timestamp_ms": m.last_updated_timestamp,
                "artifact_uri": m.artifact_location,
                "status": m.status,
                "model_type": m.model_type,
                "source_run_id": m.source_run_id,
                "status_message": m.status_message,
                "tags": _kv(m.tags),
            }
        ),
        "data": {
            "params": _kv(m.params),
            "metrics": [metric_to_json(x) for x in m.metrics],
        },
    }


def logged_model_from_json(d: dict[str, Any]) -> LoggedModel:
    info = d.get("info") or {}
    data = d.get("data") or {}
    return LoggedModel(
        model_id=info["model_id"],
        experiment_id=str(info.get("experiment_id", "")),
        name=info.get("name", ""),
        artifact_location=info.get("artifact_uri", ""),
        creation_timestamp=int(info.get("creation_timestamp_ms", 0)),
        last_updated_timestamp=int(info.get("last_updated_timestamp_ms", 0)),
        status=info.get("status", "LOGGED_MODEL_PENDING"),
        model_type=info.get("model_type"),
        source_run_id=info.get("source_run_id"),
        status_message=info.get("status_message"),
        tags=_tags_from_json(info.get("tags")),
        params={p["key"]: p.get("value", "") for p in data.get("params", []) or []},
        metrics=[metric_from_json(x) for x in data.get("metrics", []) or []],
    )
