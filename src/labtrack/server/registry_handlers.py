"""MLflow model registry RPCs (registered models, model versions, stages, tags, aliases).

Each function is thin: read fields, call ``service.registry``, serialize with ``entities.wire``.
Paths and methods are MLflow 2.0's; DELETE requests carry a JSON body like the other writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from labtrack.entities import ModelVersion, PagedList, RegisteredModel, wire
from labtrack.entities import endpoints as ep
from labtrack.server.routes import Route, serve
from labtrack.server.rpc import RpcRequest

if TYPE_CHECKING:
    from labtrack.service.tracking import TrackingService


def _model(model: RegisteredModel) -> dict[str, Any]:
    return {"registered_model": wire.registered_model_to_json(model)}


def _version(mv: ModelVersion) -> dict[str, Any]:
    return {"model_version": wire.model_version_to_json(mv)}


def _paged(key: str, page: PagedList, to_json: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {key: [to_json(x) for x in page]}
    if page.token:
        out["next_page_token"] = page.token
    return out


# ---- registered models ------------------------------------------------------------------


def create_registered_model(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return _model(
        service.registry.create_registered_model(
            req.str_required("name"), dict(req.get_key_values("tags")), req.get_str("description")
        )
    )


def rename_registered_model(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return _model(
        service.registry.rename_registered_model(
            req.str_required("name"), req.str_required("new_name")
        )
    )


def update_registered_model(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return _model(
        service.registry.update_registered_model(
            req.str_required("name"), req.get_str("description")
        )
    )


def delete_registered_model(service: TrackingService, req: RpcRequest) -> None:
    service.registry.delete_registered_model(req.str_required("name"))


def get_registered_model(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return _model(service.registry.get_registered_model(req.str_required("name")))


def search_registered_models(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    page = service.registry.search_registered_models(
        req.get_str("filter"),
        req.get_int("max_results"),
        [str(o) for o in req.get_list("order_by")],
        req.get_str("page_token"),
    )
    return _paged("registered_models", page, wire.registered_model_to_json)


def get_latest_versions(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    versions = service.registry.get_latest_versions(
        req.str_required("name"), [str(st) for st in req.get_list("stages")]
    )
    return {"model_versions": [wire.model_version_to_json(m) for m in versions]}


def set_registered_model_tag(service: TrackingService, req: RpcRequest) -> None:
    service.registry.set_registered_model_tag(
        req.str_required("name"), req.str_required("key"), req.get_str("value", "")
    )


def delete_registered_model_tag(service: TrackingService, req: RpcRequest) -> None:
    service.registry.delete_registered_model_tag(req.str_required("name"), req.str_required("key"))


def set_alias(service: TrackingService, req: RpcRequest) -> None:
    service.registry.set_registered_model_alias(
        req.str_required("name"), req.str_required("alias"), req.str_required("version")
    )


def delete_alias(service: TrackingService, req: RpcRequest) -> None:
    service.registry.delete_registered_model_alias(
        req.str_required("name"), req.str_required("alias")
    )


def get_model_version_by_alias(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return _version(
        service.registry.get_model_version_by_alias(
            req.str_required("name"), req.str_required("alias")
        )
    )


# ---- model versions ---------------------------------------------------------------------


def create_model_version(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return _version(
        service.registry.create_model_version(
            req.str_required("name"),
            req.str_required("source"),
            run_id=req.get_str("run_id"),
            tags=dict(req.get_key_values("tags")),
            run_link=req.get_str("run_link"),
            description=req.get_str("description"),
            user_id=req.user or None,
            model_id=req.get_str("model_id"),
        )
    )


def update_model_version(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return _version(
        service.registry.update_model_version(
            req.str_required("name"), req.str_required("version"), req.get_str("description")
        )
    )


def delete_model_version(service: TrackingService, req: RpcRequest) -> None:
    service.registry.delete_model_version(req.str_required("name"), req.str_required("version"))


def get_model_version(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return _version(
        service.registry.get_model_version(req.str_required("name"), req.str_required("version"))
    )


def search_model_versions(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    page = service.registry.search_model_versions(
        req.get_str("filter"),
        req.get_int("max_results"),
        [str(o) for o in req.get_list("order_by")],
        req.get_str("page_token"),
    )
    return _paged("model_versions", page, wire.model_version_to_json)


def get_download_uri(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    uri = service.registry.get_model_version_download_uri(
        req.str_required("name"), req.str_required("version")
    )
    return {"artifact_uri": uri}


def transition_stage(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    return _version(
        service.registry.transition_model_version_stage(
            req.str_required("name"),
            req.str_required("version"),
            req.str_required("stage"),
            req.get_bool("archive_existing_versions", False),
        )
    )


def set_model_version_tag(service: TrackingService, req: RpcRequest) -> None:
    service.registry.set_model_version_tag(
        req.str_required("name"),
        req.str_required("version"),
        req.str_required("key"),
        req.get_str("value", ""),
    )


def delete_model_version_tag(service: TrackingService, req: RpcRequest) -> None:
    service.registry.delete_model_version_tag(
        req.str_required("name"), req.str_required("version"), req.str_required("key")
    )


ROUTES: list[Route] = [
    serve(ep.REGISTERED_MODELS_CREATE, create_registered_model),
    serve(ep.REGISTERED_MODELS_RENAME, rename_registered_model),
    serve(ep.REGISTERED_MODELS_UPDATE, update_registered_model),
    serve(ep.REGISTERED_MODELS_DELETE, delete_registered_model),
    serve(ep.REGISTERED_MODELS_GET, get_registered_model),
    serve(ep.REGISTERED_MODELS_SEARCH, search_registered_models),
    serve(ep.REGISTERED_MODELS_GET_LATEST_VERSIONS_GET, get_latest_versions),
    serve(ep.REGISTERED_MODELS_GET_LATEST_VERSIONS, get_latest_versions),
    serve(ep.REGISTERED_MODELS_SET_TAG, set_registered_model_tag),
    serve(ep.REGISTERED_MODELS_DELETE_TAG, delete_registered_model_tag),
    serve(ep.REGISTERED_MODELS_SET_ALIAS, set_alias),
    serve(ep.REGISTERED_MODELS_DELETE_ALIAS, delete_alias),
    serve(ep.REGISTERED_MODELS_GET_BY_ALIAS, get_model_version_by_alias),
    serve(ep.MODEL_VERSIONS_CREATE, create_model_version),
    serve(ep.MODEL_VERSIONS_UPDATE, update_model_version),
    serve(ep.MODEL_VERSIONS_DELETE, delete_model_version),
    serve(ep.MODEL_VERSIONS_GET, get_model_version),
    serve(ep.MODEL_VERSIONS_SEARCH, search_model_versions),
    serve(ep.MODEL_VERSIONS_GET_DOWNLOAD_URI, get_download_uri),
    serve(ep.MODEL_VERSIONS_TRANSITION_STAGE, transition_stage),
    serve(ep.MODEL_VERSIONS_SET_TAG, set_model_version_tag),
    serve(ep.MODEL_VERSIONS_DELETE_TAG, delete_model_version_tag),
]
