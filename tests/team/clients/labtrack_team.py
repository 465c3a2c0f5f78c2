"""Run with pytest's interpreter: labtrack's own client against the team service
(LABTRACK_TRACKING_URI / LABTRACK_TRACKING_TOKEN from the environment)."""

import json
import os
import sys
import tempfile

import numpy as np
from sklearn.linear_model import LinearRegression

import labtrack as lt
import labtrack.sklearn

out = {}
lt.set_experiment(sys.argv[1])
client = lt.MlflowClient()
with lt.start_run(run_name="labtrack-run") as run:
    run_id = run.info.run_id
    lt.log_param("depth", 3)
    for step in range(5):
        lt.log_metric("acc", step / 10, step=step)
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "data", "sub"))
        with open(os.path.join(d, "data", "a.txt"), "w") as f:
            f.write("A")
        with open(os.path.join(d, "data", "sub", "b.bin"), "wb") as f:
            f.write(b"\x00\x01" * 5000)
        lt.log_artifacts(os.path.join(d, "data"), "data")
    model = LinearRegression().fit(np.array([[0.0], [1.0]]), np.array([1.0, 3.0]))
    info = labtrack.sklearn.log_model(model, name="model")
lt.flush()
got = client.get_run(run_id)
out["run_id"] = run_id
out["user_id"] = got.info.user_id
out["mlflow_user_tag"] = got.data.tags.get("mlflow.user")
out["metric"] = got.data.metrics.get("acc")
out["listing"] = sorted((f.path, f.is_dir) for f in client.list_artifacts(run_id, "data"))
with tempfile.TemporaryDirectory() as d:
    local = client.download_artifacts(run_id, "data", d)
    with open(os.path.join(local, "sub", "b.bin"), "rb") as f:
        out["downloaded_size"] = len(f.read())
loaded = labtrack.sklearn.load_model(info.model_uri)
out["prediction"] = float(loaded.predict(np.array([[2.0]]))[0])
out["model_uri"] = info.model_uri
print("@@RESULT@@" + json.dumps(out))
