"""scikit-learn autologging (``lt.sklearn.autolog()``), with MLflow's names and conventions.

Each top-level ``fit``/``fit_transform``/``fit_predict`` of an estimator logs, to the active
run (or a run it starts and ends, tagged ``mlflow.autologging=sklearn``):

- params: ``get_params(deep=True)`` (``deep=False`` for parameter searches, whose seed
  estimator's untuned values would mislead); tags ``estimator_name``, ``estimator_class``;
- the training data as a dataset input (context ``train``);
- training metrics named ``training_<metric>``: classifiers ``accuracy_score``,
  ``precision_score``, ``recall_score``, ``f1_score`` (weighted average, or binary with
  ``pos_label``), with ``predict_proba`` also ``log_loss`` and ``roc_auc`` (weighted,
  one-vs-one); regressors ``mean_squared_error``, ``root_mean_squared_error``,
  ``mean_absolute_error``, ``r2_score``; both ``training_score`` (``estimator.score``);
- the model (``model``, with a signature inferred from the first rows);
- for GridSearchCV/RandomizedSearchCV: ``best_<param>`` params, ``best_cv_score``, the best
  estimator (``best_estimator``), ``cv_results.csv``, and one child run per candidate for the
  best ``max_tuning_runs`` (by ``rank_test_score``, best first).

After training, a ``sklearn.metrics`` function (looked up on the module after ``autolog()``)
called on the predictions of an autologged model logs ``<metric>_<dataset variable>`` (e.g.
``accuracy_score_X_test``; a repeated call ``accuracy_score-2_X_test``) to the model's run, and
``model.score(X_test, y)`` logs ``<EstimatorClass>_score_X_test``.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import numbers
import sys
import weakref
from collections import defaultdict
from typing import Any

from labtrack.autologging import core
from labtrack.autologging.core import AutologConfig, guard
from labtrack.autologging.session import (
    AUTOLOGGING_TAG,
    INPUT_EXAMPLE_ROWS,
    RunSession,
    dataset_of,
    estimator_tags,
    param_text,
)
from labtrack.errors import LabtrackException, invalid

FLAVOR = "sklearn"
_log = logging.getLogger("labtrack.autologging")
# Data-preparation steps are not models: MLflow does not log their fits unless they are part
# of a Pipeline (which is logged as a whole).
_EXCLUDED_MODULES = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)
_EXCLUDED_CLASSES = ("sklearn.compose._column_transformer.ColumnTransformer",)
_FIT_METHODS = ("fit", "fit_transform", "fit_predict")
_PREDICT_METHODS = ("predict", "predict_proba", "transform", "predict_log_proba")
_NOT_METRICS = ("check_scoring", "get_scorer", "make_scorer", "get_scorer_names")


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "cloudpickle",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Enable (or with ``disable=True`` turn off) scikit-learn autologging (MLflow's options;
    ``exclusive`` and ``disable_for_unsupported_versions`` are accepted and have no effect)."""
    if disable:
        core.disable(FLAVOR)
        return
    if max_tuning_runs is not None and max_tuning_runs < 0:
        raise invalid(f"max_tuning_runs must be non-negative, not {max_tuning_runs}.")
    options = {
        "max_tuning_runs": max_tuning_runs,
        "log_post_training_metrics": log_post_training_metrics,
        "serialization_format": serialization_format,
        "registered_model_name": registered_model_name,
        "pos_label": pos_label,
    }
    core.set_config(AutologConfig.from_arguments(FLAVOR, locals(), options))
    _patch_sklearn(log_post_training_metrics)


# ---- what gets patched -------------------------------------------------------------------


def _estimator_classes() -> list[type]:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    classes = {cls for _, cls in all_estimators()} | {GridSearchCV, RandomizedSearchCV, Pipeline}
    return [
        cls
        for cls in classes
        if not cls.__module__.startswith(_EXCLUDED_MODULES)
        and f"{cls.__module__}.{cls.__name__}" not in _EXCLUDED_CLASSES
    ]


def _patch_sklearn(post_training: bool) -> None:
    import sklearn.metrics

    for cls in _estimator_classes():
        for name in _FIT_METHODS:
            core.patch(FLAVOR, cls, name, FitSession)
        for name in _PREDICT_METHODS:
            core.patch_method(FLAVOR, cls, name, _predict_wrapper)
        core.patch_method(FLAVOR, cls, "score", _score_wrapper)
    if post_training:
        for name in sklearn.metrics.__all__:
            func = getattr(sklearn.metrics, name, None)
            if (
                name in _NOT_METRICS
                or name.startswith("plot_")
                or inspect.isclass(func)
                or not callable(func)
            ):
                continue
            core.patch_function(FLAVOR, sklearn.metrics, name, _metric_wrapper(func))


# ---- one fit ------------------------------------------------------------------------------


def _is_search(estimator: Any) -> bool:
    from sklearn.model_selection._search import BaseSearchCV

    return isinstance(estimator, BaseSearchCV)


def _fit_inputs(method: Any, args: tuple, kwargs: dict) -> tuple[Any, Any, Any]:
    """``(X, y, sample_weight)`` as the user passed them to ``fit``."""
    try:
        bound = dict(inspect.signature(method).bind_partial(None, *args, **kwargs).arguments)
    except TypeError:  # arguments fit itself would refuse: nothing to log from them
        return (args[0] if args else None), None, None
    x = bound["X"] if "X" in bound else (args[0] if args else None)
    y = bound["y"] if "y" in bound else bound.get("Y")
    return x, y, bound.get("sample_weight")


def _param_values(params: dict[str, Any]) -> dict[str, str]:
    return {key: param_text(value) for key, value in params.items()}


def _dataset(x: Any, y: Any) -> Any:
    if hasattr(x, "toarray"):  # a scipy sparse matrix
        x = x.toarray()
    if y is not None and hasattr(y, "toarray"):
        y = y.toarray()
    return dataset_of(x, y)


class FitSession(RunSession):
    """Autolog around one ``fit``: run, params, dataset before; metrics, model after."""

    def before(self) -> None:
        from labtrack.client import fluent as lt

        config = self.config
        est = self.target
        self.x, self.y, self.sample_weight = _fit_inputs(self.original, self.args, self.kwargs)
        self.start_run()
        with guard(config, "logging params"):
            lt.log_params(_param_values(est.get_params(deep=not _is_search(est))))
        with guard(config, "logging tags"):
            lt.set_tags(estimator_tags(est))
        self.dataset = None
        if config.log_datasets:
            with guard(config, "logging the training dataset"):
                self.dataset = _dataset(self.x, self.y)
                if self.dataset is not None:
                    lt.log_input(self.dataset, context="train")

    def after(self, result: Any) -> None:
        config = self.config
        est = self.target
        example = None
        with guard(config, "taking an input example"):
            example = self.x[:INPUT_EXAMPLE_ROWS] if self.x is not None else None
        with guard(config, "logging training metrics"):
            _log_training_metrics(est, self.x, self.y, self.sample_weight, config)
        if config.log_models:
            with guard(config, "logging the model"):
                params = est.get_params(deep=not _is_search(est))
                if hasattr(est, "best_params_"):
                    params |= {f"best_{k}": v for k, v in est.best_params_.items()}
                _log_model(est, "model", example, config, params)
        if _is_search(est):
            with guard(config, "logging the parameter search"):
                _log_search(est, example, config, self.dataset)
        if config.options.get("log_post_training_metrics") and self.run_id:
            with guard(config, "tracking the model for post-training metrics"):
                _model_runs[est] = self.run_id


def _log_model(est: Any, name: str, example: Any, config: AutologConfig, params: Any) -> None:
    from labtrack import sklearn as labtrack_sklearn
    from labtrack.models.signature import infer_signature

    signature = None
    if example is not None and config.log_model_signatures and hasattr(est, "predict"):
        try:
            signature = infer_signature(example, est.predict(example))
        except LabtrackException:
            # e.g. numpy string labels, which signatures cannot describe yet: inputs only
            _log.debug("no output schema for the autologged model", exc_info=True)
            signature = infer_signature(example)
    labtrack_sklearn.log_model(
        est,
        name=name,
        signature=signature,
        input_example=example if config.log_input_examples else None,
        serialization_format=config.options.get("serialization_format", "cloudpickle"),
        registered_model_name=config.options.get("registered_model_name")
        if name == "model"
        else None,
        params=_param_values(params) if params else None,
    )


def _metric_values(est: Any, x: Any, y: Any, weight: Any, pos_label: Any) -> dict[str, float]:
    """MLflow's training metrics (without the ``training_`` prefix)."""
    import numpy as np
    import sklearn
    from sklearn import metrics as sk
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}
    if y is None:
        return out
    # The inputs are checked already (the estimator just trained on them): skipping
    # sklearn's per-call parameter validation halves the cost and changes no value.
    with sklearn.config_context(skip_parameter_validation=True):
        if is_classifier(est):
            pred = est.predict(x)
            average = "weighted" if pos_label is None else "binary"
            # One pass for precision, recall and F1: the values precision_score,
            # recall_score and f1_score would each compute with the same arguments.
            precision, recall, f1, _ = sk.precision_recall_fscore_support(
                y,
                pred,
                average=average,
                pos_label=1 if pos_label is None else pos_label,
                sample_weight=weight,
                zero_division="warn",
            )
            out["precision_score"] = precision
            out["recall_score"] = recall
            out["f1_score"] = f1
            out["accuracy_score"] = sk.accuracy_score(y, pred, sample_weight=weight)
            if hasattr(est, "predict_proba"):
                proba = est.predict_proba(x)
                out["log_loss"] = sk.log_loss(y, proba, sample_weight=weight)
                score = proba[:, 1] if proba.shape[1] == 2 else proba
                out["roc_auc"] = sk.roc_auc_score(
                    y, score, average="weighted", sample_weight=weight, multi_class="ovo"
                )
        elif is_regressor(est):
            pred = est.predict(x)
            kw = {"sample_weight": weight, "multioutput": "uniform_average"}
            out["mean_squared_error"] = sk.mean_squared_error(y, pred, **kw)
            out["mean_absolute_error"] = sk.mean_absolute_error(y, pred, **kw)
            out["r2_score"] = sk.r2_score(y, pred, **kw)
            out["root_mean_squared_error"] = float(np.sqrt(out["mean_squared_error"]))
    if hasattr(est, "score"):
        try:
            if weight is not None:
                out["score"] = est.score(x, y, sample_weight=weight)
            else:
                out["score"] = est.score(x, y)
        except Exception:  # e.g. a score needing other arguments: the rest still counts
            _log.debug("estimator.score failed on the training data", exc_info=True)
    return {k: float(v) for k, v in out.items()}


def _log_training_metrics(est: Any, x: Any, y: Any, weight: Any, config: AutologConfig) -> None:
    from labtrack.client import fluent as lt

    values = _metric_values(est, x, y, weight, config.options.get("pos_label"))
    if values:
        lt.log_metrics({f"training_{k}": v for k, v in values.items()})


def _log_search(est: Any, example: Any, config: AutologConfig, dataset: Any) -> None:
    from labtrack.client import fluent as lt

    if hasattr(est, "best_estimator_") and config.log_models:
        with guard(config, "logging the best estimator"):
            _log_model(
                est.best_estimator_,
                "best_estimator",
                example,
                config,
                est.best_estimator_.get_params(deep=True),
            )
    if hasattr(est, "best_score_"):
        lt.log_metrics({"best_cv_score": float(est.best_score_)})
    if hasattr(est, "best_params_"):
        lt.log_params(_param_values({f"best_{k}": v for k, v in est.best_params_.items()}))
    if not hasattr(est, "cv_results_"):
        return
    import pandas as pd

    results = pd.DataFrame.from_dict(est.cv_results_)
    with guard(config, "logging cv_results.csv"):
        lt.log_text(results.to_csv(index=False), "cv_results.csv")
    with guard(config, "creating child runs"):
        _child_runs(est, results, config, dataset)


def _child_runs(est: Any, results: Any, config: AutologConfig, dataset: Any) -> None:
    """One nested run per candidate, the best ``max_tuning_runs`` first (MLflow's layout:
    the seed estimator's params overridden by the candidate's, cv_results' numeric columns
    except per-split scores and ``param_*`` as metrics)."""
    from labtrack.client import fluent as lt

    limit = config.options.get("max_tuning_runs")
    seed = est.estimator
    base = seed.get_params(deep=not _is_search(seed))
    if limit is not None:
        rank: str | None = "rank_test_score"
        if rank not in results.columns:
            rank = next((c for c in results.columns if c.startswith("rank_test_")), None)
        results = results.nsmallest(limit, rank, keep="first") if rank else results.head(limit)
    tags = {AUTOLOGGING_TAG: FLAVOR, **estimator_tags(seed)}
    for _, row in results.iterrows():
        params = dict(base)
        params.update(row.get("params", {}) or {})
        metrics = {
            str(k): float(v)
            for k, v in row.items()
            if not str(k).startswith(("param", "split"))
            and isinstance(v, numbers.Real)
            and not isinstance(v, bool)
            and not math.isnan(float(v))
        }
        with lt.start_run(nested=True, tags=tags):
            lt.log_params(_param_values(params))
            lt.log_metrics(metrics)
            if dataset is not None:
                lt.log_input(dataset, context="train")


# ---- post-training metrics ---------------------------------------------------------------

# The run of each autologged model (weak: never keeps a model alive, never set on the model).
_model_runs: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
# id(prediction) -> (run_id, dataset name); entries leave when the prediction is collected.
_predictions: dict[int, tuple[str, str]] = {}
# run_id -> dataset name -> ids of the distinct objects seen under that name
_datasets: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
# run_id -> metric name -> calls so far
_calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))


def _variable_name(value: Any, fallback: str) -> str:
    """The name the user's code gave ``value``: the outermost frame (outside labtrack and
    sklearn) that binds it to a local that is not one of that frame's own arguments."""
    frame: Any = sys._getframe(1)
    name = fallback
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.startswith(("labtrack.", "sklearn.")):
            frame = frame.f_back
            continue
        code = frame.f_code
        args = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        found = [k for k, v in frame.f_locals.items() if v is value]
        if any(k not in args for k in found):
            name = next(k for k in found if k not in args)
            break
        frame = frame.f_back
    return name


def _run_of(model: Any) -> str | None:
    """The run that autologged ``model``, when post-training metrics apply to this call."""
    if core.inside_patch() or not _model_runs or core.get_config(FLAVOR) is None:
        return None
    try:
        return _model_runs.get(model)
    except TypeError:  # an estimator class that made itself unhashable: not tracked
        return None


def _dataset_name(run_id: str, value: Any) -> str:
    """``X_test``; ``X_test-2`` for a second, different object bound to the same name."""
    base = _variable_name(value, "unknown_dataset")
    seen = _datasets[run_id][base]
    if id(value) not in seen:
        seen.append(id(value))
    index = seen.index(id(value))
    return base if index == 0 else f"{base}-{index + 1}"


def _loggable(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _log_post_training(run_id: str, metric: str, dataset: str, value: Any) -> None:
    from labtrack.client import fluent as lt

    count = _calls[run_id][metric]
    _calls[run_id][metric] = count + 1
    name = metric if count == 0 else f"{metric}-{count + 1}"
    lt.log_metric(f"{name}_{dataset}", float(value), run_id=run_id)


def _forget(key: int) -> None:
    _predictions.pop(key, None)


def _predict_wrapper(original: Any) -> Any:
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        run_id = _run_of(self)
        if run_id is None:
            return original(self, *args, **kwargs)
        with core.suppressed():
            result = original(self, *args, **kwargs)
        config = core.get_config(FLAVOR)
        with guard(config, "recording predictions for post-training metrics"):
            try:
                # An id is only meaningful while its object lives; objects that cannot be
                # watched (a plain list) are not tracked.
                weakref.finalize(result, _forget, id(result))
            except TypeError:
                return result
            data = args[0] if args else next(iter(kwargs.values()), None)
            _predictions[id(result)] = (run_id, _dataset_name(run_id, data))
        return result

    return wrapper


def _score_wrapper(original: Any) -> Any:
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        run_id = _run_of(self)
        if run_id is None:
            return original(self, *args, **kwargs)
        with core.suppressed():
            value = original(self, *args, **kwargs)
        config = core.get_config(FLAVOR)
        with guard(config, "logging a post-training score"):
            if _loggable(value):
                data = args[0] if args else next(iter(kwargs.values()), None)
                dataset = _dataset_name(run_id, data)
                _log_post_training(run_id, f"{type(self).__name__}_score", dataset, value)
        return value

    return wrapper


def _metric_wrapper(original: Any) -> Any:
    def metric(*args: Any, **kwargs: Any) -> Any:
        if core.inside_patch() or core.get_config(FLAVOR) is None or not _predictions:
            return original(*args, **kwargs)
        with core.suppressed():
            value = original(*args, **kwargs)
        with guard(core.get_config(FLAVOR), "logging a post-training metric"):
            if _loggable(value):
                for arg in (*args, *kwargs.values()):
                    hit = _predictions.get(id(arg)) if arg is not None else None
                    if hit is not None:
                        _log_post_training(hit[0], original.__name__, hit[1], value)
                        break
        return value

    return functools.wraps(original)(metric)
