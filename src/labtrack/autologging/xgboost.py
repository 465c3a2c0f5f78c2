"""XGBoost autologging (``lt.xgboost.autolog()``), MLflow's names and behaviour.

Patches ``xgboost.train`` (the native API) and ``XGBModel.fit`` (the scikit-learn API, which
calls ``train`` itself: only the user's call is logged). A run (started if none is active,
tagged ``mlflow.autologging=xgboost``) gets:

- params: ``train``'s ``params``, ``num_boost_round`` and its other settings, or the
  estimator's ``get_params()``;
- metrics: every evaluation result as ``<dataset>-<metric>`` (``train-rmse``,
  ``validation_0-logloss``), step = iteration; the native API logs them as they come, through
  the non-blocking metric queue, the scikit-learn API from ``evals_result()`` after ``fit``
  (its callbacks are constructor arguments, which autolog does not change); with early
  stopping also ``best_iteration`` and ``stopped_iteration``;
- artifacts: ``feature_importance_<type>.json`` per ``importance_types`` (MLflow's default:
  ``weight``);
- the training and evaluation datasets (scikit-learn API: pandas or numpy inputs) and the
  model (``lt.xgboost``), with a signature from the training data where there is some.
"""

from __future__ import annotations

import importlib.util
import inspect
from typing import Any

from labtrack.autologging import core
from labtrack.autologging.core import AutologConfig, guard
from labtrack.autologging.session import RunSession, estimator_tags, param_text

FLAVOR = "xgboost"
# train() arguments that are data or code, not settings: never logged as params.
_NOT_PARAMS = {
    "params",
    "dtrain",
    "evals",
    "obj",
    "evals_result",
    "xgb_model",
    "callbacks",
    "custom_metric",
    "feval",
}


def available() -> bool:
    return importlib.util.find_spec("xgboost") is not None


def autolog(
    importance_types: list[str] | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Enable XGBoost autologging (a warned no-op when XGBoost is not installed)."""
    missing = None if available() else "XGBoost"
    if not core.enabling(FLAVOR, disable=disable, silent=silent, missing=missing):
        return
    import xgboost
    import xgboost.sklearn
    import xgboost.training

    options = {
        "importance_types": list(importance_types or ["weight"]),
        "registered_model_name": registered_model_name,
        "model_format": model_format,
    }
    core.set_config(AutologConfig.from_arguments(FLAVOR, locals(), options))
    # ``train`` is reachable under three names; each is patched, all restore on disable.
    for module in (xgboost, xgboost.training, xgboost.sklearn):
        if hasattr(module, "train"):
            core.patch_function_session(FLAVOR, module, "train", TrainSession)
    core.patch_class_tree(FLAVOR, xgboost.XGBModel, "fit", EstimatorFitSession)


def _last(values: Any) -> float:
    value = values[-1] if isinstance(values, (list, tuple)) else values
    # ``cv``-style entries are (mean, std): the mean is the metric
    return float(value[0] if isinstance(value, tuple) else value)


def _recorder(run_id: str, trained: list[int]) -> Any:
    """An XGBoost training callback logging each iteration's evaluation results."""
    import xgboost

    class _Recorder(xgboost.callback.TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            from labtrack.client import fluent as lt

            trained[0] = epoch + 1
            for data_name, metrics in (evals_log or {}).items():
                for metric_name, values in metrics.items():
                    key = f"{data_name}-{metric_name}"
                    lt.log_metric(key, _last(values), step=epoch, run_id=run_id)
            return False  # never asks training to stop

    return _Recorder()


class _XGBoostSession(RunSession):
    """What both entry points share: the run, and the logging after training."""

    stopping = False  # early stopping was asked for

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.trained = [0]  # iterations run, as the recorder saw them

    def log_results(self, booster: Any, model: Any, example_source: Any) -> None:
        from labtrack.client import fluent as lt

        config = self.config
        run_id = str(self.run_id)
        client = lt.current_client()
        with guard(config, "logging early stopping"):
            best = getattr(booster, "best_iteration", None)
            if best is not None and self.stopping:
                client.log_metric(run_id, "best_iteration", int(best))
                stopped = self.trained[0] or booster.num_boosted_rounds()
                client.log_metric(run_id, "stopped_iteration", stopped)
        with guard(config, "logging feature importance"):
            for kind in config.options["importance_types"]:
                scores = booster.get_score(importance_type=kind)
                importance = {str(k): float(v) for k, v in scores.items()}
                client.log_dict(run_id, importance, f"feature_importance_{kind}.json")
        if config.log_models:
            with guard(config, "logging the model"):
                from labtrack import xgboost as labtrack_xgboost

                self.log_trained_model(
                    labtrack_xgboost,
                    model,
                    example_source,
                    model_format=config.options.get("model_format", "ubj"),
                )


class TrainSession(_XGBoostSession):
    """Around ``xgboost.train(params, dtrain, num_boost_round, ...)``."""

    def before(self) -> None:
        from labtrack.client import fluent as lt

        signature = inspect.signature(self.original)
        values = signature.bind_partial(*self.args, **self.kwargs).arguments
        self.start_run()
        params = {str(k): param_text(v) for k, v in dict(values.get("params") or {}).items()}
        for name, parameter in signature.parameters.items():
            if name in _NOT_PARAMS or name in params:
                continue
            if name in values:
                params[name] = param_text(values[name])
            elif parameter.default is not inspect.Parameter.empty:
                params[name] = param_text(parameter.default)
        lt.log_params(params)
        self.stopping = values.get("early_stopping_rounds") is not None
        # ``callbacks`` is keyword-only in ``train``: the recorder joins the user's list.
        self.kwargs["callbacks"] = [
            *(values.get("callbacks") or ()),
            _recorder(str(self.run_id), self.trained),
        ]

    def after(self, result: Any) -> None:
        self.log_results(result, result, None)


class EstimatorFitSession(_XGBoostSession):
    """Around ``XGBClassifier/XGBRegressor/XGBRanker.fit(X, y, ...)``."""

    def before(self) -> None:
        from labtrack.client import fluent as lt

        est = self.target
        values = inspect.signature(self.original).bind_partial(est, *self.args, **self.kwargs)
        arguments = values.arguments
        self.x, self.y = arguments.get("X"), arguments.get("y")
        self.eval_set = arguments.get("eval_set") or ()
        self.start_run()
        # deep=True: XGBoost's estimators keep their settings on XGBModel's signature
        est_params = est.get_params()
        lt.log_params({k: param_text(v) for k, v in est_params.items() if k != "callbacks"})
        lt.set_tags(estimator_tags(est))
        self.stopping = est_params.get("early_stopping_rounds") is not None
        inputs = [(self.x, self.y, "train")]
        for pair in self.eval_set:
            if isinstance(pair, tuple) and len(pair) == 2 and pair[0] is not self.x:
                inputs.append((pair[0], pair[1], "eval"))
        self.log_inputs(inputs)

    def after(self, result: Any) -> None:
        from labtrack.client import fluent as lt

        est = self.target
        if self.eval_set:
            with guard(self.config, "logging evaluation metrics"):
                history = est.evals_result()
                for data_name, by_metric in history.items():
                    for metric_name, values in by_metric.items():
                        self.trained[0] = max(self.trained[0], len(values))
                        key = f"{data_name}-{metric_name}"
                        for step, value in enumerate(values):
                            lt.log_metric(key, _last([value]), step=step, run_id=self.run_id)
        self.log_results(est.get_booster(), est, self.x if _has_rows(self.x) else None)


def _has_rows(x: Any) -> bool:
    import numpy as np

    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return isinstance(x, np.ndarray)
    return isinstance(x, (np.ndarray, pd.DataFrame))
