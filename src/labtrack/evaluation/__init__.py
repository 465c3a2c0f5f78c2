"""``lt.evaluate`` (also ``lt.models.evaluate``): score a model on labelled data with MLflow's
default evaluator, log metrics, plots and tables to the run, and optionally validate the
metrics against thresholds and a baseline model.

Heavy libraries (pandas, scikit-learn, Altair, matplotlib) load only when ``evaluate`` runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from labtrack.errors import invalid
from labtrack.evaluation.artifacts import EvaluationArtifact
from labtrack.evaluation.metrics import EvaluationMetric, MetricValue, make_metric
from labtrack.evaluation.validation import (
    MetricThreshold,
    ModelValidationFailedException,
    validate,
)


@dataclass
class EvaluationResult:
    """What ``evaluate`` returns: metric values, logged artifacts (by name), the baseline's
    metrics when a baseline model was given, and the run they were logged to."""

    metrics: dict[str, float]
    artifacts: dict[str, EvaluationArtifact] = field(default_factory=dict)
    baseline_model_metrics: dict[str, float] | None = None
    run_id: str | None = None

    @property
    def tables(self) -> dict[str, Any]:
        """The table artifacts as DataFrames (``eval_results_table``, ``per_class_metrics``)."""
        import pandas as pd

        return {
            k: a.content for k, a in self.artifacts.items() if isinstance(a.content, pd.DataFrame)
        }


_DEFAULT_EVALUATORS = (None, "default", ["default"], ("default",))


@contextlib.contextmanager
def _run() -> Iterator[str]:
    """The active run, or a new one ended afterwards (MLflow's behaviour)."""
    from labtrack.client import fluent as lt

    active = lt.active_run()
    if active is not None:
        yield active.info.run_id
        return
    with lt.start_run() as run:
        yield run.info.run_id


def evaluate(
    model: Any = None,
    data: Any = None,
    *,
    model_type: str | None = None,
    targets: Any = None,
    predictions: str | None = None,
    dataset_path: str | None = None,
    feature_names: Sequence[str] | None = None,
    evaluators: str | Sequence[str] | None = None,
    evaluator_config: Mapping[str, Any] | None = None,
    extra_metrics: Sequence[EvaluationMetric] | None = None,
    custom_artifacts: Any = None,
    validation_thresholds: Mapping[str, MetricThreshold] | None = None,
    baseline_model: Any = None,
    env_manager: str = "local",
    model_config: Any = None,
    inference_params: Any = None,
    model_id: str | None = None,
) -> EvaluationResult:
    """Evaluate ``model`` (a model URI, a loaded pyfunc model or a function; or None with a
    ``predictions`` column) on ``data`` with ``targets`` (a column name or an array).

    ``model_type`` is ``"classifier"`` or ``"regressor"``. Metrics and artifacts go to the
    active run, or to a new run. With ``validation_thresholds`` ({metric: MetricThreshold}),
    a metric missing its bounds raises ``ModelValidationFailedException`` after logging.
    ``evaluator_config``: ``pos_label``, ``label_list``, ``average`` (multiclass, default
    ``"weighted"``), ``sample_weights``, ``metric_prefix``.
    """
    from labtrack.client import fluent as lt
    from labtrack.evaluation.evaluator import compute, eval_table, log_all
    from labtrack.evaluation.inputs import check_model_type, check_targets, resolve_data
    from labtrack.evaluation.models import resolve_model

    del dataset_path, model_config, inference_params, model_id, custom_artifacts
    kind = check_model_type(model_type)
    if evaluators not in _DEFAULT_EVALUATORS:
        raise invalid(f"Unknown evaluators {evaluators!r}: only the 'default' evaluator exists.")
    if env_manager != "local":
        raise invalid("env_manager: only 'local' is supported (the model runs in this process).")
    config = dict(evaluator_config or {})
    prepared = resolve_data(data, targets, predictions, feature_names)
    check_targets(kind, prepared.targets)
    scorer = resolve_model(model)
    values, charts, tables, y_pred = compute(kind, scorer, prepared, extra_metrics or (), config)
    baseline_values = None
    if baseline_model is not None:
        base = resolve_model(baseline_model)
        baseline_values, _, _, _ = compute(kind, base, prepared, extra_metrics or (), config)
    with _run() as run_id:
        # As MLflow: the dataset's context is the metric prefix, if any.
        lt.log_input(prepared.dataset, context=config.get("metric_prefix") or None)
        logged = log_all(values, charts, tables, eval_table(prepared, y_pred))
    result = EvaluationResult(values, logged, baseline_values, run_id)
    if validation_thresholds:
        validate(validation_thresholds, values, baseline_values)
    return result


def validate_evaluation_results(
    validation_thresholds: Mapping[str, MetricThreshold],
    candidate_result: EvaluationResult,
    baseline_result: EvaluationResult | None = None,
) -> None:
    """MLflow 3's way to validate: compare two ``evaluate`` results against thresholds;
    raises ``ModelValidationFailedException`` listing every failing metric."""
    validate(
        validation_thresholds,
        candidate_result.metrics,
        baseline_result.metrics if baseline_result is not None else None,
    )


__all__ = [
    "EvaluationArtifact",
    "EvaluationMetric",
    "EvaluationResult",
    "MetricThreshold",
    "MetricValue",
    "ModelValidationFailedException",
    "evaluate",
    "make_metric",
    "validate",
    "validate_evaluation_results",
]
