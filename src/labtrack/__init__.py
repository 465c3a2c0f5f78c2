"""labtrack: experiment tracking, models, registry and projects inside JupyterLab.

``import labtrack as lt`` gives the fluent API with MLflow's names (``lt.start_run``,
``lt.log_metric``, ``lt.search_runs``...). Importing is cheap: databases, pandas and the
Jupyter server are only loaded when first used.
"""

from __future__ import annotations

import sys
from typing import Any

from labtrack.client import MlflowClient, TrackingClient
from labtrack.client.artifact_files import Image
from labtrack.client.fluent import (
    ActiveModel,
    ActiveRun,
    active_run,
    clear_active_model,
    create_experiment,
    create_external_model,
    delete_experiment,
    delete_experiment_tag,
    delete_logged_model_tag,
    delete_run,
    delete_tag,
    end_run,
    finalize_logged_model,
    flush,
    flush_artifact_async_logging,
    flush_async_logging,
    get_active_model_id,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_logged_model,
    get_parent_run,
    get_registry_uri,
    get_run,
    get_tracking_uri,
    initialize_logged_model,
    is_tracking_uri_set,
    last_active_run,
    last_logged_model,
    load_table,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_inputs,
    log_metric,
    log_metrics,
    log_model_params,
    log_outputs,
    log_param,
    log_params,
    log_stream,
    log_table,
    log_text,
    restore_experiment,
    restore_run,
    search_experiments,
    search_logged_models,
    search_model_versions,
    search_registered_models,
    search_runs,
    set_active_model,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_logged_model_tags,
    set_model_version_tag,
    set_registry_uri,
    set_run_display,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)
from labtrack.client.system_metrics import (
    disable_system_metrics_logging,
    enable_system_metrics_logging,
    set_system_metrics_node_id,
    set_system_metrics_samples_before_logging,
    set_system_metrics_sampling_interval,
)
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
    "ActiveModel",
    "ActiveRun",
    "Dataset",
    "Experiment",
    "Image",
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
    "artifacts",
    "autolog",
    "clear_active_model",
    "compare",
    "create_experiment",
    "create_external_model",
    "data",
    "delete_experiment",
    "delete_experiment_tag",
    "delete_logged_model_tag",
    "delete_run",
    "delete_tag",
    "disable_system_metrics_logging",
    "doctor",
    "enable_system_metrics_logging",
    "end_run",
    "evaluate",
    "finalize_logged_model",
    "flush",
    "flush_artifact_async_logging",
    "flush_async_logging",
    "get_active_model_id",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_logged_model",
    "get_parent_run",
    "get_registry_uri",
    "get_run",
    "get_tracking_uri",
    "initialize_logged_model",
    "is_tracking_uri_set",
    "keras",
    "last_active_run",
    "last_logged_model",
    "lightgbm",
    "load_table",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_inputs",
    "log_metric",
    "log_metrics",
    "log_model_params",
    "log_outputs",
    "log_param",
    "log_params",
    "log_stream",
    "log_table",
    "log_text",
    "models",
    "projects",
    "pyfunc",
    "pytorch",
    "register_model",
    "restore_experiment",
    "restore_run",
    "run",
    "runs_table",
    "search_experiments",
    "search_logged_models",
    "search_model_versions",
    "search_registered_models",
    "search_runs",
    "set_active_model",
    "set_experiment",
    "set_experiment_tag",
    "set_experiment_tags",
    "set_logged_model_tags",
    "set_model_version_tag",
    "set_registry_uri",
    "set_system_metrics_node_id",
    "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "show",
    "sklearn",
    "start_run",
    "tracking",
    "transformers",
    "validate_evaluation_results",
    "xgboost",
]

# Loaded on first use (they bring numpy/pandas, ipywidgets/Altair): ``lt.pyfunc``,
# the flavors (``lt.sklearn``, ``lt.pytorch``, ``lt.lightgbm``, ``lt.xgboost``, ``lt.keras``,
# ``lt.transformers``), ``lt.models``, ``lt.projects``, ``lt.data``, and the features'
# functions below.
_LAZY_MODULES = {
    "data": "labtrack.data",
    "models": "labtrack.models",
    "projects": "labtrack.projects",
    "pyfunc": "labtrack.pyfunc",
    "sklearn": "labtrack.sklearn",
    "pytorch": "labtrack.pytorch",
    "lightgbm": "labtrack.lightgbm",
    "xgboost": "labtrack.xgboost",
    "keras": "labtrack.keras",
    "transformers": "labtrack.transformers",
    "artifacts": "labtrack.artifacts",
    "tracking": "labtrack.tracking",
}
# Shortcuts into the features on top of the client: name -> module defining it.
_LAZY_FUNCTIONS = {
    "register_model": "labtrack.models",
    "show": "labtrack.widgets",
    "compare": "labtrack.widgets",
    "runs_table": "labtrack.widgets",
    "evaluate": "labtrack.evaluation",
    "validate_evaluation_results": "labtrack.evaluation",
    "autolog": "labtrack.autologging",
    "doctor": "labtrack._doctor",
}
# MLflow's top-level names for functions that live under another name here.
_LAZY_ALIASES = {"run": ("labtrack.projects", "run")}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY_MODULES:
        module = importlib.import_module(_LAZY_MODULES[name])
        globals()[name] = module
        return module
    if name in _LAZY_FUNCTIONS:
        func = getattr(importlib.import_module(_LAZY_FUNCTIONS[name]), name)
        globals()[name] = func
        return func
    if name in _LAZY_ALIASES:
        module_name, attr = _LAZY_ALIASES[name]
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


def _show_run(run: Run) -> None:
    # A run as a cell's last expression: the live widget in a kernel, its repr elsewhere.
    from IPython import get_ipython

    if getattr(get_ipython(), "kernel", None) is None:
        print(repr(run))
        return
    from labtrack.widgets import show

    show(run)


def _progress_bar(total: int, label: str) -> Any:
    from labtrack.widgets.progress import progress_bar

    return progress_bar(total, label)


def _register_notebook_integration() -> None:
    """The client knows no widgets: the notebook's run display and transfer progress bars are
    registered here, and load ipywidgets only when first shown."""
    set_run_display(_show_run)
    if "ipykernel" in sys.modules:
        from labtrack.client.progress import set_progress_factory

        set_progress_factory(_progress_bar)
    _register_magics_in_ipython()


_register_notebook_integration()


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    # Imported lazily: the server stack must not load when a kernel imports labtrack.
    from labtrack.server import _jupyter_server_extension_points as points

    return points()


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "labtrack"}]
