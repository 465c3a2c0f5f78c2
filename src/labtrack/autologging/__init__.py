"""Autologging: ``lt.autolog()`` and each flavor's ``autolog()`` (MLflow's names and options).

``core`` holds the options, the safe patching and the never-break-training rule; each
integration (``sklearn``, ``pytorch`` for PyTorch Lightning, ``lightgbm``, ``xgboost``,
``keras``, ``transformers``) is a module of its own and only imports its library when enabled.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

_log = logging.getLogger("labtrack.autologging")

# integration -> the import name that makes it usable
_INTEGRATIONS = {
    "sklearn": ("sklearn",),
    "pytorch": ("lightning", "pytorch_lightning"),
    "lightgbm": ("lightgbm",),
    "xgboost": ("xgboost",),
    "keras": ("keras",),
    "transformers": ("transformers",),
}


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
    exclude_flavors: list[str] | None = None,
    log_traces: bool = True,
) -> None:
    """Enable (or disable) autologging for every integration whose library is importable:
    scikit-learn, PyTorch Lightning, LightGBM, XGBoost, Keras and Hugging Face's Trainer.
    ``log_traces`` is accepted and not used."""
    from labtrack.autologging import core

    del log_traces
    common: dict[str, Any] = {
        "log_models": log_models,
        "log_datasets": log_datasets,
        "disable": disable,
        "exclusive": exclusive,
        "disable_for_unsupported_versions": disable_for_unsupported_versions,
        "silent": silent,
        "extra_tags": extra_tags,
    }
    for flavor, modules in _INTEGRATIONS.items():
        if flavor in (exclude_flavors or ()):
            continue
        if not any(importlib.util.find_spec(m) is not None for m in modules):
            continue
        with core.guard(
            None if not silent else core.AutologConfig(flavor, silent=True),
            f"enabling {flavor} autologging",
        ):
            if flavor == "sklearn":
                from labtrack.autologging import sklearn

                sklearn.autolog(
                    log_input_examples=log_input_examples,
                    log_model_signatures=log_model_signatures,
                    **common,
                )
            elif flavor in ("lightgbm", "xgboost", "keras"):
                module = importlib.import_module(f"labtrack.autologging.{flavor}")
                module.autolog(
                    log_input_examples=log_input_examples,
                    log_model_signatures=log_model_signatures,
                    **common,
                )
            elif flavor == "transformers":
                from labtrack.autologging import transformers

                transformers.autolog(**{k: v for k, v in common.items() if k != "log_models"})
            else:
                from labtrack.autologging import pytorch

                pytorch.autolog(**common)


__all__ = ["autolog"]
