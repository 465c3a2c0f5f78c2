"""Experiments, runs, search, metric history and artifacts through MLflow's client."""

import inspect
import os
import re
import tempfile
import time

import mlflow
from _common import args, emit, error_code
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

a = args()
p = a["prefix"]
client = MlflowClient()
out = {"mlflow_version": mlflow.__version__}

# ---- experiments ------------------------------------------------------------------------
exp_id = client.create_experiment(f"{p}-exp", tags={"team": "ml"})
out["exp_id"] = exp_id
exp = client.get_experiment_by_name(f"{p}-exp")
out["exp"] = {
    "id": exp.experiment_id,
    "name": exp.name,
    "tags": dict(exp.tags),
    "artifact_location": exp.artifact_location,
    "stage": exp.lifecycle_stage,
}
out["missing_by_name"] = client.get_experiment_by_name(f"{p}-nope") is None
out["duplicate_create"] = error_code(client.create_experiment, f"{p}-exp")
client.set_experiment_tag(exp_id, "stage", "dev")
client.rename_experiment(exp_id, f"{p}-renamed")
other = client.create_experiment(f"{p}-other")
client.delete_experiment(other)
out["deleted_stage"] = client.get_experiment(other).lifecycle_stage
out["deleted_search"] = [
    e.name
    for e in client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"name LIKE '{p}-%'"
    )
]
client.restore_experiment(other)
out["search_by_name"] = [
    e.name
    for e in client.search_experiments(filter_string=f"name LIKE '{p}-%'", order_by=["name ASC"])
]
out["search_by_tag"] = [
    e.name
    for e in client.search_experiments(filter_string=f"tags.stage = 'dev' AND name LIKE '{p}-%'")
]
out["fluent_set_experiment"] = mlflow.set_experiment(f"{p}-renamed").experiment_id

# ---- runs -------------------------------------------------------------------------------
with mlflow.start_run(run_name="parent", description="a *note*") as parent:
    pid = parent.info.run_id
    mlflow.log_param("lr", 0.1)
    mlflow.log_params({"layers": 3, "opt": "adam"})
    mlflow.set_tag("team", "vision")
    mlflow.set_tags({"temp": "x", "keep": "y"})
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=4)
    now = int(time.time() * 1000)
    # More than one request's worth of everything: the client splits batches itself.
    client.log_batch(
        pid,
        metrics=[Metric("batch_m", float(i), now + i, i) for i in range(1500)],
        params=[Param(f"bp{i}", str(i)) for i in range(120)],
        tags=[RunTag("bt", "1")],
    )
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("acc", 0.5)
        cid = child.info.run_id
    client.delete_tag(pid, "temp")
    out["param_change"] = error_code(client.log_param, pid, "lr", 0.2)
    out["param_same"] = error_code(client.log_param, pid, "lr", 0.1)
    # artifacts
    mlflow.log_text("hello", "notes/hello.txt")
    mlflow.log_dict({"a": 1}, "cfg.json")
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "sub"))
        with open(os.path.join(d, "x.txt"), "w") as f:
            f.write("x" * 10)
        with open(os.path.join(d, "sub", "y.csv"), "w") as f:
            f.write("a,b\n1,2\n")
        mlflow.log_artifacts(d, "data")
        single = os.path.join(d, "single.bin")
        with open(single, "wb") as f:
            f.write(bytes(range(256)))
        mlflow.log_artifact(single)
out["parent"], out["child"] = pid, cid

sweep = {}
for i in range(5):
    with mlflow.start_run(run_name=f"sweep-{i}") as r:
        mlflow.log_param("i", i)
        mlflow.log_metric("score", i / 10)
        mlflow.set_tag("kind", "sweep" if i % 2 == 0 else "other")
        sweep[r.info.run_id] = f"sweep-{i}"
    time.sleep(0.01)  # distinct start times
out["sweep"] = sweep

run = client.get_run(pid)
out["run"] = {
    "name": run.info.run_name,
    "status": run.info.status,
    "artifact_uri": run.info.artifact_uri,
    "params": {k: v for k, v in run.data.params.items() if not k.startswith("bp")},
    "n_params": len(run.data.params),
    "metrics": run.data.metrics,
    "tags": {k: v for k, v in run.data.tags.items()},
}
out["child_parent_tag"] = client.get_run(cid).data.tags.get("mlflow.parentRunId")
out["history_loss"] = [(m.step, m.value) for m in client.get_metric_history(pid, "loss")]
out["history_batch_len"] = len(client.get_metric_history(pid, "batch_m"))

# ---- search -----------------------------------------------------------------------------
df = mlflow.search_runs(
    [exp_id],
    filter_string="metrics.score > 0.15 and tags.kind = 'sweep'",
    order_by=["metrics.score DESC"],
)
out["search_df"] = df["tags.mlflow.runName"].tolist()
out["search_df_columns"] = sorted(c for c in df.columns if c.startswith(("metrics.", "params.")))
pages, token = [], None
while True:
    page = client.search_runs(
        [exp_id],
        "attributes.run_name LIKE 'sweep-%'",
        order_by=["params.i ASC"],
        max_results=2,
        page_token=token,
    )
    pages.append([r.info.run_name for r in page])
    token = page.token
    if not token:
        break
out["search_pages"] = pages
out["search_param"] = [r.info.run_name for r in client.search_runs([exp_id], "params.lr = '0.1'")]
out["search_nested"] = [
    r.info.run_name for r in client.search_runs([exp_id], f"tags.mlflow.parentRunId = '{pid}'")
]
out["search_status"] = sorted(
    r.info.run_name
    for r in client.search_runs([exp_id], "attributes.status = 'FINISHED' and metrics.acc >= 0.5")
)
out["search_bad_filter"] = error_code(client.search_runs, [exp_id], "metrics.acc >>> 1")
victim = next(iter(sweep))
client.delete_run(victim)
out["search_deleted"] = [
    r.info.run_id for r in client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)
]
out["search_active_count"] = len(client.search_runs([exp_id]))
client.restore_run(victim)

# ---- artifacts ----------------------------------------------------------------------------
out["list_root"] = [(f.path, f.is_dir) for f in client.list_artifacts(pid)]
out["list_data"] = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(pid, "data")]
# The artifact store's root: for a URI that ends at the route, the client asks `?path=`.
root_uri = mlflow.get_tracking_uri() + "/api/2.0/mlflow-artifacts/artifacts"
out["list_store_root"] = [
    (f.path, f.is_dir) for f in get_artifact_repository(root_uri).list_artifacts()
]
with tempfile.TemporaryDirectory() as d:
    local = mlflow.artifacts.download_artifacts(run_id=pid, artifact_path="data", dst_path=d)
    files = {}
    for root, _dirs, names in os.walk(local):
        for name in names:
            full = os.path.join(root, name)
            with open(full) as f:
                files[os.path.relpath(full, local)] = f.read()
    out["downloaded"] = files
    single = client.download_artifacts(pid, "single.bin", d)
    with open(single, "rb") as f:
        out["single_ok"] = f.read() == bytes(range(256))
out["load_text"] = mlflow.artifacts.load_text(f"runs:/{pid}/notes/hello.txt")
out["load_dict"] = mlflow.artifacts.load_dict(f"runs:/{pid}/cfg.json")

# ---- an image series (MLflow >= 2.18): file names with literal %-escapes ----------------
if "key" in inspect.signature(mlflow.log_image).parameters:
    import numpy as np

    with mlflow.start_run(experiment_id=exp_id) as img_run:
        for step in range(3):
            mlflow.log_image(np.full((4, 4, 3), step * 40, dtype=np.uint8), key="sample", step=step)
    images = client.list_artifacts(img_run.info.run_id, "images")
    # 2.x names them <key>%step%<n>%timestamp%..., 3.x <key>+step+<n>+timestamp+...
    steps = [re.search(r"[%+]step[%+](\d+)[%+]", f.path) for f in images]
    out["image_series"] = sorted(m.group(1) for m in steps if m and m.string.endswith(".png"))
emit(out)
