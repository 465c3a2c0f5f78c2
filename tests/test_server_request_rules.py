"""Requests the deep schemathesis pass (tests/openapi_deep.py) found the server answering wrongly:
a 500 for a malformed field, a 200 for a request missing what it must name, a 400 where the
request was well formed. Each answer is now MLflow's: a 4xx JSON error or the success."""

from __future__ import annotations

from typing import Any

import pytest

from server_fixtures import *  # noqa: F403
from server_fixtures import Fetch, assert_error, json_of

M = "api/2.0/mlflow"


def _run_id(fetch: Fetch) -> str:
    r = fetch(f"{M}/runs/create", "POST", json_body={"experiment_id": "0"})
    return str(json_of(r)["run"]["info"]["run_id"])


@pytest.mark.parametrize(
    "dataset",
    [
        {"dataset": [1, 2]},
        {
            "dataset": {"name": "d", "digest": "x", "source_type": "local", "source": "s"},
            "tags": [{"value": "no key"}],
        },
        {
            "dataset": {"name": "d", "digest": "x", "source_type": "local", "source": "s"},
            "tags": ["not an object"],
        },
    ],
)
def test_malformed_dataset_inputs_are_400_not_500(fetch: Fetch, dataset: dict[str, Any]) -> None:
    body = {"run_id": _run_id(fetch), "datasets": [dataset]}
    assert_error(
        fetch(f"{M}/runs/log-inputs", "POST", json_body=body), 400, "INVALID_PARAMETER_VALUE"
    )


@pytest.mark.parametrize(
    "body",
    [{}, {"experiment_id": "0"}, {"experiment_id": "0", "new_name": ""}, {"experiment_id": "0*"}],
)
def test_update_experiment_needs_its_id_and_a_new_name(fetch: Fetch, body: dict[str, Any]) -> None:
    """MLflow's server requires both (``new_name`` is ``_assert_required``: not empty); an
    update with nothing to change used to answer 200 for any id, even ``0*``."""
    assert_error(fetch(f"{M}/experiments/update", "POST", json_body=body), 400)


def test_update_experiment_renames_and_names_a_missing_experiment(fetch: Fetch) -> None:
    r = fetch(f"{M}/experiments/create", "POST", json_body={"name": "to-rename"})
    exp_id = json_of(r)["experiment_id"]
    body = {"experiment_id": exp_id, "new_name": "renamed"}
    assert fetch(f"{M}/experiments/update", "POST", json_body=body).code == 200
    r = fetch(f"{M}/experiments/get?experiment_id={exp_id}")
    assert json_of(r)["experiment"]["name"] == "renamed"
    missing = {"experiment_id": "987654321", "new_name": "x"}
    assert_error(fetch(f"{M}/experiments/update", "POST", json_body=missing), 404)


@pytest.mark.parametrize(
    "query", ["cursor=-1", "cursor=0&limit=0", "cursor=0&limit=10001", "limit=-1" + "0" * 27]
)
def test_the_change_feed_refuses_bad_cursors_and_limits(fetch: Fetch, query: str) -> None:
    assert_error(fetch(f"api/labtrack/changes?{query}"), 400, "INVALID_PARAMETER_VALUE")


def test_the_change_feed_takes_its_documented_bounds(fetch: Fetch) -> None:
    assert fetch("api/labtrack/changes?cursor=0&limit=10000").code == 200


def test_logged_model_delete_without_a_body_and_params_of_a_missing_model(fetch: Fetch) -> None:
    """MLflow 3's client deletes ``logged-models/{id}`` with no body and no Content-Type."""
    r = fetch(f"{M}/logged-models", "POST", json_body={"experiment_id": "0"})
    model_id = json_of(r)["model"]["info"]["model_id"]
    missing = "m-" + "0" * 32
    # No params to log, but the model must still exist (it used to answer 200 for any id).
    path = f"{M}/logged-models/{missing}/params"
    assert_error(fetch(path, "POST", json_body={}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert fetch(f"{M}/logged-models/{model_id}/params", "POST", json_body={}).code == 200
    assert fetch(f"{M}/logged-models/{model_id}", "DELETE").code == 200
    assert_error(fetch(f"{M}/logged-models/{model_id}"), 404, "RESOURCE_DOES_NOT_EXIST")
    # A non-empty body must still be JSON.
    r = fetch(
        f"{M}/logged-models/{missing}", "DELETE", b"x", headers={"Content-Type": "text/plain"}
    )
    assert_error(r, 400, "BAD_REQUEST")


@pytest.mark.parametrize("field", ["model_id", "dataset_name", "dataset_digest"])
@pytest.mark.parametrize("value", [{"a": 1}, [1]])
def test_log_batch_refuses_a_non_string_series_field_with_a_400(
    fetch: Fetch, field: str, value: Any
) -> None:
    """A dict or list there was a 500 (an unhashable series key). Nothing of the batch is
    stored."""
    run_id = _run_id(fetch)
    point = {"key": "m", "value": 1.0, "timestamp": 1, "step": 0, field: value}
    body = {"run_id": run_id, "metrics": [{"key": "m", "value": 2.0, "timestamp": 1}, point]}
    r = fetch(f"{M}/runs/log-batch", "POST", json_body=body)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")
    assert field in json_of(r)["message"]
    run = json_of(fetch(f"{M}/runs/get?run_id={run_id}"))["run"]
    assert run["data"].get("metrics", []) == []


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        (f"{M}/experiments/search?view_type=", "GET", None),
        (f"{M}/experiments/search?view_type=all", "GET", None),
        (f"{M}/experiments/search", "POST", {"view_type": ""}),
        (f"{M}/runs/search", "POST", {"experiment_ids": ["0"], "run_view_type": ""}),
        (f"{M}/runs/search", "POST", {"experiment_ids": ["0"], "run_view_type": "active_only"}),
        ("api/labtrack/runs/count?experiment_ids=0&run_view_type=", "GET", None),
    ],
)
def test_a_view_type_is_one_of_the_enums_names(
    fetch: Fetch, path: str, method: str, body: dict[str, Any] | None
) -> None:
    """An empty or lower-case view type was read as the default or upper-cased (200); MLflow's
    proto parsing refuses both with 400 (its client sends the names)."""
    r = fetch(path, method, json_body=body) if body is not None else fetch(path, method)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")


def test_the_view_types_names_are_taken(fetch: Fetch) -> None:
    for view_type in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        assert fetch(f"{M}/experiments/search?view_type={view_type}").code == 200
        body = {"experiment_ids": ["0"], "run_view_type": view_type}
        assert fetch(f"{M}/runs/search", "POST", json_body=body).code == 200


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("api/labtrack/changes?cursor=", "GET", None),
        (f"{M}/metrics/get-history?run_id=x&metric_key=m&max_results=", "GET", None),
        (f"{M}/runs/search", "POST", {"experiment_ids": ["0"], "max_results": ""}),
    ],
)
def test_an_empty_string_is_no_integer(
    fetch: Fetch, path: str, method: str, body: dict[str, Any] | None
) -> None:
    """An empty integer field was read as absent (``/changes?cursor=`` answered the current
    cursor with 200); MLflow's proto parsing refuses it."""
    r = fetch(path, method, json_body=body) if body is not None else fetch(path, method)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")
