"""``labtrack service`` behind a real JupyterHub (see ``hub_fixtures``): who gets in, and whose
runs are whose. PostgreSQL store, SeaweedFS artifacts, real proxy, real hub tokens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from hub_fixtures import Hub, http

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


def _not_created(hub: Hub, name: str) -> None:
    status, body = api(
        hub, "GET", MLFLOW + f"/experiments/get-by-name?experiment_name={name}", user="alice"
    )
    assert status == 404, body


def _refused(status: int, body: object) -> None:
    assert status in (401, 403), (status, body)
    assert isinstance(body, dict), body
    assert body["error_code"] in ("UNAUTHENTICATED", "PERMISSION_DENIED"), body


def test_an_expired_token_is_refused_and_changes_nothing(hub: Hub) -> None:
    token = str(
        hub.hub_api("POST", "users/alice/tokens", {"note": "expires", "expires_in": 1})["token"]
    )
    time.sleep(2.5)
    name = f"expired-{uuid.uuid4().hex[:8]}"
    status, body = api(
        hub, "POST", MLFLOW + "/experiments/create", token=token, body={"name": name}
    )
    _refused(status, body)
    _not_created(hub, name)


@pytest.mark.parametrize(
    "authorization",
    [
        "token",
        "Bearer ",
        "token  ",
        "token abc def",
        "Basic YWxpY2U6bGFidHJhY2stdGVzdC1wYXNzd29yZA==",  # alice's hub password
        "token " + "0" * 4000,
        "token \u00e9\u00e8",
        "Bearer\ttoken",
    ],
    ids=lambda value: value[:14].encode("unicode_escape").decode(),
)
def test_malformed_credentials_are_refused_and_change_nothing(hub: Hub, authorization: str) -> None:
    name = f"malformed-{uuid.uuid4().hex[:8]}"
    status, body = http(
        "POST",
        hub.service_url + MLFLOW + "/experiments/create",
        raw=json.dumps({"name": name}).encode(),
        headers={"Content-Type": "application/json", "Authorization": authorization},
    )
    _refused(status, body)
    _not_created(hub, name)


def test_a_token_in_the_url_is_not_accepted(hub: Hub) -> None:
    name = f"url-token-{uuid.uuid4().hex[:8]}"
    status, body = http(
        "POST",
        f"{hub.service_url}{MLFLOW}/experiments/create?token={hub.tokens['alice']}",
        body={"name": name},
    )
    _refused(status, body)
    _not_created(hub, name)


def test_a_member_token_without_the_access_scope_is_refused(hub: Hub) -> None:
    """alice is in the team, but a token she made with only ``read:users:name`` lacks
    ``access:services!service=labtrack``: 403, and nothing written."""
    token = str(
        hub.hub_api(
            "POST",
            "users/alice/tokens",
            {"note": "narrow", "scopes": ["read:users:name!user=alice"]},
        )["token"]
    )
    name = f"narrow-{uuid.uuid4().hex[:8]}"
    status, body = api(
        hub, "POST", MLFLOW + "/experiments/create", token=token, body={"name": name}
    )
    assert status == 403, body
    assert body["error_code"] == "PERMISSION_DENIED"
    _not_created(hub, name)


# -- the run's user is the authenticated user ----------------------------------------------------


def _create_run(hub: Hub, user: str, **fields):  # type: ignore[no-untyped-def]
    body = {"experiment_id": "0", "start_time": 1, **fields}
    status, resp = api(hub, "POST", MLFLOW + "/runs/create", user=user, body=body)
    assert status == 200, resp
    return resp["run"]


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def _model_tags(answer: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in answer["model"]["info"].get("tags", [])}


def test_run_user_is_the_authenticated_user_whatever_the_client_claims(hub: Hub) -> None:
    run = _create_run(hub, "alice", user_id="bob", tags=[{"key": "mlflow.user", "value": "bob"}])
    assert run["info"]["user_id"] == "alice"
    assert _tags(run)["mlflow.user"] == "alice"
    status, got = api(hub, "GET", MLFLOW + f"/runs/get?run_id={run['info']['run_id']}", user="bob")
    assert status == 200, got
    assert got["run"]["info"]["user_id"] == "alice"
    assert _tags(got["run"])["mlflow.user"] == "alice"
    # A run created with no user at all is the caller's too.
    assert _create_run(hub, "bob")["info"]["user_id"] == "bob"


def test_mlflow_user_tag_cannot_be_rewritten(hub: Hub) -> None:
    run_id = _create_run(hub, "alice")["info"]["run_id"]
    for path, body in [
        ("/runs/set-tag", {"run_id": run_id, "key": "mlflow.user", "value": "bob"}),
        ("/runs/delete-tag", {"run_id": run_id, "key": "mlflow.user"}),
        ("/runs/log-batch", {"run_id": run_id, "tags": [{"key": "mlflow.user", "value": "x"}]}),
        # the same key spelled with a JSON escape
        (
            "/runs/log-batch",
            {"run_id": run_id, "tags": [{"key": "mlflow\\u002euser", "value": "x"}]},
        ),
    ]:
        raw = __import__("json").dumps(body).replace("\\\\u002e", "\\u002e").encode()
        status, resp = api(
            hub,
            "POST",
            MLFLOW + path,
            user="alice",
            raw=raw,
            headers={"Content-Type": "application/json"},
        )
        assert status == 403, (path, resp)
        assert resp["error_code"] == "PERMISSION_DENIED"
    # Setting it to one's own name is harmless and allowed.
    status, resp = api(
        hub,
        "POST",
        MLFLOW + "/runs/set-tag",
        user="alice",
        body={"run_id": run_id, "key": "mlflow.user", "value": "alice"},
    )
    assert status == 200, resp
    status, got = api(hub, "GET", MLFLOW + f"/runs/get?run_id={run_id}", user="alice")
    assert _tags(got["run"])["mlflow.user"] == "alice"


def _grants(hub: Hub, kind: str, resource: str) -> set[tuple[str, str]]:
    query = f"resource_type={kind}&resource_id={resource}"
    status, body = api(hub, "GET", f"/api/labtrack/permissions?{query}", user="alice")
    assert status == 200, body
    return {(p["grantee"], p["permission"]) for p in body["permissions"]}


def test_no_write_route_takes_the_users_name_from_the_client(hub: Hub) -> None:
    """``user_id`` (and MLflow 2's ``run_uuid``-era fields) sent by the client name nobody: on
    every write that could carry a user, the authenticated user is the one recorded."""
    status, created = api(
        hub,
        "POST",
        MLFLOW + "/experiments/create",
        user="alice",
        body={"name": f"claims-{uuid.uuid4().hex[:8]}", "user_id": "bob", "owner": "bob"},
    )
    assert status == 200, created
    eid = created["experiment_id"]
    # The creator holds MANAGE: alice, not the bob her client named.
    assert _grants(hub, "experiment", eid) == {("alice", "MANAGE")}
    run_id = _create_run(hub, "alice", experiment_id=eid)["info"]["run_id"]
    for path, body in [
        ("/runs/update", {"run_id": run_id, "user_id": "bob", "run_name": "renamed"}),
        (
            "/runs/log-metric",
            {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1, "user_id": "bob"},
        ),
        ("/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1", "user_id": "bob"}),
        ("/runs/set-tag", {"run_id": run_id, "key": "t", "value": "v", "user_id": "bob"}),
        (
            "/runs/log-batch",
            {
                "run_id": run_id,
                "user_id": "bob",
                "tags": [{"key": "mlflow.source.name", "value": "x"}],
            },
        ),
    ]:
        status, resp = api(hub, "POST", MLFLOW + path, user="alice", body=body)
        assert status == 200, (path, resp)
    status, got = api(hub, "GET", MLFLOW + f"/runs/get?run_id={run_id}", user="bob")
    assert status == 200, got
    assert got["run"]["info"]["user_id"] == "alice"
    assert _tags(got["run"])["mlflow.user"] == "alice"

    model = f"claims-{uuid.uuid4().hex[:8]}"
    status, body = api(
        hub,
        "POST",
        MLFLOW + "/registered-models/create",
        user="alice",
        body={"name": model, "user_id": "bob"},
    )
    assert status == 200, body
    status, body = api(
        hub,
        "POST",
        MLFLOW + "/model-versions/create",
        user="alice",
        body={"name": model, "source": f"runs:/{run_id}/model", "run_id": run_id, "user_id": "bob"},
    )
    assert status == 200, body
    assert body["model_version"]["user_id"] == "alice"
    assert _grants(hub, "registered_model", model) == {("alice", "MANAGE")}


def test_outsider_cannot_write_or_upload(hub: Hub) -> None:
    run = _create_run(hub, "alice")
    status, body = api(
        hub, "POST", MLFLOW + "/runs/delete", user="carol", body={"run_id": run["info"]["run_id"]}
    )
    assert status == 403, body
    rel = run["info"]["artifact_uri"].split(":", 1)[1].lstrip("/")
    status, body = api(
        hub, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{rel}/x.txt", user="carol", raw=b"x"
    )
    assert status == 403, body
    assert body["error_code"] == "PERMISSION_DENIED"


def test_only_labtrack_is_served(hub: Hub) -> None:
    """The service's ServerApp serves no contents, kernels, terminals or other extensions."""
    for path in ("/api/contents", "/api/kernels", "/api/sessions", "/api/terminals", "/lab"):
        status, body = api(hub, "GET", path, user="alice")
        assert status == 404, (path, status, body)


# -- artifacts in the object store, proxied by the service ----------------------------------------


def test_artifact_proxy_on_s3(hub: Hub) -> None:
    # In alice's own experiment: deleting an artifact needs MANAGE (MLflow's can_delete), which
    # the team's EDIT on the Default experiment does not give.
    status, created = api(
        hub, "POST", MLFLOW + "/experiments/create", user="alice", body={"name": "s3-proxy"}
    )
    assert status == 200, created
    run = _create_run(hub, "alice", experiment_id=created["experiment_id"])
    rel = run["info"]["artifact_uri"].split(":", 1)[1].lstrip("/")
    base = "/api/2.0/mlflow-artifacts/artifacts"
    payload = b"\x00binary\xff" * 1000
    status, body = api(hub, "PUT", f"{base}/{rel}/dir/data.bin", user="alice", raw=payload)
    assert status == 200, body
    status, body = api(hub, "PUT", f"{base}/{rel}/note.txt", user="alice", raw=b"hello")
    assert status == 200, body

    # The objects are in the bucket, under the configured prefix.
    fs = hub.seaweed.filesystem()
    bucket_root = hub.artifact_root[len("s3://") :]
    assert fs.cat(f"{bucket_root}/{rel}/dir/data.bin") == payload

    status, listing = api(hub, "GET", f"{base}?path={rel}", user="bob")
    assert status == 200, listing
    files = {f["path"]: f for f in listing["files"]}
    assert files["dir"]["is_dir"] is True
    assert files["note.txt"] == {"path": "note.txt", "is_dir": False, "file_size": 5}
    status, got = api(hub, "GET", f"{base}/{rel}/dir/data.bin", user="bob")
    assert status == 200
    assert got == payload

    status, body = api(hub, "DELETE", f"{base}/{rel}/note.txt", user="alice")
    assert status == 200, body
    assert not fs.exists(f"{bucket_root}/{rel}/note.txt")
    status, body = api(hub, "GET", f"{base}/{rel}/note.txt", user="alice")
    assert status == 404, body

    # Path safety is the artifact layer's, whatever the backend. (A path that resolves outside
    # the run's folder is refused by the permission check first: 403, admins only.)
    for hostile in ("..%2f..%2fx", "%252e%252e/x", "a/../../x"):
        status, body = api(hub, "GET", f"{base}/{rel}/{hostile}", user="alice")
        assert status in (400, 403, 404), (hostile, status, body)
    status, body = api(hub, "GET", f"{base}?path=../{rel}", user="alice")
    assert status == 400, body


# -- real clients ------------------------------------------------------------------------------

CLIENTS = Path(__file__).parent / "clients"
SRC = Path(__file__).resolve().parents[2] / "src"


def _run_client(python: str, script: str, env: dict[str, str], *args: str) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "LABTRACK_", "JUPYTERHUB_", "AWS_"))
    }
    proc = subprocess.run(
        [python, str(CLIENTS / script), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    marker = "@@RESULT@@"
    lines = [line for line in proc.stdout.splitlines() if line.startswith(marker)]
    problem = f"{script} failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0, problem
    assert lines, problem
    return json.loads(lines[-1][len(marker) :])


def _s3_keys(hub: Hub, rel: str) -> list[str]:
    fs = hub.seaweed.filesystem()
    root = hub.artifact_root[len("s3://") :]
    return [k[len(root) + 1 :] for k in fs.find(f"{root}/{rel}")]


def test_real_mlflow_client_logs_as_the_token_owner(hub: Hub, tmp_path: Path) -> None:
    from mlflow_compat.envs import ensure_env

    python = str(ensure_env("mlflow3"))
    out = _run_client(
        python,
        "mlflow_team.py",
        {
            "MLFLOW_TRACKING_URI": hub.service_url,
            "MLFLOW_TRACKING_TOKEN": hub.tokens["alice"],
            # Fail in seconds, not after minutes of retried 5xx answers.
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
            # The mlflow client names the local account; the service names the hub user.
            "LOGNAME": "mallory",
            "USER": "mallory",
        },
        "team-mlflow",
    )
    assert out["user_id"] == "alice"
    assert out["mlflow_user_tag"] == "alice"
    assert out["params"] == {"lr": "0.1"}
    assert out["artifacts"] == ["files/hello.txt"]
    assert out["artifact_text"] == "hello from mlflow"
    assert out["prediction"] == pytest.approx(6.0)
    # Stored in the object store, not on the service's disk.
    status, run = api(hub, "GET", MLFLOW + f"/runs/get?run_id={out['run_id']}", user="bob")
    assert status == 200, run
    rel = run["run"]["info"]["artifact_uri"].split(":", 1)[1].lstrip("/")
    assert "files/hello.txt" in [k.split(f"{rel}/", 1)[-1] for k in _s3_keys(hub, rel)]
    # The logged model mlflow 3 created is alice's too (its client tagged it "mallory").
    model_id = out["model_uri"].split("/")[-1]
    status, model = api(hub, "GET", MLFLOW + f"/logged-models/{model_id}", user="bob")
    assert status == 200, model
    assert _model_tags(model)["mlflow.user"] == "alice"


def test_a_logged_models_user_tag_is_the_authenticated_user(hub: Hub) -> None:
    status, model = api(
        hub,
        "POST",
        MLFLOW + "/logged-models",
        user="alice",
        body={"experiment_id": "0", "tags": [{"key": "mlflow.user", "value": "bob"}]},
    )
    assert status == 200, model
    assert _model_tags(model)["mlflow.user"] == "alice"
    model_id = model["model"]["info"]["model_id"]
    path = MLFLOW + f"/logged-models/{model_id}/tags"
    status, body = api(
        hub, "PATCH", path, user="alice", body={"tags": [{"key": "mlflow.user", "value": "bob"}]}
    )
    assert status == 403, body
    assert body["error_code"] == "PERMISSION_DENIED"
    status, got = api(hub, "GET", MLFLOW + f"/logged-models/{model_id}", user="alice")
    assert _model_tags(got)["mlflow.user"] == "alice"


def test_a_colleague_cannot_take_over_or_delete_the_user_tag(hub: Hub) -> None:
    """bob may edit alice's run and logged model (the team holds EDIT on experiment 0) but not
    make them his: ``mlflow.user`` keeps the value it holds, and it cannot be deleted."""
    run_id = _create_run(hub, "alice")["info"]["run_id"]
    status, model = api(
        hub, "POST", MLFLOW + "/logged-models", user="alice", body={"experiment_id": "0"}
    )
    assert status == 200, model
    model_id = model["model"]["info"]["model_id"]
    tags = MLFLOW + f"/logged-models/{model_id}/tags"
    for method, path, body in [
        ("POST", "/runs/set-tag", {"run_id": run_id, "key": "mlflow.user", "value": "bob"}),
        (
            "POST",
            "/runs/log-batch",
            {"run_id": run_id, "tags": [{"key": "mlflow.user", "value": "bob"}]},
        ),
        (
            "PATCH",
            f"/logged-models/{model_id}/tags",
            {"tags": [{"key": "mlflow.user", "value": "bob"}]},
        ),
        ("DELETE", f"/logged-models/{model_id}/tags/mlflow.user", None),
    ]:
        status, resp = api(hub, method, MLFLOW + path, user="bob", body=body)
        assert status == 403, (method, path, resp)
        assert resp["error_code"] == "PERMISSION_DENIED"
    # Nor alice herself deletes it.
    status, resp = api(hub, "DELETE", tags + "/mlflow.user", user="alice")
    assert status == 403, resp
    # bob's other tags go through: EDIT is enough for those.
    status, resp = api(hub, "PATCH", tags, user="bob", body={"tags": [{"key": "k", "value": "v"}]})
    assert status == 200, resp
    status, resp = api(
        hub, "PATCH", tags, user="alice", body={"tags": [{"key": "mlflow.user", "value": "alice"}]}
    )
    assert status == 200, resp  # the value it holds: a no-op
    status, got = api(hub, "GET", MLFLOW + f"/logged-models/{model_id}", user="alice")
    assert _model_tags(got)["mlflow.user"] == "alice"
    assert _model_tags(got)["k"] == "v"
    status, got = api(hub, "GET", MLFLOW + f"/runs/get?run_id={run_id}", user="alice")
    assert _tags(got["run"])["mlflow.user"] == "alice"


def test_real_mlflow2_client_cannot_name_another_user(hub: Hub) -> None:
    from mlflow_compat.envs import ensure_env

    env = {"MLFLOW_TRACKING_URI": hub.service_url, "MLFLOW_TRACKING_TOKEN": hub.tokens["alice"]}
    # The client's own account names someone else; retries off: refusals come at once.
    env |= {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "LOGNAME": "mallory", "USER": "mallory"}
    experiment = f"team-mlflow2-{uuid.uuid4().hex[:6]}"
    out = _run_client(str(ensure_env("mlflow2")), "mlflow2_team.py", env, experiment)
    assert out == {
        "refused_set_tag": True,
        "refused_set_tags": True,
        "refused_log_batch": True,
        "refused_delete_tag": True,
        "fluent": ["alice", "alice"],
        "client": ["alice", "alice"],
    }


def test_real_mlflow_client_without_access_is_refused(hub: Hub) -> None:
    from mlflow_compat.envs import ensure_env

    python = str(ensure_env("mlflow3"))
    out = _run_client(
        python,
        "mlflow_denied.py",
        {"MLFLOW_TRACKING_URI": hub.service_url, "MLFLOW_TRACKING_TOKEN": hub.tokens["carol"]},
    )
    assert "error" in out
    assert "403" in out["error"] or "PERMISSION_DENIED" in out["error"]


def test_labtrack_client_logs_artifacts_and_a_model_through_the_service(hub: Hub) -> None:
    out = _run_client(
        sys.executable,
        "labtrack_team.py",
        {
            "LABTRACK_TRACKING_URI": hub.service_url,
            "LABTRACK_TRACKING_TOKEN": hub.tokens["bob"],
            "LABTRACK_USER": "someone-else",
            "PYTHONPATH": str(SRC),
        },
        "team-labtrack",
    )
    assert out["user_id"] == "bob"
    assert out["mlflow_user_tag"] == "bob"
    assert out["metric"] == pytest.approx(0.4)
    assert out["listing"] == [["data/a.txt", False], ["data/sub", True]]
    assert out["downloaded_size"] == 10000
    assert out["prediction"] == pytest.approx(5.0)


# -- browsers: hub OAuth --------------------------------------------------------------------


def _browser_login(hub: Hub, user: str):  # type: ignore[no-untyped-def]
    """A requests session logged in to the hub with the password form, as a browser would."""
    import requests

    from hub_fixtures import PASSWORD

    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=30)
    xsrf = session.cookies.get("_xsrf", path="/hub/")
    resp = session.post(
        f"{hub.url}/hub/login",
        data={"username": user, "password": PASSWORD, "_xsrf": xsrf},
        allow_redirects=False,  # to /hub/spawn: no user servers here
        timeout=30,
    )
    assert resp.status_code == 302, resp.text[:500]
    return session


def test_browser_oauth_cookie(hub: Hub) -> None:
    session = _browser_login(hub, "alice")
    target = "/services/labtrack/api/2.0/mlflow/experiments/get?experiment_id=0"
    resp = session.get(f"{hub.service_url}/oauth_login", params={"next": target}, timeout=30)
    assert resp.status_code == 200, resp.text[:500]
    assert resp.url == hub.url + target
    assert resp.json()["experiment"]["experiment_id"] == "0"
    # The cookie alone now identifies alice for reads...
    resp = session.get(hub.url + target, timeout=30)
    assert resp.status_code == 200
    # ...but a cookie-authenticated write without the XSRF token is refused.
    resp = session.post(
        f"{hub.service_url}{MLFLOW}/runs/create",
        json={"experiment_id": "0"},
        headers={"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"},
        timeout=30,
    )
    assert resp.status_code == 403, resp.text[:500]
    # An open redirect is not offered: ``next`` must stay under the service prefix.
    resp = session.get(
        f"{hub.service_url}/oauth_login",
        params={"next": "https://elsewhere.invalid/"},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 302, (resp.status_code, resp.text[:300])
    assert "elsewhere.invalid" not in resp.headers["Location"]


def test_the_proxy_serves_the_request_after_a_refusal(hub: Hub) -> None:
    """The service refuses before reading a request's body and then closes the connection;
    the hub's proxy keeps connections to it alive. Unless the refusal says ``Connection:
    close``, the proxy sent the next request on the closing connection and answered it 503
    ("socket hang up"): seen in CI after the cookie POST of test_browser_oauth_cookie. Both
    users' requests go one after the other over one connection to the proxy, as a browser's
    would."""
    import requests

    url = f"{hub.service_url}{MLFLOW}"
    with requests.Session() as session:
        for attempt in range(40):
            resp = session.post(
                f"{url}/runs/create",
                json={"experiment_id": "0"},
                headers={"Authorization": f"token {hub.tokens['carol']}"},
                timeout=30,
            )
            assert resp.status_code == 403, (attempt, resp.status_code, resp.text[:300])
            resp = session.get(
                f"{url}/experiments/get?experiment_id=0",
                headers={"Authorization": f"token {hub.tokens['alice']}"},
                timeout=30,
            )
            assert resp.status_code == 200, (attempt, resp.status_code, resp.text[:300])


def test_browser_outsider_is_refused_after_oauth(hub: Hub) -> None:
    session = _browser_login(hub, "carol")
    target = "/services/labtrack/api/2.0/mlflow/experiments/get?experiment_id=0"
    resp = session.get(f"{hub.service_url}/oauth_login", params={"next": target}, timeout=30)
    # carol has no access scope for the service: the hub refuses the OAuth request, or the
    # service refuses the request it leads to.
    assert resp.status_code == 403, (resp.url, resp.text[:500])


# -- an externally managed service (a replica over the same store and bucket) ----------------------


def test_externally_managed_replica(hub: Hub) -> None:
    run = _create_run(hub, "alice", user_id="mallory")
    run_id = run["info"]["run_id"]
    rel = run["info"]["artifact_uri"].split(":", 1)[1].lstrip("/")
    status, body = http(
        "PUT",
        f"{hub.service_url}/api/2.0/mlflow-artifacts/artifacts/{rel}/from-managed.txt",
        token=hub.tokens["alice"],
        raw=b"written through the managed service",
    )
    assert status == 200, body
    # The external service, started outside the hub, reads the same store and bucket...
    status, got = http(
        "GET", f"{hub.external_url}{MLFLOW}/runs/get?run_id={run_id}", token=hub.tokens["bob"]
    )
    assert status == 200, got
    assert got["run"]["info"]["user_id"] == "alice"
    status, data = http(
        "GET",
        f"{hub.external_url}/api/2.0/mlflow-artifacts/artifacts/{rel}/from-managed.txt",
        token=hub.tokens["bob"],
    )
    assert status == 200
    assert data == b"written through the managed service"
    # ...authenticates with the hub the same way, with its own access scope...
    status, body = http(
        "GET", f"{hub.external_url}{MLFLOW}/runs/get?run_id={run_id}", token=hub.tokens["carol"]
    )
    assert status == 403, body
    # ...and names the run's user after the token too.
    status, created = http(
        "POST",
        f"{hub.external_url}{MLFLOW}/runs/create",
        token=hub.tokens["bob"],
        body={"experiment_id": "0", "user_id": "alice"},
    )
    assert status == 200, created
    assert created["run"]["info"]["user_id"] == "bob"
