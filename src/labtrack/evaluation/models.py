"""What ``lt.evaluate`` accepts as a model: a model URI, a loaded pyfunc model, a plain
function, or (with a ``predictions`` column) nothing. Gives a ``predict`` and, when the
underlying model has one, a ``predict_proba``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from labtrack.errors import invalid


@dataclass
class ScoringModel:
    predict: Any  # (features DataFrame) -> predictions
    predict_proba: Any = None  # (features DataFrame) -> n x classes, or None
    raw: Any = None  # the underlying estimator, when there is one (for ``score``)


def _raw_model(model: Any) -> Any:
    get_raw = getattr(model, "get_raw_model", None)
    if get_raw is None:
        return None
    try:
        return get_raw()
    except Exception:  # not every flavor has one
        return None


def resolve_model(model: Any) -> ScoringModel | None:
    from labtrack import pyfunc

    if model is None:
        return None
    if isinstance(model, (str, os.PathLike)):
        model = pyfunc.load_model(model)
    if isinstance(model, pyfunc.PyFuncModel):
        raw = _raw_model(model)
        proba = getattr(raw, "predict_proba", None) if raw is not model else None
        return ScoringModel(model.predict, proba, raw)
    if hasattr(model, "predict") and callable(model.predict):
        # An unlogged estimator: usable, though MLflow asks for a pyfunc model or a function.
        return ScoringModel(model.predict, getattr(model, "predict_proba", None), model)
    if callable(model):
        return ScoringModel(model)
    raise invalid(
        f"evaluate: model must be a model URI, a loaded pyfunc model or a function, "
        f"not {type(model).__name__}."
    )
