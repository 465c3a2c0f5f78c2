"""MLflow 3 logged models through the real 3.x client (``clients/logged_models.py``): metrics
attached to the model, the ``datasets`` and ``metrics.`` filters of ``search_logged_models``,
model inputs on the run, ``mlflow.modelVersions`` after ``register_model``, and a copied
version that downloads from the original's files."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from mlflow_compat.conftest import MlflowEnv

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def result(mlflow_env: MlflowEnv) -> dict[str, Any]:
    if mlflow_env.major < 3:
        pytest.skip("logged models are MLflow 3")
    return mlflow_env.run("logged_models", prefix=f"{mlflow_env.name}-{secrets.token_hex(3)}")


def test_metrics_with_a_model_id_belong_to_the_model(result: dict[str, Any]) -> None:
    ds, run_id = result["dataset"], result["run_id"]
    assert result["metrics"] == [
        ["acc", 0.75, ds["name"], ds["digest"], run_id],
        ["loss", 0.5, None, None, run_id],
    ]
    assert result["by_dataset"] == [result["model_id"]]
    assert result["by_other_dataset"] == []
    assert result["by_metric"] == [result["model_id"]]
    assert result["by_high_metric"] == []
    assert result["by_metric_order"] == [result["model_id"]]


def test_model_inputs_are_kept(result: dict[str, Any]) -> None:
    assert result["model_inputs"] == [result["model_id"]]


def test_registering_and_copying_a_logged_model(result: dict[str, Any]) -> None:
    name = result["copy_source"].split("/")[1]
    # Written by the server (a number, as MLflow 3.17's); the client's own append of the same
    # version is not kept twice.
    assert json.loads(result["model_versions_tag"]) == [{"name": name, "version": 1}]
    assert result["copy_source"] == f"models:/{name}/1"
    assert result["copy_download_uri"] == result["original_download_uri"]
    assert result["copy_download_uri"].endswith(f"/models/{result['model_id']}/artifacts")
    assert result["copy_prediction"] == [0, 1, 0, 1]
