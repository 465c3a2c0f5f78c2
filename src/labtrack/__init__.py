"""labtrack: experiment tracking, models, registry and projects inside JupyterLab.

``import labtrack as lt`` gives the fluent API with MLflow's names (``lt.start_run``,
``lt.log_metric``, ``lt.search_runs``...). Importing is cheap: databases, pandas and the
Jupyter server are only loaded when first used.
"""

from __future__ import annotations

import sys
from typing import Any

from labtrack.client.fluent import (
    ActiveRun,
    MlflowClient,
    active_run,
    client,
    compare,
    create_experiment,
    delete_experiment,
    delete_run,
    delete_tag,
    end_run,
    flush,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_run,
    get_tracking_uri,
    is_tracking_uri_set,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    runs_table,
    search_experiments,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_tag,
    set_tags,
    set_tracking_uri,
    show,
    start_run,
)
from labtrack.client.tracking_client import TrackingClient
from labtrack.entities import (
    Dataset,
    Experiment,
    Metric,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from labtrack.errors import LabtrackException, MlflowException

try:
    from labtrack._version import __version__
except ImportError:  # running from a source tree that was never built
    __version__ = "0.0.0+unknown"

__all__ = [
    "ActiveRun",
    "Dataset",
    "Experiment",
    "LabtrackException",
    "Metric",
    "MlflowClient",
    "MlflowException",
    "Param",
    "Run",
    "RunInfo",
    "RunStatus",
    "RunTag",
    "TrackingClient",
    "ViewType",
    "__version__",
    "active_run",
    "autolog",
    "client",
    "compare",
    "create_experiment",
    "data",
    "delete_experiment",
    "delete_run",
    "delete_tag",
    "end_run",
    "evaluate",
    "flush",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_run",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "models",
    "pyfunc",
    "pytorch",
    "register_model",
    "runs_table",
    "search_experiments",
    "search_runs",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "show",
    "sklearn",
    "start_run",
    "validate_evaluation_results",
]

# Loaded on first use (they bring numpy/pandas): ``lt.pyfunc``, ``lt.sklearn``, ``lt.pytorch``,
# ``lt.models``, ``lt.data`` and ``lt.register_model``; and the feature functions below.
_LAZY_MODULES = {
    "data": "labtrack.data",
    "models": "labtrack.models",
    "pyfunc": "labtrack.pyfunc",
    "sklearn": "labtrack.sklearn",
    "pytorch": "labtrack.pytorch",
}

# Feature functions: ``lt.evaluate``, ``lt.autolog``, ``lt.validate_evaluation_results``.
_LAZY_FUNCTIONS = {
    "evaluate": ("labtrack.evaluation", "evaluate"),
    "validate_evaluation_results": ("labtrack.evaluation", "validate_evaluation_results"),
    "autolog": ("labtrack.autologging", "autolog"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        import importlib

        module = importlib.import_module(_LAZY_MODULES[name])
        globals()[name] = module
        return module
    if name == "register_model":
        from labtrack.client.fluent import register_model

        return register_model
    if name in _LAZY_FUNCTIONS:
        import importlib

        module_name, attr = _LAZY_FUNCTIONS[name]
        func = getattr(importlib.import_module(module_name), attr)
        globals()[name] = func
        return func
    raise AttributeError(f"module 'labtrack' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext labtrack``: the ``%%labtrack`` cell magic and ``%labtrack`` line magic."""
    from labtrack.magics import register

    register(ipython)


def _register_magics_in_ipython() -> None:
    # Cheap: only when IPython is already loaded and a shell is running (a notebook kernel).
    ipython_module = sys.modules.get("IPython")
    shell = getattr(ipython_module, "get_ipython", lambda: None)() if ipython_module else None
    if shell is not None:
        try:
            load_ipython_extension(shell)
        except Exception:  # pragma: no cover - never let a magic break the import
            import logging

            logging.getLogger("labtrack").debug("could not register magics", exc_info=True)


_register_magics_in_ipython()


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    # Imported lazily: the server stack must not load when a kernel imports labtrack.
    from labtrack.server import _jupyter_server_extension_points as points

    return points()


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "labtrack"}]
