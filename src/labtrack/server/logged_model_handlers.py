"""MLflow 3 logged-model RPCs (``/api/2.0/mlflow/logged-models...``, the paths the 3.x client
calls).

``mlflow.<flavor>.log_model`` creates a model here (the server picks its artifact location),
uploads its files through the artifact proxy, then finalizes it; ``runs:/<run>/<name>`` URIs
are resolved with ``logged-models/search``. Each function is thin: read fields, call
``service.logged_models``, serialize with ``labtrack.entities.wire``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labtrack.entities import wire
from labtrack.errors import invalid
from labtrack.server.routes import MLFLOW, Route, handled, rpc
from labtrack.server.rpc import RpcHandler, RpcRequest

LOGGED_MODELS = MLFLOW + "/logged-models"


def _key_values(req: RpcRequest, field: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in req.get_objects(field):
        key = item.get("key")
        if not isinstance(key, str):
            raise invalid(f"Every entry of '{field}' needs a string 'key'.")
        value = item.get("value", "")
        out[key] = "" if value is None else value
    return out


def _model(model: Any) -> dict[str, Any]:
    return {"model": wire.logged_model_to_json(model)}


def create_logged_model(service: Any, req: RpcRequest) -> dict[str, Any]:
    model = service.logged_models.create_logged_model(
        experiment_id=req.str_required("experiment_id"),
        name=req.get_str("name"),
        model_type=req.get_str("model_type"),
        source_run_id=req.get_str("source_run_id"),
        tags=_key_values(req, "tags"),
        params=_key_values(req, "params"),
    )
    return _model(model)


def get_logged_model(service: Any, req: RpcRequest) -> dict[str, Any]:
    return _model(
        service.logged_models.get_logged_model(
            req.str_required("model_id"), allow_deleted=req.get_bool("allow_deleted")
        )
    )


def finalize_logged_model(service: Any, req: RpcRequest) -> dict[str, Any]:
    status = req.get("status")
    if status is None or status == "":
        raise invalid("Missing value for required parameter 'status'.")
    return _model(service.logged_models.finalize_logged_model(req.str_required("model_id"), status))


def delete_logged_model(service: Any, req: RpcRequest) -> None:
    service.logged_models.delete_logged_model(req.str_required("model_id"))


def set_logged_model_tags(service: Any, req: RpcRequest) -> dict[str, Any]:
    return _model(
        service.logged_models.set_logged_model_tags(
            req.str_required("model_id"), _key_values(req, "tags")
        )
    )


def delete_logged_model_tag(service: Any, req: RpcRequest) -> None:
    service.logged_models.delete_logged_model_tag(
        req.str_required("model_id"), req.str_required("tag_key")
    )


def log_logged_model_params(service: Any, req: RpcRequest) -> None:
    service.logged_models.log_logged_model_params(
        req.str_required("model_id"), _key_values(req, "params")
    )


def search_logged_models(service: Any, req: RpcRequest) -> dict[str, Any]:
    page = service.logged_models.search_logged_models(
        [str(e) for e in req.get_list("experiment_ids")],
        req.get_str("filter"),
        req.get_int("max_results"),
        req.get_list("order_by"),
        req.get_str("page_token"),
    )
    out: dict[str, Any] = {"models": [wire.logged_model_to_json(m) for m in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


class TagDeleteHandler(RpcHandler):
    """``DELETE logged-models/{model_id}/tags/{tag_key}``: the client sends it with no body and
    so no Content-Type; everything it needs is in the path. A DELETE is never a CORS "simple"
    request, so an empty, untyped body is accepted here (a non-empty one must still be JSON).
    """

    def initialize(  # type: ignore[override]
        self,
        name: str = "labtrack",
        rpcs: Mapping[str, Any] | None = None,
    ) -> None:
        super().initialize(name, rpcs or {"DELETE": (delete_logged_model_tag, True)})

    def request_fields(self) -> dict[str, Any]:
        if (self.request.method or "").upper() == "DELETE" and not bytes(self._body).strip():
            return {}
        return super().request_fields()


ROUTES: list[Route] = [
    rpc("POST", LOGGED_MODELS, create_logged_model),
    rpc("POST", LOGGED_MODELS + "/search", search_logged_models),
    rpc("GET", LOGGED_MODELS + "/{model_id}", get_logged_model),
    rpc("PATCH", LOGGED_MODELS + "/{model_id}", finalize_logged_model),
    rpc("DELETE", LOGGED_MODELS + "/{model_id}", delete_logged_model),
    rpc("PATCH", LOGGED_MODELS + "/{model_id}/tags", set_logged_model_tags),
    *handled(LOGGED_MODELS + "/{model_id}/tags/{tag_key}", TagDeleteHandler, "DELETE"),
    rpc("POST", LOGGED_MODELS + "/{model_id}/params", log_logged_model_params),
]
