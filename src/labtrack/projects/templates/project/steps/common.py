"""What the steps share: the task, its model and metric, and reading another step's files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import labtrack as lt

TASK = "__TASK__"


def make_model(regularization: float):
    if TASK == "classification":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=1.0 / regularization, max_iter=500)
    from sklearn.linear_model import Ridge

    return Ridge(alpha=regularization)


def score(y_true, y_pred) -> dict[str, float]:
    if TASK == "classification":
        from sklearn.metrics import accuracy_score, f1_score

        return {"accuracy": accuracy_score(y_true, y_pred), "f1": f1_score(y_true, y_pred)}
    from sklearn.metrics import mean_squared_error, r2_score

    return {"r2": r2_score(y_true, y_pred), "rmse": mean_squared_error(y_true, y_pred) ** 0.5}


# The metric that decides whether a model is registered, and its threshold.
GATE = ("accuracy", 0.7) if TASK == "classification" else ("r2", 0.5)


def load_arrays(run_id: str, name: str) -> dict[str, np.ndarray]:
    """Arrays another step logged as ``<name>.npz`` in its run."""
    path = lt.MlflowClient().download_artifacts(run_id, f"{name}.npz")
    with np.load(Path(path)) as data:
        return dict(data)
