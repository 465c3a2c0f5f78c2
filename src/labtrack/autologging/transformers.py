"""Hugging Face ``Trainer`` autologging (``lt.transformers.autolog()``).

Patches ``transformers.Trainer.train``. A run (started if none is active, tagged
``mlflow.autologging=transformers``) gets what Hugging Face's own MLflow integration logs:
the ``TrainingArguments`` and the model's configuration as params (values longer than
MLflow's limit are left out, as there), and every ``Trainer.log`` event (``loss``,
``learning_rate``, ``eval_loss``, ``train_runtime``...) at step = the global step, through the
non-blocking metric queue. The trained model is not packaged: labtrack has no ``transformers``
model flavor yet (``trainer.save_model`` + ``lt.log_artifacts`` keeps the files).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from labtrack.autologging import core
from labtrack.autologging.core import AutologConfig, guard
from labtrack.autologging.session import MAX_PARAM_VALUE, RunSession

FLAVOR = "transformers"


def available() -> bool:
    return importlib.util.find_spec("transformers") is not None


def autolog(
    log_models: bool = False,
    log_datasets: bool = False,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Enable ``Trainer`` autologging (a warned no-op without ``transformers``).
    ``log_models`` and ``log_datasets`` are accepted and not used."""
    missing = None if available() else "Hugging Face transformers"
    if not core.enabling(FLAVOR, disable=disable, silent=silent, missing=missing):
        return
    import transformers

    core.set_config(AutologConfig.from_arguments(FLAVOR, locals()))
    core.patch(FLAVOR, transformers.Trainer, "train", TrainSession)


def _params(trainer: Any) -> dict[str, str]:
    values: dict[str, Any] = {}
    config = getattr(getattr(trainer, "model", None), "config", None)
    if config is not None and hasattr(config, "to_dict"):
        values.update(config.to_dict())
    values.update(trainer.args.to_dict())  # the run's settings win over the model's
    out = {}
    for key, value in values.items():
        text = str(value)
        if len(text) <= MAX_PARAM_VALUE:
            out[str(key)] = text
    return out


def _callback(config: AutologConfig, run_id: str) -> Any:
    import transformers

    class _LabtrackTrainerAutolog(transformers.TrainerCallback):
        def on_log(
            self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> None:
            if not state.is_world_process_zero:
                return
            with guard(config, "logging metrics"):
                from labtrack.client import fluent as lt

                for key, value in dict(logs or {}).items():
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        lt.log_metric(str(key), float(value), step=state.global_step, run_id=run_id)

    return _LabtrackTrainerAutolog()


class TrainSession(RunSession):
    def before(self) -> None:
        from labtrack.client import fluent as lt

        trainer = self.target
        run_id = self.start_run()
        with guard(self.config, "logging params"):
            lt.log_params(_params(trainer))
        self.callback = _callback(self.config, run_id)
        trainer.add_callback(self.callback)

    def close(self, failed: bool) -> None:
        callback = getattr(self, "callback", None)
        if callback is not None:
            self.target.remove_callback(callback)
        super().close(failed)
