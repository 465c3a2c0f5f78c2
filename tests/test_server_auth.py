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


# ---- the auth matrix: every route x every way in without the right credentials -------------

EVIL_ORIGIN = "http://evil.example"


def _store_digest(labtrack_paths: dict[str, Path]) -> str:
    """Everything the server stores: every table's rows and every artifact file."""
    import hashlib
    import sqlite3

    h = hashlib.sha256()
    conn = sqlite3.connect(labtrack_paths["store_dir"] / "labtrack.db")
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(tables):
            h.update(table.encode())
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):
                h.update(repr(row).encode())
    finally:
        conn.close()
    for path in sorted(labtrack_paths["artifact_root"].rglob("*")):
        h.update(str(path).encode())
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


def _seed(fetch: Fetch) -> dict[str, str]:
    """An experiment, a run with data and an artifact, a registered model with a version and a
    logged model: what the matrix's requests name, so that an allowed request would change
    something."""
    M = "api/2.0/mlflow"

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = fetch(path, "POST", json_body=body)
        assert r.code == 200, (path, r.body)
        return json_of(r)

    eid = post(f"{M}/experiments/create", {"name": "matrix"})["experiment_id"]
    run_id = post(f"{M}/runs/create", {"experiment_id": eid})["run"]["info"]["run_id"]
    post(
        f"{M}/runs/log-batch",
        {
            "run_id": run_id,
            "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}],
            "params": [{"key": "p", "value": "1"}],
            "tags": [{"key": "t", "value": "1"}],
        },
    )
    artifact = f"{eid}/{run_id}/artifacts/a.txt"
    assert fetch(f"{ART}/{artifact}", "PUT", b"private data").code == 200
    post(f"{M}/registered-models/create", {"name": "matrix-model"})
    post(
        f"{M}/model-versions/create",
        {"name": "matrix-model", "source": f"runs:/{run_id}/model", "run_id": run_id},
    )
    model = post("api/2.0/mlflow/logged-models", {"experiment_id": eid, "name": "lm"})
    return {
        "experiment_id": eid,
        "run_id": run_id,
        "artifact_path": artifact,
        "model_id": model["model"]["info"]["model_id"],
        "tag_key": "t",
        "name": "matrix-model",
    }


def _matrix_requests(ids: dict[str, str]) -> list[tuple[str, str, bytes | None]]:
    """(method, url, JSON body) for every route of the route table, naming the seeded objects
    so that each request would change or reveal something if it were let in."""
    body = json.dumps(
        {
            "experiment_id": ids["experiment_id"],
            "experiment_ids": [ids["experiment_id"]],
            "run_id": ids["run_id"],
            "run_uuid": ids["run_id"],
            "model_id": ids["model_id"],
            "name": ids["name"],
            "new_name": "renamed",
            "version": "1",
            "key": "t",
            "value": "overwritten",
            "status": "FAILED",
            "source": f"runs:/{ids['run_id']}/model",
            "metrics": [{"key": "m", "value": 9.0, "timestamp": 2, "step": 1}],
            "tags": [{"key": "t", "value": "overwritten"}],
            "alias": "champion",
            "description": "overwritten",
        }
    ).encode()
    out = []
    for r in routes.with_aliases(routes.all_routes()):
        path = re.sub(r"\{([^}]+)\}", lambda m: ids[m.group(1)], r.path).lstrip("/")
        if r.method == "GET":
            query = f"run_id={ids['run_id']}&experiment_id={ids['experiment_id']}&path="
            out.append((r.method, f"{path}?{query}", None))
        elif r.method == "PUT":
            out.append((r.method, path, b"overwritten"))
        else:
            out.append((r.method, path, body))
    return out


def _login_cookie(fetch: Fetch, token: str) -> str:
    """The browser's login cookie, got as a browser gets it (the token in the URL once)."""
    r = fetch(f"api/2.0/mlflow/experiments/search?max_results=1&token={token}", auth=False)
    assert r.code == 200, r.body
    cookie = "; ".join(c.split(";")[0] for c in r.headers.get_list("Set-Cookie"))
    assert cookie.startswith("username-"), cookie
    return cookie


# Each: (name, which methods it applies to, how it builds the request's headers and body).
# Cookie variants apply to writes only where a same-origin read with a cookie is legitimate.
_WRITES = ("POST", "PUT", "PATCH", "DELETE")
_ALL = ("GET", *_WRITES)
MATRIX = {
    "no token": _ALL,
    "wrong token": _ALL,
    "cookie without XSRF": _WRITES,
    "cookie from a foreign Origin": _ALL,
    "cookie with a text/plain body": _WRITES,
    "cookie with a form body": _WRITES,
    "token with a text/plain body": ("POST", "PATCH"),
    "token with a form body": ("POST", "PATCH"),
    "token with a bad Host": _ALL,
}


def _kind(variant: str) -> str:
    return "text/plain" if "text/plain" in variant else "application/x-www-form-urlencoded"


@pytest.mark.parametrize("variant", list(MATRIX))
def test_auth_matrix_every_route_is_refused_and_changes_nothing(
    fetch: Fetch, jp_serverapp: Any, labtrack_paths: dict[str, Path], variant: str
) -> None:
    token = jp_serverapp.identity_provider.token
    ids = _seed(fetch)
    cookie = _login_cookie(fetch, token)
    before = _store_digest(labtrack_paths)
    tried = 0
    for method, url, body in _matrix_requests(ids):
        if method not in MATRIX[variant]:
            continue
        json_type = {"Content-Type": "application/json"} if body and method != "PUT" else {}
        auth = False
        if variant == "no token":
            headers = json_type
        elif variant == "wrong token":
            headers = {**json_type, "Authorization": "Bearer wrong-token"}
        elif variant == "cookie without XSRF":
            headers = {**json_type, "Cookie": cookie}
        elif variant == "cookie from a foreign Origin":
            headers = {**json_type, "Cookie": cookie, "Origin": EVIL_ORIGIN}
        elif variant.startswith("cookie with"):
            kind = _kind(variant)
            headers = {"Cookie": cookie, "Content-Type": kind, "Origin": EVIL_ORIGIN}
            body = body or b"a=1"
        elif variant.startswith("token with a"):
            if "Host" in variant:
                headers, auth = {**json_type, "Host": "evil.example"}, True
            else:
                kind = (
                    "text/plain" if "text/plain" in variant else "application/x-www-form-urlencoded"
                )
                headers, auth = {"Content-Type": kind}, True
                body = body or b"a=1"
        else:  # pragma: no cover
            raise AssertionError(variant)
        r = fetch(url, method, body, headers=headers, auth=auth)
        tried += 1
        assert 400 <= r.code < 500, (variant, method, url, r.code, r.body[:200])
        assert b"private data" not in r.body, (variant, method, url)
        if r.body:
            assert set(json_of(r)) >= {"error_code", "message"}, (variant, method, url)
    assert tried >= 20
    assert _store_digest(labtrack_paths) == before, f"{variant}: the store changed"
    # The control: the same kind of request with the right credentials does change it.
    r = fetch(
        "api/2.0/mlflow/runs/set-tag",
        "POST",
        json_body={"run_id": ids["run_id"], "key": "t", "value": "changed"},
    )
    assert r.code == 200, r.body
    assert _store_digest(labtrack_paths) != before
