"""Run with an mlflow 3.x interpreter: log a run, an artifact and a model to the team service
(MLFLOW_TRACKING_URI / MLFLOW_TRACKING_TOKEN from the environment), read them back."""

import json
import os
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

out = {}
mlflow.set_experiment(sys.argv[1])
with mlflow.start_run(run_name="mlflow-run") as run:
    mlflow.log_param("lr", "0.1")
    mlflow.log_metric("loss", 0.5, step=1)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "hello.txt")
        with open(path, "w") as f:
            f.write("hello from mlflow")
        mlflow.log_artifact(path, "files")
    model = LinearRegression().fit(np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 2.0, 4.0]))
    info = mlflow.sklearn.log_model(model, name="model")
client = MlflowClient()
got = client.get_run(run.info.run_id)
out["run_id"] = run.info.run_id
out["user_id"] = got.info.user_id
out["mlflow_user_tag"] = got.data.tags.get("mlflow.user")
out["params"] = got.data.params
out["artifacts"] = [f.path for f in client.list_artifacts(run.info.run_id, "files")]
with tempfile.TemporaryDirectory() as d:
    local = mlflow.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="files/hello.txt", dst_path=d
    )
    with open(local) as f:
        out["artifact_text"] = f.read()
loaded = mlflow.pyfunc.load_model(info.model_uri)
out["prediction"] = float(np.asarray(loaded.predict(np.array([[3.0]]))).ravel()[0])
out["model_uri"] = info.model_uri
print("@@RESULT@@" + json.dumps(out))
