"""Metrics of ``lt.evaluate``: the default evaluator's built-in metrics (MLflow's names, values
from scikit-learn's own functions) and custom metrics made with ``make_metric``."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labtrack.errors import invalid


@dataclass
class MetricValue:
    """What a custom metric may return: per-row ``scores`` and/or ``aggregate_results``
    (``{"mean": ..., "p90": ...}``, logged as ``<name>/<aggregation>``)."""

    scores: list[Any] | None = None
    justifications: list[str] | None = None
    aggregate_results: dict[str, float] | None = None


@dataclass
class EvaluationMetric:
    """A custom metric: ``eval_fn`` gets the arguments it names among ``predictions``,
    ``targets``, ``metrics`` (the values computed so far) and the input's columns."""

    eval_fn: Callable[..., Any]
    name: str
    greater_is_better: bool
    long_name: str | None = None
    version: str | None = None
    metric_details: str | None = None
    metric_metadata: dict[str, Any] | None = None
    genai_metric_args: dict[str, Any] | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return f"EvaluationMetric(name={self.name}, greater_is_better={self.greater_is_better})"


def make_metric(
    *,
    eval_fn: Callable[..., Any],
    greater_is_better: bool,
    name: str | None = None,
    long_name: str | None = None,
    version: str | None = None,
    metric_details: str | None = None,
    metric_metadata: dict[str, Any] | None = None,
    genai_metric_args: dict[str, Any] | None = None,
) -> EvaluationMetric:
    """A custom metric for ``lt.evaluate(extra_metrics=[...])`` (MLflow's ``make_metric``)."""
    if not callable(eval_fn):
        raise invalid("make_metric: eval_fn must be callable.")
    if name is None:
        name = getattr(eval_fn, "__name__", None)
        if not name or name == "<lambda>":
            raise invalid("make_metric: give a name (eval_fn is a lambda or has no name).")
    return EvaluationMetric(
        eval_fn,
        name,
        greater_is_better,
        long_name,
        version,
        metric_details,
        metric_metadata,
        genai_metric_args,
    )


def _number(value: Any) -> float:
    return float(value)


# ---- regressors -------------------------------------------------------------------------


def regressor_metrics(y_true: Any, y_pred: Any, sample_weight: Any = None) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics as sk

    y = np.asarray(y_true, dtype=float)
    if sample_weight is not None:
        total = float((y * np.asarray(sample_weight, dtype=float)).sum())
    else:
        total = float(y.sum())
    mse = sk.mean_squared_error(y_true, y_pred, sample_weight=sample_weight)
    return {
        "example_count": len(y),
        "mean_absolute_error": _number(
            sk.mean_absolute_error(y_true, y_pred, sample_weight=sample_weight)
        ),
        "mean_squared_error": _number(mse),
        "root_mean_squared_error": math.sqrt(mse),
        "sum_on_target": total,
        "mean_on_target": total / len(y),
        "r2_score": _number(sk.r2_score(y_true, y_pred, sample_weight=sample_weight)),
        "max_error": _number(sk.max_error(y_true, y_pred)),
        "mean_absolute_percentage_error": _number(
            sk.mean_absolute_percentage_error(y_true, y_pred, sample_weight=sample_weight)
        ),
    }


# ---- classifiers ------------------------------------------------------------------------


def binary_metrics(
    y_true: Any,
    y_pred: Any,
    y_proba: Any,
    labels: Any,
    pos_label: Any,
    sample_weight: Any = None,
) -> dict[str, float]:
    """Counts, accuracy, precision/recall/F1 of ``pos_label``; ``log_loss``, ``roc_auc`` and
    ``precision_recall_auc`` when the model gives probabilities (``y_proba``: n x 2)."""
    from sklearn import metrics as sk

    # Unweighted counts, as MLflow's evaluator reports them.
    tn, fp, fn, tp = sk.confusion_matrix(y_true, y_pred, labels=labels).ravel()
    kw = {"pos_label": pos_label, "sample_weight": sample_weight, "zero_division": 0}
    out: dict[str, float] = {
        "true_negatives": _number(tn),
        "false_positives": _number(fp),
        "false_negatives": _number(fn),
        "true_positives": _number(tp),
        "example_count": len(y_true),
        "accuracy_score": _number(sk.accuracy_score(y_true, y_pred, sample_weight=sample_weight)),
        "recall_score": _number(sk.recall_score(y_true, y_pred, **kw)),
        "precision_score": _number(sk.precision_score(y_true, y_pred, **kw)),
        "f1_score": _number(sk.f1_score(y_true, y_pred, **kw)),
    }
    if y_proba is not None:
        out["log_loss"] = _number(
            sk.log_loss(y_true, y_proba, labels=labels, sample_weight=sample_weight)
        )
        positive = y_proba[:, list(labels).index(pos_label)]
        out["roc_auc"] = _number(
            sk.roc_auc_score(_is(y_true, pos_label), positive, sample_weight=sample_weight)
        )
        out["precision_recall_auc"] = _number(
            sk.average_precision_score(
                y_true, positive, pos_label=pos_label, sample_weight=sample_weight
            )
        )
    return out


def _is(y: Any, label: Any) -> Any:
    import numpy as np

    return (np.asarray(y) == label).astype(int)


def multiclass_metrics(
    y_true: Any,
    y_pred: Any,
    y_proba: Any,
    labels: Any,
    average: str = "weighted",
    sample_weight: Any = None,
) -> dict[str, float]:
    """Accuracy and ``average``-averaged precision/recall/F1; ``log_loss`` and one-vs-rest
    ``roc_auc`` with probabilities."""
    from sklearn import metrics as sk

    kw = {"average": average, "sample_weight": sample_weight, "zero_division": 0}
    out: dict[str, float] = {
        "example_count": len(y_true),
        "accuracy_score": _number(sk.accuracy_score(y_true, y_pred, sample_weight=sample_weight)),
        "recall_score": _number(sk.recall_score(y_true, y_pred, **kw)),
        "precision_score": _number(sk.precision_score(y_true, y_pred, **kw)),
        "f1_score": _number(sk.f1_score(y_true, y_pred, **kw)),
    }
    if y_proba is not None:
        out["log_loss"] = _number(
            sk.log_loss(y_true, y_proba, labels=labels, sample_weight=sample_weight)
        )
        if average in ("macro", "weighted"):
            out["roc_auc"] = _number(
                sk.roc_auc_score(
                    y_true,
                    y_proba,
                    average=average,
                    multi_class="ovr",
                    sample_weight=sample_weight,
                )
            )
    return out


def per_class_metrics(y_true: Any, y_pred: Any, labels: Any, sample_weight: Any = None) -> Any:
    """One row per class (one-vs-rest): positive/negative counts, precision, recall, F1."""
    import numpy as np
    import pandas as pd
    from sklearn import metrics as sk

    rows = []
    for label in labels:
        truth, pred = _is(y_true, label), _is(y_pred, label)
        kw = {"sample_weight": sample_weight, "zero_division": 0}
        rows.append(
            {
                "positive_class": label,
                "true_negatives": int(((truth == 0) & (pred == 0)).sum()),
                "false_positives": int(((truth == 0) & (pred == 1)).sum()),
                "false_negatives": int(((truth == 1) & (pred == 0)).sum()),
                "true_positives": int(((truth == 1) & (pred == 1)).sum()),
                "recall": float(sk.recall_score(truth, pred, **kw)),
                "precision": float(sk.precision_score(truth, pred, **kw)),
                "f1_score": float(sk.f1_score(truth, pred, **kw)),
                "example_count": int(np.asarray(truth).sum()),
            }
        )
    return pd.DataFrame(rows)


# ---- custom metrics ---------------------------------------------------------------------


def run_custom_metric(
    metric: EvaluationMetric,
    predictions: Any,
    targets: Any,
    features: Any,
    metrics: Mapping[str, float],
) -> dict[str, float]:
    """Call ``metric.eval_fn`` with the arguments it names and turn its answer into metrics.

    A number is ``{name: value}``; a ``MetricValue`` gives ``name/<aggregation>`` per
    aggregate; ``None`` logs nothing (MLflow's convention for "not applicable")."""
    available: dict[str, Any] = {
        "predictions": predictions,
        "targets": targets,
        "metrics": dict(metrics),
    }
    if features is not None and hasattr(features, "columns"):
        for column in features.columns:
            available.setdefault(str(column), features[column])
    try:
        params = inspect.signature(metric.eval_fn).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    columns = [k for k in available if k not in ("predictions", "targets", "metrics")]
    args = []
    for pname, param in params.items():
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if pname in available:
            args.append(available[pname])
        elif param.default is inspect.Parameter.empty:
            raise invalid(
                f"Custom metric {metric.name!r} needs the argument {pname!r}, which is neither "
                f"'predictions', 'targets', 'metrics' nor an input column "
                f"(columns: {columns})."
            )
    value = metric.eval_fn(*args)
    if value is None:
        return {}
    if isinstance(value, MetricValue):
        return {f"{metric.name}/{k}": float(v) for k, v in (value.aggregate_results or {}).items()}
    if isinstance(value, Mapping):
        return {f"{metric.name}/{k}": float(v) for k, v in value.items()}
    try:
        return {metric.name: float(value)}
    except (TypeError, ValueError) as exc:
        raise invalid(
            f"Custom metric {metric.name!r} returned {type(value).__name__}; return a number "
            "or a MetricValue."
        ) from exc
