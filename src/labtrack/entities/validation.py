"""Input rules, as MLflow defines them, so that what one client accepts the other accepts too.

Pure functions over plain values (no I/O): the service applies them to every request and the
client applies the metric rules as points are queued, before anything is sent.
"""

from __future__ import annotations

import operator
import posixpath
import re
from functools import lru_cache

from labtrack.errors import LabtrackException, invalid

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 256
MAX_RUN_NAME_LENGTH = 256
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_ITEMS = 1000
MAX_INT64 = 2**63 - 1

_KEY_RE = re.compile(r"^[/\w.\- :]*$")
_INT_TEXT = re.compile(r"-?[0-9]{1,20}")
_ALIAS_RE = re.compile(r"^[\w\-]*$")


@lru_cache(maxsize=4096)
def _key_problem(key: str) -> str | None:
    if not key:
        return "must not be empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"exceeds the maximum length of {MAX_KEY_LENGTH}"
    if not _KEY_RE.match(key):
        return (
            "may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
            "spaces ( ), colons (:) and slashes (/)"
        )
    norm = posixpath.normpath(key)
    if norm.startswith("/") or norm == ".." or norm.startswith("../") or norm != key.rstrip("/"):
        return "must be a relative path without '..' or '.' segments"
    return None


def validate_key(kind: str, key: object) -> str:
    """A metric, param or tag key; cached, because a training loop repeats the same few keys."""
    if not isinstance(key, str):
        raise invalid(f"Invalid {kind} name: {key!r}. Names must be strings.")
    problem = _key_problem(key)
    if problem:
        raise invalid(f"Invalid {kind} name: '{key}'. Names {problem}.")
    return key


def validate_metric_value(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            # numpy scalars, Decimal, torch 0-d tensors via __float__
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise invalid(
                f"Got invalid value {value!r} for metric '{key}'. Please specify a number."
            ) from None
    return float(value)


def _as_int64(value: object) -> int | None:
    """An integer as proto3's JSON mapping gives int64s: a whole number, an integral float
    (5.0), or a string of decimal digits ("5", how int64s are often quoted); else ``None``.
    Objects with ``__index__`` (numpy integers) count too. Range is checked by the caller."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        return int(value) if _INT_TEXT.fullmatch(value) else None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def validate_step(key: str, step: object) -> int:
    as_int = _as_int64(step)
    if as_int is None:
        raise invalid(f"Invalid step {step!r} for metric '{key}': an integer.")
    if not -MAX_INT64 <= as_int <= MAX_INT64:
        raise invalid(f"Invalid step {as_int} for metric '{key}': out of the int64 range.")
    return as_int


def validate_timestamp(key: str, timestamp: object) -> int:
    if timestamp is None:
        raise invalid(f"Metric '{key}' has no timestamp (milliseconds since the epoch).")
    ts = _as_int64(timestamp)
    if ts is None or not -MAX_INT64 <= ts <= MAX_INT64:
        raise invalid(f"Invalid timestamp {timestamp!r} for metric '{key}'.")
    return ts


def validate_param_value(key: str, value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise invalid(
            f"Param value for '{key}' had length {len(text)}, which exceeds the limit of "
            f"{MAX_PARAM_VALUE_LENGTH}."
        )
    return text


def validate_tag_value(key: str, value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise invalid(
            f"Tag value for '{key}' had length {len(text)}, which exceeds the limit of "
            f"{MAX_TAG_VALUE_LENGTH}."
        )
    return text


def validate_batch_sizes(n_metrics: int, n_params: int, n_tags: int) -> None:
    problems = []
    if n_metrics > MAX_BATCH_METRICS:
        problems.append(f"{n_metrics} metrics (max {MAX_BATCH_METRICS})")
    if n_params > MAX_BATCH_PARAMS:
        problems.append(f"{n_params} params (max {MAX_BATCH_PARAMS})")
    if n_tags > MAX_BATCH_TAGS:
        problems.append(f"{n_tags} tags (max {MAX_BATCH_TAGS})")
    if n_metrics + n_params + n_tags > MAX_BATCH_ITEMS:
        problems.append(f"{n_metrics + n_params + n_tags} items in total (max {MAX_BATCH_ITEMS})")
    if problems:
        raise invalid("A batch logging request may hold at most: " + ", ".join(problems) + ".")


def validate_experiment_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise invalid(f"Invalid experiment name: {name!r}. It must be a non-empty string.")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise invalid(
            f"Experiment name exceeds the maximum length of {MAX_EXPERIMENT_NAME_LENGTH}."
        )
    return name


def validate_run_name(name: object) -> str:
    if not isinstance(name, str):
        raise invalid(f"Invalid run name: {name!r}. It must be a string.")
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise invalid(f"Run name exceeds the maximum length of {MAX_RUN_NAME_LENGTH}.")
    return name


def validate_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not re.fullmatch(r"[a-zA-Z0-9_\-]{1,32}", run_id):
        raise invalid(f"Invalid run ID: {run_id!r}.")
    return run_id


def validate_max_results(value: object, limit: int, name: str = "max_results") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > limit:
        raise invalid(
            f"Invalid value {value!r} for parameter '{name}' supplied: "
            f"it must be an integer from 1 to {limit}."
        )
    return value


def validate_registered_model_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise invalid("Registered model name must be a non-empty string.")
    if "/" in name or ":" in name:
        raise invalid(f"Invalid registered model name '{name}': it may not contain '/' or ':'.")
    return name


def validate_alias(alias: object) -> str:
    if not isinstance(alias, str) or not alias or not _ALIAS_RE.match(alias):
        raise invalid(
            f"Invalid alias {alias!r}: aliases may only contain alphanumerics, '_' and '-'."
        )
    if alias.lower() == "latest" or re.fullmatch(r"v\d+", alias.lower()):
        raise invalid(f"Alias '{alias}' is reserved.")
    return alias


def require(value: object, name: str) -> object:
    if value is None or value == "":
        raise LabtrackException(
            f"Missing value for required parameter '{name}'.", "INVALID_PARAMETER_VALUE"
        )
    return value
