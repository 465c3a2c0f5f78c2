"""``lt.sklearn``: scikit-learn models in MLflow's ``sklearn`` flavor.

Saved with cloudpickle (``model.pkl``) by default, which both labtrack and MLflow load; packages
saved by MLflow in its ``skops`` format load too (skops' own list of trusted types applies).
Loading a pickle runs code from the package: only load models you trust.
"""

from __future__ import annotations

import os
from typing import Any

from labtrack.autologging.sklearn import autolog  # MLflow's mlflow.sklearn.autolog
from labtrack.errors import LabtrackException
from labtrack.models.flavor_package import (
    FlavorFiles,
    flavor_confs,
    load_flavor_model,
    log_flavor_model,
    save_flavor_model,
)
from labtrack.models.model import PYFUNC, Model, ModelInfo, conda_env, default_requirements, pickler
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
    filename = "model.skops" if serialization_format == "skops" else "model.pkl"

    def write(local: str) -> FlavorFiles:
        target = os.path.join(local, filename)
        if serialization_format == "skops":
            import skops.io

            skops.io.dump(sk_model, target)
        else:
            import pickle

            with open(target, "wb") as f:
                (pickler() if serialization_format == "cloudpickle" else pickle).dump(sk_model, f)
        packages = ["scikit-learn"]
        if serialization_format != "pickle":
            packages.append(serialization_format)
        return FlavorFiles(
            pyfunc_conf={"model_path": filename, "predict_fn": pyfunc_predict_fn},
            flavor_conf={
                "pickled_model": filename,
                "sklearn_version": str(sklearn.__version__),
                "serialization_format": serialization_format,
            },
            packages=packages,
            predict=getattr(sk_model, pyfunc_predict_fn),
        )

    return save_flavor_model(
        path,
        FLAVOR_NAME,
        "mlflow.sklearn",
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
    return log_flavor_model(save_model, locals())


def _load_from_dir(path: str, meta: Model) -> Any:
    conf, pyfunc_conf = flavor_confs(path, meta, FLAVOR_NAME)
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
    return load_flavor_model(model_uri, dst_path, _load_from_dir)


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
