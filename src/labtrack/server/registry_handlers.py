"""MLflow model registry RPCs (registered models, model versions, stages, tags, aliases).

Each function is thin: read fields, call ``service.registry``, serialize with ``entities.wire``.
Paths and methods are MLflow 2.0's; DELETE requests carry a JSON body like the other writes.
"""

from __future__ import annotations

from typing import Any

from labtrack.entities import wire
from labtrack.errors import invalid
from labtrack.server.routes import MLFLOW, Route, rpc
from labtrack.server.rpc import RpcRequest

RM = MLFLOW + "/registered-models"
MV = MLFLOW + "/model-versions"


def _tags(req: RpcRequest) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in req.get_objects("tags"):
        key = tag.get("key")
        if not isinstance(key, str):
            raise invalid("Every entry of 'tags' needs a string 'key'.")
        value = tag.get("value", "")
        out[key] = value if isinstance(value, str) else str(value)
    return out


def _model(model: Any) -> dict[str, Any]:
    return {"registered_model": wire.registered_model_to_json(model)}


def _version(mv: Any) -> dict[str, Any]:
    return {"model_version": wire.model_version_to_json(mv)}


def _paged(key: str, page: Any, to_json: Any) -> dict[str, Any]:
    out: dict[str, Any] = {key: [to_json(x) for x in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


# ---- registered models ------------------------------------------------------------------


def create_registered_model(service: Any, req: RpcRequest) -> dict[str, Any]:
    return _model(
        service.registry.create_registered_model(
            req.str_required("name"), _tags(req), req.get_str("description")
        )
    )


def rename_registered_model(service: Any, req: RpcRequest) -> dict[str, Any]:
    return _model(
        service.registry.rename_registered_model(
            req.str_required("name"), req.str_required("new_name")
        )
    )


def update_registered_model(service: Any, req: RpcRequest) -> dict[str, Any]:
    return _model(
        service.registry.update_registered_model(
            req.str_required("name"), req.get_str("description")
        )
    )


def delete_registered_model(service: Any, req: RpcRequest) -> None:
    service.registry.delete_registered_model(req.str_required("name"))


def get_registered_model(service: Any, req: RpcRequest) -> dict[str, Any]:
    return _model(service.registry.get_registered_model(req.str_required("name")))


def search_registered_models(service: Any, req: RpcRequest) -> dict[str, Any]:
    page = service.registry.search_registered_models(
        req.get_str("filter"),
        req.get_int("max_results"),
        [str(o) for o in req.get_list("order_by")],
        req.get_str("page_token"),
    )
    return _paged("registered_models", page, wire.registered_model_to_json)


def get_latest_versions(service: Any, req: RpcRequest) -> dict[str, Any]:
    versions = service.registry.get_latest_versions(
        req.str_required("name"), [str(st) for st in req.get_list("stages")]
    )
    return {"model_versions": [wire.model_version_to_json(m) for m in versions]}


def set_registered_model_tag(service: Any, req: RpcRequest) -> None:
    service.registry.set_registered_model_tag(
        req.str_required("name"), req.str_required("key"), req.get_str("value", "")
    )


def delete_registered_model_tag(service: Any, req: RpcRequest) -> None:
    service.registry.delete_registered_model_tag(req.str_required("name"), req.str_required("key"))


def set_alias(service: Any, req: RpcRequest) -> None:
    service.registry.set_registered_model_alias(
        req.str_required("name"), req.str_required("alias"), req.str_required("version")
    )


def delete_alias(service: Any, req: RpcRequest) -> None:
    service.registry.delete_registered_model_alias(
        req.str_required("name"), req.str_required("alias")
    )


def get_model_version_by_alias(service: Any, req: RpcRequest) -> dict[str, Any]:
    return _version(
        service.registry.get_model_version_by_alias(
            req.str_required("name"), req.str_required("alias")
        )
    )


# ---- model versions ---------------------------------------------------------------------


def create_model_version(service: Any, req: RpcRequest) -> dict[str, Any]:
    return _version(
        service.registry.create_model_version(
            req.str_required("name"),
            req.str_required("source"),
            run_id=req.get_str("run_id"),
            tags=_tags(req),
            run_link=req.get_str("run_link"),
            description=req.get_str("description"),
            user_id=req.user or None,
            model_id=req.get_str("model_id"),
        )
    )


def update_model_version(service: Any, req: RpcRequest) -> dict[str, Any]:
    return _version(
        service.registry.update_model_version(
            req.str_required("name"), req.str_required("version"), req.get_str("description")
        )
    )


def delete_model_version(service: Any, req: RpcRequest) -> None:
    service.registry.delete_model_version(req.str_required("name"), req.str_required("version"))


def get_model_version(service: Any, req: RpcRequest) -> dict[str, Any]:
    return _version(
        service.registry.get_model_version(req.str_required("name"), req.str_required("version"))
    )


def search_model_versions(service: Any, req: RpcRequest) -> dict[str, Any]:
    page = service.registry.search_model_versions(
        req.get_str("filter"),
        req.get_int("max_results"),
        [str(o) for o in req.get_list("order_by")],
        req.get_str("page_token"),
    )
    return _paged("model_versions", page, wire.model_version_to_json)


def get_download_uri(service: Any, req: RpcRequest) -> dict[str, Any]:
    uri = service.registry.get_model_version_download_uri(
        req.str_required("name"), req.str_required("version")
    )
    return {"artifact_uri": uri}


def transition_stage(service: Any, req: RpcRequest) -> dict[str, Any]:
    return _version(
        service.registry.transition_model_version_stage(
            req.str_required("name"),
            req.str_required("version"),
            req.str_required("stage"),
            req.get_bool("archive_existing_versions", False),
        )
    )


def set_model_version_tag(service: Any, req: RpcRequest) -> None:
    service.registry.set_model_version_tag(
        req.str_required("name"),
        req.str_required("version"),
        req.str_required("key"),
        req.get_str("value", ""),
    )


def delete_model_version_tag(service: Any, req: RpcRequest) -> None:
    service.registry.delete_model_version_tag(
        req.str_required("name"), req.str_required("version"), req.str_required("key")
    )


ROUTES: list[Route] = [
    rpc("POST", RM + "/create", create_registered_model),
    rpc("POST", RM + "/rename", rename_registered_model),
    rpc("PATCH", RM + "/update", update_registered_model),
    rpc("DELETE", RM + "/delete", delete_registered_model),
    rpc("GET", RM + "/get", get_registered_model),
    rpc("GET", RM + "/search", search_registered_models),
    rpc("GET", RM + "/get-latest-versions", get_latest_versions),
    rpc("POST", RM + "/get-latest-versions", get_latest_versions),
    rpc("POST", RM + "/set-tag", set_registered_model_tag),
    rpc("DELETE", RM + "/delete-tag", delete_registered_model_tag),
    rpc("POST", RM + "/alias", set_alias),
    rpc("DELETE", RM + "/alias", delete_alias),
    rpc("GET", RM + "/alias", get_model_version_by_alias),
    rpc("POST", MV + "/create", create_model_version),
    rpc("PATCH", MV + "/update", update_model_version),
    rpc("DELETE", MV + "/delete", delete_model_version),
    rpc("GET", MV + "/get", get_model_version),
    rpc("GET", MV + "/search", search_model_versions),
    rpc("GET", MV + "/get-download-uri", get_download_uri),
    rpc("POST", MV + "/transition-stage", transition_stage),
    rpc("POST", MV + "/set-tag", set_model_version_tag),
    rpc("DELETE", MV + "/delete-tag", delete_model_version_tag),
]
