"""``labtrack service`` behind a real JupyterHub (see ``hub_fixtures``): who gets in, and whose
runs are whose. PostgreSQL store, SeaweedFS artifacts, real proxy, real hub tokens."""

from __future__ import annotations

import pytest
from hub_fixtures import Hub, hub, http, team_pg_database  # noqa: F401
from seaweed_fixtures import seaweed  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MLFLOW = "/api/2.0/mlflow"


def api(hub: Hub, method: str, path: str, *, user: str | None = None, **kw):  # type: ignore[no-untyped-def]
    token = hub.tokens[user] if user else kw.pop("token", None)
    return http(method, hub.service_url + path, token=token, **kw)


def test_team_member_token_is_admitted(hub: Hub) -> None:
    status, body = api(hub, "GET", MLFLOW + "/experiments/get?experiment_id=0", user="alice")
    assert status == 200, body
    assert body["experiment"]["name"] == "Default"


@pytest.mark.parametrize("scheme", ["token", "Bearer", "bearer"])
def test_both_authorization_schemes(hub: Hub, scheme: str) -> None:
    status, body = http(
        "GET",
        hub.service_url + MLFLOW + "/experiments/search?max_results=1",
        token=hub.tokens["bob"],
        scheme=scheme,
    )
    assert status == 200, body


def test_outsider_gets_403_in_mlflow_shape(hub: Hub) -> None:
    status, body = api(hub, "GET", MLFLOW + "/experiments/get?experiment_id=0", user="carol")
    assert status == 403
    assert body["error_code"] == "PERMISSION_DENIED"


def test_no_token_and_wrong_token_are_refused(hub: Hub) -> None:
    status, body = api(hub, "GET", MLFLOW + "/experiments/get?experiment_id=0")
    assert status in (401, 403)
    assert body["error_code"] in ("UNAUTHENTICATED", "PERMISSION_DENIED")
    status, body = api(
        hub, "GET", MLFLOW + "/experiments/get?experiment_id=0", token="not-a-hub-token"
    )
    assert status == 403
    assert body["error_code"] == "PERMISSION_DENIED"
