"""REST log-batch has two decoders: typed structs for plainly typed bodies, and the general
rules for everything else. Both must accept the same bodies, store the same points and refuse
the same way; these tests run each body through both on the real store."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from labtrack.errors import LabtrackException
from labtrack.server.log_batch import decode_log_batch
from labtrack.server.rpc import RpcRequest
from labtrack.server.tracking_handlers import log_batch
from labtrack.store import schema

RUN = "@RUN@"


def _plain(n: int = 30) -> list[dict[str, Any]]:
    return [
        {"key": f"k{i % 3}", "value": i / 7, "timestamp": 1_700_000_000_000 + i, "step": i // 3}
        for i in range(n)
    ]


def _points(keys: list[str]) -> list[dict[str, Any]]:
    return [
        {"key": k, "value": i / 3, "timestamp": 1_700_000_000_000 + i, "step": i}
        for i, k in enumerate(keys)
    ]


# (name, body with RUN for the run id, whether the typed decoder takes it)
BODIES: list[tuple[str, Any, bool]] = [
    ("plain", {"run_id": RUN, "metrics": _plain()}, True),
    # The layouts the decoder cuts by slicing, and near misses that it must take point by point.
    (
        "one key's steps after another's",
        {"run_id": RUN, "metrics": _points([*"aaaabbbbcccc"])},
        True,
    ),
    (
        "keys repeating, then the order changes",
        {"run_id": RUN, "metrics": _points([*"abcabcacb"])},
        True,
    ),
    ("runs of unequal length", {"run_id": RUN, "metrics": _points([*"aabbbbcc"])}, True),
    ("runs, then a key again", {"run_id": RUN, "metrics": _points([*"aabbccaa"])}, True),
    ("one cycle short", {"run_id": RUN, "metrics": _points([*"abcabcab"])}, True),
    (
        "a point naming its run",
        {"run_id": RUN, "metrics": [{**p, "run_id": RUN} for p in _points([*"abab"])]},
        True,
    ),
    ("legacy run_uuid", {"run_uuid": RUN, "metrics": _plain(5)}, True),
    (
        "params and tags",
        {
            "run_id": RUN,
            "metrics": _plain(4),
            "params": [{"key": "lr", "value": "0.1"}, {"key": "n", "value": 3}],
            "tags": [{"key": "team", "value": "x"}],
        },
        True,
    ),
    ("no step", {"run_id": RUN, "metrics": [{"key": "a", "value": 1, "timestamp": 5}]}, True),
    (
        "ints as values, out-of-order steps, duplicates",
        {
            "run_id": RUN,
            "metrics": [
                {"key": "a", "value": 3, "timestamp": 9, "step": 4},
                {"key": "a", "value": 1, "timestamp": 7, "step": 1},
                {"key": "a", "value": 1, "timestamp": 7, "step": 1},
                {"key": "a", "value": -0.0, "timestamp": 8, "step": -2},
            ],
        },
        True,
    ),
    (
        "one key, several logged models and datasets",
        {
            "run_id": RUN,
            "metrics": [
                {"key": "m", "value": 5, "timestamp": 4, "step": 7, "model_id": "m-a"},
                {"key": "m", "value": 6, "timestamp": 5, "step": 8, "model_id": "m-b"},
                {"key": "m", "value": 7, "timestamp": 6, "step": 9},
                {"key": "m", "value": 8, "timestamp": 6, "step": 9, "dataset_name": "d"},
                {
                    "key": "m",
                    "value": 9,
                    "timestamp": 6,
                    "step": 10,
                    "dataset_name": "d",
                    "dataset_digest": "abc",
                },
            ],
        },
        True,
    ),
    ("unknown fields are ignored", {"run_id": RUN, "extra": 1, "metrics": _plain(2)}, True),
    ("no metrics", {"run_id": RUN, "params": [{"key": "p", "value": "v"}]}, True),
    # What only the general rules take or word:
    (
        "non-finite strings and numeric strings",
        {
            "run_id": RUN,
            "metrics": [
                {"key": "a", "value": "NaN", "timestamp": 1, "step": 0},
                {"key": "a", "value": "-Infinity", "timestamp": 2, "step": 1},
                {"key": "a", "value": "2.5", "timestamp": "3", "step": 2.0},
            ],
        },
        False,
    ),
    (
        "null step",
        {"run_id": RUN, "metrics": [{"key": "a", "value": 1, "timestamp": 1, "step": None}]},
        False,
    ),
    ("missing timestamp", {"run_id": RUN, "metrics": [{"key": "a", "value": 1}]}, False),
    ("missing value", {"run_id": RUN, "metrics": [{"key": "a", "timestamp": 1}]}, False),
    (
        "key not a string",
        {"run_id": RUN, "metrics": [{"key": 5, "value": 1, "timestamp": 1}]},
        False,
    ),
    (
        "boolean value",
        {"run_id": RUN, "metrics": [{"key": "a", "value": True, "timestamp": 1}]},
        False,
    ),
    (
        "fractional timestamp",
        {"run_id": RUN, "metrics": [{"key": "a", "value": 1, "timestamp": 1.5}]},
        False,
    ),
    ("metrics not a list", {"run_id": RUN, "metrics": {"key": "a"}}, False),
    ("metrics null", {"run_id": RUN, "metrics": None}, False),
    # Typed, but refused by the rules after decoding: the same refusal either way.
    (
        "step beyond int64",
        {"run_id": RUN, "metrics": [{"key": "a", "value": 1, "timestamp": 1, "step": 2**63}]},
        False,
    ),
    (
        "timestamp of -2**63",
        {"run_id": RUN, "metrics": [{"key": "a", "value": 1, "timestamp": -(2**63)}]},
        True,
    ),
    (
        "step of -2**63 after others",
        {
            "run_id": RUN,
            "metrics": [
                *_points([*"aa"])[:1],
                {"key": "a", "value": 2, "timestamp": 3, "step": -(2**63)},
            ],
        },
        True,
    ),
    (
        "step of -2**63, then rising",
        {
            "run_id": RUN,
            "metrics": [
                {"key": "a", "value": 2, "timestamp": 3, "step": -(2**63)},
                *_points([*"aa"]),
            ],
        },
        True,
    ),
    ("bad key", {"run_id": RUN, "metrics": [{"key": "../x", "value": 1, "timestamp": 1}]}, True),
    ("no run id", {"metrics": _plain(2)}, True),
    ("unknown run", {"run_id": "0" * 32, "metrics": _plain(2)}, True),
    (
        "changed param",
        {"run_id": RUN, "params": [{"key": "p", "value": "1"}, {"key": "p", "value": "2"}]},
        True,
    ),
]


def _raw(body: Any, run_id: str) -> bytes:
    return json.dumps(body).replace(RUN, run_id).encode()


def _outcome(service: Any, run_id: str, raw: bytes, typed: bool) -> Any:
    """What one decoder makes of the body: the error, or everything the run then holds."""
    req = (
        RpcRequest(method="POST", body=raw) if typed else RpcRequest(json.loads(raw), method="POST")
    )
    try:
        log_batch(service, req)
    except LabtrackException as exc:
        return ("refused", exc.error_code, str(exc).replace(run_id, RUN))
    run = service.get_run(run_id)
    history = {
        key: [
            (m.step, m.timestamp, repr(m.value), m.model_id, m.dataset_name, m.dataset_digest)
            for m in service.get_metric_history(run_id, key).items
        ]
        for key in sorted(run.data.metrics)
    }
    latest = {key: repr(value) for key, value in run.data.metrics.items()}  # NaN != NaN
    return ("stored", run.data.params, run.data.tags, latest, history, _series(service, run_id))


def _series(service: Any, run_id: str) -> list[tuple[Any, ...]]:
    """Points per stored series: history does not show which model or dataset a point names."""
    mc = schema.metric_chunks.c
    with service.store.engine.connect() as conn:
        rows = conn.execute(
            select(mc.key, mc.model_id, mc.dataset_name, mc.dataset_digest, mc.n_points).where(
                mc.run_uuid == run_id
            )
        ).all()
    totals: dict[tuple[Any, ...], int] = {}
    for *label, n in rows:
        totals[tuple(label)] = totals.get(tuple(label), 0) + n
    return sorted(totals.items(), key=repr)


@pytest.mark.parametrize(("name", "body", "typed"), BODIES, ids=[b[0] for b in BODIES])
def test_both_decoders_store_or_refuse_alike(service, name, body, typed):
    exp = service.create_experiment(f"decode-{name}")
    runs = [service.create_run(exp, start_time=1, run_name="r").info.run_id for _ in (0, 1)]
    # The typed decoder takes exactly the bodies it is meant for (else this test would
    # compare the general path with itself).
    assert (decode_log_batch(_raw(body, runs[0])) is not None) == typed
    fast = _outcome(service, runs[0], _raw(body, runs[0]), typed=True)
    general = _outcome(service, runs[1], _raw(body, runs[1]), typed=False)
    assert fast == general
    if name == "plain":
        assert fast[0] == "stored"
        assert sum(len(points) for points in fast[4].values()) == 30


def test_malformed_json_is_refused_by_the_general_rules(service):
    exp = service.create_experiment("decode-malformed")
    run_id = service.create_run(exp, start_time=1).info.run_id
    for raw in (b'{"run_id": ', b"[1, 2]", b'"text"'):
        assert decode_log_batch(raw) is None
        with pytest.raises(LabtrackException) as info:
            log_batch(service, RpcRequest(method="POST", body=raw))
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    assert service.get_run(run_id).data.metrics == {}
