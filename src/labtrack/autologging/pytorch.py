"""PyTorch Lightning autologging (``lt.pytorch.autolog()``), enabled only when ``lightning``
or ``pytorch_lightning`` is importable.

Patches ``Trainer.fit``: a run (started if none is active, tagged
``mlflow.autologging=pytorch``) gets, as MLflow's does, ``epochs``, the module's
hyperparameters (``save_hyperparameters``), the optimizer's name and defaults and the early
stopping settings as params; ``trainer.callback_metrics`` every ``log_every_n_epoch`` epochs
(step = epoch) and every ``log_every_n_step`` steps (step = global step), through the
non-blocking metric queue; ``model_summary.txt``; checkpoints under ``checkpoints/``; and the
trained module as the ``model``. Without Lightning it warns once and does nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Mapping
from typing import Any

from labtrack.autologging import core
from labtrack.autologging.core import AutologConfig, guard
from labtrack.autologging.session import RunSession

FLAVOR = "pytorch"
LATEST_CHECKPOINT_TAG = "mlflow.latest_checkpoint_artifact"


def lightning_module() -> Any:
    """The importable Lightning package (``lightning.pytorch`` or ``pytorch_lightning``)."""
    for name in ("lightning.pytorch", "pytorch_lightning"):
        try:
            if importlib.util.find_spec(name.split(".")[0]) is None:
                continue
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def available() -> bool:
    return any(importlib.util.find_spec(n) is not None for n in ("lightning", "pytorch_lightning"))


def autolog(
    log_every_n_epoch: int = 1,
    log_every_n_step: int | None = None,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
    checkpoint: bool = True,
    checkpoint_monitor: str = "val_loss",
    checkpoint_mode: str = "min",
    checkpoint_save_best_only: bool = True,
    checkpoint_save_weights_only: bool = False,
    checkpoint_save_freq: str | int = "epoch",
) -> None:
    """Enable PyTorch Lightning autologging with MLflow's options. A no-op with a warning
    without Lightning."""
    pl: Any = None if disable else lightning_module()
    missing = "PyTorch Lightning ('lightning' or 'pytorch_lightning')" if pl is None else None
    hint = "Log plain PyTorch loops with lt.log_metric."
    if not core.enabling(FLAVOR, disable=disable, silent=silent, missing=missing, hint=hint):
        return
    if checkpoint_mode not in ("min", "max"):
        raise ValueError(f"checkpoint_mode must be 'min' or 'max', not {checkpoint_mode!r}.")
    if checkpoint_save_freq != "epoch" and (
        not isinstance(checkpoint_save_freq, int) or checkpoint_save_freq < 1
    ):
        raise ValueError(
            "checkpoint_save_freq must be 'epoch' or a positive number of steps, "
            f"not {checkpoint_save_freq!r}."
        )
    options = {
        "log_every_n_epoch": max(1, int(log_every_n_epoch)),
        "log_every_n_step": None if log_every_n_step is None else max(1, log_every_n_step),
        "registered_model_name": registered_model_name,
        "checkpoint": checkpoint,
        "checkpoint_monitor": checkpoint_monitor,
        "checkpoint_mode": checkpoint_mode,
        "checkpoint_save_best_only": checkpoint_save_best_only,
        "checkpoint_save_weights_only": checkpoint_save_weights_only,
        "checkpoint_save_freq": checkpoint_save_freq,
    }
    core.set_config(AutologConfig.from_arguments(FLAVOR, locals(), options))
    core.patch(FLAVOR, pl.Trainer, "fit", TrainerFitSession)


def _numbers(metrics: Any) -> dict[str, float]:
    """The trainer's metrics that are scalars (tensors of one element included)."""
    values = {}
    for key, value in dict(metrics).items():
        try:
            values[str(key)] = float(value)
        except (TypeError, ValueError, RuntimeError):
            continue
    return values


def _flat_params(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """Nested hyperparameters as ``a.b`` keys; values MLflow would log as strings."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flat_params(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif prefix:
        out[prefix] = value


class _Checkpoints:
    """MLflow's checkpoint rule: after each epoch (or every N steps), save the trainer's state
    and log it as ``checkpoints/latest_checkpoint.pth`` (``save_best_only``: only when the
    monitored metric improved) or as ``checkpoints/epoch_<n>/checkpoint.pth``, with the
    metrics at that point beside it. A missing monitored metric saves the latest state."""

    def __init__(self, config: AutologConfig, run_id: str) -> None:
        self.options = config.options
        self.run_id = run_id
        self.best: float | None = None

    def _improved(self, metrics: dict[str, float]) -> bool:
        value = metrics.get(self.options["checkpoint_monitor"])
        if value is None or not self.options["checkpoint_save_best_only"]:
            return True
        if self.best is None:
            better = True
        elif self.options["checkpoint_mode"] == "min":
            better = value < self.best
        else:
            better = value > self.best
        if better:
            self.best = value
        return better

    def save(self, trainer: Any, label: str) -> None:
        import tempfile

        from labtrack.client import fluent as lt

        metrics = _numbers(trainer.callback_metrics)
        if not self._improved(metrics):
            return
        if self.options["checkpoint_save_best_only"]:
            folder, stem = "checkpoints", "latest_checkpoint"
        else:
            folder, stem = f"checkpoints/{label}", "checkpoint"
        client = lt.current_client()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"{stem}.pth")
            trainer.save_checkpoint(path, weights_only=self.options["checkpoint_save_weights_only"])
            client.log_artifact(self.run_id, path, folder)
            info = {"epoch": trainer.current_epoch, "global_step": trainer.global_step, **metrics}
            client.log_dict(self.run_id, info, f"{folder}/{stem}_metrics.json")
        # MLflow's pointer to the newest checkpoint: what load_checkpoint (either's) reads
        client.set_tag(self.run_id, LATEST_CHECKPOINT_TAG, f"{folder}/{stem}.pth")


def _callback(config: AutologConfig, run_id: str) -> Any:
    """The Lightning callback that does the logging during ``fit``."""
    pl: Any = lightning_module()
    options = config.options
    every_epoch = options["log_every_n_epoch"]
    every_step = options["log_every_n_step"]
    save_freq = options["checkpoint_save_freq"]
    checkpoints = _Checkpoints(config, run_id) if options["checkpoint"] else None
    base: Any = pl.Callback

    class _LabtrackAutolog(base):
        # Validation metrics are epoch-level: step logging leaves them out, so a chart of
        # val_loss is not a mix of epoch and global-step x values.
        validation_keys: set[str] = set()
        _before_validation: set[str] = set()

        def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            self._before_validation = {str(k) for k in trainer.callback_metrics}

        def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            after = {str(k) for k in trainer.callback_metrics}
            self.validation_keys |= after - self._before_validation

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            with guard(config, "logging the optimizer"):
                from labtrack.client import fluent as lt

                params: dict[str, Any] = {}
                if trainer.optimizers:
                    optimizer = trainer.optimizers[0]
                    params["optimizer_name"] = type(optimizer).__name__
                    for key, value in (getattr(optimizer, "defaults", None) or {}).items():
                        if isinstance(value, (bool, int, float, str)) or value is None:
                            params[str(key)] = value
                for callback in trainer.callbacks:
                    if isinstance(callback, pl.callbacks.EarlyStopping):
                        params.update(
                            monitor=callback.monitor,
                            mode=callback.mode,
                            patience=callback.patience,
                            min_delta=abs(float(callback.min_delta)),
                        )
                lt.current_client().log_batch(run_id, params=list(params.items()))

        def _log(self, trainer: Any, step: int, skip: set[str] | None = None) -> None:
            from labtrack.client import fluent as lt

            for key, number in _numbers(trainer.callback_metrics).items():
                if not skip or key not in skip:
                    lt.log_metric(key, number, step=step, run_id=run_id)

        def on_train_batch_end(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
            step = trainer.global_step
            if every_step is not None and step % every_step == 0:
                with guard(config, "logging step metrics"):
                    self._log(trainer, step, skip=self.validation_keys)
            if checkpoints is not None and isinstance(save_freq, int) and step % save_freq == 0:
                with guard(config, "logging a checkpoint"):
                    checkpoints.save(trainer, f"global_step_{step}")

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if trainer.current_epoch % every_epoch:
                return
            with guard(config, "logging epoch metrics"):
                self._log(trainer, trainer.current_epoch)
            if checkpoints is not None and save_freq == "epoch":
                with guard(config, "logging a checkpoint"):
                    checkpoints.save(trainer, f"epoch_{trainer.current_epoch}")

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            with guard(config, "logging early stopping"):
                from labtrack.client import fluent as lt

                for callback in trainer.callbacks:
                    if isinstance(callback, pl.callbacks.EarlyStopping):
                        metrics = {"stopped_epoch": float(callback.stopped_epoch)}
                        if callback.best_score is not None:
                            metrics["best_score"] = float(callback.best_score)
                        for key, value in metrics.items():
                            lt.log_metric(key, value, run_id=run_id)

    return _LabtrackAutolog()


class TrainerFitSession(RunSession):
    def before(self) -> None:
        from labtrack.client import fluent as lt

        trainer = self.target
        run_id = self.start_run()
        module: Any = self.args[0] if self.args else self.kwargs.get("model")
        self.module = module
        params: dict[str, Any] = {"epochs": trainer.max_epochs}
        with guard(self.config, "reading the hyperparameters"):
            hparams: dict[str, Any] = {}
            _flat_params("", dict(getattr(module, "hparams", None) or {}), hparams)
            params.update({k: v for k, v in hparams.items() if k not in params})
        lt.log_params(params)
        with guard(self.config, "logging the model summary"):
            summary = lightning_module().utilities.model_summary.ModelSummary(module, max_depth=-1)
            lt.current_client().log_text(run_id, str(summary), "model_summary.txt")
        trainer.callbacks.append(_callback(self.config, run_id))

    def after(self, result: Any) -> None:
        from labtrack import pytorch as labtrack_pytorch

        if self.config.log_models and self.module is not None:
            with guard(self.config, "logging the model"):
                self.log_trained_model(labtrack_pytorch, self.module)

    def close(self, failed: bool) -> None:
        trainer = self.target
        trainer.callbacks[:] = [
            c for c in trainer.callbacks if type(c).__name__ != "_LabtrackAutolog"
        ]
        super().close(failed)
