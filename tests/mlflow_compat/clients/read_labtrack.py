"""Read, through MLflow's client, a run that labtrack's own API logged."""

import os
import tempfile

import mlflow
from _common import args, emit
from mlflow import MlflowClient

a = args()
client = MlflowClient()
exp = client.get_experiment_by_name(a["experiment"])
run = client.get_run(a["run_id"])
out = {
    "experiment_id": exp.experiment_id,
    "experiment_tags": dict(exp.tags),
    "run_name": run.info.run_name,
    "status": run.info.status,
    "params": dict(run.data.params),
    "metrics": dict(run.data.metrics),
    "tags": {k: v for k, v in run.data.tags.items()},
    "history": [(m.step, m.value) for m in client.get_metric_history(a["run_id"], "loss")],
    "search": [
        r.info.run_id for r in client.search_runs([exp.experiment_id], "metrics.loss < 0.5")
    ],
    "children": [
        r.info.run_name
        for r in client.search_runs(
            [exp.experiment_id], f"tags.mlflow.parentRunId = '{a['run_id']}'"
        )
    ],
    "artifacts": [(f.path, f.is_dir) for f in client.list_artifacts(a["run_id"])],
    "text": mlflow.artifacts.load_text(f"runs:/{a['run_id']}/report/summary.txt"),
}
with tempfile.TemporaryDirectory() as d:
    path = client.download_artifacts(a["run_id"], "report", d)
    out["downloaded"] = sorted(os.listdir(path))
emit(out)
