"""The OpenAPI document's limits, enums and patterns are the server's: each number the document
states is compared with the constant the validation code enforces, and every value the
document's patterns allow passes the validator (so a generated client never sends what the
server refuses). The limits live once in the code; the document's named schemas
(``components/schemas``) restate them, and this test keeps the two equal."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from labtrack.artifact_store import paths
from labtrack.entities import RunStatus, ViewType
from labtrack.entities import validation as v
from labtrack.server import tracking_handlers
from labtrack.service import logged_models, registry, tracking
from labtrack.store import registry_store, run_search

DOC: dict[str, Any] = yaml.safe_load(
    resources.files("labtrack.server").joinpath("openapi.yaml").read_text("utf-8")
)
SCHEMAS: dict[str, Any] = DOC["components"]["schemas"]
M = "/api/2.0/mlflow"
LT = "/api/labtrack"
EXPERIMENTS_PAGE = tracking.MAX_EXPERIMENTS_PAGE
RUN_LINK = registry.MAX_RUN_LINK_LENGTH


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return _resolve(SCHEMAS[ref.rsplit("/", 1)[1]]) if ref else schema


def _field(path: str, method: str, name: str) -> dict[str, Any]:
    """The schema of a query parameter or a JSON body property of one operation."""
    op = DOC["paths"][path][method]
    for param in op.get("parameters", []):
        if param.get("name") == name:
            return _resolve(param["schema"])
    body = op["requestBody"]["content"]["application/json"]["schema"]
    return _resolve(body["properties"][name])


@pytest.mark.parametrize(
    ("schema", "keyword", "constant"),
    [
        ("Key", "maxLength", v.MAX_KEY_LENGTH),
        ("ParamValue", "maxLength", v.MAX_PARAM_VALUE_LENGTH),
        ("TagValue", "maxLength", v.MAX_TAG_VALUE_LENGTH),
        ("ExperimentName", "maxLength", v.MAX_EXPERIMENT_NAME_LENGTH),
        ("RunName", "maxLength", v.MAX_RUN_NAME_LENGTH),
        ("RegisteredModelName", "maxLength", registry.MAX_NAME_LENGTH),
        ("Alias", "maxLength", registry.MAX_ALIAS_LENGTH),
        ("ModelVersionSource", "maxLength", registry.MAX_SOURCE_LENGTH),
        ("Int64", "maximum", v.MAX_INT64),
        ("ArtifactDirPath", "maxLength", paths.MAX_PATH_CHARS),
        ("LoggedModelName", "maxLength", v.MAX_RUN_NAME_LENGTH),
    ],
)
def test_named_limits_equal_the_validators(schema: str, keyword: str, constant: int) -> None:
    assert SCHEMAS[schema][keyword] == constant


@pytest.mark.parametrize(
    ("path", "method", "name", "keyword", "constant"),
    [
        (
            M + "/experiments/search",
            "post",
            "max_results",
            "maximum",
            tracking.MAX_EXPERIMENTS_PAGE,
        ),
        (M + "/experiments/search", "get", "max_results", "maximum", tracking.MAX_EXPERIMENTS_PAGE),
        (M + "/runs/search", "post", "max_results", "maximum", run_search.SEARCH_MAX_RESULTS),
        (M + "/metrics/get-history", "get", "max_results", "maximum", tracking.MAX_HISTORY_PAGE),
        (
            M + "/registered-models/search",
            "get",
            "max_results",
            "maximum",
            registry.SEARCH_REGISTERED_MODELS_MAX,
        ),
        (
            M + "/model-versions/search",
            "get",
            "max_results",
            "maximum",
            registry.SEARCH_MODEL_VERSIONS_MAX,
        ),
        (
            M + "/logged-models/search",
            "post",
            "max_results",
            "maximum",
            logged_models.SEARCH_MAX_RESULTS,
        ),
        (
            M + "/logged-models/search",
            "post",
            "datasets",
            "maxItems",
            logged_models.MAX_SEARCH_DATASETS,
        ),
        (M + "/runs/log-batch", "post", "metrics", "maxItems", v.MAX_BATCH_METRICS),
        (M + "/runs/log-batch", "post", "params", "maxItems", v.MAX_BATCH_PARAMS),
        (M + "/runs/log-batch", "post", "tags", "maxItems", v.MAX_BATCH_TAGS),
        (
            M + "/model-versions/create",
            "post",
            "run_link",
            "maxLength",
            registry.MAX_RUN_LINK_LENGTH,
        ),
        ("/api/labtrack/changes", "get", "limit", "maximum", tracking.MAX_CHANGES_PAGE),
        (
            "/api/labtrack/metrics/series",
            "get",
            "max_points",
            "maximum",
            tracking.MAX_SERIES_POINTS,
        ),
        (
            "/api/labtrack/metrics/series",
            "get",
            "run_ids",
            "maxItems",
            tracking_handlers.MAX_SERIES_RUNS,
        ),
        (
            "/api/labtrack/runs/count",
            "get",
            "experiment_ids",
            "maxItems",
            tracking.MAX_COUNT_EXPERIMENTS,
        ),
    ],
)
def test_operation_limits_equal_the_validators(
    path: str, method: str, name: str, keyword: str, constant: int
) -> None:
    assert _field(path, method, name)[keyword] == constant


def test_enums_are_the_servers() -> None:
    assert SCHEMAS["ViewType"]["enum"] == [t.value for t in ViewType]
    assert SCHEMAS["RunStatus"]["enum"] == [s.value for s in RunStatus]
    assert SCHEMAS["Stage"]["enum"] == list(registry_store.STAGES)
    finalize = DOC["paths"][M + "/logged-models/{model_id}"]["patch"]
    status = finalize["requestBody"]["content"]["application/json"]["schema"]
    assert set(status["properties"]["status"]["enum"]) <= set(logged_models.STATUSES)


def _matching(name: str) -> st.SearchStrategy[str]:
    schema = SCHEMAS[name]
    # JSON Schema's patterns are ECMA-262's: "$" is the end of the string (Python's "$" would
    # also take a final newline).
    return st.from_regex(schema["pattern"].replace("$", r"\Z")).filter(
        lambda s: schema.get("minLength", 0) <= len(s) <= schema.get("maxLength", 10**9)
    )


@settings(max_examples=100, deadline=None)
@given(key=_matching("Key"))
def test_every_key_the_document_allows_is_valid(key: str) -> None:
    assert v.validate_key("param", key) == key


@settings(max_examples=100, deadline=None)
@given(
    run_id=_matching("RunId"),
    alias=_matching("Alias"),
    model=_matching("RegisteredModelName"),
    experiment=_matching("ExperimentName"),
)
def test_every_id_and_name_the_document_allows_is_valid(
    run_id: str, alias: str, model: str, experiment: str
) -> None:
    assert v.validate_run_id(run_id) == run_id
    assert v.validate_alias(alias) == alias
    assert v.validate_registered_model_name(model) == model
    assert v.validate_experiment_name(experiment) == experiment


@settings(max_examples=100, deadline=None)
@given(name=_matching("LoggedModelName").filter(bool))
def test_every_logged_model_name_the_document_allows_is_valid(name: str) -> None:
    assert logged_models.validate_model_name(name) == name
