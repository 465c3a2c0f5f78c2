"""The model registry through MLflow's client: register while logging, aliases, stages and
loading ``models:/`` URIs."""

import warnings

import mlflow
import numpy as np
from _common import args, emit, error_code, major
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore")
a = args()
p = a["prefix"]
name = f"{p}-classifier"
client = MlflowClient()
X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [-1.0, -1.0]])
y = np.array([0, 1, 0, 1, 1, 0])
clf = LogisticRegression().fit(X, y)
out = {"expected": clf.predict(X).tolist(), "name": name}

mlflow.set_experiment(f"{p}-registry")
kwargs = {"pip_requirements": ["scikit-learn"], "registered_model_name": name}
with mlflow.start_run() as run:
    if major() >= 3:
        info = mlflow.sklearn.log_model(clf, name="model", **kwargs)
    else:
        info = mlflow.sklearn.log_model(clf, artifact_path="model", **kwargs)
out["run_id"] = run.info.run_id
out["model_id"] = getattr(info, "model_id", None)
out["registered_version"] = str(info.registered_model_version)
if major() >= 3:
    out["logged_model_tags"] = dict(mlflow.get_logged_model(info.model_id).tags)

mv = client.get_model_version(name, "1")
out["mv"] = {"status": mv.status, "source": mv.source, "run_id": mv.run_id}
client.set_registered_model_alias(name, "champion", "1")
out["alias_version"] = client.get_model_version_by_alias(name, "champion").version
out["rm_aliases"] = dict(client.get_registered_model(name).aliases)
out["pred_alias"] = mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(X).tolist()
out["pred_version"] = mlflow.pyfunc.load_model(f"models:/{name}/1").predict(X).tolist()

second = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
out["second_version"] = str(second.version)
client.transition_model_version_stage(name, "1", "Staging")
out["staging"] = [v.version for v in client.get_latest_versions(name, stages=["Staging"])]
out["pred_stage"] = mlflow.pyfunc.load_model(f"models:/{name}/Staging").predict(X).tolist()
out["search_versions"] = sorted(v.version for v in client.search_model_versions(f"name = '{name}'"))
out["search_models"] = [m.name for m in client.search_registered_models(f"name = '{name}'")]
out["bad_alias"] = error_code(client.set_registered_model_alias, name, "latest", "1")
client.delete_registered_model_alias(name, "champion")
out["aliases_after_delete"] = dict(client.get_registered_model(name).aliases)
emit(out)
