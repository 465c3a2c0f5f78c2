"""Every labtrack route has an authentication and authorization decision; none is open.

Three layers of checks: (1) the pyproject's filterwarnings turns jupyter_server's
``JupyterServerAuthWarning`` (an undecorated handler) into an error at load time; (2) an audit of
the registered handler classes: every implemented verb is ``@tornado.web.authenticated`` around
``@authorized``; (3) real requests without (valid) credentials to every route are refused with
JSON and no data, also when ``allow_unauthenticated_access`` is left at jupyter's default (True).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth import Authorizer
from tornado import web

from labtrack.server import routes
from labtrack.server.base import LabtrackHandler
from server_fixtures import *  # noqa: F403
from server_fixtures import Fetch, assert_error, json_of

ART = "api/2.0/mlflow-artifacts/artifacts"


def sample_url(path: str) -> str:
    """A concrete URL (relative to labtrack/) for a route path with placeholders."""
    return re.sub(
        r"\{([^}]+)\}",
        lambda m: "1/r/artifacts/a.txt" if m.group(1) in routes.GREEDY_PARAMS else "x",
        path,
    ).lstrip("/")


def all_route_requests() -> list[tuple[str, str]]:
    reqs = [(r.method, sample_url(r.path)) for r in routes.with_aliases(routes.all_routes())]
    reqs += [("GET", "unknown"), ("POST", "api/2.0/mlflow/unknown"), ("OPTIONS", "version")]
    return reqs


def labtrack_handler_classes(app: Any, base_url: str) -> dict[str, Any]:
    found = {}
    for host_rule in app.web_app.default_router.rules:
        for rule in getattr(host_rule.target, "rules", []):
            pattern = rule.matcher.regex.pattern
            if pattern.startswith(base_url + "labtrack"):
                found[pattern] = rule.target
    return found


def is_authenticated_and_authorized(method: Any) -> bool:
    code = getattr(method, "__code__", None)
    inner = getattr(method, "__wrapped__", None)
    return (
        code is not None
        and code.co_qualname.startswith("authenticated")
        and inner is not None
        and inner.__code__.co_qualname.startswith("authorized")
    )


def test_every_handler_verb_is_decorated(jp_serverapp: Any, jp_base_url: str) -> None:
    handlers = labtrack_handler_classes(jp_serverapp, jp_base_url)
    # one pattern per route path, plus the catch-all
    assert len(handlers) == len({r.path for r in routes.with_aliases(routes.all_routes())}) + 1
    undecorated = []
    for pattern, cls in handlers.items():
        assert issubclass(cls, LabtrackHandler), (pattern, cls)
        for verb in cls.SUPPORTED_METHODS:
            method = getattr(cls, verb.lower())
            if method is web.RequestHandler._unimplemented_method:
                continue
            if verb == "OPTIONS":
                # jupyter's APIHandler.options (CORS preflight) is explicitly
                # @allow_unauthenticated; LabtrackHandler.prepare still refuses it without auth
                # (tested below).
                assert getattr(method, "__allow_unauthenticated", False), (pattern, verb)
                continue
            if not is_authenticated_and_authorized(method):
                undecorated.append(f"{verb} {cls.__name__} {pattern}")
    assert undecorated == []


@pytest.mark.parametrize(("method", "path"), all_route_requests())
def test_requests_without_token_are_refused(
    fetch: Fetch, labtrack_paths: dict[str, Path], method: str, path: str
) -> None:
    run = labtrack_paths["artifact_root"] / "1/r/artifacts"
    run.mkdir(parents=True)
    (run / "a.txt").write_text("private data")
    body = b"uploaded" if method in ("PUT", "POST", "PATCH") else None
    headers = {"Content-Type": "application/json"} if method in ("POST", "PATCH") else {}
    if body and headers:
        body = b"{}"
    r = fetch(path, method, body, headers=headers, auth=False)
    assert r.code in (401, 403), (r.code, r.body)
    if method != "OPTIONS" or r.body:
        assert json_of(r)["error_code"] in ("PERMISSION_DENIED", "UNAUTHENTICATED")
    assert b"private data" not in r.body
    assert b"files" not in r.body
    assert (run / "a.txt").read_text() == "private data"
    assert sorted(p.name for p in run.iterdir()) == ["a.txt"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "token wrong-token"},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},  # MLFLOW_TRACKING_USERNAME/PASSWORD
    ],
)
def test_bad_credentials_are_refused_with_json(fetch: Fetch, headers: dict[str, str]) -> None:
    for method, path, body in (("GET", ART + "?path=1", None), ("PUT", ART + "/1/x.txt", b"x")):
        r = fetch(path, method, body, headers=headers, auth=False)
        assert_error(r, 403, "PERMISSION_DENIED")


def test_bearer_token_is_accepted(fetch: Fetch, jp_serverapp: Any) -> None:
    token = jp_serverapp.identity_provider.token
    created = fetch("api/2.0/mlflow/runs/create", "POST", json_body={"experiment_id": "0"})
    run_id = json.loads(created.body)["run"]["info"]["run_id"]
    path = f"{ART}/0/{run_id}/artifacts/x.txt"  # uploads go into a run's artifact folder
    r = fetch(path, "PUT", b"x", headers={"Authorization": f"Bearer {token}"}, auth=False)
    assert r.code == 200, r.body
    r = fetch(path, headers={"Authorization": f"bearer {token}"}, auth=False)
    assert r.body == b"x"


class TestDefaultAllowUnauthenticatedAccess:
    """jupyter_server's default (allow_unauthenticated_access=True) changes nothing for us."""

    @pytest.fixture
    def server_app_config(self) -> dict[str, Any]:
        return {"allow_unauthenticated_access": True}

    @pytest.mark.parametrize(("method", "path"), all_route_requests())
    def test_still_refused(
        self, fetch: Fetch, labtrack_paths: dict[str, Path], method: str, path: str
    ) -> None:
        body = b"{}" if method in ("PUT", "POST", "PATCH") else None
        headers = {"Content-Type": "application/json"} if body else {}
        r = fetch(path, method, body, headers=headers, auth=False)
        assert r.code in (401, 403), (r.code, r.body)
        assert not any(labtrack_paths["artifact_root"].rglob("*"))


class ReadOnlyAuthorizer(Authorizer):
    """Allows reading labtrack, denies writing it."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "labtrack" and action != "read")


class TestAuthorization:
    @pytest.fixture
    def server_app_config(self) -> dict[str, Any]:
        return {"authorizer_class": ReadOnlyAuthorizer}

    def test_write_denied_read_allowed(self, fetch: Fetch, labtrack_paths: dict[str, Path]) -> None:
        root = labtrack_paths["artifact_root"]
        (root / "1").mkdir()
        (root / "1/a.txt").write_text("data")
        assert fetch(ART + "/1/a.txt").body == b"data"
        assert json_of(fetch(ART + "?path=1"))["files"][0]["path"] == "a.txt"
        r = fetch(ART + "/1/b.txt", "PUT", b"x" * 100_000)
        body = assert_error(r, 403, "PERMISSION_DENIED")
        assert "labtrack" in body["message"]
        assert_error(fetch(ART + "/1/a.txt", "DELETE"), 403, "PERMISSION_DENIED")
        assert sorted(p.name for p in (root / "1").iterdir()) == ["a.txt"]


def test_the_audit_catches_missing_decorators() -> None:
    from jupyter_server.auth.decorator import authorized

    class Plain(LabtrackHandler):
        def get(self) -> None: ...

    class OnlyAuthenticated(LabtrackHandler):
        @web.authenticated
        def get(self) -> None: ...

    class WrongOrder(LabtrackHandler):
        @authorized
        @web.authenticated
        def get(self) -> None: ...

    for cls in (Plain, OnlyAuthenticated, WrongOrder):
        assert not is_authenticated_and_authorized(cls.get), cls
