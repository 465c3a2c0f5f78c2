"""``lt.keras``: Keras 3 models in MLflow's ``keras`` flavor.

Saved in Keras's own ``.keras`` format (``data/model.keras``) and loaded with Keras's safe mode
on: a package cannot smuggle code in through a ``Lambda`` layer. The backend the model was
saved with is recorded (``keras_backend``); load it under a backend that can run it
(``KERAS_BACKEND``).
"""

from __future__ import annotations

import os
from typing import Any

from labtrack.autologging.keras import autolog  # MLflow's mlflow.keras.autolog
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

FLAVOR_NAME = "keras"
DATA_DIR = "data"
MODEL_FILE = "model.keras"


def save_model(
    model: Any,
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
    """Package a Keras 3 model at ``path``."""
    import keras

    if not isinstance(model, keras.Model):
        raise LabtrackException(
            f"Not a Keras model: {type(model).__name__}.", "INVALID_PARAMETER_VALUE"
        )

    def write(local: str) -> FlavorFiles:
        os.makedirs(os.path.join(local, DATA_DIR), exist_ok=True)
        model.save(os.path.join(local, DATA_DIR, MODEL_FILE))
        return FlavorFiles(
            pyfunc_conf={"data": DATA_DIR},
            flavor_conf={
                "data": DATA_DIR,
                "keras_version": str(keras.__version__),
                "keras_backend": keras.backend.backend(),
                "save_exported_model": False,
            },
            packages=["keras", keras.backend.backend()],
            predict=lambda data: model.predict(data, verbose=0),
        )

    return save_flavor_model(
        path,
        FLAVOR_NAME,
        "mlflow.keras",
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
    model: Any,
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
    """Package a Keras model and log it (an MLflow 3 logged model of the active run)."""
    return log_flavor_model(save_model, locals())


def _load_from_dir(path: str, meta: Model) -> Any:
    import keras

    conf, _ = flavor_confs(path, meta, FLAVOR_NAME)
    target = os.path.join(path, conf.get("data") or DATA_DIR, MODEL_FILE)
    if not os.path.isfile(target):
        raise LabtrackException(
            f"No {MODEL_FILE} in the package at {path!r} (an exported-model package is not "
            "supported).",
            "INVALID_PARAMETER_VALUE",
        )
    return keras.saving.load_model(target, safe_mode=True)


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """The Keras model of a package."""
    return load_flavor_model(model_uri, dst_path, _load_from_dir)


class _KerasWrapper:
    def __init__(self, model: Any) -> None:
        self.raw_model = model

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np

        if hasattr(data, "to_numpy"):
            data = data.to_numpy()
        return self.raw_model.predict(np.asarray(data), verbose=0)


def _load_pyfunc(path: str, meta: Model, model_config: dict[str, Any] | None = None) -> Any:
    return _KerasWrapper(_load_from_dir(path, meta))


__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]
