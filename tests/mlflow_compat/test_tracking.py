"""Tracking through the real mlflow client (3.x and 2.x), checked from both sides: what the
client logs is visible through labtrack's API, and what labtrack logs is visible to the client."""

from __future__ import annotations

import json
import math
import secrets
import time
from typing import Any

import pytest

from mlflow_compat.conftest import MlflowEnv

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def tracking(mlflow_env: MlflowEnv) -> dict[str, Any]:
    return mlflow_env.run("tracking", prefix=f"{mlflow_env.name}-{secrets.token_hex(3)}")


def test_client_version(tracking: dict[str, Any], mlflow_env: MlflowEnv) -> None:
    assert tracking["mlflow_version"].startswith(f"{mlflow_env.major}.")


def test_experiments(tracking: dict[str, Any], labtrack_client: Any) -> None:
    exp = tracking["exp"]
    exp_id = tracking["exp_id"]
    assert exp["id"] == exp_id
    assert exp["tags"] == {"team": "ml"}
    assert exp["artifact_location"] == f"mlflow-artifacts:/{exp_id}"
    assert exp["stage"] == "active"
    assert tracking["missing_by_name"] is True
    assert tracking["duplicate_create"] == "RESOURCE_ALREADY_EXISTS"
    prefix = exp["name"].removesuffix("-exp")
    assert tracking["deleted_stage"] == "deleted"
    assert tracking["deleted_search"] == [f"{prefix}-other"]
    assert tracking["search_by_name"] == [f"{prefix}-other", f"{prefix}-renamed"]
    assert tracking["search_by_tag"] == [f"{prefix}-renamed"]
    assert tracking["fluent_set_experiment"] == exp_id
    # labtrack's side
    ours = labtrack_client.get_experiment(exp_id)
    assert ours.name == f"{prefix}-renamed"
    assert ours.tags == {"team": "ml", "stage": "dev"}
    assert labtrack_client.get_experiment_by_name(f"{prefix}-other").lifecycle_stage == "active"


def test_runs_params_metrics_tags(tracking: dict[str, Any], labtrack_client: Any) -> None:
    run = tracking["run"]
    assert run["name"] == "parent"
    assert run["status"] == "FINISHED"
    assert run["params"] == {"lr": "0.1", "layers": "3", "opt": "adam"}
    assert run["n_params"] == 3 + 120
    assert run["metrics"] == {"loss": 0.2, "acc": 0.9, "f1": 0.8, "batch_m": 1499.0}
    assert run["tags"]["team"] == "vision"
    assert run["tags"]["keep"] == "y"
    assert "temp" not in run["tags"]
    assert run["tags"]["bt"] == "1"
    assert run["tags"]["mlflow.runName"] == "parent"
    assert run["tags"]["mlflow.note.content"] == "a *note*"
    assert tracking["param_change"] == "INVALID_PARAMETER_VALUE"
    assert tracking["param_same"] is None
    assert tracking["child_parent_tag"] == tracking["parent"]
    assert tracking["history_loss"] == [[s, 1.0 / (s + 1)] for s in range(5)]
    assert tracking["history_batch_len"] == 1500

    # labtrack's side
    pid = tracking["parent"]
    ours = labtrack_client.get_run(pid)
    assert ours.info.run_name == "parent"
    assert ours.info.status == "FINISHED"
    assert ours.info.artifact_uri == run["artifact_uri"]
    assert ours.data.params["lr"] == "0.1"
    assert len(ours.data.params) == 123
    assert ours.data.tags["team"] == "vision"
    assert ours.data.metrics == run["metrics"]
    history = labtrack_client.get_metric_history(pid, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]
    series = labtrack_client.get_metric_series(pid, "batch_m", max_points=None)
    assert series.total_points == 1500
    assert series.values[:3] == [0.0, 1.0, 2.0]
    child = labtrack_client.get_run(tracking["child"])
    assert child.data.tags["mlflow.parentRunId"] == pid
    assert child.info.run_name == "child"


def test_search_runs(tracking: dict[str, Any], labtrack_client: Any) -> None:
    assert tracking["search_df"] == ["sweep-4", "sweep-2"]
    assert "metrics.score" in tracking["search_df_columns"]
    assert "params.i" in tracking["search_df_columns"]
    assert tracking["search_pages"] == [["sweep-0", "sweep-1"], ["sweep-2", "sweep-3"], ["sweep-4"]]
    assert tracking["search_param"] == ["parent"]
    assert tracking["search_nested"] == ["child"]
    assert tracking["search_status"] == ["child", "parent"]
    assert tracking["search_bad_filter"] == "INVALID_PARAMETER_VALUE"
    victim = next(iter(tracking["sweep"]))
    assert tracking["search_deleted"] == [victim]
    assert tracking["search_active_count"] == 2 + 5 - 1
    # the same query through labtrack
    runs = labtrack_client.search_runs(
        [tracking["exp_id"]],
        "metrics.score > 0.15 and tags.kind = 'sweep'",
        order_by=["metrics.score DESC"],
    )
    assert [r.info.run_name for r in runs] == ["sweep-4", "sweep-2"]


def test_artifacts(tracking: dict[str, Any], labtrack_client: Any) -> None:
    assert sorted(tracking["list_root"]) == [
        ["cfg.json", False],
        ["data", True],
        ["notes", True],
        ["single.bin", False],
    ]
    assert tracking["list_data"] == [["data/sub", True, None], ["data/x.txt", False, 10]]
    # The store's root (one folder per experiment), listed with `path=` (empty).
    assert [tracking["exp_id"], True] in tracking["list_store_root"]
    assert tracking["downloaded"] == {"x.txt": "x" * 10, "sub/y.csv": "a,b\n1,2\n"}
    assert tracking["single_ok"] is True
    assert tracking["load_text"] == "hello"
    assert tracking["load_dict"] == {"a": 1}
    if "image_series" in tracking:  # MLflow's own image-series names (%step%, %timestamp%)
        assert tracking["image_series"] == ["0", "1", "2"]
    # labtrack's side: the same files, where the store says they are
    pid = tracking["parent"]
    listed = [(f.path, f.is_dir) for f in labtrack_client.list_artifacts(pid, "data")]
    assert listed == [("data/sub", True), ("data/x.txt", False)]
    store = labtrack_client.backend.artifacts.store  # in-process: the ArtifactStore
    base = store.relpath(labtrack_client.get_run(pid).info.artifact_uri)
    assert store.read_bytes(f"{base}/notes/hello.txt") == b"hello"
    assert json.loads(store.read_bytes(f"{base}/cfg.json")) == {"a": 1}


def test_labtrack_logs_mlflow_reads(mlflow_env: MlflowEnv, labtrack_client: Any) -> None:
    name = f"{mlflow_env.name}-lt-{secrets.token_hex(3)}"
    exp_id = labtrack_client.create_experiment(name, tags={"owner": "labtrack"})
    run = labtrack_client.create_run(exp_id, run_name="from-labtrack")
    rid = run.info.run_id
    labtrack_client.log_param(rid, "depth", 7)
    labtrack_client.set_tag(rid, "source", "labtrack")
    now = int(time.time() * 1000)
    for step in range(4):
        labtrack_client.log_metric(rid, "loss", 1.0 / (step + 1), timestamp=now + step, step=step)
    labtrack_client.log_metric(rid, "nan_metric", math.nan, timestamp=now, step=0)
    labtrack_client.log_bytes(rid, b"all good", "report/summary.txt")
    labtrack_client.log_bytes(rid, b"{}", "report/extra.json")
    child = labtrack_client.create_run(
        exp_id, run_name="kid", tags={"mlflow.parentRunId": rid}
    ).info.run_id
    labtrack_client.set_terminated(child)
    labtrack_client.set_terminated(rid)
    labtrack_client.flush()

    seen = mlflow_env.run("read_labtrack", experiment=name, run_id=rid)
    assert seen["experiment_id"] == exp_id
    assert seen["experiment_tags"] == {"owner": "labtrack"}
    assert seen["run_name"] == "from-labtrack"
    assert seen["status"] == "FINISHED"
    assert seen["params"] == {"depth": "7"}
    assert seen["metrics"]["loss"] == 0.25
    assert math.isnan(seen["metrics"]["nan_metric"])
    assert seen["tags"]["source"] == "labtrack"
    assert seen["history"] == [[s, 1.0 / (s + 1)] for s in range(4)]
    assert seen["search"] == [rid]
    assert seen["children"] == ["kid"]
    assert seen["artifacts"] == [["report", True]]
    assert seen["text"] == "all good"
    assert seen["downloaded"] == ["extra.json", "summary.txt"]
