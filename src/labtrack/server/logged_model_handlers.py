"""MLflow 3 logged-model RPCs (``/api/2.0/mlflow/logged-models...``, the paths the 3.x client
calls).

``mlflow.<flavor>.log_model`` creates a model here (the server picks its artifact location),
uploads its files through the artifact proxy, then finalizes it; ``runs:/<run>/<name>`` URIs
are resolved with ``logged-models/search``. Each function is thin: read fields, call
``service.logged_models``, serialize with ``labtrack.entities.wire``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labtrack.entities import LoggedModel, wire
from labtrack.entities import endpoints as ep
from labtrack.errors import invalid
from labtrack.server.routes import Route, serve
from labtrack.server.rpc import RpcRequest

if TYPE_CHECKING:
    from labtrack.service.tracking import TrackingService


def _model(model: LoggedModel) -> dict[str, Any]:
    return {"model": wire.logged_model_to_json(model)}


def create_logged_model(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    model = service.logged_models.create_logged_model(
        experiment_id=req.str_required("experiment_id"),
        name=req.get_str("name"),
        model_type=req.get_str("model_type"),
        source_run_id=req.get_str("source_run_id"),
        tags=dict(req.get_key_values("tags")),
        params=dict(req.get_key_values("params")),
    )
    return _model(model)


def get_logged_model(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return _model(
        service.logged_models.get_logged_model(
            req.str_required("model_id"), allow_deleted=req.get_bool("allow_deleted")
        )
    )


def finalize_logged_model(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    status = req.get("status")
    if status is None or status == "":
        raise invalid("Missing value for required parameter 'status'.")
    return _model(service.logged_models.finalize_logged_model(req.str_required("model_id"), status))


def delete_logged_model(service: TrackingService, req: RpcRequest) -> None:
    service.logged_models.delete_logged_model(req.str_required("model_id"))


def set_logged_model_tags(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return _model(
        service.logged_models.set_logged_model_tags(
            req.str_required("model_id"), dict(req.get_key_values("tags"))
        )
    )


def delete_logged_model_tag(service: TrackingService, req: RpcRequest) -> None:
    service.logged_models.delete_logged_model_tag(
        req.str_required("model_id"), req.str_required("tag_key")
    )


def log_logged_model_params(service: TrackingService, req: RpcRequest) -> None:
    service.logged_models.log_logged_model_params(
        req.str_required("model_id"), dict(req.get_key_values("params"))
    )


def search_logged_models(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    page = service.logged_models.search_logged_models(
        [str(e) for e in req.get_list("experiment_ids")],
        req.get_str("filter"),
        req.get_int("max_results"),
        req.get_list("order_by"),
        req.get_str("page_token"),
        req.get_objects("datasets"),
    )
    out: dict[str, Any] = {"models": [wire.logged_model_to_json(m) for m in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


ROUTES: list[Route] = [
    serve(ep.LOGGED_MODELS_CREATE, create_logged_model),
    serve(ep.LOGGED_MODELS_SEARCH, search_logged_models),
    serve(ep.LOGGED_MODELS_GET, get_logged_model),
    serve(ep.LOGGED_MODELS_FINALIZE, finalize_logged_model),
    serve(ep.LOGGED_MODELS_DELETE, delete_logged_model),
    serve(ep.LOGGED_MODELS_SET_TAGS, set_logged_model_tags),
    serve(ep.LOGGED_MODELS_DELETE_TAG, delete_logged_model_tag),
    serve(ep.LOGGED_MODELS_LOG_PARAMS, log_logged_model_params),
]
