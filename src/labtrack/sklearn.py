"""``lt.sklearn``: scikit-learn models in MLflow's ``sklearn`` flavor.

Saved with cloudpickle (``model.pkl``) by default, which both labtrack and MLflow load; packages
saved by MLflow in its ``skops`` format load too (skops' own list of trusted types applies).
Loading a pickle runs code from the package: only load models you trust.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from labtrack.autologging.sklearn import autolog  # MLflow's mlflow.sklearn.autolog
from labtrack.errors import LabtrackException
from labtrack.models.model import (
    PYFUNC,
    Model,
    ModelInfo,
    add_package_code_to_path,
    conda_env,
    copy_code_paths,
    default_requirements,
    finish_package,
    pickler,
    prepare_dir,
    pyfunc_env_conf,
)
from labtrack.models.signature import ModelSignature

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMATS = ("cloudpickle", "pickle", "skops")


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    serialization_format: str = "cloudpickle",
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
    code_paths: list[str] | None = None,
    **_: Any,
) -> Model:
    """Package ``sk_model`` at ``path`` (MLmodel, model file, environment, example).

    ``code_paths``: files or folders of Python code the model needs (custom transformers),
    copied into the package and importable when it is loaded."""
    import sklearn

    if serialization_format not in SERIALIZATION_FORMATS:
        raise LabtrackException(
            f"Unknown serialization format {serialization_format!r}: one of "
            f"{', '.join(SERIALIZATION_FORMATS)}.",
            "INVALID_PARAMETER_VALUE",
        )
    if not hasattr(sk_model, pyfunc_predict_fn):
        raise LabtrackException(
            f"The model has no method {pyfunc_predict_fn!r}.", "INVALID_PARAMETER_VALUE"
        )
    local = prepare_dir(path)
    code = copy_code_paths(local, code_paths)
    model = mlflow_model or Model()
    filename = "model.skops" if serialization_format == "skops" else "model.pkl"
    target = os.path.join(local, filename)
    if serialization_format == "skops":
        import skops.io

        skops.io.dump(sk_model, target)
    else:
        import pickle

        with open(target, "wb") as f:
            (pickler() if serialization_format == "cloudpickle" else pickle).dump(sk_model, f)
    model.add_flavor(
        PYFUNC,
        loader_module="mlflow.sklearn",
        model_path=filename,
        predict_fn=pyfunc_predict_fn,
        code=code,
        env=pyfunc_env_conf(),
        python_version=platform.python_version(),
    )
    model.add_flavor(
        FLAVOR_NAME,
        pickled_model=filename,
        sklearn_version=str(sklearn.__version__),
        serialization_format=serialization_format,
        code=code,
    )
    packages = ["scikit-learn", "cloudpickle" if serialization_format == "cloudpickle" else None]
    if serialization_format == "skops":
        packages.append("skops")
    return finish_package(
        local,
        model,
        input_example=input_example,
        signature=signature,
        predict=getattr(sk_model, pyfunc_predict_fn),
        requirements=default_requirements([p for p in packages if p]),
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def log_model(
    sk_model: Any,
    name: str | None = None,
    serialization_format: str = "cloudpickle",
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    artifact_path: str | None = None,
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    code_paths: list[str] | None = None,
) -> ModelInfo:
    """Package ``sk_model`` and log it (an MLflow 3 logged model of the active run)."""
    from labtrack.models.logging import log_packaged_model

    def save(path: str, model: Model) -> Model:
        return save_model(
            sk_model,
            path,
            serialization_format=serialization_format,
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            pyfunc_predict_fn=pyfunc_predict_fn,
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
    filename = conf.get("pickled_model") or pyfunc_conf.get("model_path") or "model.pkl"
    fmt = conf.get("serialization_format", "pickle")
    target = os.path.join(path, filename)
    if fmt == "skops":
        import skops.io

        return skops.io.load(target, trusted=conf.get("skops_trusted_types") or None)
    if fmt not in ("pickle", "cloudpickle"):
        raise LabtrackException(
            f"Unknown serialization format {fmt!r} in {path!r}.", "INVALID_PARAMETER_VALUE"
        )
    import pickle

    with open(target, "rb") as f:
        return pickle.load(f)  # noqa: S301 - loading a model runs its code; documented


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """The scikit-learn object of a package. Unpickles it: load only models you trust."""
    from labtrack.models.uris import download_model

    local = download_model(model_uri, dst_path)
    return _load_from_dir(local, Model.load(local))


class _SklearnWrapper:
    def __init__(self, sk_model: Any, predict_fn: str) -> None:
        self.raw_model = sk_model
        self._predict = getattr(sk_model, predict_fn)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self._predict(data)


def _load_pyfunc(path: str, meta: Model, model_config: dict[str, Any] | None = None) -> Any:
    predict_fn = meta.flavors.get(PYFUNC, {}).get("predict_fn", "predict")
    return _SklearnWrapper(_load_from_dir(path, meta), predict_fn)


__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]


def get_default_pip_requirements(include_cloudpickle: bool = False) -> list[str]:
    """scikit-learn (and cloudpickle) pinned to this environment's versions."""
    return default_requirements(["scikit-learn", *(["cloudpickle"] if include_cloudpickle else [])])


def get_default_conda_env(include_cloudpickle: bool = False) -> dict[str, Any]:
    """The conda environment written for a scikit-learn model by default."""
    return conda_env(get_default_pip_requirements(include_cloudpickle))
