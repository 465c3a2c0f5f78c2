"""One description of the REST API: the client's paths are the server's routes."""

from __future__ import annotations

import ast
from pathlib import Path

from labtrack.client import rest
from labtrack.entities import endpoints as ep
from labtrack.server.routes import all_routes

REST_SOURCE = Path(rest.__file__).read_text()


def _endpoints_used_by_the_client() -> set[str]:
    tree = ast.parse(REST_SOURCE)
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ep"
    }


def test_every_endpoint_the_client_calls_is_served_with_that_method_and_path() -> None:
    used = _endpoints_used_by_the_client()
    assert len(used) > 50  # the whole client, not a parsing accident
    served = {(r.method, r.path) for r in all_routes()}
    for name in sorted(used):
        endpoint = getattr(ep, name)
        assert (endpoint.method, endpoint.path) in served, f"{name} is not served"


def test_every_route_comes_from_the_endpoint_table() -> None:
    table = {(e.method, e.path) for e in vars(ep).values() if isinstance(e, ep.Endpoint)}
    assert {(r.method, r.path) for r in all_routes(team=True)} == table
    # The permissions API exists in team mode only.
    solo = {(r.method, r.path) for r in all_routes()}
    assert (ep.USERS_PERMISSIONS_GRANT.method, ep.USERS_PERMISSIONS_GRANT.path) not in solo


def test_the_rest_client_spells_no_path_itself() -> None:
    strings = [
        node.value
        for node in ast.walk(ast.parse(REST_SOURCE))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]
    assert [s for s in strings if "/api" in s or "mlflow/" in s] == []


def test_placeholders_are_filled_and_quoted() -> None:
    assert ep.LOGGED_MODELS_GET.url(model_id="m-1/x") == "/api/2.0/mlflow/logged-models/m-1%2Fx"
    assert (
        ep.ARTIFACT_UPLOAD.url(artifact_path="0/r/artifacts/a b.txt")
        == "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/a%20b.txt"
    )


def test_one_chart_point_budget_for_server_widgets_and_dashboard() -> None:
    """The server's default, the widgets' and the dashboard's `maxPoints` setting agree."""
    import inspect
    import json
    import re
    from pathlib import Path

    from labtrack.entities.points import CHART_POINTS
    from labtrack.service.tracking import TrackingService
    from labtrack.widgets.compare import CompareWidget
    from labtrack.widgets.run import RunWidget

    root = Path(__file__).resolve().parents[1]
    schema = json.loads((root / "lab-extension/schema/model.json").read_text())
    assert schema["properties"]["maxPoints"]["default"] == CHART_POINTS
    protocol = (root / "lab-extension/src/protocol.ts").read_text()
    assert re.search(rf"DEFAULT_MAX_POINTS = {CHART_POINTS};", protocol)
    for func in (TrackingService.get_metric_series, CompareWidget.__init__, RunWidget.__init__):
        assert inspect.signature(func).parameters["max_points"].default == CHART_POINTS
