"""The logical artifact URIs the store hands out (pure string functions, no I/O).

MLflow clients resolve ``mlflow-artifacts:`` URIs through the tracking server; labtrack resolves
them against the store's artifact root (``labtrack.artifact_store.uris``). The ids here are made by
the store, so no path cleaning is needed; ``labtrack.artifact_store.uris`` cleans outside input
before calling these.
"""

from __future__ import annotations

SCHEME = "mlflow-artifacts"


def experiment_artifact_uri(experiment_id: str | int) -> str:
    """``mlflow-artifacts:/<experiment_id>``: the default location of an experiment."""
    return f"{SCHEME}:/{experiment_id}"


def run_artifact_uri(experiment_location: str, run_id: str) -> str:
    """``<experiment location>/<run_id>/artifacts``: a run's artifacts under its experiment's
    location (``mlflow-artifacts:/<exp>`` unless the experiment was given another)."""
    return f"{experiment_location.rstrip('/')}/{run_id}/artifacts"


def logged_model_artifact_uri(experiment_id: str | int, model_id: str) -> str:
    """``mlflow-artifacts:/<experiment_id>/models/<model_id>/artifacts``."""
    return f"{SCHEME}:/{experiment_id}/models/{model_id}/artifacts"
