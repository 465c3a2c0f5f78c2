"""``lt.xgboost``: XGBoost models in MLflow's ``xgboost`` flavor.

Boosters and scikit-learn API models (``XGBClassifier``, ``XGBRegressor``...) are both saved
with XGBoost's own ``save_model`` (``model.ubj``, UBJSON: no pickle), and ``model_class`` names
the class to rebuild on load, as MLflow does; both load in MLflow and labtrack
(``loader_module: mlflow.xgboost``).
"""

from __future__ import annotations

import os
from typing import Any

from labtrack.autologging.xgboost import autolog  # MLflow's mlflow.xgboost.autolog
from labtrack.errors import LabtrackException
from labtrack.models.flavor_package import (
    FlavorFiles,
    flavor_confs,
    load_flavor_model,
    log_flavor_model,
    save_flavor_model,
)
from labtrack.models.model import Model, ModelInfo
from labtrack.models.signature import ModelSignature

FLAVOR_NAME = "xgboost"
MODEL_FORMAT = "ubj"  # XGBoost's binary JSON; "json" packages (MLflow's option) load too
MODEL_FILE = f"model.{MODEL_FORMAT}"


def _model_class(model: Any) -> str:
    kind = type(model)
    return f"{kind.__module__}.{kind.__name__}"


def save_model(
    xgb_model: Any,
    path: str | os.PathLike[str],
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
    code_paths: list[str] | None = None,
    model_format: str = MODEL_FORMAT,
    **_: Any,
) -> Model:
    """Package an XGBoost ``Booster`` or scikit-learn API model at ``path``."""
    import xgboost

    if model_format not in ("ubj", "json"):
        raise LabtrackException(
            f"Unknown model_format {model_format!r}: 'ubj' or 'json'.", "INVALID_PARAMETER_VALUE"
        )
    if not isinstance(xgb_model, (xgboost.Booster, xgboost.XGBModel)):
        raise LabtrackException(
            f"Not an XGBoost model: {type(xgb_model).__name__} (an xgboost.Booster or an "
            "XGBModel such as XGBClassifier).",
            "INVALID_PARAMETER_VALUE",
        )
    filename = f"model.{model_format}"

    def predict(data: Any) -> Any:
        if isinstance(xgb_model, xgboost.Booster):
            return xgb_model.predict(xgboost.DMatrix(data))
        return xgb_model.predict(data)

    def write(local: str) -> FlavorFiles:
        xgb_model.save_model(os.path.join(local, filename))
        return FlavorFiles(
            pyfunc_conf={"data": filename},
            flavor_conf={
                "data": filename,
                "model_class": _model_class(xgb_model),
                "model_format": model_format,
                "xgb_version": str(xgboost.__version__),
            },
            packages=["xgboost"],
            predict=predict,
        )

    return save_flavor_model(
        path,
        FLAVOR_NAME,
        "mlflow.xgboost",
        write,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        mlflow_model=mlflow_model,
        code_paths=code_paths,
    )


def log_model(
    xgb_model: Any,
    name: str | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    artifact_path: str | None = None,
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    code_paths: list[str] | None = None,
    model_format: str = MODEL_FORMAT,
) -> ModelInfo:
    """Package an XGBoost model and log it (an MLflow 3 logged model of the active run)."""
    return log_flavor_model(save_model, locals())


_ALLOWED_CLASSES = (
    "Booster",
    "XGBModel",
    "XGBClassifier",
    "XGBRegressor",
    "XGBRanker",
    "XGBRFClassifier",
    "XGBRFRegressor",
)


def _load_from_dir(path: str, meta: Model) -> Any:
    import xgboost

    conf, pyfunc_conf = flavor_confs(path, meta, FLAVOR_NAME)
    filename = conf.get("data") or pyfunc_conf.get("data") or MODEL_FILE
    # Only XGBoost's own classes are rebuilt: the class name comes from the package.
    name = str(conf.get("model_class", "xgboost.core.Booster")).rsplit(".", 1)[-1]
    if name not in _ALLOWED_CLASSES:
        raise LabtrackException(
            f"Unsupported XGBoost model class {conf.get('model_class')!r} in {path!r}.",
            "INVALID_PARAMETER_VALUE",
        )
    model = getattr(xgboost, name)()
    model.load_model(os.path.join(path, filename))
    return model


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """The XGBoost model of a package (a ``Booster``, or the scikit-learn API estimator)."""
    return load_flavor_model(model_uri, dst_path, _load_from_dir)


class _XGBoostWrapper:
    def __init__(self, xgb_model: Any) -> None:
        self.raw_model = xgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import xgboost

        if isinstance(self.raw_model, xgboost.Booster):
            return self.raw_model.predict(xgboost.DMatrix(data))
        return self.raw_model.predict(data)


def _load_pyfunc(path: str, meta: Model, model_config: dict[str, Any] | None = None) -> Any:
    return _XGBoostWrapper(_load_from_dir(path, meta))


__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]
