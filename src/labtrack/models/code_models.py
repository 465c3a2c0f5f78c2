"""What a model's own code uses at load time (MLflow's names): ``ModelConfig`` reads the
package's ``model_config``; ``set_model`` names the model object a models-from-code file
defines; ``ModelInputExample`` is the type of an input example."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Union

from labtrack.errors import invalid

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# What an input example may be: a DataFrame, an array, a dict of arrays, a list or a scalar
# (the annotation MLflow's ``input_example`` parameters carry).
ModelInputExample = Union["pd.DataFrame", "np.ndarray", dict, list, str, bytes, Any]

_model: Any = None


def set_model(model: Any) -> None:
    """Name the model a models-from-code file defines (MLflow runs such a file and keeps the
    object passed here); a ``PythonModel`` or a callable."""
    global _model
    if model is None:
        raise invalid("set_model: the model must not be None.")
    if not callable(model) and not hasattr(model, "predict"):
        raise invalid("set_model expects a PythonModel or a callable.")
    _model = model


def get_set_model() -> Any:
    """The object the last ``set_model`` call named (None before any)."""
    return _model


class ModelConfig:
    """A model's configuration from a dict or a YAML file (``development_config``).
    ``get(key)`` raises ``KeyError`` for a missing key, as MLflow's does. (A saved package's
    ``model_config`` reaches a custom model as ``context.model_config``.)"""

    def __init__(self, *, development_config: str | dict[str, Any] | None = None) -> None:
        self.config = development_config

    def _read(self) -> dict[str, Any]:
        if isinstance(self.config, dict):
            return dict(self.config)
        if isinstance(self.config, (str, os.PathLike)):
            import yaml

            if not os.path.isfile(self.config):
                raise FileNotFoundError(f"Config file {self.config!r} not found.")
            with open(self.config, encoding="utf-8") as f:
                value = yaml.safe_load(f)
            if not isinstance(value, dict):
                raise invalid(f"Config file {self.config!r} must hold a mapping.")
            return value
        raise FileNotFoundError("No model config: pass development_config (a dict or a path).")

    def to_dict(self) -> dict[str, Any]:
        return self._read()

    def get(self, key: str) -> Any:
        config = self._read()
        if key not in config:
            raise KeyError(f"Key {key!r} not found in the model config.")
        return config[key]
