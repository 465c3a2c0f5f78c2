"""Team mode's access table covers every route: a route without a rule would serve everyone
everything, so a missing entry fails here and refuses to start the service."""

from __future__ import annotations

import pytest

from labtrack.entities import endpoints as ep
from labtrack.server.access import RULES, access_routes, rule_for
from labtrack.server.routes import Route, all_routes, rpc
from labtrack.server.team_routes import team_routes


def test_every_team_route_has_an_access_rule() -> None:
    routes = team_routes(all_routes(team=True))
    assert len(routes) > 60
    missing = [f"{r.method} {r.path}" for r in routes if rule_for(r.method, r.path) is None]
    assert missing == []
    # ...and the table names no route that is not served (a stale rule protects nothing).
    served = {ep.Endpoint(r.method, r.path) for r in routes}
    assert set(RULES) - served == set()


def test_a_route_without_a_rule_refuses_to_start() -> None:
    extra = rpc("POST", "/api/2.0/mlflow/unguarded", lambda service, req: {})
    with pytest.raises(RuntimeError, match="without an access rule"):
        access_routes([*team_routes(all_routes(team=True)), extra])


def test_every_route_is_wrapped() -> None:
    table = team_routes(team_routes(all_routes(team=True)))
    checked = access_routes(table)
    originals = {(r.method, r.path): r for r in table}
    for route in checked:
        before = originals[(route.method, route.path)]
        if route.handler is not None:
            assert route.handler.access_rules is not None, route.path
            assert issubclass(route.handler, before.handler)  # type: ignore[arg-type]
        elif route.needs_service:
            assert route.rpc is not before.rpc, route.path


@pytest.mark.parametrize(
    ("endpoint", "capability"),
    [
        (ep.RUNS_DELETE, "delete"),
        (ep.RUNS_LOG_BATCH, "update"),
        (ep.RUNS_CREATE, "update"),
        (ep.RUNS_GET, "read"),
        (ep.METRICS_GET_HISTORY, "read"),
        (ep.ARTIFACT_DOWNLOAD, "read"),
        (ep.ARTIFACT_UPLOAD, "update"),
        (ep.EXPERIMENTS_DELETE, "delete"),
        (ep.REGISTERED_MODELS_DELETE, "delete"),
        (ep.MODEL_VERSIONS_CREATE, "update"),
    ],
)
def test_capabilities_are_mlflows(endpoint: ep.Endpoint, capability: str) -> None:
    assert RULES[endpoint].capability == capability


def test_searches_are_filtered() -> None:
    for endpoint in (
        ep.RUNS_SEARCH,
        ep.EXPERIMENTS_SEARCH,
        ep.EXPERIMENTS_SEARCH_GET,
        ep.REGISTERED_MODELS_SEARCH,
        ep.MODEL_VERSIONS_SEARCH,
        ep.LOGGED_MODELS_SEARCH,
        ep.LABTRACK_RUNS_COUNT,
        ep.LABTRACK_CHANGES,
    ):
        assert RULES[endpoint].filtered, endpoint


def test_unused_route_type_is_a_route() -> None:
    assert isinstance(all_routes()[0], Route)


def test_the_default_permission_is_validated() -> None:
    from labtrack.errors import LabtrackException
    from labtrack.server.mount import mounted_handlers

    assert mounted_handlers("", team=True, default_permission="no_permissions")
    with pytest.raises(LabtrackException, match="default_permission"):
        mounted_handlers("", team=True, default_permission="OWNER")


def test_the_default_permission_comes_from_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from labtrack.server.app import LabtrackApp

    monkeypatch.setenv("LABTRACK_DEFAULT_PERMISSION", "EDIT")
    assert LabtrackApp().default_permission == "EDIT"
    monkeypatch.delenv("LABTRACK_DEFAULT_PERMISSION")
    assert LabtrackApp().default_permission == "READ"
