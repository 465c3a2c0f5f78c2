"""``lt.lightgbm``: LightGBM models in MLflow's ``lightgbm`` flavor.

A ``Booster`` is saved in LightGBM's own text format (``model.lgb``), which needs no pickle to
load; a scikit-learn API model (``LGBMClassifier``, ``LGBMRegressor``...) is pickled
(``model.pkl``), as MLflow does, so it keeps its estimator methods. Both load in MLflow and
labtrack (``loader_module: mlflow.lightgbm``). Loading a pickle runs code from the package:
only load models you trust.
"""

from __future__ import annotations

import os
from typing import Any

from labtrack.autologging.lightgbm import autolog  # MLflow's mlflow.lightgbm.autolog
from labtrack.errors import LabtrackException
from labtrack.models.flavor_package import (
    FlavorFiles,
    flavor_confs,
    load_flavor_model,
    log_flavor_model,
    save_flavor_model,
)
from labtrack.models.model import Model, ModelInfo, pickler
from labtrack.models.signature import ModelSignature

FLAVOR_NAME = "lightgbm"
BOOSTER_FILE = "model.lgb"
PICKLE_FILE = "model.pkl"


def _model_class(model: Any) -> str:
    kind = type(model)
    return f"{kind.__module__}.{kind.__name__}"


def save_model(
    lgb_model: Any,
    path: str | os.PathLike[str],
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
    code_paths: list[str] | None = None,
    **_: Any,
) -> Model:
    """Package a LightGBM ``Booster`` or scikit-learn API model at ``path``."""
    import lightgbm

    def write(local: str) -> FlavorFiles:
        if isinstance(lgb_model, lightgbm.Booster):
            filename = BOOSTER_FILE
            lgb_model.save_model(os.path.join(local, filename))
        elif isinstance(lgb_model, lightgbm.LGBMModel):
            filename = PICKLE_FILE
            with open(os.path.join(local, filename), "wb") as f:
                pickler().dump(lgb_model, f)
        else:
            raise LabtrackException(
                f"Not a LightGBM model: {type(lgb_model).__name__} (a lightgbm.Booster or an "
                "LGBMModel such as LGBMClassifier).",
                "INVALID_PARAMETER_VALUE",
            )
        return FlavorFiles(
            pyfunc_conf={"data": filename},
            flavor_conf={
                "data": filename,
                "lgb_version": str(lightgbm.__version__),
                "model_class": _model_class(lgb_model),
            },
            packages=["lightgbm"] + (["cloudpickle"] if filename == PICKLE_FILE else []),
            predict=lgb_model.predict,
        )

    return save_flavor_model(
        path,
        FLAVOR_NAME,
        "mlflow.lightgbm",
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
    lgb_model: Any,
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
) -> ModelInfo:
    """Package a LightGBM model and log it (an MLflow 3 logged model of the active run)."""
    return log_flavor_model(save_model, locals())


def _load_from_dir(path: str, meta: Model) -> Any:
    conf, pyfunc_conf = flavor_confs(path, meta, FLAVOR_NAME)
    filename = conf.get("data") or pyfunc_conf.get("data") or BOOSTER_FILE
    target = os.path.join(path, filename)
    if str(conf.get("model_class", "lightgbm.basic.Booster")).endswith(".Booster"):
        import lightgbm

        return lightgbm.Booster(model_file=target)
    import pickle

    with open(target, "rb") as f:
        return pickle.load(f)  # noqa: S301 - loading a model runs its code; documented


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """The LightGBM model of a package (a ``Booster``, or the scikit-learn API estimator)."""
    return load_flavor_model(model_uri, dst_path, _load_from_dir)


class _LightGBMWrapper:
    def __init__(self, lgb_model: Any) -> None:
        self.raw_model = lgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.raw_model.predict(data)


def _load_pyfunc(path: str, meta: Model, model_config: dict[str, Any] | None = None) -> Any:
    return _LightGBMWrapper(_load_from_dir(path, meta))


__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]
