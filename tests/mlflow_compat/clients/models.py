"""``mlflow.sklearn.log_model`` and loading the model back through the server (3.x: the
logged-model flow; 2.x: ``runs/log-model``)."""

import mlflow
import numpy as np
from _common import args, emit, major
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

a = args()
p = a["prefix"]
client = MlflowClient()
X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [-1.0, -1.0]])
y = np.array([0, 1, 0, 1, 1, 0])
clf = LogisticRegression().fit(X, y)
expected = clf.predict(X).tolist()
out = {"expected": expected}

exp_id = mlflow.set_experiment(f"{p}-models").experiment_id
kwargs = {"input_example": X[:2], "pip_requirements": ["scikit-learn"]}
with mlflow.start_run(run_name="train") as run:
    rid = run.info.run_id
    mlflow.log_param("C", 1.0)
    if major() >= 3:
        info = mlflow.sklearn.log_model(clf, name="model", **kwargs)
    else:
        info = mlflow.sklearn.log_model(clf, artifact_path="model", **kwargs)
out["run_id"] = rid
out["experiment_id"] = exp_id
out["model_uri"] = info.model_uri
out["model_id"] = getattr(info, "model_id", None)
out["signature"] = info.signature is not None

out["pred_runs_uri"] = mlflow.pyfunc.load_model(f"runs:/{rid}/model").predict(X).tolist()
out["pred_model_uri"] = mlflow.pyfunc.load_model(info.model_uri).predict(X).tolist()
out["pred_sklearn"] = mlflow.sklearn.load_model(f"runs:/{rid}/model").predict(X).tolist()
out["list_model"] = sorted(f.path for f in client.list_artifacts(rid, "model"))
run = client.get_run(rid)
out["history_tag"] = run.data.tags.get("mlflow.log-model.history")

if major() >= 3:
    lm = mlflow.get_logged_model(info.model_id)
    out["logged_model"] = {
        "name": lm.name,
        "status": str(lm.status),
        "source_run_id": lm.source_run_id,
        "artifact_location": lm.artifact_location,
        "experiment_id": lm.experiment_id,
    }
    found = mlflow.search_logged_models(
        experiment_ids=[exp_id], filter_string="name = 'model'", output_format="list"
    )
    out["search_logged"] = [m.model_id for m in found]
    out["run_outputs"] = [o.model_id for o in (run.outputs.model_outputs if run.outputs else [])]
    mlflow.set_logged_model_tags(info.model_id, {"stage": "candidate"})
    out["logged_model_tags"] = dict(mlflow.get_logged_model(info.model_id).tags)
    client.delete_logged_model_tag(info.model_id, "stage")
    out["tags_after_delete"] = dict(mlflow.get_logged_model(info.model_id).tags)
    # A model's metric: history gives each point its model (plain points name none).
    client.log_metric(rid, "acc", 0.5, step=0)
    client.log_metric(rid, "acc", 0.9, step=1, model_id=info.model_id)
    out["acc_history"] = [(m.step, m.model_id) for m in client.get_metric_history(rid, "acc")]
    # A model with params and no run, finalized by hand.
    ext = mlflow.create_external_model(name="external", params={"k": "v"}, model_type="agent")
    out["external"] = {
        "params": dict(ext.params),
        "model_type": ext.model_type,
        "status": str(mlflow.get_logged_model(ext.model_id).status),
    }
emit(out)
