"""Run with an mlflow 3.x interpreter: MLflow's own auth client against the team service
(MLFLOW_TRACKING_URI / MLFLOW_TRACKING_TOKEN from the environment).

argv: an action and its arguments:
- grant <username> <resource_type> <resource_id> <permission>
- get <username> <resource_type> <resource_id>
- revoke <username> <resource_type> <resource_id>
- log <experiment_id> <run_id>: log a metric to the run with the fluent client
- roles; add-role-permission <role_id> <type> <pattern> <permission>;
  list-role-permissions <role_id>; update-role-permission <id> <permission>;
  remove-role-permission <id>: MLflow's roles API, a role being a hub group
"""

import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
from mlflow.server import get_app_client  # noqa: E402

action, *args = sys.argv[1:]
out = {}
try:
    if action == "log":
        client = mlflow.MlflowClient()
        client.log_metric(args[1], "from-mlflow", 1.5, step=3)
        out["logged"] = True
    else:
        auth = get_app_client("basic-auth", tracking_uri=os.environ["MLFLOW_TRACKING_URI"])
        if action == "grant":
            auth.grant_user_permission(*args)
            out["granted"] = True
        elif action == "get":
            result = auth.get_user_permission(*args)
            out["permission"] = result.permission
            out["allowed"] = result.allowed
        elif action == "revoke":
            auth.revoke_user_permission(*args)
            out["revoked"] = True
        elif action == "roles":
            out["roles"] = {r.name: r.id for r in auth.list_roles("default")}
        elif action == "add-role-permission":
            rp = auth.add_role_permission(int(args[0]), args[1], args[2], args[3])
            out["role_permission"] = [rp.id, rp.role_id, rp.resource_pattern, rp.permission]
        elif action == "list-role-permissions":
            out["role_permissions"] = [
                [rp.id, rp.resource_type, rp.resource_pattern, rp.permission]
                for rp in auth.list_role_permissions(int(args[0]))
            ]
        elif action == "update-role-permission":
            rp = auth.update_role_permission(int(args[0]), args[1])
            out["role_permission"] = [rp.id, rp.role_id, rp.resource_pattern, rp.permission]
        elif action == "remove-role-permission":
            auth.remove_role_permission(int(args[0]))
            out["removed"] = True
except Exception as exc:  # the error as the client words it
    out["error"] = f"{type(exc).__name__}: {exc}"[:800]
print("@@RESULT@@" + json.dumps(out))
