"""PyTorch Lightning autologging (``lt.pytorch.autolog()``), enabled only when ``lightning``
or ``pytorch_lightning`` is importable.

Patches ``Trainer.fit``: a run (started if none is active, tagged
``mlflow.autologging=pytorch``) gets the trainer's ``max_epochs``, the optimizer's name and
learning rate as params, every epoch-end value of ``trainer.callback_metrics`` as metrics
(step = epoch), and the trained module as the ``model``. Without Lightning it warns once and
does nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from typing import Any

from labtrack.autologging import core
from labtrack.autologging.core import AutologConfig, Session, guard

FLAVOR = "pytorch"
AUTOLOGGING_TAG = "mlflow.autologging"


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
) -> None:
    """Enable PyTorch Lightning autologging (MLflow's options; ``log_every_n_step`` and
    ``checkpoint`` are accepted and not used). A no-op with a warning without Lightning."""
    if disable:
        core.disable(FLAVOR)
        return
    pl = lightning_module()
    if pl is None:
        if not silent:
            warnings.warn(
                "lt.pytorch.autolog() needs PyTorch Lightning ('lightning' or "
                "'pytorch_lightning'), which is not installed: nothing is logged automatically. "
                "Log plain PyTorch loops with lt.log_metric.",
                stacklevel=2,
            )
        return
    core.set_config(
        AutologConfig(
            FLAVOR,
            log_models=log_models,
            log_datasets=log_datasets,
            exclusive=exclusive,
            disable_for_unsupported_versions=disable_for_unsupported_versions,
            silent=silent,
            extra_tags=dict(extra_tags or {}),
            options={
                "log_every_n_epoch": max(1, int(log_every_n_epoch)),
                "registered_model_name": registered_model_name,
            },
        )
    )
    core.patch(FLAVOR, pl.Trainer, "fit", TrainerFitSession)


def _epoch_logger(config: AutologConfig, run_id: str) -> Any:
    pl: Any = lightning_module()
    every = config.options["log_every_n_epoch"]
    base: Any = pl.Callback

    class _EpochMetrics(base):
        """Epoch-end values of the trainer's metrics, logged with step = epoch."""

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if trainer.current_epoch % every:
                return
            with guard(config, "logging epoch metrics"):
                from labtrack.client import fluent as lt

                values = {}
                for key, value in trainer.callback_metrics.items():
                    try:
                        values[str(key)] = float(value)
                    except (TypeError, ValueError):
                        continue
                for key, number in values.items():
                    lt.log_metric(key, number, step=trainer.current_epoch, run_id=run_id)

    return _EpochMetrics()


class TrainerFitSession(Session):
    def before(self) -> None:
        from labtrack.client import fluent as lt

        trainer = self.target
        active = lt.active_run()
        if active is None:
            tags = {AUTOLOGGING_TAG: FLAVOR, **(self.config.extra_tags or {})}
            active = self.started = lt.start_run(tags=tags)
        self.run_id = active.info.run_id
        module: Any = self.args[0] if self.args else self.kwargs.get("model")
        params: dict[str, Any] = {"epochs": trainer.max_epochs}
        with guard(self.config, "reading the optimizer"):
            optimizers = module.configure_optimizers()
            optimizer = optimizers[0] if isinstance(optimizers, (list, tuple)) else optimizers
            if isinstance(optimizer, dict):
                optimizer = optimizer.get("optimizer")
            params["optimizer_name"] = type(optimizer).__name__
            if getattr(optimizer, "defaults", None) and "lr" in optimizer.defaults:
                params["lr"] = optimizer.defaults["lr"]
        lt.log_params(params)
        trainer.callbacks.append(_epoch_logger(self.config, active.info.run_id))
        self.module = module

    def after(self, result: Any) -> None:
        from labtrack import pytorch as labtrack_pytorch

        if self.config.log_models and self.module is not None:
            with guard(self.config, "logging the model"):
                labtrack_pytorch.log_model(
                    self.module,
                    name="model",
                    registered_model_name=self.config.options.get("registered_model_name"),
                )

    def close(self, failed: bool) -> None:
        from labtrack.client import fluent as lt

        trainer = self.target
        trainer.callbacks[:] = [c for c in trainer.callbacks if type(c).__name__ != "_EpochMetrics"]
        if self.started is not None:
            lt.end_run("FAILED" if failed else "FINISHED")
