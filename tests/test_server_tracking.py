"""The tracking REST API on a real Jupyter server with the real store behind it."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

from server_fixtures import *  # noqa: F403
from server_fixtures import Fetch, assert_error, json_of

M = "api/2.0/mlflow"


def post(fetch: Fetch, rpc: str, body: dict[str, Any]) -> Any:
    r = fetch(f"{M}/{rpc}", "POST", json_body=body)
    assert r.code == 200, (r.code, r.body[:300])
    return json_of(r)


def get(fetch: Fetch, rpc: str, query: str = "") -> Any:
    r = fetch(f"{M}/{rpc}?{query}")
    assert r.code == 200, (r.code, r.body[:300])
    return json_of(r)


def _new_run(fetch: Fetch, exp_id: str = "0", name: str = "r") -> str:
    run = post(
        fetch, "runs/create", {"experiment_id": exp_id, "run_name": name, "start_time": 1000}
    )["run"]
    return run["info"]["run_id"]


def test_experiment_crud_and_search(fetch: Fetch) -> None:
    exp_id = post(
        fetch, "experiments/create", {"name": "http-exp", "tags": [{"key": "a", "value": "1"}]}
    )["experiment_id"]
    exp = get(fetch, "experiments/get", f"experiment_id={exp_id}")["experiment"]
    assert exp["name"] == "http-exp"
    assert exp["tags"] == [{"key": "a", "value": "1"}]
    assert (
        get(fetch, "experiments/get-by-name", "experiment_name=http-exp")["experiment"][
            "experiment_id"
        ]
        == exp_id
    )
    assert_error(
        fetch(f"{M}/experiments/get-by-name?experiment_name=missing"),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    assert_error(
        fetch(f"{M}/experiments/create", "POST", json_body={"name": "http-exp"}),
        400,
        "RESOURCE_ALREADY_EXISTS",
    )
    found = get(fetch, "experiments/search", "filter=name%20LIKE%20%27http-%25%27")
    assert [e["name"] for e in found["experiments"]] == ["http-exp"]
    post(fetch, "experiments/update", {"experiment_id": exp_id, "new_name": "renamed"})
    post(fetch, "experiments/delete", {"experiment_id": exp_id})
    deleted = post(fetch, "experiments/search", {"view_type": "DELETED_ONLY"})["experiments"]
    assert [e["name"] for e in deleted] == ["renamed"]


def test_a_relative_artifact_location_is_a_folder_in_the_artifact_root(
    fetch: Fetch, labtrack_paths: dict[str, Path]
) -> None:
    """``experiments/create`` with ``artifact_location: "my_location"`` (MLflow's server would
    take it relative to its working directory): the folder ``my_location`` of the artifact
    root, which both clients reach through the artifact proxy."""
    exp_id = post(
        fetch, "experiments/create", {"name": "relative", "artifact_location": "my_location"}
    )["experiment_id"]
    exp = get(fetch, "experiments/get", f"experiment_id={exp_id}")["experiment"]
    assert exp["artifact_location"] == "mlflow-artifacts:/my_location"
    nested = post(
        fetch, "experiments/create", {"name": "nested", "artifact_location": "./team/a b/"}
    )["experiment_id"]
    exp = get(fetch, "experiments/get", f"experiment_id={nested}")["experiment"]
    assert exp["artifact_location"] == "mlflow-artifacts:/team/a b"
    run_id = _new_run(fetch, exp_id)
    run = get(fetch, "runs/get", f"run_id={run_id}")["run"]
    assert run["info"]["artifact_uri"] == f"mlflow-artifacts:/my_location/{run_id}/artifacts"
    r = fetch(
        f"api/2.0/mlflow-artifacts/artifacts/my_location/{run_id}/artifacts/notes.txt", "PUT", b"hi"
    )
    assert r.code == 200, r.body
    root = labtrack_paths["artifact_root"]
    assert (root / "my_location" / run_id / "artifacts" / "notes.txt").read_bytes() == b"hi"
    for location in ("../up", "a/../../up", "/abs", "%2e%2e/up"):
        err = assert_error(
            fetch(
                f"{M}/experiments/create",
                "POST",
                json_body={"name": f"bad {location}", "artifact_location": location},
            ),
            400,
            "INVALID_PARAMETER_VALUE",
        )
        assert "artifact_location" in err["message"], err


def test_run_logging_roundtrip(fetch: Fetch) -> None:
    run_id = _new_run(fetch, name="http-run")
    post(
        fetch,
        "runs/log-batch",
        {
            "run_id": run_id,
            "metrics": [
                {"key": "loss", "value": 0.5, "timestamp": 10, "step": 1},
                {"key": "loss", "value": "NaN", "timestamp": 11, "step": 2},
            ],
            "params": [{"key": "lr", "value": "0.1"}],
            "tags": [{"key": "team", "value": "x"}],
        },
    )
    post(
        fetch,
        "runs/log-metric",
        {"run_id": run_id, "run_uuid": run_id, "key": "acc", "value": 0.9, "timestamp": 12},
    )
    post(fetch, "runs/log-parameter", {"run_id": run_id, "key": "bs", "value": "32"})
    post(fetch, "runs/set-tag", {"run_id": run_id, "key": "t", "value": "v"})
    post(fetch, "runs/delete-tag", {"run_id": run_id, "key": "t"})
    run = get(fetch, "runs/get", f"run_id={run_id}")["run"]
    metrics = {m["key"]: m for m in run["data"]["metrics"]}
    assert metrics["loss"]["value"] == "NaN"
    assert metrics["acc"]["value"] == 0.9
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"lr": "0.1", "bs": "32"}
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["team"] == "x"
    assert "t" not in tags
    assert tags["mlflow.runName"] == "http-run"
    history = get(fetch, "metrics/get-history", f"run_id={run_id}&metric_key=loss")["metrics"]
    assert [(m["step"], m["value"]) for m in history] == [(1, 0.5), (2, "NaN")]
    info = post(fetch, "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 2000})[
        "run_info"
    ]
    assert info["status"] == "FINISHED"
    assert info["end_time"] == 2000


def test_search_runs_filter_order_and_paging(fetch: Fetch) -> None:
    exp_id = post(fetch, "experiments/create", {"name": "search-http"})["experiment_id"]
    for i in range(5):
        rid = _new_run(fetch, exp_id, f"s{i}")
        post(
            fetch,
            "runs/log-batch",
            {
                "run_id": rid,
                "metrics": [{"key": "score", "value": i, "timestamp": 1}],
                "params": [{"key": "even", "value": str(i % 2 == 0)}],
            },
        )
    body = {
        "experiment_ids": [exp_id],
        "filter": "params.even = 'True' and metrics.score > 0",
        "order_by": ["metrics.score DESC"],
    }
    runs = post(fetch, "runs/search", body)["runs"]
    assert [r["info"]["run_name"] for r in runs] == ["s4", "s2"]
    page = post(
        fetch,
        "runs/search",
        {"experiment_ids": [exp_id], "max_results": 2, "order_by": ["metrics.score ASC"]},
    )
    assert [r["info"]["run_name"] for r in page["runs"]] == ["s0", "s1"]
    rest = post(
        fetch,
        "runs/search",
        {
            "experiment_ids": [exp_id],
            "max_results": 10,
            "order_by": ["metrics.score ASC"],
            "page_token": page["next_page_token"],
        },
    )
    assert [r["info"]["run_name"] for r in rest["runs"]] == ["s2", "s3", "s4"]
    assert "next_page_token" not in rest


def test_search_answer_carries_exact_and_non_finite_values(fetch: Fetch) -> None:
    exp_id = post(fetch, "experiments/create", {"name": "search-values"})["experiment_id"]
    rid = _new_run(fetch, exp_id, "v")
    metrics = {"third": 0.1 + 0.2, "nan": "NaN", "up": "Infinity", "down": "-Infinity"}
    post(
        fetch,
        "runs/log-batch",
        {
            "run_id": rid,
            "metrics": [{"key": k, "value": v, "timestamp": 1} for k, v in metrics.items()],
        },
    )
    (run,) = post(fetch, "runs/search", {"experiment_ids": [exp_id]})["runs"]
    got = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert got == {
        "third": 0.30000000000000004,
        "nan": "NaN",
        "up": "Infinity",
        "down": "-Infinity",
    }


@pytest.mark.parametrize(
    ("rpc", "body", "code"),
    [
        ("runs/log-batch", {"run_id": "0" * 32, "metrics": []}, "RESOURCE_DOES_NOT_EXIST"),
        (
            "runs/log-batch",
            {"run_id": "RID", "metrics": [{"key": "m", "value": "abc", "timestamp": 1}]},
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "runs/log-batch",
            {"run_id": "RID", "metrics": [{"key": "m", "value": 1}]},
            "INVALID_PARAMETER_VALUE",
        ),
        ("runs/log-batch", {"run_id": "RID", "metrics": "not-a-list"}, "INVALID_PARAMETER_VALUE"),
        # A number beyond the double range is the caller's fault (it used to be a 500).
        (
            "runs/log-batch",
            {"run_id": "RID", "metrics": [{"key": "m", "value": 10**400, "timestamp": 1}]},
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "runs/log-batch",
            {
                "run_id": "RID",
                "metrics": [
                    {"key": "m", "value": 1, "timestamp": 1, "step": 1},
                    {"key": "m", "value": 1, "timestamp": 1, "step": 2**63},
                ],
            },
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "runs/log-batch",
            # A quoted int64 ("5") is proto3 JSON and accepted, as MLflow does; this is not one.
            {"run_id": "RID", "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": "5x"}]},
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "runs/log-batch",
            {"run_id": "RID", "metrics": [{"key": "m", "value": 1, "timestamp": True}]},
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "runs/log-batch",
            {"run_id": "RID", "metrics": [{"key": 5, "value": 1, "timestamp": 1}]},
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "runs/log-batch",
            {"run_id": "RID", "metrics": [{"key": "a/../b", "value": 1, "timestamp": 1}]},
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "runs/log-batch",
            {
                "run_id": "RID",
                "metrics": [{"key": "m", "value": 1, "timestamp": i} for i in range(1001)],
            },
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "runs/log-batch",
            {"run_id": "RID", "params": [{"key": f"p{i}", "value": "v"} for i in range(101)]},
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "runs/log-metric",
            {"run_id": "RID", "key": "../x", "value": 1, "timestamp": 1},
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "runs/log-parameter",
            {"run_id": "RID", "key": "lr", "value": "changed"},
            "INVALID_PARAMETER_VALUE",
        ),
        ("runs/create", {"experiment_id": "999999"}, "RESOURCE_DOES_NOT_EXIST"),
        ("runs/create", {"experiment_id": "abc"}, "INVALID_PARAMETER_VALUE"),
        (
            "runs/search",
            {"experiment_ids": ["0"], "filter": "params.a = 'x' OR 1=1"},
            "INVALID_PARAMETER_VALUE",
        ),
        ("experiments/create", {}, "INVALID_PARAMETER_VALUE"),
        (
            "experiments/create",
            {"name": "x", "artifact_location": "/etc"},
            "INVALID_PARAMETER_VALUE",
        ),
    ],
)
def test_bad_input_is_a_clear_4xx_and_writes_nothing(
    fetch: Fetch, rpc: str, body: dict[str, Any], code: str
) -> None:
    run_id = _new_run(fetch)
    post(fetch, "runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.1"})
    if body.get("run_id") == "RID":
        body = {**body, "run_id": run_id}
    r = fetch(f"{M}/{rpc}", "POST", json_body=body)
    err = assert_error(r, 404 if code == "RESOURCE_DOES_NOT_EXIST" else 400, code)
    assert err["message"]
    run = get(fetch, "runs/get", f"run_id={run_id}")["run"]
    assert run["data"]["metrics"] == []
    assert run["data"]["params"] == [{"key": "lr", "value": "0.1"}]


def test_non_json_post_is_refused(fetch: Fetch) -> None:
    r = fetch(
        f"{M}/experiments/create",
        "POST",
        body='{"name": "sneaky"}',
        headers={"Content-Type": "text/plain"},
    )
    assert_error(r, 400, "BAD_REQUEST")
    r = fetch(
        f"{M}/experiments/create",
        "POST",
        body="{not json",
        headers={"Content-Type": "application/json"},
    )
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")
    assert_error(fetch(f"{M}/experiments/get-by-name?experiment_name=sneaky"), 404)


def test_a_retried_batch_does_not_duplicate_points(fetch: Fetch) -> None:
    run_id = _new_run(fetch)
    batch = {
        "run_id": run_id,
        "metrics": [{"key": "m", "value": i, "timestamp": 100 + i, "step": i} for i in range(10)],
    }
    post(fetch, "runs/log-batch", batch)
    post(fetch, "runs/log-batch", batch)
    history = get(fetch, "metrics/get-history", f"run_id={run_id}&metric_key=m")["metrics"]
    assert len(history) == 10


def test_history_names_the_model_and_dataset_of_each_point_that_has_them(fetch: Fetch) -> None:
    """MLflow 3 returns a point's model_id and dataset fields from get-history; points that
    name none come back with the four plain fields only."""
    run_id = _new_run(fetch)
    named = {"model_id": "m-1", "dataset_name": "eval", "dataset_digest": "d1"}
    points = [{"key": "acc", "value": s / 10, "timestamp": 1000 + s, "step": s} for s in range(6)]
    for p in points[1::2]:
        p.update(named)
    points[4]["model_id"] = "m-2"  # a model without a dataset
    # Logged newest first: history sorts by step, and each point keeps its own fields.
    post(fetch, "runs/log-batch", {"run_id": run_id, "metrics": points[::-1]})
    got, pages = _history(fetch, run_id, "acc", 2)
    assert pages == 3
    assert got == points


def _history(fetch: Fetch, run_id: str, key: str, page: int) -> tuple[list[dict], int]:
    items: list[dict] = []
    token, pages = "", 0
    while True:
        query = f"run_id={run_id}&metric_key={key}&max_results={page}"
        body = get(fetch, "metrics/get-history", query + (f"&page_token={token}" if token else ""))
        items += body["metrics"]
        pages += 1
        if "next_page_token" not in body:
            return items, pages
        token = body["next_page_token"]


def test_history_pages_keep_values_exact_and_non_finite_as_strings(fetch: Fetch) -> None:
    run_id = _new_run(fetch)
    awkward = [0.1 + 0.2, 1e-320, 1.7976931348623157e308, -0.0, 5e-324, 1 / 3, 123456789.125]
    specials = ["NaN", "Infinity", "-Infinity"]
    values: list[Any] = [awkward[i % 7] if i % 2 else (i + 0.1) / 7 for i in range(2500)]
    for i in range(0, 2500, 97):
        values[i] = specials[i % 3]
    for start in range(0, 2500, 1000):
        metrics = [
            {"key": "x", "value": values[i], "timestamp": 10**12 + i, "step": i}
            for i in range(start, min(start + 1000, 2500))
        ]
        post(fetch, "runs/log-batch", {"run_id": run_id, "metrics": metrics})
    items, pages = _history(fetch, run_id, "x", 1000)
    assert pages == 3
    assert [m["step"] for m in items] == list(range(2500))
    assert [m["timestamp"] for m in items] == [10**12 + i for i in range(2500)]
    assert {tuple(m) for m in items} == {("key", "value", "timestamp", "step")}
    for m, v in zip(items, values, strict=True):
        if isinstance(v, str):
            assert m["value"] == v
        else:  # the same double, bit for bit (-0.0 included)
            assert math.copysign(1, m["value"]) == math.copysign(1, v)
            assert m["value"] == v
    empty = fetch(f"{M}/metrics/get-history?run_id={run_id}&metric_key=none")
    assert json_of(empty) == {"metrics": []}
    # Hashing a multi-megabyte body for an ETag costs more than a 304 saves: big answers
    # have none, small ones keep theirs.
    assert empty.headers.get("Etag")
    big = fetch(f"{M}/metrics/get-history?run_id={run_id}&metric_key=x")
    assert len(big.body) > 64 * 1024
    assert big.headers.get("Etag") is None


def test_log_batch_accepts_what_it_accepted_before(fetch: Fetch) -> None:
    run_id = _new_run(fetch)
    metrics = [
        {"key": "m", "value": 1, "timestamp": "1700000000000", "step": 3.0},  # numeric strings
        {"key": "m", "value": "2.5", "timestamp": 1700000000001},  # no step: 0
        {"key": "m", "value": 3, "timestamp": 1700000000002, "step": None},
        {"key": "m", "value": 4, "timestamp": 1700000000003, "step": 2**63 - 1},
        # The same key for two logged models in one batch: two series of one key.
        {"key": "m", "value": 5, "timestamp": 1700000000004, "step": 7, "model_id": "m-a"},
        {"key": "m", "value": 6, "timestamp": 1700000000005, "step": 8, "model_id": "m-b"},
    ]
    post(fetch, "runs/log-batch", {"run_id": run_id, "metrics": metrics})
    history = get(fetch, "metrics/get-history", f"run_id={run_id}&metric_key=m")["metrics"]
    assert [(m["step"], m["value"]) for m in history] == [
        (0, 2.5),
        (0, 3.0),
        (3, 1.0),
        (7, 5.0),
        (8, 6.0),
        (2**63 - 1, 4.0),
    ]


def test_downsampled_series_and_change_feed(fetch: Fetch) -> None:
    cursor = json_of(fetch("api/labtrack/changes"))["cursor"]
    runs = [_new_run(fetch, name=f"c{i}") for i in range(2)]
    for rid in runs:
        for start in range(0, 5000, 1000):
            post(
                fetch,
                "runs/log-batch",
                {
                    "run_id": rid,
                    "metrics": [
                        {
                            "key": "v",
                            "value": 100.0 if i == 3333 else 0.0,
                            "timestamp": i,
                            "step": i,
                        }
                        for i in range(start, start + 1000)
                    ],
                },
            )
    query = "&".join(f"run_ids={r}" for r in runs) + "&metric_key=v&max_points=100"
    series = json_of(fetch(f"api/labtrack/metrics/series?{query}"))["series"]
    assert [s["run_id"] for s in series] == runs
    for s in series:
        assert len(s["steps"]) <= 100
        assert s["total_points"] == 5000
        assert max(s["maxs"]) == 100.0
    zoom = json_of(fetch(f"api/labtrack/metrics/series?{query}&x_min=3300&x_max=3349"))
    assert zoom["series"][0]["steps"] == list(range(3300, 3350))  # all points in range
    changed = json_of(fetch(f"api/labtrack/changes?cursor={cursor}"))
    assert changed["cursor"] > cursor
    assert {c["run_id"] for c in changed["changes"]} == set(runs)
    started = time.perf_counter()
    assert json_of(fetch(f"api/labtrack/changes?cursor={changed['cursor']}"))["changes"] == []
    assert time.perf_counter() - started < 5  # a poll with nothing new answers at once


def test_run_counts_per_experiment_with_filter(fetch: Fetch) -> None:
    """The totals a runs list shows: exact whatever the page size, per experiment, with the
    search's filter and view type; deleted runs counted only when asked for."""
    big = post(fetch, "experiments/create", {"name": "count-big"})["experiment_id"]
    small = post(fetch, "experiments/create", {"name": "count-small"})["experiment_id"]
    empty = post(fetch, "experiments/create", {"name": "count-empty"})["experiment_id"]
    for i in range(12):
        rid = _new_run(fetch, big, f"b{i}")
        post(fetch, "runs/log-batch", {"run_id": rid, "params": [{"key": "i", "value": str(i)}]})
    gone = _new_run(fetch, small, "gone")
    _new_run(fetch, small, "kept")
    post(fetch, "runs/delete", {"run_id": gone})

    def counts(query: str) -> Any:
        r = fetch(f"api/labtrack/runs/count?{query}")
        assert r.code == 200, (r.code, r.body[:300])
        return json_of(r)

    ids = f"experiment_ids={big}&experiment_ids={small}&experiment_ids={empty}"
    assert counts(ids) == {"counts": {big: 12, small: 1, empty: 0}, "total": 13}
    assert counts(f"{ids}&run_view_type=ALL")["counts"] == {big: 12, small: 2, empty: 0}
    assert counts(f"{ids}&run_view_type=DELETED_ONLY")["total"] == 1
    assert counts(f"{ids}&filter=params.i%20IN%20(%271%27,%272%27)")["counts"][big] == 2
    assert counts("experiment_ids=999999")["counts"] == {"999999": 0}
    assert_error(fetch(f"api/labtrack/runs/count?{ids}&filter=params.i%20%3E%20"), 400)
    assert_error(fetch("api/labtrack/runs/count"), 400, "INVALID_PARAMETER_VALUE")
    assert_error(fetch("api/labtrack/runs/count?experiment_ids=abc"), 400)


def test_tags_and_params_lists_follow_one_rule_everywhere(fetch: Fetch) -> None:
    """MLflow 3.17's rule for ``{key, value}`` lists (its proto3 parsing, checked against the
    real mlflow 3.17.2), in every handler: a string key is required, a value is a string, a
    missing or null value is the empty string."""
    run_id = _new_run(fetch)
    post(
        fetch,
        "runs/log-batch",
        {
            "run_id": run_id,
            "params": [{"key": "n", "value": "3"}, {"key": "empty"}],
            "tags": [{"key": "t", "value": None}],
        },
    )
    data = get(fetch, "runs/get", f"run_id={run_id}")["run"]["data"]
    assert {p["key"]: p["value"] for p in data["params"]} == {"n": "3", "empty": ""}
    number = {"run_id": run_id, "params": [{"key": "m", "value": 3}]}
    err = assert_error(fetch(f"{M}/runs/log-batch", "POST", json_body=number), 400)
    assert "params.value" in err["message"]
    assert {t["key"]: t["value"] for t in data["tags"]}["t"] == ""
    model = post(fetch, "registered-models/create", {"name": "kv", "tags": [{"key": "a"}]})
    assert model["registered_model"]["tags"] == [{"key": "a", "value": ""}]
    for rpc, body in [
        ("runs/log-batch", {"run_id": run_id, "tags": [{"value": "x"}]}),
        ("runs/create", {"experiment_id": "0", "tags": [{"key": 1, "value": "x"}]}),
        ("registered-models/create", {"name": "kv2", "tags": [{"value": "x"}]}),
        ("logged-models", {"experiment_id": "0", "params": [{"value": "x"}]}),
    ]:
        err = assert_error(fetch(f"{M}/{rpc}", "POST", json_body=body), 400)
        assert "needs a string 'key'" in err["message"]
