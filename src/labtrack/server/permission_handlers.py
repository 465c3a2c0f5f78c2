"""Team mode: MLflow 3.17's permission API over labtrack's grants (served by ``labtrack
service`` only), so ``mlflow.server.get_app_client("basic-auth", tracking_uri=...)`` works
with a hub token: ``grant_user_permission``, ``revoke_user_permission``,
``get_user_permission``, and the listings MLflow's UI reads.

Beyond MLflow, a **hub group** is a grantee: every one of these routes takes ``group_name``
instead of ``username`` (MLflow's roles API manages roles the MLflow server owns; hub groups
are the hub's, so labtrack grants to them directly rather than mirroring them as roles).

Who may do what (the rest is :class:`labtrack.service.permissions.PermissionService`'s):

- grant / revoke: MANAGE on the resource, and never above one's own level;
- get: about oneself, one's own groups, or anyone on a resource one MANAGEs;
- list one user's grants: oneself or an admin; ``users/current/permissions``: oneself;
- ``labtrack/permissions`` (the grants on one resource): its readers; the effective level of
  each listed user (with its source) only for MANAGE holders (it tells their hub groups);
- ``labtrack/permissions/names`` (hub user and group names, for the grant form): MANAGE
  holders of that resource only (the hub's user list is not for every reader).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from labtrack.entities import endpoints as ep
from labtrack.entities.permissions import (
    GROUP,
    MANAGE,
    PERMISSIONS,
    SOURCE_USER,
    USER,
    Decision,
    Principal,
    denied,
)
from labtrack.errors import invalid, not_found
from labtrack.server import hub_directory
from labtrack.server.routes import Route, serve
from labtrack.server.rpc import RpcRequest
from labtrack.service.permissions import Grant, PermissionService, Resource

if TYPE_CHECKING:
    from labtrack.service.tracking import TrackingService

WORKSPACE = "default"  # MLflow's rows name a workspace; a labtrack service is one


def _perms(service: TrackingService) -> PermissionService:
    viewer = service.viewer
    if viewer is None:  # pragma: no cover - these routes are mounted in team mode only
        raise denied("Permissions exist in team mode only.")
    return PermissionService(service, viewer.default)


def _grantee(req: RpcRequest) -> tuple[str, str]:
    user, group = req.get_str("username"), req.get_str("group_name")
    if user and group:
        raise invalid("Give 'username' or 'group_name', not both.")
    if group:
        return GROUP, group
    if user:
        return USER, user
    raise invalid("Missing value for required parameter 'username' (or 'group_name').")


def _resource(perms: PermissionService, req: RpcRequest) -> Resource:
    return perms.resource(req.get_str("resource_type"), req.get_str("resource_id"))


def hub_principal(name: str) -> Principal | None:
    """Another hub user's groups and admin flag, from the hub's API with the service's token
    (needs the ``read:users:groups`` and ``read:users:name`` scopes on the service's role);
    ``None`` if the hub does not say."""
    try:
        return hub_directory.user(name)
    except hub_directory.HubUnavailable:
        return None


def _level_of(perms: PermissionService, resource: Resource, kind: str, grantee: str) -> str:
    if kind == GROUP:
        held = perms.store.get(resource.type, resource.id, GROUP, grantee)
        return held or perms.default.name
    principal = hub_principal(grantee) or Principal(grantee)
    return perms.effective(principal, resource).name


def grant_permission(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    perms = _perms(service)
    kind, grantee = _grantee(req)
    resource = _resource(perms, req)
    perms.set_grant(req.principal, resource, kind, grantee, req.get_str("permission"))
    return {}


def revoke_permission(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    perms = _perms(service)
    kind, grantee = _grantee(req)
    perms.delete_grant(req.principal, _resource(perms, req), kind, grantee)
    return {}


def get_permission(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    """The grantee's effective level on the resource (``allowed`` is MLflow's ``can_use``)."""
    perms = _perms(service)
    kind, grantee = _grantee(req)
    resource = _resource(perms, req)
    me = req.principal
    perms.existing(resource)
    if kind == USER and grantee == me.name:
        level = perms.effective(me, resource)
    else:
        if not (kind == GROUP and grantee in me.groups):
            perms.require(me, resource, "manage")
        level = PERMISSIONS[_level_of(perms, resource, kind, grantee)]
    return {"allowed": level.can_use, "permission": level.name}


def _rows(grants: list[Grant]) -> list[dict[str, Any]]:
    return [
        {
            "role_id": 0,
            "role_name": f"__user_{g.grantee}__" if g.grantee_kind == USER else g.grantee,
            "grantee_kind": g.grantee_kind,
            "grantee": g.grantee,
            "workspace": WORKSPACE,
            "resource_type": g.resource_type,
            "resource_pattern": g.resource_id,
            "permission": g.permission,
        }
        for g in grants
    ]


def _grants_of(perms: PermissionService, principal: Principal) -> list[Grant]:
    """The user's own grants and their groups'."""
    grants = perms.list_grants(principal, kind=USER, grantee=principal.name)
    for group in principal.groups:
        grants.extend(perms.list_grants(principal, kind=GROUP, grantee=group))
    return grants


def list_user_permissions(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    perms = _perms(service)
    me = req.principal
    name = req.str_required("username")
    if name == me.name:
        target = me
    elif me.is_admin:
        target = hub_principal(name) or Principal(name)
    else:
        raise denied("Permission denied: only admins list another user's permissions.")
    grants = perms.store.find(kind=USER, grantee=target.name)
    rows = [Grant(**r) for r in grants]
    for group in target.groups:
        rows.extend(Grant(**r) for r in perms.store.find(kind=GROUP, grantee=group))
    return {"is_admin": target.is_admin, "permissions": _rows(rows)}


def list_current_user_permissions(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    perms = _perms(service)
    me = req.principal
    return {"is_admin": me.is_admin, "permissions": _rows(_grants_of(perms, me))}


def current_user(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    me = req.principal
    return {
        "user": {"username": me.name, "is_admin": me.is_admin, "groups": list(me.groups)},
        "is_basic_auth": False,
    }


def _decision_json(decision: Decision) -> dict[str, Any]:
    out: dict[str, Any] = {"permission": decision.level.name, "source": decision.source}
    if decision.group is not None:
        out["group"] = decision.group
    return out


def resource_permissions(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    """The grants on one resource, the default level, and the caller's own level.

    Each grant also carries ``effective``: the level its grantee actually holds and where it
    comes from (``source``: ``admin``, ``direct`` (their own grant), ``group`` (with
    ``group``: a hub group's grant is higher), ``default``), by the rule every check uses. A
    group's is its grant (``direct``). Another user's needs their hub groups (a hub request
    each), and says which groups they are in, so it is given to MANAGE holders only (as
    ``users/permissions/get`` is); readers get their own and the groups'.
    """
    perms = _perms(service)
    resource = _resource(perms, req)
    me = req.principal
    grants = perms.list_grants(me, resource=resource)
    mine = perms.explain(me, resource)
    manager = mine.level.rank >= MANAGE.rank
    rows = []
    for g in grants:
        row: dict[str, Any] = {
            "grantee_kind": g.grantee_kind,
            "grantee": g.grantee,
            "permission": g.permission,
        }
        if g.grantee_kind == GROUP:  # a group holds what it was granted
            row["effective"] = {"permission": g.permission, "source": SOURCE_USER}
        elif g.grantee == me.name:
            row["effective"] = _decision_json(mine)
        elif manager:
            # The hub not answering leaves the row without (the dialog says so).
            with contextlib.suppress(hub_directory.HubUnavailable):
                known = hub_directory.user(g.grantee)
                row["effective"] = _decision_json(
                    perms.explain(known or Principal(g.grantee), resource)
                )
                # A grant to a name the hub does not know (yet) decides nothing today.
                row["hub_user"] = known is not None
        rows.append(row)
    return {
        "permissions": rows,
        "default_permission": perms.default.name,
        "my_permission": mine.level.name,
        "my_source": _decision_json(mine),
        "can_manage": manager,
    }


def suggest_names(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    """Hub user and group names containing ``name`` (up to 10 of each, those starting with it
    first), and ``known``: whether the hub has a user (or group, per ``kind``) of exactly that
    name (``null`` when the hub did not answer). Only MANAGE holders of the resource may ask:
    the hub's user list is not for every reader."""
    perms = _perms(service)
    resource = _resource(perms, req)
    perms.existing(resource)
    perms.require(req.principal, resource, "manage")
    typed = (req.get_str("name") or "").strip()
    kind = req.get_enum("kind", (USER, GROUP))
    out: dict[str, Any] = {"users": [], "groups": [], "known": None, "hub_answered": True}
    try:
        if kind in (None, USER):
            out["users"] = hub_directory.suggest_users(typed)
        if kind in (None, GROUP):
            out["groups"] = hub_directory.suggest_groups(typed)
        if kind is not None and typed:
            out["known"] = hub_directory.exists(kind, typed)
    except hub_directory.HubUnavailable:
        out["hub_answered"] = False
    return out


# ---- MLflow's roles API: a role is a hub group ---------------------------------------------


def _role_id(req: RpcRequest, key: str = "role_id") -> int:
    value = req.get_int(key, required=True)
    assert value is not None
    return value


def _role_group(perms: PermissionService, role_id: int) -> str:
    group = perms.store.group_of_role(role_id)
    if group is None:
        raise not_found(f"No role with id {role_id}.")
    return group


def _role_permission_json(role_id: int, g: Grant) -> dict[str, Any]:
    return {
        "id": g.id,
        "role_id": role_id,
        "resource_type": g.resource_type,
        "resource_pattern": g.resource_id,
        "permission": g.permission,
    }


def _role_json(perms: PermissionService, role_id: int, group: str) -> dict[str, Any]:
    grants = [Grant(**r) for r in perms.store.find(kind=GROUP, grantee=group)]
    return {
        "id": role_id,
        "name": group,
        "workspace": WORKSPACE,
        "description": f"JupyterHub group {group!r}",
        "permissions": [_role_permission_json(role_id, g) for g in grants],
    }


def _may_see_role(me: Principal, group: str) -> None:
    if not (me.is_admin or group in me.groups):
        raise denied(f"Permission denied: {me.name!r} is not in the group {group!r}.")


def create_role(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    """Register a hub group as a role (admins). Its members are the hub's to manage."""
    perms = _perms(service)
    if not req.principal.is_admin:
        raise denied("Permission denied: only admins register a hub group as a role.")
    group = req.str_required("name")
    return {"role": _role_json(perms, perms.store.register_group(group), group)}


def get_role(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    perms = _perms(service)
    role_id = _role_id(req)
    group = _role_group(perms, role_id)
    _may_see_role(req.principal, group)
    return {"role": _role_json(perms, role_id, group)}


def list_roles(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    """Registered roles: all of them for admins, one's own groups' for others (one's groups
    are registered as roles on the way)."""
    perms = _perms(service)
    me = req.principal
    for group in me.groups:
        perms.store.register_group(group)
    roles = [(i, g) for i, g in perms.store.roles() if me.is_admin or g in me.groups]
    return {"roles": [_role_json(perms, i, g) for i, g in roles]}


def add_role_permission(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    perms = _perms(service)
    role_id = _role_id(req)
    group = _role_group(perms, role_id)
    resource = perms.resource(req.get_str("resource_type"), req.get_str("resource_pattern"))
    grant = perms.set_grant(req.principal, resource, GROUP, group, req.get_str("permission"))
    return {"role_permission": _role_permission_json(role_id, grant)}


def _role_grant(perms: PermissionService, req: RpcRequest) -> tuple[int, Grant, Resource]:
    row = perms.store.by_id(_role_id(req, "role_permission_id"))
    if row is None or row["grantee_kind"] != GROUP:
        raise not_found("No such role permission.")
    grant = Grant(**row)
    role_id = perms.store.register_group(grant.grantee)
    return role_id, grant, perms.resource(grant.resource_type, grant.resource_id)


def remove_role_permission(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    perms = _perms(service)
    _, grant, resource = _role_grant(perms, req)
    perms.delete_grant(req.principal, resource, GROUP, grant.grantee)
    return {}


def list_role_permissions(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    perms = _perms(service)
    role_id = _role_id(req)
    group = _role_group(perms, role_id)
    _may_see_role(req.principal, group)
    return {"role_permissions": _role_json(perms, role_id, group)["permissions"]}


def update_role_permission(service: TrackingService, req: RpcRequest) -> dict[str, Any]:
    perms = _perms(service)
    role_id, grant, resource = _role_grant(perms, req)
    updated = perms.set_grant(
        req.principal, resource, GROUP, grant.grantee, req.get_str("permission")
    )
    return {"role_permission": _role_permission_json(role_id, updated)}


ROUTES: list[Route] = [
    serve(ep.USERS_CURRENT, current_user),
    serve(ep.USERS_PERMISSIONS_GRANT, grant_permission),
    serve(ep.USERS_PERMISSIONS_REVOKE, revoke_permission),
    serve(ep.USERS_PERMISSIONS_GET, get_permission),
    serve(ep.USERS_PERMISSIONS_LIST, list_user_permissions),
    serve(ep.USERS_CURRENT_PERMISSIONS, list_current_user_permissions),
    serve(ep.LABTRACK_PERMISSIONS, resource_permissions),
    serve(ep.LABTRACK_PERMISSIONS_NAMES, suggest_names),
    serve(ep.ROLES_CREATE, create_role),
    serve(ep.ROLES_GET, get_role),
    serve(ep.ROLES_LIST, list_roles),
    serve(ep.ROLES_PERMISSIONS_ADD, add_role_permission),
    serve(ep.ROLES_PERMISSIONS_REMOVE, remove_role_permission),
    serve(ep.ROLES_PERMISSIONS_LIST, list_role_permissions),
    serve(ep.ROLES_PERMISSIONS_UPDATE, update_role_permission),
]

__all__ = ["ROUTES", "hub_principal"]
