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
    del log_system_metrics  # accepted for MLflow compatibility; not collected yet
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
    current_client().set_terminated(run.info.run_id, status)


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


def log_text(text: str, artifact_file: str) -> None:
    current_client().log_text(_run_id(), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str) -> None:
    """As JSON, or as YAML when ``artifact_file`` ends in .yaml/.yml."""
    current_client().log_dict(_run_id(), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict | None = None) -> None:
    """A matplotlib, plotly or Altair figure; the format follows the file extension."""
    import io

    kind = type(figure).__module__.split(".")[0]
    buf = io.BytesIO()
    if kind == "matplotlib":
        figure.savefig(buf, format=artifact_file.rsplit(".", 1)[-1], **(save_kwargs or {}))
        current_client().log_bytes(_run_id(), buf.getvalue(), artifact_file)
    elif kind == "plotly":
        if artifact_file.endswith(".html"):
            # Plotly's HTML embeds its library, so the file also works offline.
            log_text(figure.to_html(include_plotlyjs=True), artifact_file)
        else:
            current_client().log_bytes(
                _run_id(), figure.to_image(format=artifact_file.rsplit(".", 1)[-1]), artifact_file
            )
    elif kind == "altair":
        if artifact_file.endswith(".json"):
            log_text(figure.to_json(), artifact_file)
        else:
            figure.save(buf, format=artifact_file.rsplit(".", 1)[-1])
            current_client().log_bytes(_run_id(), buf.getvalue(), artifact_file)
    else:
        raise invalid(f"log_figure supports matplotlib, plotly and Altair figures, not {kind}.")


def log_image(image: Any, artifact_file: str) -> None:
    """A PIL image or a numpy array (HxW, HxWx3, HxWx4; uint8, or floats in [0, 1])."""
    import io

    buf = io.BytesIO()
    fmt = artifact_file.rsplit(".", 1)[-1].upper().replace("JPG", "JPEG")
    if hasattr(image, "save") and hasattr(image, "mode"):
        image.save(buf, format=fmt)
    else:
        import numpy as np

        arr = np.asarray(image)
        if arr.dtype.kind == "f":
            if arr.min() < 0 or arr.max() > 1:
                raise invalid("Float images must have values in [0, 1].")
            arr = (arr * 255).round().astype(np.uint8)
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
            raise invalid(f"Unsupported image shape {arr.shape}: HxW, HxWx3 or HxWx4.")
        try:
            from PIL import Image
        except ImportError:
            import matplotlib.pyplot as plt

            plt.imsave(
                buf, arr.squeeze(), format=fmt.lower(), cmap="gray" if arr.ndim == 2 else None
            )
        else:
            Image.fromarray(arr.squeeze() if arr.ndim == 3 and arr.shape[2] == 1 else arr).save(
                buf, format=fmt
            )
    current_client().log_bytes(_run_id(), buf.getvalue(), artifact_file)


def log_table(data: Any, artifact_file: str) -> None:
    """A dict of columns or a DataFrame, stored as MLflow does: JSON ``{columns, data}``."""
    if artifact_file.rsplit(".", 1)[-1] != "json":
        raise invalid("log_table writes JSON: artifact_file must end with .json.")
    if isinstance(data, dict):
        columns = list(data)
        rows = [list(r) for r in zip(*data.values(), strict=True)]
    elif hasattr(data, "columns") and hasattr(data, "values"):
        columns = [str(c) for c in data.columns]
        rows = data.astype(object).values.tolist()
    else:
        raise invalid("log_table expects a dict of columns or a pandas DataFrame.")
    log_text(json.dumps({"columns": columns, "data": rows}, default=str), artifact_file)


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
