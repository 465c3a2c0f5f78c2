"""Permissions on the team service, through a real JupyterHub (``hub_fixtures``): alice and bob
are in the group ``team`` (admitted, default READ), carol is not admitted, ``admin`` is a hub
admin. PostgreSQL store, SeaweedFS artifacts, real hub tokens, and MLflow 3.17's own auth
client for grants."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from hub_fixtures import Hub, http

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MLFLOW = "/api/2.0/mlflow"
MLFLOW3 = "/api/3.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
CLIENTS = Path(__file__).parent / "clients"


def api(hub: Hub, method: str, path: str, user: str, **kw: Any) -> tuple[int, Any]:
    return http(method, hub.service_url + path, token=hub.tokens[user], **kw)


def ok(hub: Hub, method: str, path: str, user: str, **kw: Any) -> Any:
    status, body = api(hub, method, path, user, **kw)
    assert status == 200, (method, path, user, status, body)
    return body


def denied(hub: Hub, method: str, path: str, user: str, **kw: Any) -> None:
    status, body = api(hub, method, path, user, **kw)
    assert status == 403, (method, path, user, status, body)
    assert isinstance(body, dict), body
    assert body["error_code"] == "PERMISSION_DENIED", body
    assert body["message"]


def _experiment(hub: Hub, user: str) -> str:
    name = f"perm-{uuid.uuid4().hex[:10]}"
    return str(
        ok(hub, "POST", MLFLOW + "/experiments/create", user, body={"name": name})["experiment_id"]
    )


def _run(hub: Hub, user: str, eid: str) -> dict[str, Any]:
    run = ok(hub, "POST", MLFLOW + "/runs/create", user, body={"experiment_id": eid})["run"]
    metric = {"key": "loss", "value": 0.5, "timestamp": 1, "step": 0}
    ok(
        hub,
        "POST",
        MLFLOW + "/runs/log-batch",
        user,
        body={"run_id": run["info"]["run_id"], "metrics": [metric]},
    )
    return run


def _grant(hub: Hub, granter: str, eid: str, permission: str, **grantee: str) -> tuple[int, Any]:
    body = {"resource_type": "experiment", "resource_id": eid, "permission": permission, **grantee}
    return api(hub, "POST", MLFLOW3 + "/users/permissions/grant", granter, body=body)


def _mlflow_auth(hub: Hub, user: str, *args: str) -> dict[str, Any]:
    from mlflow_compat.envs import ensure_env

    python = str(ensure_env("mlflow3"))
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLFLOW_", "LABTRACK_", "JUPYTERHUB_", "AWS_"))
    }
    env = {
        **clean,
        "MLFLOW_TRACKING_URI": hub.service_url,
        "MLFLOW_TRACKING_TOKEN": hub.tokens[user],
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    proc = subprocess.run(
        [python, str(CLIENTS / "mlflow_auth.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("@@RESULT@@")]
    problem = f"{proc.stdout}\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0, problem
    assert lines, problem
    return dict(json.loads(lines[-1][len("@@RESULT@@") :]))


def _metric_history(hub: Hub, user: str, run_id: str) -> list[Any]:
    body = ok(hub, "GET", MLFLOW + f"/metrics/get-history?run_id={run_id}&metric_key=loss", user)
    return list(body.get("metrics", []))


def test_default_read_then_an_edit_grant_with_mlflows_auth_client(hub: Hub) -> None:
    eid = _experiment(hub, "alice")
    run = _run(hub, "alice", eid)
    run_id = run["info"]["run_id"]

    # bob (same group, default READ) sees it...
    found = ok(hub, "POST", MLFLOW + "/experiments/search", "bob", body={"max_results": 50000})
    assert eid in [e["experiment_id"] for e in found["experiments"]]
    runs = ok(hub, "POST", MLFLOW + "/runs/search", "bob", body={"experiment_ids": [eid]})
    assert [r["info"]["run_id"] for r in runs["runs"]] == [run_id]
    # ...but cannot delete the run, log to it, create runs in it, or grant anything.
    point = {"key": "loss", "value": 9.0, "timestamp": 2, "step": 1}
    denied(hub, "POST", MLFLOW + "/runs/delete", "bob", body={"run_id": run_id})
    denied(
        hub, "POST", MLFLOW + "/runs/log-batch", "bob", body={"run_id": run_id, "metrics": [point]}
    )
    denied(
        hub,
        "POST",
        MLFLOW + "/runs/set-tag",
        "bob",
        body={"run_id": run_id, "key": "k", "value": "v"},
    )
    denied(hub, "POST", MLFLOW + "/runs/create", "bob", body={"experiment_id": eid})
    denied(hub, "POST", MLFLOW + "/experiments/delete", "bob", body={"experiment_id": eid})
    rel = run["info"]["artifact_uri"].split(":", 1)[1].lstrip("/")
    denied(hub, "PUT", f"{ARTIFACTS}/{rel}/bob.txt", "bob", raw=b"bob was here")
    status, _ = _grant(hub, "bob", eid, "EDIT", username="bob")
    assert status == 403
    # Nothing changed.
    got = ok(hub, "GET", MLFLOW + f"/runs/get?run_id={run_id}", "alice")["run"]
    assert got["info"]["lifecycle_stage"] == "active"
    assert "k" not in {t["key"] for t in got["data"].get("tags", [])}
    assert [m["value"] for m in _metric_history(hub, "alice", run_id)] == [0.5]
    assert (
        len(
            ok(hub, "POST", MLFLOW + "/runs/search", "alice", body={"experiment_ids": [eid]})[
                "runs"
            ]
        )
        == 1
    )
    listing = ok(hub, "GET", f"{ARTIFACTS}?path={rel}", "alice")
    assert "bob.txt" not in [f["path"] for f in listing.get("files", [])]

    # alice grants bob EDIT with MLflow 3.17's own auth client and a hub token.
    assert _mlflow_auth(hub, "alice", "grant", "bob", "experiment", eid, "EDIT") == {
        "granted": True
    }
    assert _mlflow_auth(hub, "alice", "get", "bob", "experiment", eid) == {
        "permission": "EDIT",
        "allowed": True,
    }
    assert _mlflow_auth(hub, "bob", "get", "bob", "experiment", eid)["permission"] == "EDIT"
    # Now bob logs, with the real mlflow client too...
    assert _mlflow_auth(hub, "bob", "log", eid, run_id) == {"logged": True}
    ok(hub, "POST", MLFLOW + "/runs/log-batch", "bob", body={"run_id": run_id, "metrics": [point]})
    assert sorted(m["value"] for m in _metric_history(hub, "alice", run_id)) == [0.5, 9.0]
    # ...but EDIT is not delete, and bob cannot pass on more than... anything: no MANAGE.
    denied(hub, "POST", MLFLOW + "/runs/delete", "bob", body={"run_id": run_id})
    out = _mlflow_auth(hub, "bob", "grant", "carol", "experiment", eid, "READ")
    assert "PERMISSION_DENIED" in out["error"] or "403" in out["error"], out
    out = _mlflow_auth(hub, "bob", "grant", "bob", "experiment", eid, "MANAGE")
    assert "PERMISSION_DENIED" in out["error"] or "403" in out["error"], out
    assert _mlflow_auth(hub, "alice", "get", "bob", "experiment", eid)["permission"] == "EDIT"

    # Revoked: back to the default.
    assert _mlflow_auth(hub, "alice", "revoke", "bob", "experiment", eid) == {"revoked": True}
    denied(
        hub, "POST", MLFLOW + "/runs/log-batch", "bob", body={"run_id": run_id, "metrics": [point]}
    )
    # The creator deletes.
    ok(hub, "POST", MLFLOW + "/runs/delete", "alice", body={"run_id": run_id})


def test_a_hub_group_is_a_grantee(hub: Hub) -> None:
    eid = _experiment(hub, "alice")
    run_id = _run(hub, "alice", eid)["info"]["run_id"]
    point = {"key": "g", "value": 1.0, "timestamp": 1, "step": 0}
    denied(
        hub, "POST", MLFLOW + "/runs/log-batch", "bob", body={"run_id": run_id, "metrics": [point]}
    )
    status, body = _grant(hub, "alice", eid, "EDIT", group_name="team")
    assert status == 200, body
    ok(hub, "POST", MLFLOW + "/runs/log-batch", "bob", body={"run_id": run_id, "metrics": [point]})
    listing = ok(
        hub, "GET", f"/api/labtrack/permissions?resource_type=experiment&resource_id={eid}", "bob"
    )
    assert {(p["grantee_kind"], p["grantee"], p["permission"]) for p in listing["permissions"]} == {
        ("user", "alice", "MANAGE"),
        ("group", "team", "EDIT"),
    }
    assert listing["my_permission"] == "EDIT"
    # Another user's effective level counts their hub groups (the service asks the hub).
    query = f"username=bob&resource_type=experiment&resource_id={eid}"
    got = ok(hub, "GET", MLFLOW3 + f"/users/permissions/get?{query}", "alice")
    assert got == {"allowed": True, "permission": "EDIT"}
    got = ok(
        hub, "GET", MLFLOW3 + f"/users/permissions/get?{query.replace('bob', 'carol')}", "alice"
    )
    assert got == {"allowed": False, "permission": "READ"}
    # Only a MANAGE holder asks about others.
    denied(
        hub,
        "GET",
        MLFLOW3
        + f"/users/permissions/get?username=alice&resource_type=experiment&resource_id={eid}",
        "bob",
    )
    mine = ok(hub, "GET", MLFLOW3 + "/users/current/permissions", "bob")
    assert {
        "resource_type": "experiment",
        "resource_pattern": eid,
        "permission": "EDIT",
    }.items() <= next(p for p in mine["permissions"] if p["resource_pattern"] == eid).items()


def test_hub_admin_is_admin(hub: Hub) -> None:
    eid = _experiment(hub, "alice")
    run_id = _run(hub, "alice", eid)["info"]["run_id"]
    status, body = _grant(hub, "alice", eid, "NO_PERMISSIONS", username="admin")
    assert status == 200, body
    ok(hub, "GET", MLFLOW + f"/runs/get?run_id={run_id}", "admin")
    status, body = _grant(hub, "admin", eid, "MANAGE", username="bob")
    assert status == 200, body
    ok(hub, "POST", MLFLOW + "/runs/delete", "bob", body={"run_id": run_id})


def test_outsider_gets_403_everywhere(hub: Hub) -> None:
    eid = _experiment(hub, "alice")
    run = _run(hub, "alice", eid)
    run_id = run["info"]["run_id"]
    rel = run["info"]["artifact_uri"].split(":", 1)[1].lstrip("/")
    for method, path, kw in [
        ("GET", MLFLOW + f"/experiments/get?experiment_id={eid}", {}),
        ("POST", MLFLOW + "/experiments/search", {"body": {}}),
        ("POST", MLFLOW + "/experiments/create", {"body": {"name": "carol-exp"}}),
        ("GET", MLFLOW + f"/runs/get?run_id={run_id}", {}),
        ("POST", MLFLOW + "/runs/search", {"body": {"experiment_ids": [eid]}}),
        ("POST", MLFLOW + "/runs/delete", {"body": {"run_id": run_id}}),
        ("GET", MLFLOW + f"/metrics/get-history?run_id={run_id}&metric_key=loss", {}),
        ("GET", "/api/labtrack/changes?cursor=0", {}),
        ("GET", f"/api/labtrack/runs/count?experiment_ids={eid}", {}),
        ("GET", f"{ARTIFACTS}?path={rel}", {}),
        ("PUT", f"{ARTIFACTS}/{rel}/carol.txt", {"raw": b"x"}),
        (
            "POST",
            MLFLOW3 + "/users/permissions/grant",
            {
                "body": {
                    "username": "carol",
                    "resource_type": "experiment",
                    "resource_id": eid,
                    "permission": "READ",
                }
            },
        ),
        ("GET", MLFLOW3 + "/users/current/permissions", {}),
        ("GET", MLFLOW + "/registered-models/search", {}),
    ]:
        denied(hub, method, path, "carol", **kw)
    got = ok(hub, "GET", MLFLOW + f"/runs/get?run_id={run_id}", "alice")["run"]
    assert got["info"]["lifecycle_stage"] == "active"
    status, _ = api(
        hub, "GET", MLFLOW + "/experiments/get-by-name?experiment_name=carol-exp", "alice"
    )
    assert status == 404


def test_without_read_an_experiment_is_invisible_everywhere(hub: Hub) -> None:
    eid = _experiment(hub, "alice")
    name = ok(hub, "GET", MLFLOW + f"/experiments/get?experiment_id={eid}", "alice")["experiment"][
        "name"
    ]
    status, body = _grant(hub, "alice", eid, "NO_PERMISSIONS", group_name="team")
    assert status == 200, body
    # alice's own MANAGE is the highest of her grants: she still sees and writes it.
    cursor = ok(hub, "GET", "/api/labtrack/changes", "bob")["cursor"]
    run = _run(hub, "alice", eid)
    run_id = run["info"]["run_id"]
    rel = run["info"]["artifact_uri"].split(":", 1)[1].lstrip("/")
    ok(hub, "PUT", f"{ARTIFACTS}/{rel}/secret.txt", "alice", raw=b"secret")
    assert ok(hub, "GET", f"{ARTIFACTS}/{rel}/secret.txt", "alice") == b"secret"

    # bob: not in search (experiments, runs, counts), not by id or name, no run, history,
    # series, artifacts listing or download, and nothing in the change feed.
    found = ok(hub, "POST", MLFLOW + "/experiments/search", "bob", body={"max_results": 50000})
    assert eid not in [e["experiment_id"] for e in found["experiments"]]
    runs = ok(hub, "POST", MLFLOW + "/runs/search", "bob", body={"experiment_ids": [eid, "0"]})
    assert run_id not in [r["info"]["run_id"] for r in runs.get("runs", [])]
    counts = ok(hub, "GET", f"/api/labtrack/runs/count?experiment_ids={eid}", "bob")
    assert counts["total"] == 0
    denied(hub, "GET", MLFLOW + f"/experiments/get?experiment_id={eid}", "bob")
    denied(hub, "GET", MLFLOW + f"/experiments/get-by-name?experiment_name={name}", "bob")
    denied(hub, "GET", MLFLOW + f"/runs/get?run_id={run_id}", "bob")
    denied(hub, "GET", MLFLOW + f"/metrics/get-history?run_id={run_id}&metric_key=loss", "bob")
    denied(hub, "GET", f"/api/labtrack/metrics/series?run_ids={run_id}&metric_key=loss", "bob")
    denied(hub, "GET", MLFLOW + f"/artifacts/list?run_id={run_id}", "bob")
    denied(hub, "GET", f"{ARTIFACTS}?path={rel}", "bob")
    denied(hub, "GET", f"{ARTIFACTS}/{rel}/secret.txt", "bob")
    denied(hub, "GET", f"{ARTIFACTS}?path=", "bob")  # the store's own layout: admins only
    changes = ok(hub, "GET", f"/api/labtrack/changes?cursor={cursor}", "bob")["changes"]
    assert all(c["experiment_id"] != eid for c in changes)
    alice_changes = ok(hub, "GET", f"/api/labtrack/changes?cursor={cursor}", "alice")["changes"]
    assert any(c["experiment_id"] == eid for c in alice_changes)
    # Logged models of the experiment are not found by search either.
    models = ok(
        hub, "POST", MLFLOW + "/logged-models/search", "bob", body={"experiment_ids": [eid]}
    )
    assert models.get("models", []) == []


def test_without_read_logged_models_their_files_and_grants_are_denied(hub: Hub) -> None:
    """The routes the test above leaves out: a logged model by id and its files, the GET form
    of experiments/search, and the experiment's grants."""
    eid = _experiment(hub, "alice")
    status, body = _grant(hub, "alice", eid, "NO_PERMISSIONS", group_name="team")
    assert status == 200, body
    model = ok(
        hub,
        "POST",
        MLFLOW + "/logged-models",
        "alice",
        body={"experiment_id": eid, "name": "hidden-model"},
    )["model"]["info"]
    model_id = model["model_id"]
    rel = model["artifact_uri"].split(":", 1)[1].lstrip("/")
    ok(hub, "PUT", f"{ARTIFACTS}/{rel}/MLmodel", "alice", raw=b"flavors: {}")
    assert (
        ok(hub, "GET", MLFLOW + f"/logged-models/{model_id}", "alice")["model"]["info"]["model_id"]
        == model_id
    )

    denied(hub, "GET", MLFLOW + f"/logged-models/{model_id}", "bob")
    denied(hub, "GET", f"{ARTIFACTS}?path={rel}", "bob")
    denied(hub, "GET", f"{ARTIFACTS}/{rel}/MLmodel", "bob")
    denied(
        hub, "GET", f"/api/labtrack/permissions?resource_type=experiment&resource_id={eid}", "bob"
    )
    found = ok(hub, "GET", MLFLOW + "/experiments/search?max_results=50000", "bob")
    assert eid not in [e["experiment_id"] for e in found.get("experiments", [])]
    # bob cannot write to it either (EDIT would be needed; he holds nothing).
    denied(
        hub,
        "PATCH",
        MLFLOW + f"/logged-models/{model_id}/tags",
        "bob",
        body={"tags": [{"key": "k", "value": "v"}]},
    )


def test_registered_models_follow_their_own_permissions(hub: Hub) -> None:
    name = f"model-{uuid.uuid4().hex[:8]}"
    ok(hub, "POST", MLFLOW + "/registered-models/create", "alice", body={"name": name})
    ok(
        hub,
        "POST",
        MLFLOW + "/model-versions/create",
        "alice",
        body={"name": name, "source": "mlflow-artifacts:/0/r/artifacts/model"},
    )
    # bob reads (the default) but neither deletes nor adds versions.
    ok(hub, "GET", MLFLOW + f"/registered-models/get?name={name}", "bob")
    denied(hub, "DELETE", MLFLOW + "/registered-models/delete", "bob", body={"name": name})
    denied(
        hub,
        "POST",
        MLFLOW + "/model-versions/create",
        "bob",
        body={"name": name, "source": "mlflow-artifacts:/0/r/artifacts/model2"},
    )
    denied(
        hub,
        "POST",
        MLFLOW + "/registered-models/set-tag",
        "bob",
        body={"name": name, "key": "k", "value": "v"},
    )
    got = ok(hub, "GET", MLFLOW + f"/registered-models/get?name={name}", "alice")
    assert got["registered_model"]["latest_versions"][0]["version"] == "1"
    assert "tags" not in got["registered_model"] or not got["registered_model"]["tags"]
    # Hidden from bob: not in either search, not by name.
    body = {
        "username": "bob",
        "resource_type": "registered_model",
        "resource_id": name,
        "permission": "NO_PERMISSIONS",
    }
    ok(hub, "POST", MLFLOW3 + "/users/permissions/grant", "alice", body=body)
    models = ok(hub, "GET", MLFLOW + f"/registered-models/search?filter=name='{name}'", "bob")
    assert models.get("registered_models", []) == []
    versions = ok(hub, "GET", MLFLOW + f"/model-versions/search?filter=name='{name}'", "bob")
    assert versions.get("model_versions", []) == []
    denied(hub, "GET", MLFLOW + f"/registered-models/get?name={name}", "bob")
    mine = ok(hub, "GET", MLFLOW + f"/model-versions/search?filter=name='{name}'", "alice")
    assert len(mine["model_versions"]) == 1


def test_hub_groups_are_mlflows_roles(hub: Hub) -> None:
    eid = _experiment(hub, "alice")
    run_id = _run(hub, "alice", eid)["info"]["run_id"]
    point = {"key": "r", "value": 1.0, "timestamp": 1, "step": 0}
    # bob's groups are his roles.
    roles = _mlflow_auth(hub, "bob", "roles")["roles"]
    assert set(roles) == {"team"}
    team = str(roles["team"])
    assert _mlflow_auth(hub, "carol", "roles").get("error")  # not admitted
    # bob may not grant his role anything on alice's experiment...
    out = _mlflow_auth(hub, "bob", "add-role-permission", team, "experiment", eid, "EDIT")
    assert "PERMISSION_DENIED" in out["error"] or "403" in out["error"], out
    # ...alice (MANAGE) may, with MLflow's own client.
    added = _mlflow_auth(hub, "alice", "add-role-permission", team, "experiment", eid, "EDIT")
    grant_id, role_id, pattern, level = added["role_permission"]
    assert (str(role_id), pattern, level) == (team, eid, "EDIT")
    listed = _mlflow_auth(hub, "bob", "list-role-permissions", team)["role_permissions"]
    assert [grant_id, "experiment", eid, "EDIT"] in listed
    ok(hub, "POST", MLFLOW + "/runs/log-batch", "bob", body={"run_id": run_id, "metrics": [point]})
    updated = _mlflow_auth(hub, "alice", "update-role-permission", str(grant_id), "READ")
    assert updated["role_permission"] == [grant_id, role_id, eid, "READ"]
    denied(
        hub, "POST", MLFLOW + "/runs/log-batch", "bob", body={"run_id": run_id, "metrics": [point]}
    )
    out = _mlflow_auth(hub, "bob", "remove-role-permission", str(grant_id))
    assert "PERMISSION_DENIED" in out["error"] or "403" in out["error"], out
    assert _mlflow_auth(hub, "alice", "remove-role-permission", str(grant_id)) == {"removed": True}
    listed = _mlflow_auth(hub, "bob", "list-role-permissions", team)["role_permissions"]
    assert [p for p in listed if p[2] == eid] == []


def _listing(hub: Hub, user: str, eid: str) -> dict[str, Any]:
    query = f"resource_type=experiment&resource_id={eid}"
    return dict(ok(hub, "GET", f"/api/labtrack/permissions?{query}", user))


def _rows(listing: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["grantee_kind"], r["grantee"]): r for r in listing["permissions"]}


def test_the_listing_says_each_grantees_effective_level_and_its_source(hub: Hub) -> None:
    """bob's own grant is USE, his group's EDIT: he holds EDIT, via the group, and the listing
    says so (the same rule as the checks: bob can log). A grant to a name the hub does not know
    is marked. Other users' effective levels (which tell their groups) are for managers."""
    eid = _experiment(hub, "alice")
    assert _grant(hub, "alice", eid, "USE", username="bob")[0] == 200
    assert _grant(hub, "alice", eid, "EDIT", group_name="team")[0] == 200
    ghost = f"ghost-{uuid.uuid4().hex[:6]}"
    assert _grant(hub, "alice", eid, "READ", username=ghost)[0] == 200
    listing = _listing(hub, "alice", eid)
    rows = _rows(listing)
    assert listing["my_source"] == {"permission": "MANAGE", "source": "direct"}
    assert rows[("user", "alice")]["effective"] == {"permission": "MANAGE", "source": "direct"}
    assert rows[("user", "bob")]["permission"] == "USE"
    assert rows[("user", "bob")]["effective"] == {
        "permission": "EDIT",
        "source": "group",
        "group": "team",
    }
    assert rows[("user", "bob")]["hub_user"] is True
    assert rows[("group", "team")]["effective"] == {"permission": "EDIT", "source": "direct"}
    assert rows[("user", ghost)]["hub_user"] is False
    assert rows[("user", ghost)]["effective"] == {"permission": "READ", "source": "direct"}
    # The checks agree: bob logs (EDIT), as the listing says.
    _run(hub, "bob", eid)

    # bob (EDIT, no MANAGE) sees his own and the groups', not alice's or the ghost's.
    rows = _rows(bob := _listing(hub, "bob", eid))
    assert bob["my_source"] == {"permission": "EDIT", "source": "group", "group": "team"}
    assert rows[("user", "bob")]["effective"]["source"] == "group"
    assert "effective" not in rows[("user", "alice")]
    assert "hub_user" not in rows[("user", ghost)]
    # With the group's grant gone, bob's own decides; an admin's level is the admin's.
    ok(
        hub,
        "POST",
        MLFLOW3 + "/users/permissions/revoke",
        "alice",
        body={"resource_type": "experiment", "resource_id": eid, "group_name": "team"},
    )
    assert _rows(_listing(hub, "alice", eid))[("user", "bob")]["effective"] == {
        "permission": "USE",
        "source": "direct",
    }
    assert _listing(hub, "admin", eid)["my_source"] == {"permission": "MANAGE", "source": "admin"}
    # Someone with no grant holds the team default.
    other = _experiment(hub, "alice")
    assert _listing(hub, "bob", other)["my_source"] == {"permission": "READ", "source": "default"}


def _names(hub: Hub, user: str, eid: str, **query: str) -> tuple[int, Any]:
    q = "&".join(
        f"{k}={v}" for k, v in {"resource_type": "experiment", "resource_id": eid, **query}.items()
    )
    return api(hub, "GET", f"/api/labtrack/permissions/names?{q}", user)


def test_grantee_suggestions_come_from_the_hub_for_managers_only(hub: Hub) -> None:
    eid = _experiment(hub, "alice")
    status, body = _names(hub, "alice", eid, kind="user", name="bo")
    assert status == 200, body
    assert body["hub_answered"] is True
    assert "bob" in body["users"]
    assert body["known"] is False  # no hub user is called "bo"
    status, body = _names(hub, "alice", eid, kind="user", name="bob")
    assert body["users"][0] == "bob"
    assert body["known"] is True
    status, body = _names(hub, "alice", eid, kind="group", name="TE")
    assert "team" in body["groups"]
    assert body["users"] == []
    assert body["known"] is False  # group names are exact: "TE" is not "team"
    status, body = _names(hub, "alice", eid, kind="group", name="team")
    assert body["known"] is True
    # Both kinds at once, no exact check.
    status, body = _names(hub, "alice", eid, name="a")
    assert "alice" in body["users"]
    assert "team" in body["groups"]
    assert body["known"] is None
    # Readers who do not manage the experiment (bob), and outsiders, get no names.
    status, body = _names(hub, "bob", eid, kind="user", name="a")
    assert status == 403, body
    assert body["error_code"] == "PERMISSION_DENIED"
    status, body = _names(hub, "carol", eid, kind="user", name="a")
    assert status == 403, body
    # A hub admin may (MANAGE everywhere).
    status, body = _names(hub, "admin", eid, kind="user", name="ali")
    assert status == 200, body
    assert "alice" in body["users"]
