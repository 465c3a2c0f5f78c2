"""MLflow 3 logged models through MLflow's client: metrics logged with a model id, the
``datasets`` search filter, model inputs, the ``mlflow.modelVersions`` tag and copies."""

import warnings

import mlflow
import numpy as np
from _common import args, emit
from mlflow import MlflowClient
from mlflow.entities import LoggedModelInput
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings("ignore")
p = args()["prefix"]
client = MlflowClient()
X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
y = np.array([0, 1, 0, 1])
exp_id = mlflow.set_experiment(f"{p}-logged-models").experiment_id
dataset = mlflow.data.from_numpy(X, targets=y, name=f"{p}-eval")
out = {}
with mlflow.start_run() as run:
    info = mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model")
    mlflow.log_metric("acc", 0.75, model_id=info.model_id, dataset=dataset)
    mlflow.log_metric("loss", 0.5, model_id=info.model_id)
with mlflow.start_run() as user:
    client.log_inputs(user.info.run_id, models=[LoggedModelInput(info.model_id)])
out["model_id"] = info.model_id
out["run_id"] = run.info.run_id
out["dataset"] = {"name": dataset.name, "digest": dataset.digest}
model = mlflow.get_logged_model(info.model_id)
out["metrics"] = sorted(
    [m.key, m.value, m.dataset_name, m.dataset_digest, m.run_id] for m in model.metrics or []
)


def found(**kwargs):
    return [m.model_id for m in mlflow.search_logged_models(output_format="list", **kwargs)]


out["by_dataset"] = found(experiment_ids=[exp_id], datasets=[{"dataset_name": dataset.name}])
out["by_other_dataset"] = found(experiment_ids=[exp_id], datasets=[{"dataset_name": "nope"}])
out["by_metric"] = found(experiment_ids=[exp_id], filter_string="metrics.acc > 0.7")
out["by_high_metric"] = found(experiment_ids=[exp_id], filter_string="metrics.acc > 0.9")
out["by_metric_order"] = found(
    experiment_ids=[exp_id], order_by=[{"field_name": "metrics.acc", "ascending": False}]
)
out["model_inputs"] = [i.model_id for i in client.get_run(user.info.run_id).inputs.model_inputs]

mv = mlflow.register_model(f"models:/{info.model_id}", f"{p}-reg")
out["model_versions_tag"] = mlflow.get_logged_model(info.model_id).tags.get("mlflow.modelVersions")
copy = client.copy_model_version(f"models:/{p}-reg/{mv.version}", f"{p}-copy")
out["copy_source"] = copy.source
out["copy_download_uri"] = client.get_model_version_download_uri(f"{p}-copy", copy.version)
out["original_download_uri"] = client.get_model_version_download_uri(f"{p}-reg", mv.version)
out["copy_prediction"] = (
    mlflow.pyfunc.load_model(f"models:/{p}-copy/{copy.version}").predict(X).tolist()
)
emit(out)
