"""``lt.lightgbm``: LightGBM models in MLflow's ``lightgbm`` flavor.

A ``Booster`` is saved in LightGBM's own text format (``model.lgb``), which needs no pickle to
load; a scikit-learn API model (``LGBMClassifier``, ``LGBMRegressor``...) is pickled
(``model.pkl``), as MLflow does, so it keeps its estimator methods. Both load in MLflow and
labtrack (``loader_module: mlflow.lightgbm``). Loading a pickle runs code from the package:
only load models you trust.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from labtrack.autologging.lightgbm import autolog  # MLflow's mlflow.lightgbm.autolog
from labtrack.errors import LabtrackException
from labtrack.models.model import (
    PYFUNC,
    Model,
    ModelInfo,
    add_package_code_to_path,
    copy_code_paths,
    default_requirements,
    finish_package,
    pickler,
    prepare_dir,
    pyfunc_env_conf,
)
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

    local = prepare_dir(path)
    code = copy_code_paths(local, code_paths)
    model = mlflow_model or Model()
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
    model.add_flavor(
        PYFUNC,
        loader_module="mlflow.lightgbm",
        data=filename,
        code=code,
        env=pyfunc_env_conf(),
        python_version=platform.python_version(),
    )
    model.add_flavor(
        FLAVOR_NAME,
        data=filename,
        lgb_version=str(lightgbm.__version__),
        model_class=_model_class(lgb_model),
        code=code,
    )
    packages = ["lightgbm"] + (["cloudpickle"] if filename == PICKLE_FILE else [])
    return finish_package(
        local,
        model,
        input_example=input_example,
        signature=signature,
        predict=lgb_model.predict,
        requirements=default_requirements(packages),
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
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
    from labtrack.models.logging import log_packaged_model

    def save(path: str, model: Model) -> Model:
        return save_model(
            lgb_model,
            path,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            mlflow_model=model,
            code_paths=code_paths,
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


def _load_from_dir(path: str, meta: Model) -> Any:
    conf = meta.flavors.get(FLAVOR_NAME)
    pyfunc_conf = meta.flavors.get(PYFUNC, {})
    if conf is None and not pyfunc_conf:
        raise LabtrackException(
            f"Model at {path!r} has no '{FLAVOR_NAME}' flavor.", "RESOURCE_DOES_NOT_EXIST"
        )
    conf = conf or {}
    add_package_code_to_path(path, conf, pyfunc_conf)
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
    from labtrack.models.uris import download_model

    local = download_model(model_uri, dst_path)
    return _load_from_dir(local, Model.load(local))


class _LightGBMWrapper:
    def __init__(self, lgb_model: Any) -> None:
        self.raw_model = lgb_model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.raw_model.predict(data)


def _load_pyfunc(path: str, meta: Model, model_config: dict[str, Any] | None = None) -> Any:
    return _LightGBMWrapper(_load_from_dir(path, meta))


__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]
