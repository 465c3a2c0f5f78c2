"""The default evaluator: predictions -> built-in and custom metrics -> plots and tables ->
the run. Pure computation is in ``metrics`` and ``artifacts``; this module only sequences it
and logs through the fluent API."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from labtrack.errors import invalid
from labtrack.evaluation import artifacts as plots
from labtrack.evaluation import metrics as m
from labtrack.evaluation.artifacts import EvaluationArtifact
from labtrack.evaluation.inputs import EvalData, check_predictions
from labtrack.evaluation.models import ScoringModel

_log = logging.getLogger("labtrack.evaluation")
_warned_png = False


def _labels(y_true: Any, y_pred: Any, config: dict[str, Any]) -> tuple[Any, Any]:
    """Sorted class labels and the positive one (the largest, unless ``pos_label``)."""
    import numpy as np

    given = config.get("label_list")
    labels = np.array(given) if given is not None else np.unique(np.concatenate([y_true, y_pred]))
    labels = np.sort(labels)
    pos_label = config.get("pos_label")
    if len(labels) <= 2:
        if pos_label is None:
            pos_label = labels[-1]
        elif pos_label not in labels:
            raise invalid(f"pos_label {pos_label!r} is not one of the labels {labels.tolist()}.")
        else:
            labels = np.append(labels[labels != pos_label], pos_label)
        if len(labels) < 2:
            raise invalid(
                "Evaluating a classifier needs at least two distinct labels; "
                f"found only {labels.tolist()}."
            )
    return labels, pos_label


def compute(
    model_type: str,
    model: ScoringModel | None,
    data: EvalData,
    extra_metrics: Sequence[m.EvaluationMetric],
    config: dict[str, Any],
) -> tuple[dict[str, float], list[plots.Plot], dict[str, Any], Any]:
    """Metrics, plots, tables (name -> DataFrame) and the predictions for one model."""
    import numpy as np

    features, y_true = data.features, data.targets
    if model is None:
        if data.predictions is None:
            raise invalid("evaluate needs a model, or a predictions column in the data.")
        y_pred = data.predictions
        y_proba = None
    else:
        y_pred = check_predictions(model.predict(features), len(y_true))
        y_proba = None
        if model_type == "classifier" and model.predict_proba is not None:
            try:
                y_proba = np.asarray(model.predict_proba(features))
            except Exception:  # e.g. an SVC without probability=True: no curves, still metrics
                _log.info("the model's predict_proba failed; skipping probability metrics")
    weights = config.get("sample_weights")
    values: dict[str, float] = {}
    charts: list[plots.Plot] = []
    tables: dict[str, Any] = {}
    raw = model.raw if model is not None else None
    if raw is not None and hasattr(raw, "score"):
        # MLflow's ``score``: the estimator's own default metric on this data.
        try:
            values["score"] = float(raw.score(features, y_true, sample_weight=weights))
        except Exception:
            _log.debug("the model's score() failed", exc_info=True)
    if model_type == "regressor":
        values.update(m.regressor_metrics(y_true, y_pred, weights))
        charts.append(plots.residuals_plot(y_true, y_pred))
    else:
        labels, pos_label = _labels(y_true, y_pred, config)
        if y_proba is not None and y_proba.shape[1] != len(labels):
            y_proba = None  # the label list does not match the model's classes
        if len(labels) == 2:
            values.update(m.binary_metrics(y_true, y_pred, y_proba, labels, pos_label, weights))
        else:
            average = config.get("average", "weighted")
            values.update(m.multiclass_metrics(y_true, y_pred, y_proba, labels, average, weights))
            tables["per_class_metrics"] = m.per_class_metrics(y_true, y_pred, labels, weights)
        charts.append(plots.confusion_matrix_plot(y_true, y_pred, labels, weights))
        if y_proba is not None:
            for kind in ("roc", "pr"):
                charts.append(plots.curve_plot(kind, y_true, y_proba, labels, pos_label, weights))
            if len(labels) == 2:
                charts.append(plots.lift_curve_plot(y_true, y_proba, labels, pos_label))
                charts.append(plots.calibration_curve_plot(y_true, y_proba, labels, pos_label))
    for metric in extra_metrics:
        if not isinstance(metric, m.EvaluationMetric):
            raise invalid(f"extra_metrics must be made with lt.models.make_metric, not {metric!r}.")
        values.update(m.run_custom_metric(metric, y_pred, y_true, data.frame(), values))
    prefix = config.get("metric_prefix") or ""
    if prefix:
        values = {f"{prefix}{k}": v for k, v in values.items()}
    return values, charts, tables, y_pred


def eval_table(data: EvalData, y_pred: Any) -> Any:
    """One row per example: the features, the target and the prediction."""
    table = data.frame().reset_index(drop=True).copy()
    table["target"] = data.targets
    table["prediction"] = y_pred
    return table


def log_all(
    values: dict[str, float],
    charts: list[plots.Plot],
    tables: dict[str, Any],
    table: Any,
) -> dict[str, EvaluationArtifact]:
    """Log metrics, plots and tables to the active run; the artifacts by name."""
    from labtrack.client import fluent as lt

    global _warned_png
    lt.log_metrics(values)
    out: dict[str, EvaluationArtifact] = {}
    with_png = plots.has_matplotlib()
    if not with_png and not _warned_png:
        _warned_png = True
        _log.warning(
            "matplotlib is not installed: evaluation plots are logged as Vega-Lite JSON only "
            "(<name>.vl.json), without the PNG files."
        )
    for plot in charts:
        spec = plot.chart.to_dict()
        lt.log_text(json.dumps(spec), f"{plot.name}.vl.json")
        out[f"{plot.name}_vega_lite"] = EvaluationArtifact(
            lt.get_artifact_uri(f"{plot.name}.vl.json"), plot.chart
        )
        if with_png:
            figure = plots.matplotlib_figure(plot)
            lt.log_figure(figure, f"{plot.name}.png")
            out[plot.name] = EvaluationArtifact(lt.get_artifact_uri(f"{plot.name}.png"), figure)
    for name, frame in tables.items():
        lt.log_text(frame.to_csv(index=False), f"{name}.csv")
        out[name] = EvaluationArtifact(lt.get_artifact_uri(f"{name}.csv"), frame)
    lt.log_table(table, "eval_results_table.json")
    out["eval_results_table"] = EvaluationArtifact(
        lt.get_artifact_uri("eval_results_table.json"), table
    )
    return out
