"""``RunSession``: what every integration's session does the same way around a training call.

It logs to the active run, or starts one (tagged ``mlflow.autologging=<flavor>`` and the
``extra_tags``) and ends it when the call ends (``FAILED`` if the call raised); it logs the
training and evaluation data as dataset inputs and the trained model, with a signature and
input example from the first rows of the training data, as the options say. Each
integration's session extends it with what its library needs (``before``/``after``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from labtrack.autologging.core import AutologConfig, Session, guard

AUTOLOGGING_TAG = "mlflow.autologging"
INPUT_EXAMPLE_ROWS = 5
MAX_PARAM_VALUE = 6000  # MLflow's limit on a param value's length


def param_text(value: Any) -> str:
    """A param value as MLflow logs it: text, cut to ``MAX_PARAM_VALUE`` characters."""
    text = str(value)
    return text if len(text) <= MAX_PARAM_VALUE else text[: MAX_PARAM_VALUE - 3] + "..."


def dataset_of(x: Any, y: Any) -> Any:
    """A labtrack dataset of pandas or numpy training data (``y``: the targets), else None."""
    import numpy as np
    import pandas as pd

    from labtrack import data

    if isinstance(x, pd.DataFrame):
        return data.from_pandas(x)
    if isinstance(x, np.ndarray):
        return data.from_numpy(x, targets=None if y is None else np.asarray(y))
    return None


def estimator_tags(estimator: Any) -> dict[str, str]:
    """MLflow's ``estimator_name`` and ``estimator_class`` tags."""
    kind = type(estimator)
    return {
        "estimator_name": kind.__name__,
        "estimator_class": f"{kind.__module__}.{kind.__name__}",
    }


class RunSession(Session):
    """A session that logs to the active run or to one it starts, and ends what it started."""

    config: AutologConfig

    def start_run(self) -> str:
        """The run to log to (``self.run_id``): the active one, else a new autolog run."""
        from labtrack.client import fluent as lt

        active = lt.active_run()
        if active is None:
            tags = {AUTOLOGGING_TAG: self.config.flavor, **(self.config.extra_tags or {})}
            active = self.started = lt.start_run(tags=tags)
        self.run_id = active.info.run_id
        return active.info.run_id

    def log_inputs(self, named: Iterable[tuple[Any, Any, str]]) -> None:
        """Log each ``(x, y, context)`` that is pandas or numpy data as a dataset input (with
        ``log_datasets``); a failing one costs only its own input."""
        from labtrack.client import fluent as lt

        if not self.config.log_datasets:
            return
        for x, y, context in named:
            with guard(self.config, f"logging the {context} dataset"):
                dataset = dataset_of(x, y)
                if dataset is not None:
                    lt.log_input(dataset, context=context)

    def log_trained_model(
        self,
        flavor_module: Any,
        model: Any,
        rows: Any = None,
        predict: Callable[[Any], Any] | None = None,
        **options: Any,
    ) -> None:
        """``flavor_module.log_model(model, name="model", ...)`` with the configured
        ``registered_model_name``; the signature (``predict`` gives the outputs) and input
        example come from the first rows of ``rows``, the training data, when there is some."""
        from labtrack.models.signature import infer_signature

        config = self.config
        example = signature = None
        if rows is not None:
            sample = rows[:INPUT_EXAMPLE_ROWS]
            if config.log_model_signatures:
                signature = infer_signature(sample, (predict or model.predict)(sample))
            if config.log_input_examples:
                example = sample
        flavor_module.log_model(
            model,
            name="model",
            signature=signature,
            input_example=example,
            registered_model_name=config.options.get("registered_model_name"),
            **options,
        )

    def close(self, failed: bool) -> None:
        from labtrack.client import fluent as lt

        if self.started is not None:
            lt.end_run("FAILED" if failed else "FINISHED")
