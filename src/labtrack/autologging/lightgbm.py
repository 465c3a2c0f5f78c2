"""LightGBM autologging (``lt.lightgbm.autolog()``), MLflow's names and behaviour.

Patches ``lightgbm.train`` (the native API) and ``LGBMModel.fit`` (the scikit-learn API, which
calls ``train`` itself: only the user's call is logged). A run (started if none is active,
tagged ``mlflow.autologging=lightgbm``) gets:

- params: ``train``'s ``params`` and ``num_boost_round``, or the estimator's
  ``get_params(deep=False)``;
- metrics: every evaluation result of every iteration as ``<dataset>-<metric>`` (e.g.
  ``valid_0-multi_logloss``), step = iteration, through the non-blocking metric queue; with
  early stopping also ``best_iteration`` and ``stopped_iteration``;
- artifacts: ``feature_importance_split.json`` and ``feature_importance_gain.json``;
- the training and validation datasets as inputs, and the model (``lt.lightgbm``) with a
  signature and input example taken from the training data.
"""

from __future__ import annotations

import inspect
from typing import Any

from labtrack.autologging import core
from labtrack.autologging.core import AutologConfig, guard
from labtrack.autologging.session import RunSession, estimator_tags, param_text

FLAVOR = "lightgbm"
# train() arguments that are data or code, not settings: never logged as params.
_NOT_PARAMS = {
    "params",
    "train_set",
    "valid_sets",
    "valid_names",
    "feval",
    "init_model",
    "callbacks",
    "fobj",
    "learning_rates",
}


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("lightgbm") is not None


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Enable LightGBM autologging (a warned no-op when LightGBM is not installed)."""
    missing = None if available() else "LightGBM"
    if not core.enabling(FLAVOR, disable=disable, silent=silent, missing=missing):
        return
    import lightgbm
    import lightgbm.engine
    import lightgbm.sklearn

    options = {"registered_model_name": registered_model_name}
    core.set_config(AutologConfig.from_arguments(FLAVOR, locals(), options))
    # ``train`` is reachable under three names; each is patched, all restore on disable.
    for module in (lightgbm, lightgbm.engine, lightgbm.sklearn):
        if hasattr(module, "train"):
            core.patch_function_session(FLAVOR, module, "train", TrainSession)
    core.patch_class_tree(FLAVOR, lightgbm.LGBMModel, "fit", EstimatorFitSession)


def _recorder(run_id: str, trained: list[int]) -> Any:
    """A LightGBM callback logging each iteration's evaluation results (and counting the
    iterations in ``trained``: with early stopping, the booster keeps only the best ones)."""

    def record(env: Any) -> None:
        from labtrack.client import fluent as lt

        trained[0] = env.iteration + 1
        for entry in env.evaluation_result_list or ():
            data_name, eval_name, value = entry[0], entry[1], entry[2]
            lt.log_metric(
                f"{data_name}-{eval_name}", float(value), step=env.iteration, run_id=run_id
            )

    record.order = 25  # type: ignore[attr-defined]  # after LightGBM's own evaluation (order 10-20)
    return record


def _as_frame_or_array(data: Any) -> Any:
    """Training data a signature and dataset can describe (pandas or numpy), else None."""
    import numpy as np

    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas comes with labtrack's data features
        pd = None
    if pd is not None and isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, np.ndarray):
        return data
    return None


class _LightGBMSession(RunSession):
    """What both entry points share: the run, the recorder, and the logging after training."""

    trained: list[int]  # iterations run, as the recorder saw them

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.trained = [0]

    def add_recorder(self, callbacks: Any) -> list[Any]:
        return [*(callbacks or ()), _recorder(str(self.run_id), self.trained)]

    def log_results(self, booster: Any, model: Any, example_source: Any) -> None:
        from labtrack.client import fluent as lt

        config = self.config
        run_id = str(self.run_id)
        client = lt.current_client()
        with guard(config, "logging early stopping"):
            best = int(getattr(booster, "best_iteration", 0) or 0)
            if best > 0:
                client.log_metric(run_id, "best_iteration", best)
                stopped = self.trained[0] or booster.current_iteration()
                client.log_metric(run_id, "stopped_iteration", stopped)
        with guard(config, "logging feature importance"):
            names = booster.feature_name()
            for kind in ("split", "gain"):
                values = booster.feature_importance(importance_type=kind)
                importance = {n: float(v) for n, v in zip(names, values, strict=True)}
                client.log_dict(run_id, importance, f"feature_importance_{kind}.json")
        if config.log_models:
            with guard(config, "logging the model"):
                from labtrack import lightgbm as labtrack_lightgbm

                self.log_trained_model(labtrack_lightgbm, model, example_source)


class TrainSession(_LightGBMSession):
    """Around ``lightgbm.train(params, train_set, ...)``."""

    def before(self) -> None:
        from labtrack.client import fluent as lt

        bound = inspect.signature(self.original).bind_partial(*self.args, **self.kwargs)
        values = bound.arguments
        self.train_set = values.get("train_set")
        self.start_run()
        params = {str(k): param_text(v) for k, v in dict(values.get("params") or {}).items()}
        for key, value in values.items():
            if key not in _NOT_PARAMS and key != "kwargs":
                params.setdefault(key, param_text(value))
        if "num_boost_round" not in params:
            default = inspect.signature(self.original).parameters.get("num_boost_round")
            if default is not None and default.default is not inspect.Parameter.empty:
                params["num_boost_round"] = param_text(default.default)
        lt.log_params(params)
        # The recorder goes in as a keyword. ``callbacks`` given positionally (train's 9th
        # argument: rare) is left alone, and that call logs no per-iteration metrics.
        if "callbacks" in self.kwargs or "callbacks" not in values:
            self.kwargs["callbacks"] = self.add_recorder(values.get("callbacks"))
        inputs = [(getattr(self.train_set, "data", None), None, "train")]
        for valid in values.get("valid_sets") or ():
            if valid is not self.train_set:
                inputs.append((getattr(valid, "data", None), None, "eval"))
        self.log_inputs(inputs)

    def after(self, result: Any) -> None:
        source = _as_frame_or_array(getattr(self.train_set, "data", None))
        self.log_results(result, result, source)


class EstimatorFitSession(_LightGBMSession):
    """Around ``LGBMClassifier/LGBMRegressor/LGBMRanker.fit(X, y, ...)``."""

    def before(self) -> None:
        from labtrack.client import fluent as lt

        est = self.target
        bound = inspect.signature(self.original).bind_partial(est, *self.args, **self.kwargs)
        values = bound.arguments
        self.x, self.y = values.get("X"), values.get("y")
        self.start_run()
        lt.log_params({k: param_text(v) for k, v in est.get_params(deep=False).items()})
        lt.set_tags(estimator_tags(est))
        if "callbacks" in self.kwargs or "callbacks" not in values:
            self.kwargs["callbacks"] = self.add_recorder(values.get("callbacks"))
        inputs = [(self.x, self.y, "train")]
        for pair in values.get("eval_set") or ():
            if isinstance(pair, tuple) and len(pair) == 2 and pair[0] is not self.x:
                inputs.append((pair[0], pair[1], "eval"))
        self.log_inputs(inputs)

    def after(self, result: Any) -> None:
        est = self.target
        self.log_results(est.booster_, est, _as_frame_or_array(self.x))
