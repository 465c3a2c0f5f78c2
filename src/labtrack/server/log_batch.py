"""The body of ``runs/log-batch`` decoded straight into metric columns.

A batch carries up to 1,000 metric points. Decoding them into typed structs (msgspec) checks
each point's types while parsing and builds no dict per point; the points are then grouped
into columns per series, as :func:`labtrack.entities.wire.metric_columns_from_json` groups dicts.

This path only takes bodies whose every point is plainly typed: a string key, a JSON number
value, integer timestamp and step. Anything else (``"NaN"`` values, quoted int64s, missing
fields, malformed JSON, wrong shapes) returns ``None`` and the request goes through the general
path, which accepts what MLflow accepts and words the errors. So both paths accept the same
bodies and store the same points; a test checks that on awkward bodies.
"""

from __future__ import annotations

from array import array
from itertools import chain, repeat
from typing import Any, Generic, TypeVar, cast

import msgspec

from labtrack.entities.wire import MetricColumns


class _PlainPoint(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    """A point with the four fields nearly every client sends. Any other field (``model_id``,
    the dataset fields, ``run_id``) fails this shape, and the body is decoded as ``_Point``s."""

    key: str
    value: float
    timestamp: int
    step: int = 0


class _Point(msgspec.Struct, gc=False):
    """One point as MLflow sends it: the fields of ``labtrack.entities.Metric`` (a struct, not
    that dataclass: structs decode faster and the garbage collector need not track them)."""

    key: str
    value: float
    timestamp: int
    step: int = 0
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


PointT = TypeVar("PointT", _PlainPoint, _Point)


class _Body(msgspec.Struct, Generic[PointT], gc=False):
    metrics: list[PointT] = []
    # Checked by the general rules (RpcRequest accessors), as for every other route.
    run_id: Any = None
    run_uuid: Any = None
    params: Any = None
    tags: Any = None


_PLAIN_DECODER = msgspec.json.Decoder(_Body[_PlainPoint])
_DECODER = msgspec.json.Decoder(_Body[_Point])

# Typed columns (int64, int64, float64): the service takes them without checking types again.
_Columns = tuple[array, array, array]


def _columns() -> _Columns:
    return array("q"), array("q"), array("d")


def decode_log_batch(body: bytes) -> tuple[dict[str, Any], MetricColumns] | None:
    """The body's other fields and its metrics as columns per series, or ``None`` when the
    general path must decide."""
    batch: _Body[_PlainPoint] | _Body[_Point]
    try:
        try:
            batch = _PLAIN_DECODER.decode(body)
            columns = _plain_columns(batch.metrics)
        except msgspec.ValidationError:
            batch = _DECODER.decode(body)
            columns = _columns_per_series(batch.metrics)
    except (msgspec.DecodeError, OverflowError):
        # Also a ValidationError. OverflowError: beyond int64, the general rules word it.
        return None
    fields = {"run_id": batch.run_id, "run_uuid": batch.run_uuid}
    fields.update(params=batch.params, tags=batch.tags)
    return fields, cast("MetricColumns", columns)  # dicts are invariant; arrays are sequences


_Series = tuple[str, str | None, str | None, str | None]


def _plain_columns(points: list[_PlainPoint]) -> dict[_Series, _Columns]:
    """Columns of points that name only a key. A client logs a dict of metrics per step
    (keys repeating in one order) or one key's steps after another's (runs of equal length);
    those two layouts are cut into columns by slicing, in C. Others go point by point."""
    keys = [p.key for p in points]
    steps = array("q", [p.step for p in points])
    stamps = array("q", [p.timestamp for p in points])
    values = array("d", [p.value for p in points])
    distinct = list(dict.fromkeys(keys))
    n, m = len(keys), len(distinct)
    if m <= 1:
        return {(k, None, None, None): (steps, stamps, values) for k in distinct}
    if n % m == 0:
        per_key = n // m
        if keys == distinct * per_key:  # k0 k1 k2 k0 k1 k2 ...
            return {
                (k, None, None, None): (steps[j::m], stamps[j::m], values[j::m])
                for j, k in enumerate(distinct)
            }
        if keys == list(chain.from_iterable(repeat(k, per_key) for k in distinct)):
            cuts = [(k, j * per_key, (j + 1) * per_key) for j, k in enumerate(distinct)]
            return {
                (k, None, None, None): (steps[a:b], stamps[a:b], values[a:b]) for k, a, b in cuts
            }
    out: dict[_Series, _Columns] = {}
    for i, key in enumerate(keys):
        cols = out.get((key, None, None, None))
        if cols is None:
            cols = out[(key, None, None, None)] = _columns()
        cols[0].append(steps[i])
        cols[1].append(stamps[i])
        cols[2].append(values[i])
    return out


def _columns_per_series(points: list[_Point]) -> dict[_Series, _Columns]:
    out: dict[_Series, _Columns] = {}
    # Points without model/dataset fields: their series found by key alone.
    plain: dict[str, _Columns] = {}
    for p in points:
        if p.model_id is None and p.dataset_name is None and p.dataset_digest is None:
            cols = plain.get(p.key)
            if cols is None:
                cols = plain[p.key] = out.setdefault((p.key, None, None, None), _columns())
        else:
            series = (p.key, p.model_id, p.dataset_name, p.dataset_digest)
            cols = out.get(series)
            if cols is None:
                cols = out[series] = _columns()
        cols[0].append(p.step)
        cols[1].append(p.timestamp)
        cols[2].append(p.value)
    return out
