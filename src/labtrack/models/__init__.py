"""Model packages (MLflow's MLmodel format), signatures, model URIs and the scoring server.

Flavors live beside this package: ``labtrack.pyfunc``, ``labtrack.sklearn``,
``labtrack.pytorch`` (``lt.pyfunc`` ...). Nothing here is imported by the Jupyter server:
loading a model runs its code (pickle), so models are only ever loaded in a kernel, a script or
the ``labtrack models serve`` process.
"""

from __future__ import annotations

from labtrack.evaluation import (
    EvaluationArtifact,
    EvaluationMetric,
    EvaluationResult,
    MetricThreshold,
    MetricValue,
    ModelValidationFailedException,
    evaluate,
    make_metric,
    validate_evaluation_results,
)
from labtrack.models.code_models import ModelConfig, ModelInputExample, set_model
from labtrack.models.flavor_backend import FlavorBackend
from labtrack.models.logging import register_model
from labtrack.models.model import Model, ModelInfo
from labtrack.models.package_edits import (
    infer_pip_requirements,
    set_signature,
    update_model_requirements,
)
from labtrack.models.predict import (
    convert_input_example_to_serving_input,
    predict,
    validate_schema,
    validate_serving_input,
)
from labtrack.models.signature import (
    ColSpec,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    SchemaError,
    TensorSpec,
    infer_signature,
)
from labtrack.models.uris import download_model


def list_evaluators() -> list[str]:
    """The evaluators ``evaluate`` accepts."""
    return ["default"]


def get_model_info(model_uri: str) -> ModelInfo:
    """What a package's MLmodel says about it (downloads it if needed), as the ``ModelInfo``
    ``log_model`` returns: flavors, signature, run and logged model, ``model_uri``."""
    meta = Model.load(download_model(model_uri))
    return ModelInfo(
        artifact_path=meta.artifact_path or "",
        flavors=meta.flavors,
        model_uri=str(model_uri),
        model_uuid=meta.model_uuid,
        run_id=meta.run_id,
        signature=meta.signature,
        utc_time_created=meta.utc_time_created,
        model_id=meta.model_id,
        name=meta.artifact_path,
        saved_input_example_info=meta.saved_input_example_info,
        metadata=dict(meta.extra.get("metadata") or {}),
    )


__all__ = [
    "ColSpec",
    "EvaluationArtifact",
    "EvaluationMetric",
    "EvaluationResult",
    "FlavorBackend",
    "MetricThreshold",
    "MetricValue",
    "Model",
    "ModelConfig",
    "ModelInfo",
    "ModelInputExample",
    "ModelSignature",
    "ModelValidationFailedException",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "SchemaError",
    "TensorSpec",
    "convert_input_example_to_serving_input",
    "download_model",
    "evaluate",
    "get_model_info",
    "infer_pip_requirements",
    "infer_signature",
    "list_evaluators",
    "make_metric",
    "predict",
    "register_model",
    "set_model",
    "set_signature",
    "update_model_requirements",
    "validate_evaluation_results",
    "validate_schema",
    "validate_serving_input",
]
