"""Team-mode permissions: who may do what on which experiment or registered model.

The rule (``labtrack.entities.permissions.decide``): hub admins MANAGE; else the
highest of the grants held by the user and by their hub groups; else the service's default
for everyone admitted. :meth:`PermissionService.explain` says which of these decided;
:meth:`PermissionService.effective`, which every check uses, is its level. A resource's
creator gets MANAGE when it is created (in the same transaction). Grants are managed by
whoever holds MANAGE, and no one grants more than they hold: a MANAGE
holder grants up to MANAGE, admins anything.

Resolvers map what a request names (a run, a logged model, an artifact path, an experiment's
name) to the experiment or registered model whose permission decides.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labtrack.entities import validation as v
from labtrack.entities.permissions import (
    EXPERIMENT,
    GRANTEE_KINDS,
    READ,
    REGISTERED_MODEL,
    RESOURCE_TYPES,
    Decision,
    Permission,
    Principal,
    Viewer,
    decide,
    denied,
    parse_permission,
)
from labtrack.errors import invalid, not_found

if TYPE_CHECKING:
    from labtrack.service.tracking import TrackingService

# Runs never move between experiments: their experiment is cached (per process).
_RUN_EXPERIMENT_CACHE = 100_000


@dataclass(frozen=True)
class Resource:
    """The experiment or registered model whose permission decides a request."""

    type: str
    id: str

    def describe(self) -> str:
        what = "experiment" if self.type == EXPERIMENT else "registered model"
        return f"{what} {self.id!r}"


@dataclass(frozen=True)
class Grant:
    resource_type: str
    resource_id: str
    grantee_kind: str
    grantee: str
    permission: str
    id: int = 0  # numbers the grant for MLflow's roles API


class PermissionService:
    """Effective permissions, checks and grants over one tracking service's store."""

    def __init__(self, tracking: TrackingService, default: Permission = READ) -> None:
        self.tracking = tracking
        self.store = tracking.store.permissions
        self.default = default
        self._runs: OrderedDict[str, str] = OrderedDict()
        self._runs_lock = threading.Lock()

    def viewer(self, principal: Principal) -> Viewer:
        return Viewer(principal, self.default)

    # ---- the rule ----------------------------------------------------------------------

    def explain(self, principal: Principal, resource: Resource) -> Decision:
        """The principal's level on ``resource`` and where it comes from (admin, their own
        grant, a group's grant, the default)."""
        if principal.is_admin:
            return decide(principal, (), self.default)
        held = self.store.held(principal, resource.type, resource.id)
        return decide(principal, held, self.default)

    def effective(self, principal: Principal, resource: Resource) -> Permission:
        return self.explain(principal, resource).level

    def require(self, principal: Principal, resource: Resource, capability: str) -> None:
        """403 PERMISSION_DENIED unless the principal's level on ``resource`` allows
        ``capability`` (read, use, update, delete, manage)."""
        level = self.effective(principal, resource)
        if not level.allows(capability):
            raise denied(
                f"Permission denied: {principal.name!r} holds {level.name} on "
                f"{resource.describe()}, which does not allow {capability}."
            )

    # ---- resolvers ---------------------------------------------------------------------

    def experiment(self, experiment_id: object) -> Resource:
        if not isinstance(experiment_id, str) or not experiment_id.strip().isdigit():
            raise invalid(f"Invalid value {experiment_id!r} for parameter 'experiment_id'.")
        return Resource(EXPERIMENT, str(int(experiment_id)))

    def experiment_named(self, name: str) -> Resource:
        return Resource(EXPERIMENT, self.tracking.get_experiment_by_name(name).experiment_id)

    def run_experiment(self, run_id: str) -> Resource:
        with self._runs_lock:
            cached = self._runs.get(run_id)
        if cached is None:
            cached = self.tracking.get_run(v.validate_run_id(run_id)).info.experiment_id
            with self._runs_lock:
                self._runs[run_id] = cached
                if len(self._runs) > _RUN_EXPERIMENT_CACHE:
                    self._runs.popitem(last=False)
        return Resource(EXPERIMENT, cached)

    def logged_model_experiment(self, model_id: str) -> Resource:
        model = self.tracking.logged_models.get_logged_model(model_id, allow_deleted=True)
        return Resource(EXPERIMENT, model.experiment_id)

    def registered_model(self, name: str) -> Resource:
        return Resource(REGISTERED_MODEL, name)

    def artifact_experiment(self, rel: str) -> Resource | None:
        """The experiment of the run or logged model whose artifact folder holds ``rel``
        (the folder itself included); ``None`` for paths in no such folder (the store's own
        layout, which only admins may browse)."""
        owner = self.tracking.artifact_reader(rel)
        return None if owner is None else Resource(EXPERIMENT, owner.experiment_id)

    # ---- grants ------------------------------------------------------------------------

    def _check_grantee(self, kind: str, grantee: object) -> str:
        if kind not in GRANTEE_KINDS:
            raise invalid(f"Invalid grantee kind {kind!r}: one of {', '.join(GRANTEE_KINDS)}.")
        if not isinstance(grantee, str) or not grantee.strip():
            field = "username" if kind == "user" else "group_name"
            raise invalid(f"Missing value for required parameter '{field}'.")
        return grantee

    def existing(self, resource: Resource) -> None:
        """404 for a resource that does not exist (grants on nothing are refused)."""
        if resource.type == EXPERIMENT:
            self.tracking.get_experiment(resource.id)
        elif resource.type == REGISTERED_MODEL:
            self.tracking.registry.get_registered_model(resource.id)
        else:  # pragma: no cover - resolvers only build the two
            raise invalid(f"Invalid resource type {resource.type!r}.")

    def set_grant(
        self, principal: Principal, resource: Resource, kind: str, grantee: str, level: object
    ) -> Grant:
        """Create or change a grant. The granter needs MANAGE on the resource, and grants no
        more than they hold themselves."""
        grantee = self._check_grantee(kind, grantee)
        wanted = parse_permission(level)
        self.existing(resource)
        self.require(principal, resource, "manage")
        held = self.effective(principal, resource)
        if wanted.rank > held.rank:
            raise denied(
                f"Permission denied: {principal.name!r} holds {held.name} on "
                f"{resource.describe()} and cannot grant {wanted.name}."
            )
        self.store.put(resource.type, resource.id, kind, grantee, wanted.name)
        found = self.store.find(
            resource_type=resource.type, resource_id=resource.id, kind=kind, grantee=grantee
        )
        return Grant(**found[0])

    def get_grant(self, principal: Principal, resource: Resource, kind: str, grantee: str) -> Grant:
        """A grant on the resource. Readers of the resource may see grants on it (the
        grantee themselves always may)."""
        grantee = self._check_grantee(kind, grantee)
        self.existing(resource)
        if not (kind == "user" and grantee == principal.name):
            self.require(principal, resource, "read")
        level = self.store.get(resource.type, resource.id, kind, grantee)
        if level is None:
            who = f"{kind} {grantee!r}"
            raise not_found(f"No permission of {who} on {resource.describe()}.")
        return Grant(
            **self.store.find(
                resource_type=resource.type, resource_id=resource.id, kind=kind, grantee=grantee
            )[0]
        )

    def delete_grant(
        self, principal: Principal, resource: Resource, kind: str, grantee: str
    ) -> None:
        """Revoke a grant: MANAGE on the resource. A grant above the revoker's own level
        (an admin's MANAGE grant to someone, say) is only theirs to revoke if they hold as
        much."""
        grantee = self._check_grantee(kind, grantee)
        self.existing(resource)
        self.require(principal, resource, "manage")
        level = self.store.get(resource.type, resource.id, kind, grantee)
        if level is None:
            raise not_found(f"No permission of {kind} {grantee!r} on {resource.describe()}.")
        held = self.effective(principal, resource)
        if parse_permission(level).rank > held.rank:  # pragma: no cover - MANAGE is the top
            raise denied(f"Permission denied: cannot revoke {level} holding {held.name}.")
        self.store.delete(resource.type, resource.id, kind, grantee)

    def list_grants(
        self,
        principal: Principal,
        *,
        resource: Resource | None = None,
        kind: str | None = None,
        grantee: str | None = None,
    ) -> list[Grant]:
        """Grants on one resource (its readers may list them), or held by one grantee (the
        user themselves, a member of the group, or an admin), or every grant (admins)."""
        if resource is not None:
            self.existing(resource)
            self.require(principal, resource, "read")
        elif grantee is not None and kind is not None:
            own = (kind == "user" and grantee == principal.name) or (
                kind == "group" and grantee in principal.groups
            )
            if not (own or principal.is_admin):
                raise denied("Permission denied: only admins list another grantee's permissions.")
        elif not principal.is_admin:
            raise denied("Permission denied: only admins list every permission.")
        rows = self.store.find(
            resource_type=None if resource is None else resource.type,
            resource_id=None if resource is None else resource.id,
            kind=kind,
            grantee=grantee,
        )
        return [Grant(**r) for r in rows]

    def resource(self, resource_type: object, resource_id: object) -> Resource:
        """A resource named by type and id (the generic grants API)."""
        if resource_type not in RESOURCE_TYPES:
            raise invalid(
                f"Invalid value {resource_type!r} for parameter 'resource_type': one of "
                + ", ".join(RESOURCE_TYPES)
            )
        if not isinstance(resource_id, str) or not resource_id:
            raise invalid("Missing value for required parameter 'resource_id'.")
        if resource_type == EXPERIMENT:
            return self.experiment(resource_id)
        return self.registered_model(resource_id)
