"""``labtrack service`` configuration and route mounting, without a hub (fast)."""

from __future__ import annotations

import re

import pytest

from labtrack.entities.endpoints import MLFLOW
from labtrack.server.base import NotFoundHandler
from labtrack.server.hub_service import service_argv
from labtrack.server.mount import mounted_handlers
from labtrack.server.routes import Route, all_routes, build_handlers, rpc
from labtrack.server.team_routes import team_routes

HUB_ENV = {
    "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:10101",
    "JUPYTERHUB_SERVICE_PREFIX": "/services/labtrack/",
    "JUPYTERHUB_API_TOKEN": "x" * 32,
    "LABTRACK_STORE_URI": "postgresql://labtrack@db/labtrack",
    "LABTRACK_ARTIFACT_ROOT": "s3://bucket/prefix",
}


def test_service_argv_from_the_hubs_environment() -> None:
    argv = service_argv(HUB_ENV)
    assert "--ServerApp.ip=127.0.0.1" in argv
    assert "--ServerApp.port=10101" in argv
    assert "--ServerApp.base_url=/services/labtrack/" in argv
    assert "--LabtrackApp.route_prefix=" in argv
    assert "--LabtrackApp.team_mode=True" in argv
    assert "--ServerApp.allow_unauthenticated_access=False" in argv
    assert "--LabtrackApp.store_uri=postgresql://labtrack@db/labtrack" in argv
    assert "--LabtrackApp.artifact_root=s3://bucket/prefix" in argv
    # LABTRACK_TRACKING_URI names the store too, unless it is an http(s) tracking server.
    env = {**HUB_ENV, "LABTRACK_TRACKING_URI": "postgresql://other/db"}
    del env["LABTRACK_STORE_URI"]
    assert "--LabtrackApp.store_uri=postgresql://other/db" in service_argv(env)
    env["LABTRACK_TRACKING_URI"] = "http://hub/services/labtrack"
    assert not [a for a in service_argv(env) if a.startswith("--LabtrackApp.store_uri")]


@pytest.mark.parametrize("missing", ["JUPYTERHUB_SERVICE_URL", "JUPYTERHUB_API_TOKEN"])
def test_service_refuses_to_start_without_the_hub(missing: str) -> None:
    env = {k: v for k, v in HUB_ENV.items() if k != missing}
    with pytest.raises(SystemExit, match=missing):
        service_argv(env)


def test_routes_mount_at_the_service_prefix() -> None:
    assert mounted_handlers("labtrack") == build_handlers()  # solo mode: unchanged
    specs = mounted_handlers("", team=True)
    patterns = [p for p, _cls, _kw in specs]
    assert re.escape("api/2.0/mlflow/runs/create") in patterns
    assert re.escape("ajax-api/2.0/mlflow/runs/create") in patterns
    assert not [p for p in patterns if p.startswith("labtrack")]
    catch_all = [p for p, cls, _kw in specs if cls is NotFoundHandler]
    assert catch_all == [r"(?:api|ajax-api)(?:/.*)?"]
    # The OAuth endpoints are not swallowed by the JSON 404.
    assert not re.fullmatch(catch_all[0], "oauth_callback")
    nested = [p for p, _cls, _kw in mounted_handlers("team/x")]
    assert nested[-1] == re.escape("team/x") + r"(?:/.*)?"
    with pytest.raises(ValueError, match="route prefix"):
        mounted_handlers("a b")


def test_team_rules_cannot_silently_lose_their_route() -> None:
    routes = [r for r in all_routes() if r.path != MLFLOW + "/runs/create"]
    with pytest.raises(RuntimeError, match="runs/create"):
        team_routes(routes)
    wrapped = {(r.method, r.path): r for r in team_routes(all_routes())}
    original = {(r.method, r.path): r for r in all_routes()}
    assert (
        wrapped[("POST", MLFLOW + "/runs/create")].rpc
        is not original[("POST", MLFLOW + "/runs/create")].rpc
    )
    assert wrapped[("GET", MLFLOW + "/runs/get")].rpc is original[("GET", MLFLOW + "/runs/get")].rpc
    assert isinstance(rpc("GET", "/x", lambda s, r: None), Route)
