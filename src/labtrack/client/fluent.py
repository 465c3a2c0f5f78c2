"""The fluent API a notebook user types: ``lt.start_run()``, ``lt.log_metric()`` and friends.

Same names and meaning as MLflow's fluent API. State (tracking URI, active experiment, the stack
of active runs) is per process; the client underneath does the work.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import posixpath
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from labtrack import config
from labtrack.client import system_metrics
from labtrack.client.context import source_tags
from labtrack.client.tracking_client import TrackingClient
from labtrack.config import first_env, resolve_tracking_uri
from labtrack.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    Run,
    RunStatus,
    RunTag,
    ViewType,
    system_tags,
)
from labtrack.errors import LabtrackException, invalid

_state_lock = threading.RLock()
_client: TrackingClient | None = None
_active_experiment_id: str | None = None
_run_stack: list[ActiveRun] = []
_last_active_run_id: str | None = None


class ActiveRun(Run):
    """A run started by ``start_run``; a context manager that ends it on exit."""

    def __init__(self, run: Run) -> None:
        super().__init__(run.info, run.data, run.inputs, run.outputs)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        end_run(_end_status(exc_type).value)

    def __repr__(self) -> str:
        return f"<ActiveRun: run_id={self.info.run_id!r}, run_name={self.info.run_name!r}>"

    def _ipython_display_(self) -> None:
        """``run`` as a cell's last expression: the registered run display (the live run widget
        in a kernel), else the repr."""
        if _run_display is None:
            print(repr(self))
            return
        _run_display(self)


# Shows a run under a notebook cell. The client knows no widgets: ``labtrack`` registers the
# notebook integration's display here.
_run_display: Callable[[Run], None] | None = None


def set_run_display(display: Callable[[Run], None] | None) -> None:
    """What ``ActiveRun`` shows as a cell's last expression (``None``: its repr)."""
    global _run_display
    _run_display = display


# ---- configuration ----------------------------------------------------------------------


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Where runs go: a database URI, a path, or a labtrack/MLflow server ``http(s)://`` URL."""
    global _client
    with _state_lock:
        if _client is not None:
            _client.flush()
        config.set_process_tracking_uri(os.fspath(uri))
        _client = None
        _heartbeat.unsupported = False  # a new server may have the heartbeat route


def get_tracking_uri() -> str:
    return resolve_tracking_uri()


def is_tracking_uri_set() -> bool:
    return config.process_tracking_uri() is not None or any(
        os.environ.get(n) for n in (config.TRACKING_URI_ENV, config.MLFLOW_TRACKING_URI_ENV)
    )


def current_client() -> TrackingClient:
    """The client the fluent API uses (created on first use, again after set_tracking_uri)."""
    global _client
    if _client is None:
        with _state_lock:
            if _client is None:
                _client = TrackingClient()
    return _client


# ---- experiments ------------------------------------------------------------------------


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active, creating it by name if needed."""
    global _active_experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise invalid("Give exactly one of experiment_name or experiment_id.")
    c = current_client()
    if experiment_id is not None:
        exp = c.get_experiment(str(experiment_id))
    else:
        assert experiment_name is not None
        found = c.get_experiment_by_name(experiment_name)
        if found is None:
            try:
                c.create_experiment(experiment_name)
            except LabtrackException as exc:
                # Another process created it first: fine.
                if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
            found = c.get_experiment_by_name(experiment_name)
        assert found is not None
        exp = found
    if exp.lifecycle_stage != "active":
        raise invalid(
            f"Cannot set a deleted experiment {exp.name!r} as the active experiment. "
            "Restore it first or choose another name."
        )
    _active_experiment_id = exp.experiment_id
    return exp


def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None
) -> str:
    return current_client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return current_client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return current_client().get_experiment_by_name(name)


def search_experiments(
    view_type: ViewType | str = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    c = current_client()
    out: list[Experiment] = []
    token = None
    while True:
        page = c.search_experiments(view_type, 1000, filter_string, order_by, token)
        out.extend(page.items)
        token = page.token
        if not token or (max_results is not None and len(out) >= max_results):
            break
    return out if max_results is None else out[:max_results]


def delete_experiment(experiment_id: str) -> None:
    current_client().delete_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    current_client().set_experiment_tag(_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


def _experiment_id() -> str:
    if _active_experiment_id is not None:
        return _active_experiment_id
    env_id = first_env(config.EXPERIMENT_ID_ENVS)
    if env_id:
        return env_id
    env_name = first_env(config.EXPERIMENT_NAME_ENVS)
    if env_name:
        return set_experiment(env_name).experiment_id
    return "0"


# ---- runs -------------------------------------------------------------------------------


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``) and make it active; use it in a ``with`` block."""
    global _last_active_run_id
    c = current_client()
    with _state_lock:
        if _run_stack and not nested and parent_run_id is None:
            raise LabtrackException(
                f"Run with UUID {_run_stack[-1].info.run_id} is already active. To start a "
                "nested run, call start_run with nested=True.",
                "INVALID_PARAMETER_VALUE",
            )
        run_id = run_id or (None if _run_stack else first_env(config.RUN_ID_ENVS))
        if run_id:
            run = c.get_run(run_id)
            if run.info.lifecycle_stage != "active":
                raise invalid(f"Cannot start run with ID {run_id}: it is deleted.")
            c.update_run(run_id, status=RunStatus.RUNNING.value, name=run_name)
            for key, value in (tags or {}).items():
                c.set_tag(run_id, key, value)
            run = c.get_run(run_id)
        else:
            all_tags: dict[str, Any] = dict(source_tags())
            parent = parent_run_id or (
                _run_stack[-1].info.run_id if _run_stack and nested else None
            )
            if parent:
                all_tags[system_tags.PARENT_RUN_ID] = parent
            if description:
                all_tags[system_tags.NOTE_CONTENT] = description
            all_tags.update(tags or {})
            exp_id = str(experiment_id) if experiment_id is not None else _experiment_id()
            run = c.create_run(exp_id, tags=all_tags, run_name=run_name)
        active = ActiveRun(run)
        _run_stack.append(active)
        if log_system_metrics or (log_system_metrics is None and system_metrics.enabled()):
            _start_system_metrics(active.info.run_id)
        _end_runs_at_exit()
        _heartbeat.wake()
        _last_active_run_id = active.info.run_id
        return active


def end_run(status: str = "FINISHED") -> None:
    """End the active run: flush its queued metrics, then mark it ``status``."""
    with _state_lock:
        if not _run_stack:
            return
        run = _run_stack.pop()
        monitor = _system_monitors.pop(run.info.run_id, None)
    if monitor is not None:
        monitor.stop()
    current_client().set_terminated(run.info.run_id, status)


_system_monitors: dict[str, system_metrics.SystemMetricsMonitor] = {}


def _start_system_metrics(run_id: str) -> None:
    client = current_client()

    def log(values: dict[str, float], step: int) -> None:
        ts = time.time_ns() // 1_000_000
        for key, value in values.items():
            client.log_metric(run_id, key, value, ts, step)

    monitor = system_metrics.SystemMetricsMonitor(log)
    if monitor.start():
        _system_monitors[run_id] = monitor


class _Heartbeat:
    """While runs are active, tell the store their writer is alive (beyond MLflow): every
    ``$LABTRACK_HEARTBEAT_INTERVAL`` seconds (30) one tiny request per active run, from a
    daemon thread, so a run whose process is killed (-9, a lost machine) is marked KILLED by
    the server's sweep instead of staying RUNNING forever. A failed beat is only logged: the
    next one may get through, and the sweep waits for many missed beats."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._woken = threading.Event()
        self.unsupported = False  # the tracking server has no heartbeat route (MLflow's)

    def wake(self) -> None:
        """Beat now (a run started), starting the thread if needed."""
        if self.unsupported:
            return
        self._woken.set()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="labtrack-heartbeat")
            self._thread.daemon = True
            self._thread.start()

    def _loop(self) -> None:
        interval = config.env_seconds(
            config.HEARTBEAT_INTERVAL_ENV, config.DEFAULT_HEARTBEAT_INTERVAL
        )
        while True:
            with _state_lock:
                run_ids = [r.info.run_id for r in _run_stack]
            if not run_ids:
                self._thread = None
                return
            self._woken.clear()
            client = current_client()
            for run_id in run_ids:
                try:
                    client.heartbeat(run_id)
                except LabtrackException as exc:
                    if exc.error_code == "ENDPOINT_NOT_FOUND":
                        # An MLflow server: it has no liveness; stop asking this process long.
                        self.unsupported = True
                        self._thread = None
                        return
                    logging.getLogger("labtrack").debug("heartbeat of %s failed: %s", run_id, exc)
                except Exception as exc:  # e.g. the server restarting; the next beat retries
                    logging.getLogger("labtrack").debug("heartbeat of %s failed: %s", run_id, exc)
            self._woken.wait(interval)


_heartbeat = _Heartbeat()
_exit_hooks_installed = False
_uncaught: type[BaseException] | None = None


def _end_runs_at_exit() -> None:
    """Runs still active when the interpreter exits end as MLflow ends them: FINISHED, or FAILED
    after an uncaught exception (KILLED after Ctrl-C). Installed with the first run."""
    global _exit_hooks_installed
    if _exit_hooks_installed:
        return
    _exit_hooks_installed = True
    previous = sys.excepthook

    def record_uncaught(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        global _uncaught
        _uncaught = exc_type
        previous(exc_type, exc, tb)

    sys.excepthook = record_uncaught
    # Registered after the metric queue's own exit flush, so it runs first (atexit is LIFO) and
    # end_run still flushes this run's points.
    atexit.register(_end_active_runs)


def _end_status(exc_type: type[BaseException] | None) -> RunStatus:
    """How a run ends after ``exc_type`` (None: normally), as MLflow ends it."""
    if exc_type is None:
        return RunStatus.FINISHED
    if issubclass(exc_type, KeyboardInterrupt):
        return RunStatus.KILLED
    return RunStatus.FAILED


def _end_active_runs() -> None:
    status = _end_status(_uncaught)
    while _run_stack:
        try:
            end_run(status.value)
        except Exception:  # the store may be gone at exit; never turn exit into a traceback
            logging.getLogger("labtrack").warning("could not end the active run", exc_info=True)
            return


def active_run() -> ActiveRun | None:
    return _run_stack[-1] if _run_stack else None


def last_active_run() -> Run | None:
    if _run_stack:
        return get_run(_run_stack[-1].info.run_id)
    return get_run(_last_active_run_id) if _last_active_run_id else None


def _run_id() -> str:
    if _run_stack:
        return _run_stack[-1].info.run_id
    # MLflow starts a run implicitly on the first log call; so do we.
    return start_run().info.run_id


def get_run(run_id: str) -> Run:
    return current_client().get_run(run_id)


def delete_run(run_id: str) -> None:
    current_client().delete_run(run_id)


def flush() -> None:
    """Block until every metric point logged so far is written; raise if any could not be."""
    if _client is not None:
        _client.flush()


# ---- logging ----------------------------------------------------------------------------


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
) -> None:
    """Queue a metric point for the active run; never blocks the training loop."""
    if run_id is None:
        run_id = _run_stack[-1].info.run_id if _run_stack else _run_id()
    (_client or current_client()).log_metric(run_id, key, value, timestamp, step, bool(synchronous))


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
) -> None:
    rid = run_id or _run_id()
    ts = int(time.time() * 1000) if timestamp is None else timestamp
    c = current_client()
    for key, value in metrics.items():
        c.log_metric(rid, key, value, ts, step, bool(synchronous))


def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    return current_client().log_param(_run_id(), key, value)


def log_params(params: dict[str, Any], synchronous: bool | None = None) -> None:
    rid = _run_id()
    items = list(params.items())
    for i in range(0, len(items), 100):
        current_client().log_batch(rid, params=items[i : i + 100])


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    current_client().set_tag(_run_id(), key, value)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    rid = _run_id()
    items = list(tags.items())
    for i in range(0, len(items), 100):
        current_client().log_batch(rid, tags=items[i : i + 100])


def delete_tag(key: str) -> None:
    current_client().delete_tag(_run_id(), key)


def log_input(dataset: Any, context: str | None = None, tags: dict[str, str] | None = None) -> None:
    """Record a dataset the run used: a labtrack/MLflow dataset object or a ``Dataset``."""
    ds = dataset if isinstance(dataset, Dataset) else _as_dataset(dataset)
    all_tags = dict(tags or {})
    if context:
        all_tags[system_tags.DATASET_CONTEXT] = context
    current_client().log_inputs(
        _run_id(), [DatasetInput(ds, tuple(RunTag(k, v) for k, v in all_tags.items()))]
    )


def _as_dataset(obj: Any) -> Dataset:
    for attr in ("name", "digest"):
        if not hasattr(obj, attr):
            raise invalid(f"log_input expects a dataset with a name and digest, not {obj!r}.")
    source = getattr(obj, "source", "")
    return Dataset(
        name=obj.name,
        digest=obj.digest,
        source_type=getattr(source, "_get_source_type", lambda: "unknown")(),
        source=source.to_json() if hasattr(source, "to_json") else str(source),
        schema=json.dumps(obj.schema.to_dict()) if getattr(obj, "schema", None) else None,
        profile=json.dumps(obj.profile) if getattr(obj, "profile", None) else None,
    )


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    current_client().log_artifact(_run_id(), os.fspath(local_path), artifact_path)


def log_artifacts(local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    current_client().log_artifacts(_run_id(), os.fspath(local_dir), artifact_path)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    uri = get_run(_run_id()).info.artifact_uri
    return posixpath.join(uri, artifact_path) if artifact_path else uri


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    current_client().log_text(run_id or _run_id(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """As JSON, or as YAML when ``artifact_file`` ends in .yaml/.yml."""
    current_client().log_dict(run_id or _run_id(), dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
) -> None:
    """A matplotlib, plotly or Altair figure; the format follows the file extension."""
    current_client().log_figure(_run_id(), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> None:
    """A PIL image, numpy array (HxW, HxWx3, HxWx4; uint8, or floats in [0, 1]) or
    ``lt.Image``: as ``artifact_file``, or as step ``step`` of the image series ``key``."""
    current_client().log_image(_run_id(), image, artifact_file, key, step, timestamp, synchronous)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """A dict of columns or a DataFrame, stored as MLflow does: JSON ``{columns, data}``."""
    current_client().log_table(run_id or _run_id(), data, artifact_file)


def load_table(
    artifact_file: str,
    run_ids: Sequence[str] | None = None,
    extra_columns: Sequence[str] | None = None,
) -> Any:
    """The table ``artifact_file`` logged by runs of the active experiment, as one DataFrame."""
    return current_client().load_table(_experiment_id(), artifact_file, run_ids, extra_columns)


def log_stream(stream: Any, artifact_file: str, run_id: str | None = None) -> None:
    """The bytes of a binary file-like object as the artifact ``artifact_file``."""
    current_client().log_stream(run_id or _run_id(), stream, artifact_file)


# ---- search -----------------------------------------------------------------------------


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: list[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> Any:
    """Runs matching a filter, as a pandas DataFrame (default) or a list of ``Run``."""
    c = current_client()
    c.flush()
    if experiment_names:
        ids = []
        for name in experiment_names:
            exp = c.get_experiment_by_name(name)
            if exp is not None:
                ids.append(exp.experiment_id)
        experiment_ids = ids
    elif search_all_experiments and not experiment_ids:
        experiment_ids = [e.experiment_id for e in search_experiments(view_type=ViewType.ALL)]
    elif not experiment_ids:
        experiment_ids = [_experiment_id()]
    runs: list[Run] = []
    token = None
    while len(runs) < max_results:
        page = c.search_runs(
            list(experiment_ids),
            filter_string,
            run_view_type,
            min(50_000, max_results - len(runs)),
            order_by,
            token,
        )
        runs.extend(page.items)
        token = page.token
        if not token:
            break
    if output_format == "list":
        return runs
    if output_format != "pandas":
        raise invalid(f"Unsupported output_format {output_format!r}: 'pandas' or 'list'.")
    from labtrack.client.frames import runs_to_dataframe

    return runs_to_dataframe(runs)


# ---- more of MLflow's fluent API --------------------------------------------------------


def set_registry_uri(uri: str | os.PathLike[str]) -> None:
    """Where registered models live, when not in the tracking store (MLflow's registry URI)."""
    global _client
    with _state_lock:
        config.set_process_registry_uri(os.fspath(uri))
        _client = None


def get_registry_uri() -> str:
    """The registry URI: the one ``set_registry_uri`` set, else the tracking URI."""
    return config.resolve_registry_uri()


def delete_experiment_tag(key: str) -> None:
    """Remove a tag from the active experiment."""
    current_client().delete_experiment_tag(_experiment_id(), key)


def restore_experiment(experiment_id: str) -> None:
    current_client().restore_experiment(experiment_id)


def restore_run(run_id: str) -> None:
    current_client().restore_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The parent of a nested run (its ``mlflow.parentRunId``), or None."""
    return current_client().get_parent_run(run_id)


def log_inputs(
    datasets: Sequence[Any] | None = None,
    contexts: Sequence[str | None] | None = None,
    tags_list: Sequence[dict[str, str] | None] | None = None,
    models: Sequence[Any] | None = None,
) -> None:
    """Several datasets at once (each with its context and tags) for the active run."""
    datasets = list(datasets or [])
    contexts = list(contexts) if contexts is not None else [None] * len(datasets)
    tags_list = list(tags_list) if tags_list is not None else [None] * len(datasets)
    if not len(datasets) == len(contexts) == len(tags_list):
        raise invalid("datasets, contexts and tags_list must have the same length.")
    inputs = []
    for dataset, context, tags in zip(datasets, contexts, tags_list, strict=True):
        ds = dataset if isinstance(dataset, Dataset) else _as_dataset(dataset)
        all_tags = dict(tags or {})
        if context:
            all_tags[system_tags.DATASET_CONTEXT] = context
        inputs.append(DatasetInput(ds, tuple(RunTag(k, v) for k, v in all_tags.items())))
    if inputs or models:
        current_client().log_inputs(_run_id(), inputs, models=list(models or ()))


def log_outputs(models: Sequence[Any] | None = None) -> None:
    """Record logged models (``LoggedModelOutput``: model_id, step) as the active run's
    outputs."""
    if models:
        current_client().log_outputs(_run_id(), list(models))


def flush_async_logging() -> None:
    """Block until every queued metric point is written (MLflow's async logging flush)."""
    flush()


def flush_artifact_async_logging() -> None:
    """Artifacts are written before their log call returns: nothing is pending; metrics are
    flushed, as MLflow's flush leaves nothing queued either."""
    flush()


# ---- logged models (MLflow 3) -----------------------------------------------------------

_last_logged_model_id: str | None = None
_active_model_id: str | None = None
ACTIVE_MODEL_ID_ENV = "MLFLOW_ACTIVE_MODEL_ID"
EXTERNAL_MODEL_TAG = "mlflow.model.isExternal"


def _logged_model_args(
    source_run_id: str | None, experiment_id: str | None
) -> tuple[str, str | None]:
    run = active_run()
    if source_run_id is None and run is not None:
        source_run_id = run.info.run_id
    if experiment_id is None:
        experiment_id = run.info.experiment_id if run is not None else _experiment_id()
    return str(experiment_id), source_run_id


def initialize_logged_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> Any:
    """A new logged model in PENDING state (the active run is its source); finish it with
    ``finalize_logged_model``."""
    global _last_logged_model_id
    exp_id, run_id = _logged_model_args(source_run_id, experiment_id)
    model = current_client().create_logged_model(
        exp_id, name=name, source_run_id=run_id, tags=tags, params=params, model_type=model_type
    )
    _last_logged_model_id = model.model_id
    return model


def create_external_model(
    name: str | None = None,
    source_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    model_type: str | None = None,
    experiment_id: str | None = None,
) -> Any:
    """A READY logged model whose code and weights live outside labtrack (e.g. in git)."""
    all_tags = {**(tags or {}), EXTERNAL_MODEL_TAG: "true"}
    model = initialize_logged_model(
        name, source_run_id, all_tags, params, model_type, experiment_id
    )
    return finalize_logged_model(model.model_id, "READY")


def finalize_logged_model(model_id: str, status: Any) -> Any:
    """Mark a logged model READY or FAILED (``LoggedModelStatus`` names or strings)."""
    return current_client().finalize_logged_model(model_id, getattr(status, "name", status))


def get_logged_model(model_id: str) -> Any:
    return current_client().get_logged_model(model_id)


def note_logged_model(model_id: str) -> None:
    """Remember ``model_id`` as the model this process logged last (``log_model`` calls it)."""
    global _last_logged_model_id
    _last_logged_model_id = model_id


def last_logged_model() -> Any:
    """The logged model this process created last, or None."""
    return get_logged_model(_last_logged_model_id) if _last_logged_model_id else None


def set_logged_model_tags(model_id: str, tags: dict[str, Any]) -> None:
    current_client().set_logged_model_tags(model_id, tags)


def delete_logged_model_tag(model_id: str, key: str) -> None:
    current_client().delete_logged_model_tag(model_id, key)


def log_model_params(params: dict[str, Any], model_id: str | None = None) -> None:
    """Params of a logged model (default: the active model, else the last one logged)."""
    model_id = model_id or get_active_model_id() or _last_logged_model_id
    if model_id is None:
        raise invalid("log_model_params: no model_id given and no active or logged model.")
    current_client().log_model_params(model_id, params)


def search_logged_models(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    datasets: Sequence[dict[str, Any]] | None = None,
    max_results: int | None = None,
    order_by: list[dict[str, Any]] | None = None,
    output_format: str = "pandas",
) -> Any:
    """Logged models of the experiments (default: the active one), as a DataFrame or a list."""
    ids = [str(e) for e in (experiment_ids or [_experiment_id()])]
    c = current_client()
    models: list[Any] = []
    token = None
    while max_results is None or len(models) < max_results:
        page = c.search_logged_models(ids, filter_string, 100, order_by, token, datasets)
        models.extend(page.items)
        token = page.token
        if not token:
            break
    if max_results is not None:
        models = models[:max_results]
    if output_format == "list":
        return models
    if output_format != "pandas":
        raise invalid(f"Unsupported output_format {output_format!r}: 'pandas' or 'list'.")
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "model_id": m.model_id,
                "name": m.name,
                "experiment_id": m.experiment_id,
                "artifact_location": m.artifact_location,
                "creation_timestamp": m.creation_timestamp,
                "last_updated_timestamp": m.last_updated_timestamp,
                "status": m.status,
                "model_type": m.model_type,
                "source_run_id": m.source_run_id,
                "tags": dict(m.tags),
                "params": dict(m.params),
                "metrics": list(m.metrics),
            }
            for m in models
        ]
    )


class ActiveModel:
    """The logged model ``set_active_model`` made active; a context manager that restores the
    previous active model on exit. Attributes are the ``LoggedModel``'s."""

    def __init__(self, logged_model: Any, previous_id: str | None) -> None:
        self._logged_model = logged_model
        self._previous_id = previous_id

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # never recurse while _logged_model itself is missing
            raise AttributeError(name)
        return getattr(self._logged_model, name)

    def __enter__(self) -> ActiveModel:
        return self

    def __exit__(self, *exc: Any) -> None:
        global _active_model_id
        _active_model_id = self._previous_id

    def __repr__(self) -> str:
        return f"<ActiveModel: model_id={self.model_id!r}, name={self.name!r}>"


def set_active_model(name: str | None = None, model_id: str | None = None) -> ActiveModel:
    """Make a logged model active: by id, or by name (the newest model of that name in the
    active experiment, created if there is none)."""
    global _active_model_id
    if name is None and model_id is None:
        raise invalid("set_active_model: give a name or a model_id.")
    c = current_client()
    if model_id is not None:
        model = c.get_logged_model(model_id)
        if name is not None and model.name != name:
            raise invalid(f"Logged model {model_id!r} is named {model.name!r}, not {name!r}.")
    else:
        escaped = str(name).replace("'", "''")
        found = c.search_logged_models(
            [_experiment_id()],
            f"name = '{escaped}'",
            1,
            [{"field_name": "creation_time", "ascending": False}],
        ).items
        model = found[0] if found else initialize_logged_model(name)
    previous = _active_model_id
    _active_model_id = model.model_id
    return ActiveModel(model, previous)


def get_active_model_id() -> str | None:
    """The active logged model's id: set by ``set_active_model``, else $MLFLOW_ACTIVE_MODEL_ID."""
    return _active_model_id or os.environ.get(ACTIVE_MODEL_ID_ENV) or None


def clear_active_model() -> None:
    global _active_model_id
    _active_model_id = None


# ---- registry ---------------------------------------------------------------------------


def search_registered_models(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Any]:
    """Every registered model matching the filter (all pages)."""
    return _all_pages(
        current_client().search_registered_models, max_results, filter_string, order_by
    )


def search_model_versions(
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Any]:
    """Every model version matching the filter (all pages)."""
    return _all_pages(current_client().search_model_versions, max_results, filter_string, order_by)


def _all_pages(
    search: Callable[..., Any],
    max_results: int | None,
    filter_string: str | None,
    order_by: list[str] | None,
) -> list[Any]:
    out: list[Any] = []
    token = None
    while max_results is None or len(out) < max_results:
        page = search(
            filter_string, 1000 if max_results is None else min(1000, max_results), order_by, token
        )
        out.extend(page.items)
        token = page.token
        if not token:
            break
    return out if max_results is None else out[:max_results]


def set_model_version_tag(
    name: str,
    version: str | int | None = None,
    key: str | None = None,
    value: Any = None,
    stage: str | None = None,
) -> None:
    """Tag a registered model version (by number, or by the latest in ``stage``)."""
    c = current_client()
    if (version is None) == (stage is None):
        raise invalid("set_model_version_tag: give exactly one of version or stage.")
    if key is None:
        raise invalid("set_model_version_tag: key is required.")
    if version is None:
        latest = c.get_latest_versions(name, [str(stage)])
        if not latest:
            raise LabtrackException(
                f"No versions of model {name!r} in stage {stage!r}.", "RESOURCE_DOES_NOT_EXIST"
            )
        version = latest[0].version
    c.set_model_version_tag(name, version, key, "" if value is None else value)
