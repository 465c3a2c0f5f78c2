"""The server framework: RPC routing, request parsing, the error path, the OpenAPI document."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from labtrack.errors import LabtrackException
from labtrack.server import routes
from labtrack.server.base import dumps, metric_value, parse_float
from labtrack.server.routes import Route, all_routes, rpc, with_aliases
from labtrack.server.rpc import RpcRequest
from server_fixtures import *  # noqa: F403
from server_fixtures import Fetch, assert_error, json_of

TEST = "/api/2.0/labtrack-test"


class FakeService:
    def __init__(self, store_uri: str, artifact_root: str) -> None:
        self.store_uri = store_uri
        self.artifact_root = artifact_root
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def artifact_owner(self, rel: str) -> Any:
        """Every path belongs to one open run here (the real rule has its own tests)."""
        from labtrack.service.tracking import ArtifactOwner

        return ArtifactOwner("run", "r", "1", rel.rsplit("/", 1)[0], closed=False)


BUILT: list[FakeService] = []


def fake_factory(store_uri: str, artifact_root: str) -> FakeService:
    svc = FakeService(store_uri, artifact_root)
    BUILT.append(svc)
    return svc


def echo(_svc: Any, req: RpcRequest) -> dict[str, Any]:
    return {
        "fields": req.fields,
        "user": req.user,
        "ids": req.get_list("ids"),
        "flag": req.get_bool("flag"),
        "n": req.get_int("n"),
        "x": req.get_float("x"),
        "run_id": req.run_id(required=False),
    }


def typed(_svc: Any, req: RpcRequest) -> dict[str, Any]:
    return {"n": req.get_int("n", required=True), "name": req.str_required("name")}


def boom(_svc: Any, _req: RpcRequest) -> None:
    raise RuntimeError("secret internal detail /var/lib/db")


def missing(_svc: Any, _req: RpcRequest) -> None:
    raise LabtrackException("Run 'abc' not found", "RESOURCE_DOES_NOT_EXIST")


def metrics(_svc: Any, _req: RpcRequest) -> dict[str, Any]:
    return {
        "metrics": [
            {"key": "a", "value": math.nan},
            {"key": "b", "value": math.inf},
            {"key": "c", "value": -math.inf},
            {"key": "d", "value": 1.5},
        ]
    }


def uses_service(svc: Any, _req: RpcRequest) -> dict[str, Any]:
    store_uri = getattr(svc, "store_uri", None) or svc.store.uri
    return {"store_uri": store_uri, "artifact_root": svc.artifact_root, "id": id(svc)}


def item(_svc: Any, req: RpcRequest) -> dict[str, Any]:
    return {"item_id": req.str_required("item_id"), "tail": req.get_str("tail")}


TEST_ROUTES = [
    rpc("POST", TEST + "/echo", echo, service=False),
    rpc("GET", TEST + "/echo", echo, service=False),
    rpc("DELETE", TEST + "/echo", echo, service=False),
    rpc("POST", TEST + "/typed", typed, service=False),
    rpc("GET", TEST + "/boom", boom, service=False),
    rpc("GET", TEST + "/missing", missing, service=False),
    rpc("GET", TEST + "/metrics", metrics, service=False),
    rpc("GET", TEST + "/service", uses_service),
    rpc("POST", TEST + "/items/search", echo, service=False),
    rpc("GET", TEST + "/items/{item_id}", item, service=False),
    rpc("PATCH", TEST + "/items/{item_id}/tags", item, service=False),
]


@pytest.fixture  # type: ignore[no-redef]
def labtrack_config() -> dict[str, Any]:
    return {"service_factory": fake_factory, "max_json_body_bytes": 2000}


@pytest.fixture(autouse=True)
def _test_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    original = routes.all_routes
    monkeypatch.setattr(routes, "all_routes", lambda: [*original(), *TEST_ROUTES])
    BUILT.clear()


def api(path: str) -> str:
    return TEST.lstrip("/") + path


# -- request parsing -----------------------------------------------------------------------------


def test_post_json_body(fetch: Fetch) -> None:
    body = {"ids": ["a", "b"], "flag": True, "n": "7", "x": "NaN", "run_uuid": "r1", "extra": 1}
    out = json_of(fetch(api("/echo"), "POST", json_body=body))
    assert out["fields"] == body
    assert out["ids"] == ["a", "b"]
    assert out["flag"] is True
    assert out["n"] == 7
    assert out["x"] == "NaN"
    assert out["run_id"] == "r1"
    assert out["user"]


def test_get_query_string(fetch: Fetch) -> None:
    out = json_of(fetch(api("/echo?ids=a&ids=b&flag=true&n=3&x=-Infinity&run_id=r2")))
    assert out["ids"] == ["a", "b"]
    assert out["flag"] is True
    assert out["n"] == 3
    assert out["x"] == "-Infinity"
    assert out["run_id"] == "r2"
    out = json_of(fetch(api("/echo?ids=a&flag=false")))
    assert out["ids"] == ["a"]
    assert out["flag"] is False


def test_delete_with_json_body(fetch: Fetch) -> None:
    out = json_of(fetch(api("/echo"), "DELETE", json_body={"name": "m", "alias": "champion"}))
    assert out["fields"] == {"name": "m", "alias": "champion"}


def test_empty_json_body_is_an_empty_object(fetch: Fetch) -> None:
    r = fetch(api("/echo"), "POST", b"", headers={"Content-Type": "application/json"})
    assert json_of(r)["fields"] == {}


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {}, {"Content-Type": "application/x-www-form-urlencoded"}],
)
def test_non_json_content_type_is_refused(fetch: Fetch, headers: dict[str, str]) -> None:
    r = fetch(api("/echo"), "POST", b'{"a": 1}', headers=headers)
    assert_error(r, 400, "BAD_REQUEST")


def test_json_content_type_with_charset_is_fine(fetch: Fetch) -> None:
    r = fetch(
        api("/echo"),
        "POST",
        b'{"a": 1}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.code == 200


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_malformed_json_is_refused(fetch: Fetch, body: bytes) -> None:
    r = fetch(api("/echo"), "POST", body, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")


def test_json_body_limit(fetch: Fetch) -> None:
    r = fetch(api("/echo"), "POST", json_body={"pad": "x" * 5000})
    assert_error(r, 413, "INVALID_PARAMETER_VALUE")


def test_typed_accessors_give_mlflow_errors(fetch: Fetch) -> None:
    assert json_of(fetch(api("/typed"), "POST", json_body={"n": 5, "name": "a"})) == {
        "n": 5,
        "name": "a",
    }
    body = assert_error(
        fetch(api("/typed"), "POST", json_body={"name": "a"}), 400, "INVALID_PARAMETER_VALUE"
    )
    assert "Missing value for required parameter 'n'" in body["message"]
    body = assert_error(fetch(api("/typed"), "POST", json_body={"n": "five", "name": "a"}), 400)
    assert "'n'" in body["message"]
    assert_error(fetch(api("/typed"), "POST", json_body={"n": True, "name": "a"}), 400)
    assert_error(fetch(api("/typed"), "POST", json_body={"n": 1, "name": ""}), 400)


def test_path_parameters(fetch: Fetch) -> None:
    assert json_of(fetch(api("/items/m-123"))) == {"item_id": "m-123", "tail": None}
    r = fetch(api("/items/m-9/tags"), "PATCH", json_body={"tail": "t"})
    assert json_of(r) == {"item_id": "m-9", "tail": "t"}
    # A literal path wins over a template ("search" is not an item id): GET is not its method.
    assert "fields" in json_of(fetch(api("/items/search"), "POST", json_body={}))
    body = assert_error(fetch(api("/items/search")), 405, "ENDPOINT_NOT_FOUND")
    assert "%%" not in body["message"]


# -- responses and errors ------------------------------------------------------------------------


def test_non_finite_metric_values_are_strings(fetch: Fetch) -> None:
    r = fetch(api("/metrics"))
    text = r.body.decode()
    assert "NaN" in text
    assert "Infinity" in text
    values = [m["value"] for m in json.loads(text)["metrics"]]  # strict JSON
    assert values == ["NaN", "Infinity", "-Infinity", 1.5]


def test_internal_errors_are_json_500_without_details(fetch: Fetch) -> None:
    body = assert_error(fetch(api("/boom")), 500, "INTERNAL_ERROR")
    assert "secret internal detail" not in body["message"]


def test_labtrack_exceptions_keep_their_status(fetch: Fetch) -> None:
    body = assert_error(fetch(api("/missing")), 404, "RESOURCE_DOES_NOT_EXIST")
    assert body["message"] == "Run 'abc' not found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "nope"),
        ("POST", "api/2.0/mlflow/does-not-exist"),
        ("GET", "api/2.0/mlflow/runs/no-such-rpc?run_id=x"),
        ("PUT", "api/2.0/mlflow-artifacts/mpu/abort/x"),
        ("GET", ""),
    ],
)
def test_unknown_routes_are_json_404(fetch: Fetch, method: str, path: str) -> None:
    r = fetch(path, method, json_body={} if method != "GET" else None)
    assert_error(r, 404, "ENDPOINT_NOT_FOUND")


def test_bare_prefix_is_json_404(fetch: Fetch) -> None:
    assert_error(fetch("", prefix="labtrack"), 404, "ENDPOINT_NOT_FOUND")


def test_unsupported_method_on_known_path(fetch: Fetch) -> None:
    """A known path with a method it does not serve: 405 in MLflow's error shape, with the
    ``Allow`` header RFC 9110 asks for (RPC routes and handler routes alike)."""
    r = fetch(api("/metrics"), "POST", json_body={})
    assert_error(r, 405, "ENDPOINT_NOT_FOUND")
    assert r.headers["Allow"] == "GET"
    r = fetch("api/2.0/mlflow-artifacts/artifacts", "POST", json_body={})
    assert_error(r, 405, "ENDPOINT_NOT_FOUND")
    assert r.headers["Allow"] == "GET"
    r = fetch("api/2.0/mlflow/runs/create", "GET")
    assert_error(r, 405, "ENDPOINT_NOT_FOUND")
    assert r.headers["Allow"] == "POST"


def test_ajax_api_alias(fetch: Fetch) -> None:
    r = fetch("ajax-api/2.0/labtrack-test/items/abc")
    assert json_of(r)["item_id"] == "abc"


# -- built-in routes -----------------------------------------------------------------------------


def test_version_and_server_info(fetch: Fetch) -> None:
    assert "version" in json_of(fetch("version"))
    info = json_of(fetch("api/3.0/mlflow/server-info"))
    assert info["store_type"]
    assert json_of(fetch("ajax-api/3.0/mlflow/server-info")) == info


def test_whoami_in_solo_mode_is_no_team(fetch: Fetch) -> None:
    """Solo runs carry the client's account name, so the dashboard offers no "mine" filter."""
    body = json_of(fetch("api/labtrack/whoami"))
    assert body["team"] is False
    assert isinstance(body["user"], str)
    assert body["user"]


def test_openapi_is_served(fetch: Fetch) -> None:
    r = fetch("openapi.yaml")
    assert r.code == 200
    assert r.headers["Content-Type"].startswith("application/yaml")
    doc = yaml.safe_load(r.body)
    assert doc["openapi"].startswith("3.1")


def _spec_operations() -> set[tuple[str, str]]:
    text = (Path(routes.__file__).parent / "openapi.yaml").read_text()
    doc = yaml.safe_load(text)
    ops = set()
    for path, item in doc["paths"].items():
        for method in item:
            if method.upper() in routes.METHODS:
                ops.add((method.upper(), path))
    return ops


def test_every_route_is_in_the_openapi_document_and_vice_versa() -> None:
    # ``all_routes`` imported at module load is the real table (without this module's routes);
    # the document describes team mode's routes too (tagged ``permissions``).
    table = {(r.method, r.path) for r in all_routes(team=True)}
    spec = _spec_operations()
    assert table - spec == set(), "routes missing from openapi.yaml"
    assert spec - table == set(), "openapi.yaml describes routes that are not registered"
    assert not any(p.startswith("/ajax-api/") for _m, p in spec), "aliases are implicit"


def test_registered_patterns_match_the_route_table(jp_serverapp: Any, jp_base_url: str) -> None:
    expected = {routes.path_to_regex(r.path) for r in with_aliases(routes.all_routes())}
    prefix = jp_base_url + "labtrack"
    registered = set()
    for host_rule in jp_serverapp.web_app.default_router.rules:
        for rule in getattr(host_rule.target, "rules", []):
            pattern = rule.matcher.regex.pattern.rstrip("$")
            if pattern.startswith(prefix):
                registered.add(pattern[len(prefix) :])
    catch_all = r"(?:/.*)?"
    assert registered == expected | {catch_all}


# -- the service hook and the lifecycle ----------------------------------------------------------


def test_service_is_built_lazily_once(fetch: Fetch, labtrack_app: Any) -> None:
    assert BUILT == []  # artifact and meta routes work without it
    assert fetch("version").code == 200
    assert BUILT == []
    first = json_of(fetch(api("/service")))
    second = json_of(fetch(api("/service")))
    assert first == second
    assert len(BUILT) == 1
    assert first["store_uri"] == labtrack_app.store_uri
    assert first["artifact_root"] == labtrack_app.artifact_root


def test_environment_is_exported_for_kernels(labtrack_app: Any) -> None:
    assert os.environ["LABTRACK_TRACKING_URI"] == labtrack_app.store_uri
    assert os.environ["LABTRACK_ARTIFACT_ROOT"] == labtrack_app.artifact_root


def test_stop_extension_closes_service_and_executor(
    fetch: Fetch, labtrack_app: Any, jp_asyncio_loop: Any
) -> None:
    fetch(api("/service"))
    (svc,) = BUILT
    jp_asyncio_loop.run_until_complete(labtrack_app.stop_extension())
    assert svc.closed
    with pytest.raises(RuntimeError):
        labtrack_app.executor.submit(print)


def test_route_definitions_are_validated() -> None:
    with pytest.raises(ValueError, match="must start with"):
        Route("GET", "no-slash", rpc=echo)
    with pytest.raises(ValueError, match="unsupported method"):
        Route("TRACE", "/x", rpc=echo)
    with pytest.raises(ValueError, match="exactly one"):
        Route("GET", "/x")
    with pytest.raises(ValueError, match="duplicate"):
        routes.build_handlers([rpc("GET", "/x", echo), rpc("GET", "/x", echo)])
    assert re.fullmatch(routes.path_to_regex("/a/{artifact_path}"), "/a/b/c/d")
    assert not re.fullmatch(routes.path_to_regex("/a/{x}"), "/a/b/c")


def test_json_helpers() -> None:
    assert metric_value(float("nan")) == "NaN"
    assert metric_value(float("-inf")) == "-Infinity"
    assert metric_value(2.0) == 2.0
    assert dumps({"a": [float("inf"), {"b": float("nan")}]}) == '{"a":["Infinity",{"b":"NaN"}]}'
    assert math.isnan(parse_float("NaN"))
    assert parse_float("Infinity") == math.inf
    assert parse_float(3) == 3.0
    with pytest.raises(LabtrackException):
        parse_float("abc")
    with pytest.raises(LabtrackException):
        parse_float(True)


class MovedRootService(FakeService):
    @property
    def artifact_root(self) -> str:  # type: ignore[override]
        return self._moved

    @artifact_root.setter
    def artifact_root(self, value: str) -> None:
        self._moved = value + "-recorded"


class TestStoreRecordedArtifactRoot:
    @pytest.fixture
    def labtrack_config(self) -> dict[str, Any]:
        return {"service_factory": MovedRootService}

    def test_artifacts_follow_the_service_root(self, fetch: Fetch, labtrack_app: Any) -> None:
        configured = labtrack_app.artifact_root
        fetch(api("/service"))
        assert labtrack_app.artifact_root == configured + "-recorded"
        assert fetch("api/2.0/mlflow-artifacts/artifacts/1/a.txt", "PUT", b"x").code == 200
        assert Path(configured + "-recorded", "1", "a.txt").read_bytes() == b"x"


class TestDefaultServiceFactory:
    @pytest.fixture
    def labtrack_config(self) -> dict[str, Any]:
        return {}

    def test_real_service_is_built_and_closed(
        self, fetch: Fetch, labtrack_app: Any, labtrack_paths: dict[str, Path], jp_asyncio_loop: Any
    ) -> None:
        out = json_of(fetch(api("/service")))
        assert out["store_uri"] == labtrack_app.store_uri
        assert (labtrack_paths["store_dir"] / "labtrack.db").exists()
        jp_asyncio_loop.run_until_complete(labtrack_app.stop_extension())
