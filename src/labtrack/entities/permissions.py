"""Permissions in team mode: MLflow's levels, who asks, and what a route needs.

The levels and what each allows are MLflow's (``mlflow/server/auth/permissions.py``, 3.17):

============== ==== === ====== ====== ======
level          read use update delete manage
============== ==== === ====== ====== ======
NO_PERMISSIONS
READ           x
USE            x    x
EDIT           x    x   x
MANAGE         x    x   x      x      x
============== ==== === ====== ====== ======

Grants are held by a user or a hub group on an experiment or a registered model. A
principal's effective permission on a resource, and where it comes from (:func:`decide`): hub
admins have MANAGE; else the highest of the grants held by the user and by their hub groups;
else the service's default for everyone admitted (READ unless configured).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from labtrack.errors import LabtrackException

EXPERIMENT = "experiment"
REGISTERED_MODEL = "registered_model"
RESOURCE_TYPES = (EXPERIMENT, REGISTERED_MODEL)

USER = "user"
GROUP = "group"
GRANTEE_KINDS = (USER, GROUP)

# Capabilities, as MLflow names them (Permission.can_<capability>).
READ_CAP = "read"
USE_CAP = "use"
UPDATE_CAP = "update"
DELETE_CAP = "delete"
MANAGE_CAP = "manage"
CAPABILITIES = (READ_CAP, USE_CAP, UPDATE_CAP, DELETE_CAP, MANAGE_CAP)


@dataclass(frozen=True)
class Permission:
    name: str
    rank: int
    can_read: bool
    can_use: bool
    can_update: bool
    can_delete: bool
    can_manage: bool

    def allows(self, capability: str) -> bool:
        return bool(getattr(self, f"can_{capability}"))


NO_PERMISSIONS = Permission("NO_PERMISSIONS", 0, False, False, False, False, False)
READ = Permission("READ", 1, True, False, False, False, False)
USE = Permission("USE", 2, True, True, False, False, False)
EDIT = Permission("EDIT", 3, True, True, True, False, False)
MANAGE = Permission("MANAGE", 4, True, True, True, True, True)

PERMISSIONS = {p.name: p for p in (NO_PERMISSIONS, READ, USE, EDIT, MANAGE)}
# Every level but NO_PERMISSIONS can read: what search filters keep.
READABLE = tuple(p.name for p in PERMISSIONS.values() if p.can_read)


def parse_permission(value: object, field_name: str = "permission") -> Permission:
    """A level by its name (MLflow's spelling, upper case); 400 naming the field otherwise."""
    if isinstance(value, str) and value.strip().upper() in PERMISSIONS:
        return PERMISSIONS[value.strip().upper()]
    raise LabtrackException(
        f"Invalid value {value!r} for parameter '{field_name}': one of " + ", ".join(PERMISSIONS),
        "INVALID_PARAMETER_VALUE",
    )


def highest(names: Iterable[str]) -> Permission | None:
    """The highest of these levels (``None`` for none)."""
    best: Permission | None = None
    for name in names:
        level = PERMISSIONS.get(name)
        if level is not None and (best is None or level.rank > best.rank):
            best = level
    return best


@dataclass(frozen=True)
class Principal:
    """Who asks: a hub user's name, their hub groups, and whether they are a hub admin."""

    name: str
    groups: tuple[str, ...] = ()
    is_admin: bool = False


@dataclass(frozen=True)
class Viewer:
    """What a team-mode search is limited to: the principal, and the level for resources
    nobody granted them anything on. Solo mode has no viewer (everything is the user's)."""

    principal: Principal
    default: Permission = field(default=READ)


@dataclass(frozen=True)
class Held:
    """A grant on one resource held by a principal: themselves (``USER``) or one of their
    groups (``GROUP``, ``grantee`` naming it)."""

    kind: str
    grantee: str
    level: str


# Where an effective level comes from (``Decision.source``).
SOURCE_ADMIN = "admin"  # a hub admin
SOURCE_USER = "direct"  # the principal's own grant
SOURCE_GROUP = "group"  # a grant to one of their hub groups (``Decision.group``)
SOURCE_DEFAULT = "default"  # no grant: the team default


@dataclass(frozen=True)
class Decision:
    """A principal's effective level on a resource and where it comes from."""

    level: Permission
    source: str
    group: str | None = None


def decide(principal: Principal, held: Iterable[Held], default: Permission) -> Decision:
    """The rule: admins MANAGE; else the highest of the grants held by the principal and by
    their groups (``held``; on a tie their own grant, then the first group by name, is named
    as the source); else ``default``. Every permission check goes through here."""
    if principal.is_admin:
        return Decision(MANAGE, SOURCE_ADMIN)
    ranked = [(PERMISSIONS[g.level], g) for g in held if g.level in PERMISSIONS]
    if not ranked:
        return Decision(default, SOURCE_DEFAULT)
    # Highest level; on a tie one's own grant, then the first group by name.
    level, chosen = min(ranked, key=lambda p: (-p[0].rank, p[1].kind != USER, p[1].grantee))
    if chosen.kind == USER:
        return Decision(level, SOURCE_USER)
    return Decision(level, SOURCE_GROUP, chosen.grantee)


def effective_permission(
    principal: Principal, grants: Iterable[str], default: Permission
) -> Permission:
    """:func:`decide` for levels alone (``grants``: the levels held by the principal and by
    their groups)."""
    return decide(principal, (Held(USER, principal.name, g) for g in grants), default).level


def denied(message: str) -> LabtrackException:
    return LabtrackException(message, "PERMISSION_DENIED")
