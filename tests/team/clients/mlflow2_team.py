"""Run with an mlflow 2.x interpreter against the team service (MLFLOW_TRACKING_URI /
MLFLOW_TRACKING_TOKEN from the environment, USER naming someone else): every way the 2.x client
names a run's user, and what the service makes of it."""

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import RunTag  # noqa: E402


def refused(call):
    try:
        call()
    except Exception as exc:
        return "PERMISSION_DENIED" in str(exc) or "403" in str(exc)
    return False


out = {}
client = MlflowClient()
experiment_id = mlflow.set_experiment(sys.argv[1]).experiment_id
with mlflow.start_run() as run:  # user_id and mlflow.user from $USER
    mlflow.log_param("p", "1")
    mlflow.log_metric("m", 1.0)
    out["refused_set_tag"] = refused(lambda: mlflow.set_tag("mlflow.user", "bob"))
    out["refused_set_tags"] = refused(lambda: mlflow.set_tags({"mlflow.user": "bob"}))
    out["refused_log_batch"] = refused(
        lambda: client.log_batch(run.info.run_id, tags=[RunTag("mlflow.user", "bob")])
    )
    out["refused_delete_tag"] = refused(lambda: client.delete_tag(run.info.run_id, "mlflow.user"))
started = client.get_run(run.info.run_id)
out["fluent"] = [started.info.user_id, started.data.tags.get("mlflow.user")]
claimed = client.create_run(experiment_id, tags={"mlflow.user": "bob"})
got = client.get_run(claimed.info.run_id)
out["client"] = [got.info.user_id, got.data.tags.get("mlflow.user")]
print("@@RESULT@@" + json.dumps(out))
