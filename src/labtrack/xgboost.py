"""``lt.xgboost``: XGBoost models in MLflow's ``xgboost`` flavor.

Boosters and scikit-learn API models (``XGBClassifier``, ``XGBRegressor``...) are both saved
with XGBoost's own ``save_model`` (``model.ubj``, UBJSON: no pickle), and ``model_class`` names
the class to rebuild on load, as MLflow does; both load in MLflow and labtrack
(``loader_module: mlflow.xgboost``).
"""

from __future__ import annotations

import os
import platform
from typing import Any

from labtrack.autologging.xgboost import autolog  # MLflow's mlflow.xgboost.autolog
from labtrack.errors import LabtrackException
from labtrack.models.model import (
    PYFUNC,
    Model,
    ModelInfo,
    add_package_code_to_path,
    copy_code_paths,
    default_requirements,
    finish_package,
    prepare_dir,
    pyfunc_env_conf,
)
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
    local = prepare_dir(path)
    code = copy_code_paths(local, code_paths)
    model = mlflow_model or Model()
    filename = f"model.{model_format}"
    xgb_model.save_model(os.path.join(local, filename))
    model.add_flavor(
        PYFUNC,
        loader_module="mlflow.xgboost",
        data=filename,
        code=code,
        env=pyfunc_env_conf(),
        python_version=platform.python_version(),
    )
    model.add_flavor(
        FLAVOR_NAME,
        data=filename,
        model_class=_model_class(xgb_model),
        model_format=model_format,
        xgb_version=str(xgboost.__version__),
        code=code,
    )

    def predict(data: Any) -> Any:
        if isinstance(xgb_model, xgboost.Booster):
            return xgb_model.predict(xgboost.DMatrix(data))
        return xgb_model.predict(data)

    return finish_package(
        local,
        model,
        input_example=input_example,
        signature=signature,
        predict=predict,
        requirements=default_requirements(["xgboost"]),
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
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
    from labtrack.models.logging import log_packaged_model

    def save(path: str, model: Model) -> Model:
        return save_model(
            xgb_model,
            path,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            mlflow_model=model,
            code_paths=code_paths,
            model_format=model_format,
        )

    return log_packaged_model(
        save,
        name,
        artifact_path=artifact_path,
        registered_model_name=registered_model_name,
        tags=tags,
        params=params,
        model_type=model_type,
        step=step,
    )


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

    conf = meta.flavors.get(FLAVOR_NAME)
    pyfunc_conf = meta.flavors.get(PYFUNC, {})
    if conf is None and not pyfunc_conf:
        raise LabtrackException(
            f"Model at {path!r} has no '{FLAVOR_NAME}' flavor.", "RESOURCE_DOES_NOT_EXIST"
        )
    conf = conf or {}
    add_package_code_to_path(path, conf, pyfunc_conf)
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
    from labtrack.models.uris import download_model

    local = download_model(model_uri, dst_path)
    return _load_from_dir(local, Model.load(local))


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
