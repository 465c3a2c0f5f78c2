"""Team mode: the one table saying what every route needs, and its enforcement.

Each route (``labtrack.entities.endpoints``) maps to a :class:`Rule`: how to find the
experiment or registered model the request touches, and the capability needed on it
(MLflow's ``can_read`` / ``can_update`` / ``can_delete`` / ``can_manage``):

- reads need ``read``; writing to a run, a logged model, an experiment's or a model's
  metadata needs ``update``; deletes and restores need ``delete``; grants need ``manage``;
- ``OPEN`` routes need only admission to the service (creating an experiment or a registered
  model: its creator gets MANAGE; server info);
- ``FILTERED`` routes answer only what the caller may read: the service they get is limited
  to a viewer (``TrackingService.as_viewer``), and searches, counts and the change feed add a
  permission predicate to their SQL (before paging).

:func:`access_routes` wraps every route of the table, and refuses to start when a route has
no rule (a test walks the table too). Denials are 403 ``PERMISSION_DENIED``; a check happens
before the route's function runs, so a denied request changes nothing.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from labtrack.artifact_store.paths import clean_relpath
from labtrack.entities import endpoints as ep
from labtrack.entities.endpoints import Endpoint
from labtrack.entities.permissions import (
    DELETE_CAP,
    READ,
    READ_CAP,
    UPDATE_CAP,
    Permission,
    Principal,
    denied,
)
from labtrack.errors import invalid
from labtrack.server.log_batch import decode_log_batch
from labtrack.server.routes import Route
from labtrack.server.rpc import DECODES_BODY, RpcFunc, RpcRequest
from labtrack.server.tracking_handlers import LOG_BATCH_MEMO
from labtrack.service.permissions import PermissionService, Resource

if TYPE_CHECKING:
    from labtrack.server.base import LabtrackHandler
    from labtrack.service.tracking import TrackingService

Resolver = Callable[[PermissionService, RpcRequest], "Resource | list[Resource] | None"]


@dataclass(frozen=True)
class Rule:
    """What a route needs: ``resolve`` finds the resource(s); ``capability`` is needed on
    each. No capability: admission is enough (``OPEN``), or the answer is filtered to what
    the caller may read (``filtered``)."""

    resolve: Resolver | None = None
    capability: str | None = None
    filtered: bool = False
    admin_only_outside: bool = False  # artifact paths in no run's or model's folder


OPEN = Rule()
FILTERED = Rule(filtered=True)


# ---- resolvers --------------------------------------------------------------------------


def _experiment(req: RpcRequest) -> str:
    return req.str_required("experiment_id")


def by_experiment(perms: PermissionService, req: RpcRequest) -> Resource:
    return perms.experiment(_experiment(req))


def by_new_run_experiment(perms: PermissionService, req: RpcRequest) -> Resource:
    # runs/create without an experiment logs to the Default experiment, "0".
    return perms.experiment(req.get_str("experiment_id") or "0")


def by_experiment_name(perms: PermissionService, req: RpcRequest) -> Resource:
    return perms.experiment_named(req.str_required("experiment_name"))


def by_run(perms: PermissionService, req: RpcRequest) -> Resource:
    return perms.run_experiment(req.run_id())


def by_batch_run(perms: PermissionService, req: RpcRequest) -> Resource:
    """log-batch, the hot path: the run from the body as the route's fast decoder reads it
    (decoded once, for the check and the write alike)."""
    body = req.body
    if body is not None:
        decoded = req.memo(LOG_BATCH_MEMO, lambda: decode_log_batch(body))
        if decoded is not None:
            fields = decoded[0]
            run_id = fields.get("run_id") or fields.get("run_uuid")
            if isinstance(run_id, str) and run_id:
                return perms.run_experiment(run_id)
    return perms.run_experiment(req.run_id())


def by_runs(perms: PermissionService, req: RpcRequest) -> list[Resource]:
    return [perms.run_experiment(str(r)) for r in req.get_list("run_ids")]


def by_logged_model(perms: PermissionService, req: RpcRequest) -> Resource:
    return perms.logged_model_experiment(req.str_required("model_id"))


def by_model_name(perms: PermissionService, req: RpcRequest) -> Resource:
    return perms.registered_model(req.str_required("name"))


def by_artifact_path(perms: PermissionService, req: RpcRequest) -> Resource | None:
    raw = req.get("artifact_path")
    if raw is None:
        raw = req.get("path") or ""
    if not isinstance(raw, str):
        raise invalid("'path' must be given once")
    return perms.artifact_experiment(clean_relpath(raw))


def read(resolve: Resolver) -> Rule:
    return Rule(resolve, READ_CAP)


def update(resolve: Resolver) -> Rule:
    return Rule(resolve, UPDATE_CAP)


def delete(resolve: Resolver) -> Rule:
    return Rule(resolve, DELETE_CAP)


ARTIFACT_READ = Rule(by_artifact_path, READ_CAP, admin_only_outside=True)

# ---- the table ---------------------------------------------------------------------------

RULES: dict[Endpoint, Rule] = {
    # meta
    ep.VERSION: OPEN,
    ep.OPENAPI: OPEN,
    ep.SERVER_INFO: OPEN,
    ep.LABTRACK_WHOAMI: OPEN,  # who the caller is: theirs to know
    # experiments
    ep.EXPERIMENTS_CREATE: OPEN,
    ep.EXPERIMENTS_SEARCH: FILTERED,
    ep.EXPERIMENTS_SEARCH_GET: FILTERED,
    ep.EXPERIMENTS_GET: read(by_experiment),
    ep.EXPERIMENTS_GET_BY_NAME: read(by_experiment_name),
    ep.EXPERIMENTS_DELETE: delete(by_experiment),
    ep.EXPERIMENTS_RESTORE: delete(by_experiment),
    ep.EXPERIMENTS_UPDATE: update(by_experiment),
    ep.EXPERIMENTS_SET_TAG: update(by_experiment),
    ep.EXPERIMENTS_DELETE_TAG: update(by_experiment),
    # runs, metrics
    ep.RUNS_CREATE: update(by_new_run_experiment),
    ep.RUNS_UPDATE: update(by_run),
    ep.RUNS_DELETE: delete(by_run),
    ep.RUNS_RESTORE: delete(by_run),
    ep.RUNS_GET: read(by_run),
    ep.RUNS_SEARCH: FILTERED,
    ep.RUNS_LOG_METRIC: update(by_run),
    ep.RUNS_LOG_PARAMETER: update(by_run),
    ep.RUNS_SET_TAG: update(by_run),
    ep.RUNS_DELETE_TAG: update(by_run),
    ep.RUNS_LOG_BATCH: update(by_batch_run),
    ep.LABTRACK_RUNS_HEARTBEAT: update(by_run),  # only a writer of the run says it is alive
    ep.RUNS_LOG_INPUTS: update(by_run),
    ep.RUNS_LOG_MODEL: update(by_run),
    ep.RUNS_OUTPUTS: update(by_run),
    ep.METRICS_GET_HISTORY: read(by_run),
    ep.ARTIFACTS_LIST: read(by_run),
    # labtrack's additions
    ep.LABTRACK_METRIC_SERIES: read(by_runs),
    ep.LABTRACK_RUNS_COUNT: FILTERED,
    ep.LABTRACK_CHANGES: FILTERED,
    # registered models
    ep.REGISTERED_MODELS_CREATE: OPEN,
    ep.REGISTERED_MODELS_RENAME: update(by_model_name),
    ep.REGISTERED_MODELS_UPDATE: update(by_model_name),
    ep.REGISTERED_MODELS_DELETE: delete(by_model_name),
    ep.REGISTERED_MODELS_GET: read(by_model_name),
    ep.REGISTERED_MODELS_SEARCH: FILTERED,
    ep.REGISTERED_MODELS_GET_LATEST_VERSIONS_GET: read(by_model_name),
    ep.REGISTERED_MODELS_GET_LATEST_VERSIONS: read(by_model_name),
    ep.REGISTERED_MODELS_SET_TAG: update(by_model_name),
    ep.REGISTERED_MODELS_DELETE_TAG: update(by_model_name),
    ep.REGISTERED_MODELS_SET_ALIAS: update(by_model_name),
    ep.REGISTERED_MODELS_DELETE_ALIAS: delete(by_model_name),
    ep.REGISTERED_MODELS_GET_BY_ALIAS: read(by_model_name),
    # model versions
    ep.MODEL_VERSIONS_CREATE: update(by_model_name),
    ep.MODEL_VERSIONS_UPDATE: update(by_model_name),
    ep.MODEL_VERSIONS_DELETE: delete(by_model_name),
    ep.MODEL_VERSIONS_GET: read(by_model_name),
    ep.MODEL_VERSIONS_SEARCH: FILTERED,
    ep.MODEL_VERSIONS_GET_DOWNLOAD_URI: read(by_model_name),
    ep.MODEL_VERSIONS_TRANSITION_STAGE: update(by_model_name),
    ep.MODEL_VERSIONS_SET_TAG: update(by_model_name),
    ep.MODEL_VERSIONS_DELETE_TAG: delete(by_model_name),
    # logged models
    ep.LOGGED_MODELS_CREATE: update(by_experiment),
    ep.LOGGED_MODELS_SEARCH: FILTERED,
    ep.LOGGED_MODELS_GET: read(by_logged_model),
    ep.LOGGED_MODELS_FINALIZE: update(by_logged_model),
    ep.LOGGED_MODELS_DELETE: delete(by_logged_model),
    ep.LOGGED_MODELS_SET_TAGS: update(by_logged_model),
    ep.LOGGED_MODELS_DELETE_TAG: delete(by_logged_model),
    ep.LOGGED_MODELS_LOG_PARAMS: update(by_logged_model),
    # team mode: permissions (each function checks the resource its body names)
    ep.USERS_CURRENT: OPEN,
    ep.USERS_PERMISSIONS_GRANT: OPEN,
    ep.USERS_PERMISSIONS_REVOKE: OPEN,
    ep.USERS_PERMISSIONS_GET: OPEN,
    ep.USERS_PERMISSIONS_LIST: OPEN,
    ep.USERS_CURRENT_PERMISSIONS: OPEN,
    ep.LABTRACK_PERMISSIONS: OPEN,
    ep.LABTRACK_PERMISSIONS_NAMES: OPEN,
    ep.ROLES_CREATE: OPEN,
    ep.ROLES_GET: OPEN,
    ep.ROLES_LIST: OPEN,
    ep.ROLES_PERMISSIONS_ADD: OPEN,
    ep.ROLES_PERMISSIONS_REMOVE: OPEN,
    ep.ROLES_PERMISSIONS_LIST: OPEN,
    ep.ROLES_PERMISSIONS_UPDATE: OPEN,
    # the artifact proxy
    ep.ARTIFACT_LIST: ARTIFACT_READ,
    ep.ARTIFACT_DOWNLOAD: ARTIFACT_READ,
    ep.ARTIFACT_UPLOAD: Rule(by_artifact_path, UPDATE_CAP, admin_only_outside=True),
    ep.ARTIFACT_DELETE: Rule(by_artifact_path, DELETE_CAP, admin_only_outside=True),
}


def rule_for(method: str, path: str, rules: dict[Endpoint, Rule] | None = None) -> Rule | None:
    return (RULES if rules is None else rules).get(Endpoint(method, path))


# ---- enforcement -------------------------------------------------------------------------


class _PermissionServices:
    """One PermissionService per tracking service (its run -> experiment cache lives there)."""

    def __init__(self, default: Permission) -> None:
        self.default = default
        self._by_service: weakref.WeakKeyDictionary[Any, PermissionService] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, service: TrackingService) -> PermissionService:
        perms = self._by_service.get(service)
        if perms is None:
            perms = PermissionService(service, self.default)
            self._by_service[service] = perms
        return perms


def _check(perms: PermissionService, rule: Rule, principal: Principal, req: RpcRequest) -> None:
    """Raise 403 unless ``principal`` may do what ``rule`` needs."""
    if principal.is_admin or rule.capability is None or rule.resolve is None:
        return
    found = rule.resolve(perms, req)
    if found is None:
        if rule.admin_only_outside:
            raise denied("Permission denied: only admins browse outside runs' and models' folders.")
        return
    for resource in found if isinstance(found, list) else [found]:
        perms.require(principal, resource, rule.capability)


def _checked_rpc(func: RpcFunc, rule: Rule, services: _PermissionServices) -> RpcFunc:
    @functools.wraps(func)
    def checked(service: TrackingService, req: RpcRequest) -> Any:
        perms = services.get(service)
        principal = req.principal
        _check(perms, rule, principal, req)
        return func(service.as_viewer(perms.viewer(principal)), req)

    if getattr(func, DECODES_BODY, False):
        setattr(checked, DECODES_BODY, True)
    return checked


async def check_handler_access(handler: LabtrackHandler, rules: dict[str, Any]) -> None:
    """The check for routes served by a handler class (artifacts, a tag delete), from its
    ``prepare``: fields from the path and the query string (the body is not read yet)."""
    method = (handler.request.method or "GET").upper()
    entry = rules.get(method)
    if entry is None:
        raise denied(f"Permission denied: no access rule for {method} {handler.request.path}.")
    rule, services = entry
    principal = handler.principal
    if principal.is_admin or rule.capability is None:
        return
    app = handler.labtrack
    fields = {**handler.query_fields(), **handler.path_kwargs}
    req = RpcRequest(fields, user=principal.name, method=method, principal=principal)

    def work() -> None:
        _check(services.get(app.get_service()), rule, principal, req)

    await handler.run_blocking(work)


def access_routes(
    routes: Sequence[Route],
    default: Permission = READ,
    rules: dict[Endpoint, Rule] | None = None,
) -> list[Route]:
    """The route table with every route checked by its rule. A route without a rule is an
    error: it would serve everyone everything."""
    table = RULES if rules is None else rules
    services = _PermissionServices(default)
    missing = [f"{r.method} {r.path}" for r in routes if rule_for(r.method, r.path, table) is None]
    if missing:
        raise RuntimeError(f"team mode: routes without an access rule: {missing}")
    handler_rules: dict[type, dict[str, Any]] = {}
    for route in routes:
        if route.handler is not None:
            rule = rule_for(route.method, route.path, table)
            handler_rules.setdefault(route.handler, {})[route.method] = (rule, services)
    checked_classes = {
        cls: type(f"Checked{cls.__name__}", (cls,), {"access_rules": by_method})
        for cls, by_method in handler_rules.items()
    }
    out = []
    for route in routes:
        rule = cast(Rule, rule_for(route.method, route.path, table))
        if route.handler is not None:
            out.append(Route(route.method, route.path, handler=checked_classes[route.handler]))
        elif route.needs_service:
            func = cast(RpcFunc, route.rpc)
            out.append(
                Route(
                    route.method,
                    route.path,
                    rpc=_checked_rpc(func, rule, services),
                    needs_service=True,
                )
            )
        else:
            # Routes needing no store (version, server info) touch no resource.
            if rule.capability is not None:
                raise RuntimeError(f"{route.method} {route.path}: a checked route needs the store")
            out.append(route)
    return out
