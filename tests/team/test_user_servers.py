"""Users' Jupyter servers under the hub use the team service with no setup (issue 15, item 4).

The hub (``hub_fixtures``) spawns real single-user servers (``SimpleLocalProcessSpawner``) with
what the team deployment guide tells admins to set: ``LABTRACK_TRACKING_URI`` = the service's
URL in ``c.Spawner.environment`` and ``access:services!service=labtrack`` in
``c.Spawner.server_token_scopes``. The server's labtrack routes (what the dashboard calls) then
answer from the team service as the server's user, and its kernels log there.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from hub_fixtures import Hub, http

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MLFLOW = "/api/2.0/mlflow"


@pytest.fixture(scope="module")
def alice_server(hub: Hub) -> str:
    return hub.start_server("alice")


def via_server(hub: Hub, user: str, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    """A request to ``user``'s own Jupyter server, under its ``labtrack/`` routes."""
    return http(method, f"{hub.server_url(user)}/labtrack{path}", token=hub.tokens[user], **kw)


def test_whoami_through_the_users_server_is_the_hub_user(hub: Hub, alice_server: str) -> None:
    status, body = via_server(hub, "alice", "GET", "/api/labtrack/whoami")
    assert status == 200, body
    assert body == {"user": "alice", "team": True}
    # The service answers the same to alice's token directly.
    status, direct = http(
        "GET", hub.service_url + "/api/labtrack/whoami", token=hub.tokens["alice"]
    )
    assert (status, direct) == (200, {"user": "alice", "team": True})


def test_runs_through_the_users_server_are_the_teams(hub: Hub, alice_server: str) -> None:
    name = f"via-server-{uuid.uuid4().hex[:8]}"
    status, body = via_server(
        hub,
        "alice",
        "POST",
        MLFLOW + "/runs/create",
        body={"experiment_id": "0", "run_name": name, "user_id": "bob"},
    )
    assert status == 200, body
    run = body["run"]
    assert run["info"]["user_id"] == "alice"  # the service decided, not the claim
    run_id = run["info"]["run_id"]
    # bob reads it straight from the service: one team store.
    status, got = http(
        "GET", hub.service_url + MLFLOW + f"/runs/get?run_id={run_id}", token=hub.tokens["bob"]
    )
    assert status == 200, got
    assert got["run"]["info"]["run_name"] == name
    # Errors keep MLflow's shape and status through the forwarding.
    status, body = via_server(hub, "alice", "GET", MLFLOW + "/runs/get?run_id=" + "0" * 32)
    assert status == 404, body
    assert body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    # DELETE with a JSON body (MLflow's registry routes) is forwarded with its body.
    model = f"m-{uuid.uuid4().hex[:8]}"
    status, body = via_server(
        hub, "alice", "POST", MLFLOW + "/registered-models/create", body={"name": model}
    )
    assert status == 200, body
    status, body = via_server(
        hub, "alice", "DELETE", MLFLOW + "/registered-models/delete", body={"name": model}
    )
    assert status == 200, body


def test_artifacts_stream_through_the_users_server(hub: Hub, alice_server: str) -> None:
    status, body = http(
        "POST",
        hub.service_url + MLFLOW + "/runs/create",
        token=hub.tokens["alice"],
        body={"experiment_id": "0"},
    )
    assert status == 200, body
    rel = body["run"]["info"]["artifact_uri"].split(":", 1)[1].lstrip("/")
    payload = bytes(range(256)) * 4096  # 1 MiB
    base = "/api/2.0/mlflow-artifacts/artifacts"
    status, _ = http(
        "PUT", f"{hub.service_url}{base}/{rel}/blob.bin", token=hub.tokens["alice"], raw=payload
    )
    assert status == 200
    status, got = via_server(hub, "alice", "GET", f"{base}/{rel}/blob.bin")
    assert status == 200
    assert got == payload


def test_the_browser_needs_no_token_for_the_service(hub: Hub, alice_server: str) -> None:
    """Without the server's own auth the forwarding handler is not reached (the service token
    is the server's, not a way around its login)."""
    status, _ = http("GET", f"{hub.server_url('alice')}/labtrack/api/labtrack/whoami")
    assert status in (302, 401, 403)
    status, _ = http(
        "GET", f"{hub.server_url('alice')}/labtrack/api/labtrack/whoami", token=hub.tokens["bob"]
    )
    assert status in (302, 403, 404)


def test_outsiders_server_token_is_refused_by_the_service(hub: Hub) -> None:
    """carol's server asks for the service's scope, but the hub grants a server token only
    scopes its user holds: the service refuses her, through her own server too."""
    hub.start_server("carol")
    try:
        status, body = via_server(hub, "carol", "GET", "/api/labtrack/whoami")
        assert status == 403, body
        assert body["error_code"] == "PERMISSION_DENIED"
    finally:
        hub.stop_server("carol")


# -- a kernel started by the user's server -----------------------------------------------------


async def _execute(server: str, token: str, code: str, timeout: float = 120) -> str:
    """Run ``code`` in a new kernel of the user's server; its stdout (errors raise)."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    status, kernel = http("POST", f"{server}/api/kernels", token=token, body={"name": "python3"})
    assert status == 201, kernel
    kid = kernel["id"]
    try:
        ws_url = server.replace("http://", "ws://") + f"/api/kernels/{kid}/channels"
        conn = await websocket_connect(
            HTTPRequest(ws_url, headers={"Authorization": f"token {token}"})
        )
        msg_id = uuid.uuid4().hex
        conn.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": "test",
                        "session": uuid.uuid4().hex,
                        "version": "5.3",
                        "date": "",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False, "stop_on_error": True},
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        out: list[str] = []
        errors: list[str] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0, f"kernel did not finish; output so far: {out} {errors}"
            raw = await asyncio.wait_for(conn.read_message(), remaining)
            assert raw is not None, "kernel websocket closed"
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                errors.append("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                break
        conn.close()
        assert not errors, "\n".join(errors)
        return "".join(out)
    finally:
        http("DELETE", f"{server}/api/kernels/{kid}", token=token)


def test_kernels_log_to_the_team_service_with_no_setup(hub: Hub, alice_server: str) -> None:
    name = f"from-kernel-{uuid.uuid4().hex[:8]}"
    code = (
        "import os, json\n"
        "import labtrack as lt\n"
        f"with lt.start_run(run_name={name!r}) as run:\n"
        "    lt.log_metric('loss', 0.5)\n"
        "print(json.dumps({'run_id': run.info.run_id,\n"
        "    'uri': os.environ.get('MLFLOW_TRACKING_URI'),\n"
        "    'has_mlflow_token': bool(os.environ.get('MLFLOW_TRACKING_TOKEN')),\n"
        "    'credentials': sorted(k for k, v in os.environ.items() if k.startswith('AWS_')\n"
        "        or k in ('LABTRACK_STORE_URI', 'LABTRACK_ARTIFACT_ROOT')\n"
        "        or 'postgresql' in v.lower())}))\n"
    )
    printed = asyncio.run(_execute(alice_server, hub.tokens["alice"], code))
    facts = json.loads(printed.strip().splitlines()[-1])
    # mlflow in the same kernel would find the service and a token too.
    assert facts["uri"] == hub.service_url
    assert facts["has_mlflow_token"] is True
    # ...and no storage or database credentials: only the service holds those.
    assert facts["credentials"] == []
    status, got = http(
        "GET",
        hub.service_url + MLFLOW + f"/runs/get?run_id={facts['run_id']}",
        token=hub.tokens["bob"],
    )
    assert status == 200, got
    assert got["run"]["info"]["run_name"] == name
    assert got["run"]["info"]["user_id"] == "alice"
    metrics = {m["key"]: m["value"] for m in got["run"]["data"]["metrics"]}
    assert metrics == {"loss": 0.5}
