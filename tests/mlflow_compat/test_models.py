"""``mlflow.sklearn.log_model`` and ``mlflow.pyfunc.load_model`` through the real client: the
3.x logged-model flow and the 2.x ``runs/log-model`` flow, checked from labtrack's side too."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest

from mlflow_compat.conftest import MlflowEnv

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

# Plus the pickled model itself (model.pkl, or model.skops in newer releases).
MODEL_FILES = {"MLmodel", "requirements.txt", "conda.yaml", "python_env.yaml"}


def _has_model_file(names: set[str]) -> bool:
    return any(n.startswith("model.") for n in names)


@pytest.fixture(scope="module")
def models(mlflow_env: MlflowEnv) -> dict[str, Any]:
    return mlflow_env.run("models", prefix=f"{mlflow_env.name}-{secrets.token_hex(3)}")


def test_model_loads_back(models: dict[str, Any]) -> None:
    expected = models["expected"]
    assert models["pred_runs_uri"] == expected
    assert models["pred_model_uri"] == expected
    assert models["pred_sklearn"] == expected
    assert models["signature"] is True


def test_model_files_are_listed(models: dict[str, Any]) -> None:
    listed = {path.removeprefix("model/") for path in models["list_model"]}
    assert listed >= MODEL_FILES, listed
    assert _has_model_file(listed), listed


def test_logged_model_flow_v3(
    models: dict[str, Any], mlflow_env: MlflowEnv, labtrack_client: Any
) -> None:
    if mlflow_env.major < 3:
        pytest.skip("logged models are an MLflow 3 feature")
    model_id = models["model_id"]
    assert re.fullmatch(r"m-[0-9a-f]{32}", model_id)
    assert models["model_uri"] == f"models:/{model_id}"
    lm = models["logged_model"]
    assert lm["name"] == "model"
    assert lm["status"].endswith("READY")
    assert lm["source_run_id"] == models["run_id"]
    exp_id = models["experiment_id"]
    assert lm["artifact_location"] == f"mlflow-artifacts:/{exp_id}/models/{model_id}/artifacts"
    assert models["search_logged"] == [model_id]
    assert models["run_outputs"] == [model_id]
    assert models["logged_model_tags"].get("stage") == "candidate"
    assert "stage" not in models["tags_after_delete"]
    assert models["external"]["params"] == {"k": "v"}
    assert models["external"]["model_type"] == "agent"
    assert models["external"]["status"].endswith("READY")
    assert models["acc_history"] == [[0, None], [1, model_id]]

    # labtrack's side: the model row, the run's outputs, the files under the model's location
    ours = labtrack_client.backend.logged_models.get_logged_model(model_id)
    assert ours.status == "LOGGED_MODEL_READY"
    assert ours.source_run_id == models["run_id"]
    run = labtrack_client.get_run(models["run_id"])
    assert [o.model_id for o in run.outputs.model_outputs] == [model_id]
    names = {e.path for e in labtrack_client.list_artifact_uri(ours.artifact_location)}
    assert names >= MODEL_FILES, names
    assert _has_model_file(names), names


def test_log_model_history_v2(
    models: dict[str, Any], mlflow_env: MlflowEnv, labtrack_client: Any
) -> None:
    if mlflow_env.major >= 3:
        pytest.skip("runs/log-model is the MLflow 2 flow")
    assert models["model_uri"] == f"runs:/{models['run_id']}/model"
    history = json.loads(models["history_tag"])
    assert [h["artifact_path"] for h in history] == ["model"]
    assert history[0]["run_id"] == models["run_id"]
    assert "sklearn" in history[0]["flavors"]
    # labtrack's side: the tag, and the files in the run's own artifacts
    run = labtrack_client.get_run(models["run_id"])
    assert json.loads(run.data.tags["mlflow.log-model.history"]) == history
    listed = {f.path for f in labtrack_client.list_artifacts(models["run_id"], "model")}
    assert {f"model/{n}" for n in MODEL_FILES} <= listed, listed
    assert _has_model_file({n.removeprefix("model/") for n in listed}), listed
