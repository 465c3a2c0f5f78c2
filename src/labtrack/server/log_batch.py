"""The body of ``runs/log-batch`` decoded straight into metric columns.

A batch carries up to 1,000 metric points. Decoding them into typed structs (msgspec) checks
each point's types while parsing and builds no dict per point; the points are then grouped
into columns per series, as :func:`labtrack.wire.metric_columns_from_json` groups dicts.

This path only takes bodies whose every point is plainly typed: a string key, a JSON number
value, integer timestamp and step. Anything else (``"NaN"`` values, quoted int64s, missing
fields, malformed JSON, wrong shapes) returns ``None`` and the request goes through the general
path, which accepts what MLflow accepts and words the errors. So both paths accept the same
bodies and store the same points; a test checks that on awkward bodies.
"""

from __future__ import annotations

from array import array
from typing import Any, cast

import msgspec

from labtrack.wire import MetricColumns


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


class _Body(msgspec.Struct, gc=False):
    metrics: list[_Point] = []
    # Checked by the general rules (RpcRequest accessors), as for every other route.
    run_id: Any = None
    run_uuid: Any = None
    params: Any = None
    tags: Any = None


_DECODER = msgspec.json.Decoder(_Body)

# Typed columns (int64, int64, float64): the service takes them without checking types again.
_Columns = tuple[array, array, array]


def _columns() -> _Columns:
    return array("q"), array("q"), array("d")


def decode_log_batch(body: bytes) -> tuple[dict[str, Any], MetricColumns] | None:
    """The body's other fields and its metrics as columns per series, or ``None`` when the
    general path must decide."""
    try:
        batch = _DECODER.decode(body)
    except msgspec.DecodeError:  # also a ValidationError
        return None
    out: dict[tuple[str, str | None, str | None, str | None], _Columns] = {}
    # Points without model/dataset fields (nearly all): their series found by key alone.
    plain: dict[str, _Columns] = {}
    try:
        for p in batch.metrics:
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
    except OverflowError:  # beyond int64: the general rules word the refusal
        return None
    fields = {"run_id": batch.run_id, "run_uuid": batch.run_uuid}
    fields.update(params=batch.params, tags=batch.tags)
    return fields, cast("MetricColumns", out)  # dicts are invariant; the arrays are sequences
