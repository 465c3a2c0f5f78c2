"""The model registry through the real client: ``registered_model_name=``, aliases, stages and
``models:/`` URIs. Runs once ``labtrack.server.registry_handlers`` exists."""

from __future__ import annotations

import importlib.util
import json
import secrets
from typing import Any

import pytest

from mlflow_compat.conftest import MlflowEnv

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),
    pytest.mark.skipif(
        importlib.util.find_spec("labtrack.server.registry_handlers") is None,
        reason="the model registry routes (labtrack.server.registry_handlers) are not there yet",
    ),
]


@pytest.fixture(scope="module")
def registry(mlflow_env: MlflowEnv) -> dict[str, Any]:
    return mlflow_env.run("registry", prefix=f"{mlflow_env.name}-{secrets.token_hex(3)}")


def test_register_while_logging(registry: dict[str, Any], mlflow_env: MlflowEnv) -> None:
    assert registry["registered_version"] == "1"
    mv = registry["mv"]
    assert mv["status"] == "READY"
    # 3.x creates the version with model_id only: the run comes from the logged model.
    assert mv["run_id"] == registry["run_id"]
    if mlflow_env.major >= 3:
        assert mv["source"] == f"models:/{registry['model_id']}"
        # The logged model records its registrations, as MLflow's server does (a number);
        # the client's own append of the same version is not kept twice.
        versions = json.loads(registry["logged_model_tags"]["mlflow.modelVersions"])
        assert versions == [{"name": registry["name"], "version": 1}]
    else:
        assert mv["source"].startswith("mlflow-artifacts:/")
        assert mv["source"].endswith(f"/{registry['run_id']}/artifacts/model")


def test_aliases_stages_and_model_uris(registry: dict[str, Any]) -> None:
    expected = registry["expected"]
    assert registry["alias_version"] == "1"
    assert registry["rm_aliases"] == {"champion": "1"}
    assert registry["pred_alias"] == expected
    assert registry["pred_version"] == expected
    assert registry["second_version"] == "2"
    assert registry["staging"] == ["1"]
    assert registry["pred_stage"] == expected
    assert registry["search_versions"] == ["1", "2"]
    assert registry["search_models"] == [registry["name"]]
    assert registry["bad_alias"] == "INVALID_PARAMETER_VALUE"
    assert registry["aliases_after_delete"] == {}


def test_registry_visible_through_labtrack(registry: dict[str, Any], labtrack_client: Any) -> None:
    reg = labtrack_client.backend.registry
    model = reg.get_registered_model(registry["name"])
    assert model.name == registry["name"]
    version = reg.get_model_version(registry["name"], "1")
    assert version.run_id == registry["run_id"]
    assert version.current_stage == "Staging"
    assert version.source == registry["mv"]["source"]
    assert reg.get_model_version(registry["name"], "2").version == "2"
