"""Keras 3 autologging (``lt.keras.autolog()``), MLflow's names and behaviour.

Patches ``keras.Model.fit``. A run (started if none is active, tagged
``mlflow.autologging=keras``) gets ``fit``'s settings (``batch_size``, ``epochs``,
``validation_split``, ...) and the optimizer's configuration (``optimizer_name``,
``optimizer_learning_rate``, ...) as params; the epoch-end logs (``loss``, ``val_loss``,
``accuracy``...) at step = epoch, and with ``log_every_n_steps`` the batch logs at step = the
global batch number, through the non-blocking metric queue; ``model_summary.txt``; and the
trained model (``lt.keras``) with a signature from the training data when it is an array.
"""

from __future__ import annotations

import importlib.util
import inspect
from typing import Any

from labtrack.autologging import core
from labtrack.autologging.core import AutologConfig, guard
from labtrack.autologging.session import RunSession

FLAVOR = "keras"
# fit() arguments logged as params (MLflow's list); data and callbacks are not params.
_FIT_PARAMS = (
    "batch_size",
    "epochs",
    "steps_per_epoch",
    "validation_split",
    "validation_steps",
    "validation_batch_size",
    "validation_freq",
    "shuffle",
    "class_weight",
    "initial_epoch",
)


def available() -> bool:
    return importlib.util.find_spec("keras") is not None


def autolog(
    log_every_epoch: bool = True,
    log_every_n_steps: int | None = None,
    log_models: bool = True,
    log_model_signatures: bool = True,
    log_input_examples: bool = False,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    save_exported_model: bool = False,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Enable Keras autologging (a warned no-op when Keras is not installed).
    ``save_exported_model`` is accepted; models are saved in the ``.keras`` format."""
    del save_exported_model
    missing = None if available() else "Keras 3"
    if not core.enabling(FLAVOR, disable=disable, silent=silent, missing=missing):
        return
    import keras

    options = {
        "log_every_epoch": log_every_epoch,
        "log_every_n_steps": None if not log_every_n_steps else int(log_every_n_steps),
        "registered_model_name": registered_model_name,
    }
    core.set_config(AutologConfig.from_arguments(FLAVOR, locals(), options))
    core.patch(FLAVOR, keras.Model, "fit", FitSession)


def _numbers(logs: Any) -> dict[str, float]:
    values = {}
    for key, value in dict(logs or {}).items():
        try:
            values[str(key)] = float(value)
        except (TypeError, ValueError):
            continue
    return values


def _optimizer_params(optimizer: Any) -> dict[str, Any]:
    """MLflow's ``optimizer_*`` params: the optimizer's class and its scalar settings."""
    if optimizer is None:
        return {}
    params: dict[str, Any] = {"optimizer_name": type(optimizer).__name__}
    config = optimizer.get_config() if hasattr(optimizer, "get_config") else {}
    for key, value in config.items():
        if key == "name":
            continue
        if isinstance(value, (bool, int, float, str)) or value is None:
            params[f"optimizer_{key}"] = value
    return params


def _callback(config: AutologConfig, run_id: str) -> Any:
    import keras

    every_epoch = config.options["log_every_epoch"]
    every_steps = config.options["log_every_n_steps"]

    class _LabtrackKerasAutolog(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.batches = 0

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.batches += 1
            if every_steps and self.batches % every_steps == 0:
                with guard(config, "logging batch metrics"):
                    from labtrack.client import fluent as lt

                    for key, value in _numbers(logs).items():
                        lt.log_metric(key, value, step=self.batches, run_id=run_id)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            if not every_epoch:
                return
            with guard(config, "logging epoch metrics"):
                from labtrack.client import fluent as lt

                for key, value in _numbers(logs).items():
                    lt.log_metric(key, value, step=epoch, run_id=run_id)

    return _LabtrackKerasAutolog()


def _rows(x: Any) -> Any:
    """Training inputs a signature can describe (a numpy array or DataFrame), else None."""
    import numpy as np

    if isinstance(x, np.ndarray):
        return x
    if type(x).__name__ == "DataFrame":
        return x
    return None


class FitSession(RunSession):
    def before(self) -> None:
        from labtrack.client import fluent as lt

        model = self.target
        signature = inspect.signature(self.original)
        values = signature.bind_partial(model, *self.args, **self.kwargs).arguments
        self.x, self.y = values.get("x"), values.get("y")
        run_id = self.start_run()
        params: dict[str, Any] = {}
        for name in _FIT_PARAMS:
            if name in values:
                params[name] = values[name]
            elif name in signature.parameters:
                params[name] = signature.parameters[name].default
        with guard(self.config, "reading the optimizer"):
            params.update(_optimizer_params(getattr(model, "optimizer", None)))
        lt.log_params({k: str(v) for k, v in params.items()})
        with guard(self.config, "logging the model summary"):
            lines: list[str] = []
            model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
            lt.current_client().log_text(run_id, "\n".join(lines), "model_summary.txt")
        if self.config.log_datasets:
            with guard(self.config, "logging the training dataset"):
                from labtrack import data

                rows = _rows(self.x)
                if rows is not None:
                    dataset: Any
                    if type(rows).__name__ == "DataFrame":
                        dataset = data.from_pandas(rows)
                    else:
                        dataset = data.from_numpy(rows, targets=_rows(self.y))
                    lt.log_input(dataset, context="train")
        # The callback joins the user's callbacks as a keyword (a positional ``callbacks``,
        # fit's 6th argument, is left alone: that call logs no metrics).
        if "callbacks" in self.kwargs or "callbacks" not in values:
            user = list(values.get("callbacks") or ())
            self.kwargs["callbacks"] = [*user, _callback(self.config, run_id)]

    def after(self, result: Any) -> None:
        if not self.config.log_models:
            return
        with guard(self.config, "logging the model"):
            from labtrack import keras as labtrack_keras

            model = self.target
            self.log_trained_model(
                labtrack_keras,
                model,
                _rows(self.x),
                lambda sample: model.predict(sample, verbose=0),
            )
