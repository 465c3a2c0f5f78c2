"""MLflow tracking RPCs (experiments, runs, metrics, params, tags, inputs) and labtrack's own
additions for the UI (downsampled multi-run series, change feed).

Each function is thin: read fields, call the service, serialize with ``labtrack.entities.wire``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from labtrack.entities import Metric, ViewType, wire
from labtrack.entities import endpoints as ep
from labtrack.entities.points import CHART_POINTS
from labtrack.errors import invalid
from labtrack.server.log_batch import decode_log_batch
from labtrack.server.routes import Route, serve
from labtrack.server.rpc import RawJson, RpcRequest, decodes_body

# A view type on the wire is one of the enum's names, as MLflow's proto parsing takes it: an
# empty or lower-case one is refused with 400 (the Python API takes either).
VIEW_TYPES = tuple(t.value for t in ViewType)


def _view_type(req: RpcRequest, key: str) -> str | None:
    return req.get_enum(key, VIEW_TYPES)


if TYPE_CHECKING:
    from labtrack.service.tracking import TrackingService

MAX_SERIES_RUNS = 200
# The decoded log-batch body, shared with team mode's permission check (RpcRequest.memo).
LOG_BATCH_MEMO = "log_batch"


def _metric(item: dict[str, Any]) -> Metric:
    key = item.get("key")
    if not isinstance(key, str):
        raise invalid("Every metric needs a string 'key'.")
    if "value" not in item:
        raise invalid(f"Missing value for required parameter 'value' of metric '{key}'.")
    if "timestamp" not in item:
        raise invalid(f"Missing value for required parameter 'timestamp' of metric '{key}'.")
    return Metric(
        key=key,
        value=wire.float_from_json(item["value"], key),
        timestamp=item["timestamp"],
        step=item.get("step", 0) or 0,
        model_id=item.get("model_id"),
        dataset_name=item.get("dataset_name"),
        dataset_digest=item.get("dataset_digest"),
    )


# ---- experiments ------------------------------------------------------------------------


def create_experiment(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    exp_id = service.create_experiment(
        req.str_required("name"), req.get_str("artifact_location"), dict(req.get_key_values("tags"))
    )
    return {"experiment_id": exp_id}


def search_experiments(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    page = service.search_experiments(
        _view_type(req, "view_type"),
        req.get_int("max_results"),
        req.get_str("filter"),
        [str(o) for o in req.get_list("order_by")],
        req.get_str("page_token"),
    )
    out: dict[str, Any] = {"experiments": [wire.experiment_to_json(e) for e in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


def get_experiment(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return {
        "experiment": wire.experiment_to_json(
            service.get_experiment(req.str_required("experiment_id"))
        )
    }


def get_experiment_by_name(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    exp = service.get_experiment_by_name(req.str_required("experiment_name"))
    return {"experiment": wire.experiment_to_json(exp)}


def delete_experiment(service: TrackingService, req: RpcRequest) -> None:
    service.delete_experiment(req.str_required("experiment_id"))


def restore_experiment(service: TrackingService, req: RpcRequest) -> None:
    service.restore_experiment(req.str_required("experiment_id"))


def update_experiment(service: TrackingService, req: RpcRequest) -> None:
    # Both required, as MLflow's server requires them (an empty new_name is no rename: 400).
    experiment_id = req.str_required("experiment_id")
    service.rename_experiment(experiment_id, req.str_required("new_name"))


def set_experiment_tag(service: TrackingService, req: RpcRequest) -> None:
    service.set_experiment_tag(
        req.str_required("experiment_id"), req.str_required("key"), req.get_str("value", "")
    )


def delete_experiment_tag(service: TrackingService, req: RpcRequest) -> None:
    service.delete_experiment_tag(req.str_required("experiment_id"), req.str_required("key"))


# ---- runs -------------------------------------------------------------------------------


def create_run(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    run = service.create_run(
        experiment_id=req.get_str("experiment_id", "0"),
        user_id=req.get_str("user_id") or req.user,
        start_time=req.get_int("start_time"),
        tags=dict(req.get_key_values("tags")),
        run_name=req.get_str("run_name"),
    )
    return {"run": wire.run_to_json(run)}


def update_run(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    info = service.update_run(
        req.run_id(),
        status=req.get_str("status"),
        end_time=req.get_int("end_time"),
        run_name=req.get_str("run_name"),
    )
    return {"run_info": wire.run_info_to_json(info)}


def heartbeat_run(service: TrackingService, req: RpcRequest) -> None:
    service.heartbeat(req.run_id())


def delete_run(service: TrackingService, req: RpcRequest) -> None:
    service.delete_run(req.run_id())


def restore_run(service: TrackingService, req: RpcRequest) -> None:
    service.restore_run(req.run_id())


def get_run(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return {"run": wire.run_to_json(service.get_run(req.run_id()))}


def search_runs(service: TrackingService, req: RpcRequest) -> RawJson:
    runs, token = service.search_runs_json(
        [str(e) for e in req.get_list("experiment_ids")],
        req.get_str("filter"),
        _view_type(req, "run_view_type"),
        req.get_int("max_results"),
        [str(o) for o in req.get_list("order_by")],
        req.get_str("page_token"),
    )
    # Each run comes encoded (mostly its stored wire document): the answer is spliced, not
    # built and encoded again.
    tail = b"]}" if token is None else b'],"next_page_token":' + orjson.dumps(token) + b"}"
    return RawJson(b'{"runs":[' + b",".join(runs) + tail)


def log_metric(service: TrackingService, req: RpcRequest) -> None:
    service.log_batch(req.run_id(), metrics=[_metric(req.fields)])


def log_param(service: TrackingService, req: RpcRequest) -> None:
    # An empty value is a value (MLflow accepts it); a number is not a string.
    value = req.get_str("value", "")
    service.log_batch(req.run_id(), params=[(req.str_required("key"), value)])


def set_tag(service: TrackingService, req: RpcRequest) -> None:
    service.log_batch(req.run_id(), tags=[(req.str_required("key"), req.get_str("value", ""))])


def delete_tag(service: TrackingService, req: RpcRequest) -> None:
    service.delete_tag(req.run_id(), req.str_required("key"))


@decodes_body
def log_batch(service: TrackingService, req: RpcRequest) -> None:
    # Columns per series, not a Metric per point: up to 1,000 points arrive per request.
    body = req.body
    decoded = req.memo(LOG_BATCH_MEMO, lambda: decode_log_batch(body)) if body is not None else None
    if decoded is None:  # not plainly typed: the general rules decide, and word any error
        columns = wire.metric_columns_from_json(req.get_objects("metrics"))
    else:
        fields, columns = decoded
        req = req.with_fields(fields)
    service.log_batch(
        req.run_id(),
        params=req.get_key_values("params"),
        tags=req.get_key_values("tags"),
        columns=columns,
    )


def log_inputs(service: TrackingService, req: RpcRequest) -> None:
    datasets = [wire.dataset_input_from_json(d) for d in req.get_objects("datasets")]
    models = []
    for item in req.get_objects("models"):
        model_id = item.get("model_id")
        if not isinstance(model_id, str) or not model_id:
            raise invalid("Every entry of 'models' needs a string 'model_id'.")
        models.append(model_id)
    run_id = req.run_id()
    # Both are checked before either is written (the model ids' form, the datasets' fields).
    for model_id in models:
        service.logged_models.check_model_id(model_id)
    if datasets or not models:
        service.log_inputs(run_id, datasets)
    if models:
        service.logged_models.log_model_inputs(run_id, models)


def get_metric_history(service: TrackingService, req: RpcRequest) -> RawJson:
    key = req.str_required("metric_key")
    page, token = service.get_metric_history_points(
        req.run_id(), key, req.get_int("max_results"), req.get_str("page_token")
    )
    p = page.points
    # Encoded straight from the columns: no Metric or dict per point.
    return RawJson(
        wire.metric_history_json(key, p.steps, p.timestamps, p.values, token, page.labels)
    )


# ---- labtrack additions -----------------------------------------------------------------


def metric_series(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    """Chart-ready series of one metric for many runs, downsampled with min/max per bucket,
    or at full resolution inside a zoomed ``x_min``..``x_max`` range."""
    run_ids = [str(r) for r in req.get_list("run_ids")]
    if not run_ids:
        raise invalid("Missing value for required parameter 'run_ids'.")
    if len(run_ids) > MAX_SERIES_RUNS:
        raise invalid(f"At most {MAX_SERIES_RUNS} runs per request.")
    key = req.str_required("metric_key")
    max_points = req.get_int("max_points", CHART_POINTS)
    x = req.get_str("x", "step")
    x_min, x_max = req.get_float("x_min"), req.get_float("x_max")
    series = [
        wire.series_to_json(service.get_metric_series(r, key, max_points, x, x_min, x_max))
        for r in run_ids
    ]
    return {"series": series}


def count_runs(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    """Runs per experiment matching ``filter`` (the totals a runs list shows)."""
    experiment_ids = [str(e) for e in req.get_list("experiment_ids")]
    if not experiment_ids:
        raise invalid("Missing value for required parameter 'experiment_ids'.")
    counts = service.count_runs(
        experiment_ids, req.get_str("filter"), _view_type(req, "run_view_type")
    )
    return {"counts": counts, "total": sum(counts.values())}


def changes(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    """What changed after ``cursor`` (omit it to get the current cursor)."""
    cursor, items = service.changes_since(req.get_int("cursor"), req.get_int("limit", 1000))
    return {"cursor": cursor, "changes": items}


ROUTES: list[Route] = [
    serve(ep.EXPERIMENTS_CREATE, create_experiment),
    serve(ep.EXPERIMENTS_SEARCH_GET, search_experiments),
    serve(ep.EXPERIMENTS_SEARCH, search_experiments),
    serve(ep.EXPERIMENTS_GET, get_experiment),
    serve(ep.EXPERIMENTS_GET_BY_NAME, get_experiment_by_name),
    serve(ep.EXPERIMENTS_DELETE, delete_experiment),
    serve(ep.EXPERIMENTS_RESTORE, restore_experiment),
    serve(ep.EXPERIMENTS_UPDATE, update_experiment),
    serve(ep.EXPERIMENTS_SET_TAG, set_experiment_tag),
    serve(ep.EXPERIMENTS_DELETE_TAG, delete_experiment_tag),
    serve(ep.RUNS_CREATE, create_run),
    serve(ep.RUNS_UPDATE, update_run),
    serve(ep.LABTRACK_RUNS_HEARTBEAT, heartbeat_run),
    serve(ep.RUNS_DELETE, delete_run),
    serve(ep.RUNS_RESTORE, restore_run),
    serve(ep.RUNS_GET, get_run),
    serve(ep.RUNS_SEARCH, search_runs),
    serve(ep.RUNS_LOG_METRIC, log_metric),
    serve(ep.RUNS_LOG_PARAMETER, log_param),
    serve(ep.RUNS_SET_TAG, set_tag),
    serve(ep.RUNS_DELETE_TAG, delete_tag),
    serve(ep.RUNS_LOG_BATCH, log_batch),
    serve(ep.RUNS_LOG_INPUTS, log_inputs),
    serve(ep.METRICS_GET_HISTORY, get_metric_history),
    serve(ep.LABTRACK_METRIC_SERIES, metric_series),
    serve(ep.LABTRACK_RUNS_COUNT, count_runs),
    serve(ep.LABTRACK_CHANGES, changes),
]


# ---- models logged by runs, run artifact listing ---------------------------------------


def log_model(service: TrackingService, req: RpcRequest) -> None:
    """2.x ``runs/log-model``: append ``model_json`` to the run's log-model history tag."""
    service.logged_models.record_logged_model(req.run_id(), req.str_required("model_json"))


def log_outputs(service: TrackingService, req: RpcRequest) -> None:
    """3.x ``runs/outputs``: the logged models a run produced."""
    models = []
    for item in req.get_objects("models"):
        model_id = item.get("model_id")
        if not isinstance(model_id, str) or not model_id:
            raise invalid("Every entry of 'models' needs a string 'model_id'.")
        models.append((model_id, item.get("step", 0) or 0))
    service.logged_models.log_outputs(req.run_id(), models)


def list_artifacts(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    """``mlflow/artifacts/list``: entries of ``path`` in a run's artifacts, named relative to
    the run's artifact root (``{}``-like empty ``files`` for a missing directory)."""
    root_uri, files = service.logged_models.list_run_artifacts(
        req.run_id(), req.get_str("path") or None
    )
    return {"root_uri": root_uri, "files": [f.to_json() for f in files]}


ROUTES.extend(
    [
        serve(ep.RUNS_LOG_MODEL, log_model),
        serve(ep.RUNS_OUTPUTS, log_outputs),
        serve(ep.ARTIFACTS_LIST, list_artifacts),
    ]
)
