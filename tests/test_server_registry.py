"""The model registry REST API on a real Jupyter server with the real store behind it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from server_fixtures import *  # noqa: F403
from server_fixtures import Fetch, assert_error, json_of

M = "api/2.0/mlflow"
SOURCE = "mlflow-artifacts:/0/abc/artifacts/model"


def call(fetch: Fetch, method: str, rpc: str, body: dict[str, Any] | None = None) -> Any:
    if method == "GET":
        r = fetch(f"{M}/{rpc}?{urlencode(body or {}, doseq=True)}")
    else:
        r = fetch(f"{M}/{rpc}", method, json_body=body or {})
    assert r.code == 200, (method, rpc, r.code, r.body[:300])
    return json_of(r)


def _model(fetch: Fetch, name: str = "clf", versions: int = 0) -> None:
    call(fetch, "POST", "registered-models/create", {"name": name})
    for _ in range(versions):
        call(fetch, "POST", "model-versions/create", {"name": name, "source": SOURCE})


def test_registered_model_lifecycle(fetch: Fetch) -> None:
    created = call(
        fetch,
        "POST",
        "registered-models/create",
        {"name": "clf", "description": "d", "tags": [{"key": "team", "value": "ml"}]},
    )["registered_model"]
    assert created["name"] == "clf"
    assert created["description"] == "d"
    assert created["tags"] == [{"key": "team", "value": "ml"}]
    assert isinstance(created["creation_timestamp"], int)
    assert created["aliases"] == []
    assert created["latest_versions"] == []

    assert_error(
        fetch(f"{M}/registered-models/create", "POST", json_body={"name": "clf"}),
        400,
        "RESOURCE_ALREADY_EXISTS",
    )
    got = call(fetch, "GET", "registered-models/get", {"name": "clf"})["registered_model"]
    assert got["name"] == "clf"
    assert_error(fetch(f"{M}/registered-models/get?name=nope"), 404, "RESOURCE_DOES_NOT_EXIST")

    updated = call(
        fetch, "PATCH", "registered-models/update", {"name": "clf", "description": "new"}
    )["registered_model"]
    assert updated["description"] == "new"

    assert (
        call(fetch, "POST", "registered-models/set-tag", {"name": "clf", "key": "k", "value": "v"})
        == {}
    )
    call(fetch, "DELETE", "registered-models/delete-tag", {"name": "clf", "key": "team"})
    tags = call(fetch, "GET", "registered-models/get", {"name": "clf"})["registered_model"]["tags"]
    assert tags == [{"key": "k", "value": "v"}]

    renamed = call(fetch, "POST", "registered-models/rename", {"name": "clf", "new_name": "clf2"})[
        "registered_model"
    ]
    assert renamed["name"] == "clf2"
    assert call(fetch, "DELETE", "registered-models/delete", {"name": "clf2"}) == {}
    assert_error(fetch(f"{M}/registered-models/get?name=clf2"), 404, "RESOURCE_DOES_NOT_EXIST")


def test_model_versions_stages_and_download_uri(fetch: Fetch) -> None:
    _model(fetch)
    mv = call(
        fetch,
        "POST",
        "model-versions/create",
        {
            "name": "clf",
            "source": SOURCE,
            "run_id": "a" * 32,
            "tags": [{"key": "t", "value": "1"}],
            "description": "first",
        },
    )["model_version"]
    assert mv["version"] == "1"
    assert mv["status"] == "READY"
    assert mv["current_stage"] == "None"
    assert mv["source"] == SOURCE
    assert mv["run_id"] == "a" * 32
    assert mv["user_id"]  # the Jupyter user
    assert mv["tags"] == [{"key": "t", "value": "1"}]
    assert mv["aliases"] == []
    assert (
        call(fetch, "POST", "model-versions/create", {"name": "clf", "source": SOURCE})[
            "model_version"
        ]["version"]
        == "2"
    )

    got = call(fetch, "GET", "model-versions/get", {"name": "clf", "version": "1"})
    assert got["model_version"]["description"] == "first"
    uri = call(fetch, "GET", "model-versions/get-download-uri", {"name": "clf", "version": "1"})
    assert uri == {"artifact_uri": SOURCE}

    patched = call(
        fetch, "PATCH", "model-versions/update", {"name": "clf", "version": "1", "description": "x"}
    )["model_version"]
    assert patched["description"] == "x"

    staged = call(
        fetch,
        "POST",
        "model-versions/transition-stage",
        {"name": "clf", "version": "1", "stage": "production", "archive_existing_versions": False},
    )["model_version"]
    assert staged["current_stage"] == "Production"
    call(
        fetch,
        "POST",
        "model-versions/transition-stage",
        {"name": "clf", "version": "2", "stage": "Production", "archive_existing_versions": True},
    )
    assert (
        call(fetch, "GET", "model-versions/get", {"name": "clf", "version": "1"})["model_version"][
            "current_stage"
        ]
        == "Archived"
    )

    for method in ("GET", "POST"):
        latest = call(
            fetch,
            method,
            "registered-models/get-latest-versions",
            {"name": "clf", "stages": ["Production", "Archived"]},
        )["model_versions"]
        assert sorted((m["version"], m["current_stage"]) for m in latest) == [
            ("1", "Archived"),
            ("2", "Production"),
        ]
    rm = call(fetch, "GET", "registered-models/get", {"name": "clf"})["registered_model"]
    assert {m["version"] for m in rm["latest_versions"]} == {"1", "2"}

    call(fetch, "POST", "model-versions/set-tag", {"name": "clf", "version": "2", "key": "k"})
    call(
        fetch,
        "POST",
        "model-versions/set-tag",
        {"name": "clf", "version": "2", "key": "k", "value": "v"},
    )
    mv2 = call(fetch, "GET", "model-versions/get", {"name": "clf", "version": "2"})
    assert mv2["model_version"]["tags"] == [{"key": "k", "value": "v"}]
    call(fetch, "DELETE", "model-versions/delete-tag", {"name": "clf", "version": "2", "key": "k"})
    mv2 = call(fetch, "GET", "model-versions/get", {"name": "clf", "version": "2"})
    assert mv2["model_version"]["tags"] == []

    assert call(fetch, "DELETE", "model-versions/delete", {"name": "clf", "version": "1"}) == {}
    assert_error(
        fetch(f"{M}/model-versions/get?name=clf&version=1"), 404, "RESOURCE_DOES_NOT_EXIST"
    )
    new = call(fetch, "POST", "model-versions/create", {"name": "clf", "source": SOURCE})
    assert new["model_version"]["version"] == "3"


def test_aliases_over_http(fetch: Fetch) -> None:
    _model(fetch, versions=2)
    assert (
        call(
            fetch,
            "POST",
            "registered-models/alias",
            {"name": "clf", "alias": "champ", "version": "2"},
        )
        == {}
    )
    by_alias = call(fetch, "GET", "registered-models/alias", {"name": "clf", "alias": "champ"})
    assert by_alias["model_version"]["version"] == "2"
    assert by_alias["model_version"]["aliases"] == ["champ"]
    rm = call(fetch, "GET", "registered-models/get", {"name": "clf"})["registered_model"]
    assert rm["aliases"] == [{"alias": "champ", "version": "2"}]
    mv = call(fetch, "GET", "model-versions/get", {"name": "clf", "version": "2"})
    assert mv["model_version"]["aliases"] == ["champ"]

    call(fetch, "DELETE", "registered-models/alias", {"name": "clf", "alias": "champ"})
    assert_error(
        fetch(f"{M}/registered-models/alias?name=clf&alias=champ"),
        404,
        "RESOURCE_DOES_NOT_EXIST",
    )
    for alias in ("latest", "v3", "bad alias"):
        assert_error(
            fetch(
                f"{M}/registered-models/alias",
                "POST",
                json_body={"name": "clf", "alias": alias, "version": "1"},
            ),
            400,
            "INVALID_PARAMETER_VALUE",
        )
    rm = call(fetch, "GET", "registered-models/get", {"name": "clf"})["registered_model"]
    assert rm["aliases"] == []


def test_search_over_http(fetch: Fetch) -> None:
    for name in ("a-model", "b-model", "c-model"):
        _model(fetch, name, versions=2)
    call(fetch, "POST", "registered-models/set-tag", {"name": "b-model", "key": "k", "value": "v"})
    page = call(
        fetch,
        "GET",
        "registered-models/search",
        {"filter": "tag.`mlflow.prompt.is_prompt` != 'true'", "max_results": 2},
    )
    assert [m["name"] for m in page["registered_models"]] == ["a-model", "b-model"]
    rest = call(
        fetch,
        "GET",
        "registered-models/search",
        {"max_results": 2, "page_token": page["next_page_token"]},
    )
    assert [m["name"] for m in rest["registered_models"]] == ["c-model"]
    assert "next_page_token" not in rest
    tagged = call(fetch, "GET", "registered-models/search", {"filter": "tags.k = 'v'"})
    assert [m["name"] for m in tagged["registered_models"]] == ["b-model"]
    ordered = call(fetch, "GET", "registered-models/search", {"order_by": ["name DESC"]})
    assert next(m["name"] for m in ordered["registered_models"]) == "c-model"

    versions = call(fetch, "GET", "model-versions/search", {"filter": "name = 'b-model'"})
    assert [m["version"] for m in versions["model_versions"]] == ["2", "1"]
    assert all(m["status"] == "READY" for m in versions["model_versions"])
    paged = call(fetch, "GET", "model-versions/search", {"max_results": 4})
    assert len(paged["model_versions"]) == 4
    assert paged["next_page_token"]


def test_ajax_api_alias_serves_the_registry(fetch: Fetch) -> None:
    _model(fetch)
    r = fetch("ajax-api/2.0/mlflow/registered-models/get?name=clf")
    assert r.code == 200
    assert json_of(r)["registered_model"]["name"] == "clf"


def _state(fetch: Fetch) -> Any:
    models = call(fetch, "GET", "registered-models/search")["registered_models"]
    versions = call(fetch, "GET", "model-versions/search")["model_versions"]
    for m in models:
        m.pop("last_updated_timestamp")
        for v in m.get("latest_versions", []):
            v.pop("last_updated_timestamp")
    for v in versions:
        v.pop("last_updated_timestamp")
    return models, versions


BAD_REQUESTS = [
    ("POST", "registered-models/create", {}, "INVALID_PARAMETER_VALUE"),
    ("POST", "registered-models/create", {"name": "a/b"}, "INVALID_PARAMETER_VALUE"),
    ("POST", "registered-models/create", {"name": "x:y"}, "INVALID_PARAMETER_VALUE"),
    ("POST", "registered-models/create", {"name": "x" * 300}, "INVALID_PARAMETER_VALUE"),
    ("POST", "registered-models/create", {"name": "clf"}, "RESOURCE_ALREADY_EXISTS"),
    (
        "POST",
        "registered-models/create",
        {"name": "new", "tags": [{"key": "../x", "value": "v"}]},
        "INVALID_PARAMETER_VALUE",
    ),
    ("POST", "registered-models/create", {"name": "new", "tags": "x"}, "INVALID_PARAMETER_VALUE"),
    ("POST", "registered-models/rename", {"name": "clf"}, "INVALID_PARAMETER_VALUE"),
    (
        "POST",
        "registered-models/rename",
        {"name": "clf", "new_name": "other"},
        "RESOURCE_ALREADY_EXISTS",
    ),
    (
        "POST",
        "registered-models/rename",
        {"name": "ghost", "new_name": "x"},
        "RESOURCE_DOES_NOT_EXIST",
    ),
    ("DELETE", "registered-models/delete", {"name": "ghost"}, "RESOURCE_DOES_NOT_EXIST"),
    ("DELETE", "registered-models/delete", {}, "INVALID_PARAMETER_VALUE"),
    (
        "POST",
        "registered-models/set-tag",
        {"name": "clf", "key": "bad key!", "value": "v"},
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "registered-models/set-tag",
        {"name": "clf", "key": "k", "value": "v" * 8001},
        "INVALID_PARAMETER_VALUE",
    ),
    ("POST", "model-versions/create", {"name": "clf"}, "INVALID_PARAMETER_VALUE"),
    (
        "POST",
        "model-versions/create",
        {"name": "ghost", "source": SOURCE},
        "RESOURCE_DOES_NOT_EXIST",
    ),
    (
        "POST",
        "model-versions/create",
        {"name": "clf", "source": "/etc/passwd"},
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "model-versions/create",
        {"name": "clf", "source": "mlflow-artifacts:/0/../../../etc"},
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "model-versions/create",
        {"name": "clf", "source": SOURCE, "run_link": "javascript:alert(1)"},
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "model-versions/create",
        {"name": "clf", "source": SOURCE, "run_id": "x" * 40},
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "model-versions/create",
        {"name": "clf", "source": SOURCE, "tags": [{"value": "no key"}]},
        "INVALID_PARAMETER_VALUE",
    ),
    ("GET", "model-versions/get", {"name": "clf", "version": "abc"}, "INVALID_PARAMETER_VALUE"),
    ("GET", "model-versions/get", {"name": "clf", "version": "9"}, "RESOURCE_DOES_NOT_EXIST"),
    ("GET", "model-versions/get", {"name": "clf"}, "INVALID_PARAMETER_VALUE"),
    (
        "POST",
        "model-versions/transition-stage",
        {"name": "clf", "version": "1", "stage": "Deleted"},
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "model-versions/transition-stage",
        {"name": "clf", "version": "1", "stage": "None", "archive_existing_versions": True},
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "model-versions/transition-stage",
        {"name": "clf", "version": "1", "stage": "Staging", "archive_existing_versions": "maybe"},
        "INVALID_PARAMETER_VALUE",
    ),
    ("DELETE", "model-versions/delete", {"name": "clf", "version": "7"}, "RESOURCE_DOES_NOT_EXIST"),
    (
        "POST",
        "model-versions/set-tag",
        {"name": "clf", "version": "1", "key": "", "value": "v"},
        "INVALID_PARAMETER_VALUE",
    ),
    (
        "POST",
        "registered-models/alias",
        {"name": "clf", "alias": "champ", "version": "5"},
        "RESOURCE_DOES_NOT_EXIST",
    ),
    (
        "POST",
        "registered-models/alias",
        {"name": "clf", "alias": "latest", "version": "1"},
        "INVALID_PARAMETER_VALUE",
    ),
    ("GET", "registered-models/alias", {"name": "clf", "alias": "nope"}, "RESOURCE_DOES_NOT_EXIST"),
    ("GET", "registered-models/search", {"filter": "name = 'a' OR 1=1"}, "INVALID_PARAMETER_VALUE"),
    ("GET", "registered-models/search", {"max_results": 5000}, "INVALID_PARAMETER_VALUE"),
    ("GET", "registered-models/search", {"page_token": "%%%"}, "INVALID_PARAMETER_VALUE"),
    ("GET", "model-versions/search", {"filter": "bogus.key = 1"}, "INVALID_PARAMETER_VALUE"),
    (
        "GET",
        "registered-models/get-latest-versions",
        {"name": "clf", "stages": "Nope"},
        "INVALID_PARAMETER_VALUE",
    ),
]


@pytest.mark.parametrize(
    ("method", "rpc", "body", "code"),
    BAD_REQUESTS,
    ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD_REQUESTS)],
)
def test_bad_input_is_a_clear_4xx_and_writes_nothing(
    fetch: Fetch, method: str, rpc: str, body: dict[str, Any], code: str
) -> None:
    _model(fetch, "clf", versions=1)
    _model(fetch, "other")
    before = _state(fetch)
    if method == "GET":
        r = fetch(f"{M}/{rpc}?{urlencode(body, doseq=True)}")
    else:
        r = fetch(f"{M}/{rpc}", method, json_body=body)
    err = assert_error(r, 404 if code == "RESOURCE_DOES_NOT_EXIST" else 400, code)
    assert err["message"]
    assert _state(fetch) == before


def test_non_json_writes_are_refused(fetch: Fetch) -> None:
    r = fetch(
        f"{M}/registered-models/create",
        "POST",
        body=json.dumps({"name": "sneaky"}),
        headers={"Content-Type": "text/plain"},
    )
    assert_error(r, 400, "BAD_REQUEST")
    _model(fetch)
    r = fetch(
        f"{M}/registered-models/delete",
        "DELETE",
        body=json.dumps({"name": "clf"}),
        headers={"Content-Type": "text/plain"},
    )
    assert_error(r, 400, "BAD_REQUEST")
    assert call(fetch, "GET", "registered-models/get", {"name": "clf"})["registered_model"]
    assert_error(fetch(f"{M}/registered-models/get?name=sneaky"), 404)


def test_wrong_method_is_endpoint_not_found(fetch: Fetch) -> None:
    r = fetch(f"{M}/registered-models/delete", "POST", json_body={"name": "x"})
    assert r.code in (404, 405)
    assert set(json_of(r)) >= {"error_code", "message"}


def test_registry_requires_authentication(fetch: Fetch) -> None:
    r = fetch(f"{M}/registered-models/search", auth=False)
    assert r.code in (401, 403)
    r = fetch(f"{M}/registered-models/create", "POST", json_body={"name": "x"}, auth=False)
    assert r.code in (401, 403)
    models = call(fetch, "GET", "registered-models/search")["registered_models"]
    assert models == []


def test_a_version_without_description_has_an_empty_one(fetch: Fetch) -> None:
    """As MLflow 3.17 answers: "" (not a missing field, not null)."""
    _model(fetch, "nodesc", versions=1)
    got = call(fetch, "GET", "model-versions/get", {"name": "nodesc", "version": "1"})
    assert got["model_version"]["description"] == ""
