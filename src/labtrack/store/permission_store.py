"""Team-mode grants (the ``permissions`` table) and the SQL that limits searches to what a
viewer may read.

A viewer may read a resource when one of the grants held by them or their groups is above
NO_PERMISSIONS, or when they hold none there and the default level can read
(:func:`labtrack.entities.permissions.decide`, as a predicate). Searches add the
predicate to their ``WHERE``, so paging counts only what the viewer sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    and_,
    cast,
    delete,
    exists,
    false,
    or_,
    select,
    true,
    update,
)

from labtrack.entities.permissions import GROUP, READABLE, USER, Held, Principal, Viewer
from labtrack.store import schema as s
from labtrack.store.database import Database, dialect_insert, insert_ignore

_p = s.permissions.c


def _held_by(principal: Principal) -> ColumnElement[bool]:
    """Grants held by the principal themselves or by one of their groups."""
    mine = and_(_p.grantee_kind == USER, _p.grantee == principal.name)
    if not principal.groups:
        return mine
    return or_(mine, and_(_p.grantee_kind == GROUP, _p.grantee.in_(principal.groups)))


def readable_clause(
    viewer: Viewer | None, resource_type: str, id_column: Any
) -> ColumnElement[bool]:
    """A predicate on ``id_column`` (an experiment id or a registered model name) that keeps
    the resources ``viewer`` may read (everything for no viewer or an admin)."""
    if viewer is None or viewer.principal.is_admin:
        return true()
    key = id_column if isinstance(id_column.type, String) else cast(id_column, String)
    held = and_(
        _p.resource_type == resource_type, _p.resource_id == key, _held_by(viewer.principal)
    )
    granted_read = exists(select(1).where(held, _p.permission.in_(READABLE)))
    if not viewer.default.can_read:
        return granted_read
    return or_(granted_read, ~exists(select(1).where(held)))


def grant_in(
    conn: Connection, resource_type: str, resource_id: str, kind: str, grantee: str, level: str
) -> None:
    """Set a grant inside the caller's transaction (a creator's MANAGE with the creation).
    Changing a grant keeps its ``id`` (MLflow's role permission id)."""
    stmt = dialect_insert(conn.dialect.name)(s.permissions).values(
        resource_type=resource_type,
        resource_id=resource_id,
        grantee_kind=kind,
        grantee=grantee,
        permission=level,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["resource_type", "resource_id", "grantee_kind", "grantee"],
            set_={"permission": stmt.excluded.permission},
        )
    )


def rename_in(conn: Connection, resource_type: str, old_id: str, new_id: str) -> None:
    """Grants follow a renamed registered model."""
    conn.execute(
        update(s.permissions)
        .where(_p.resource_type == resource_type, _p.resource_id == old_id)
        .values(resource_id=new_id)
    )


def drop_in(conn: Connection, resource_type: str, resource_id: str) -> None:
    """A deleted registered model's grants go with it (a new model of that name starts over)."""
    conn.execute(
        delete(s.permissions).where(
            _p.resource_type == resource_type, _p.resource_id == resource_id
        )
    )


class PermissionStore:
    """Grants in one store's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def held(self, principal: Principal, resource_type: str, resource_id: str) -> list[Held]:
        """The grants held on one resource by the principal and by their groups."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(_p.grantee_kind, _p.grantee, _p.permission).where(
                    _p.resource_type == resource_type,
                    _p.resource_id == resource_id,
                    _held_by(principal),
                )
            )
            return [Held(str(k), str(g), str(p)) for k, g, p in rows]

    def get(self, resource_type: str, resource_id: str, kind: str, grantee: str) -> str | None:
        with self.db.read() as conn:
            value = conn.execute(
                select(_p.permission).where(
                    _p.resource_type == resource_type,
                    _p.resource_id == resource_id,
                    _p.grantee_kind == kind,
                    _p.grantee == grantee,
                )
            ).scalar()
        return None if value is None else str(value)

    def put(
        self, resource_type: str, resource_id: str, kind: str, grantee: str, level: str
    ) -> None:
        with self.db.write() as conn:
            grant_in(conn, resource_type, resource_id, kind, grantee, level)

    def delete(self, resource_type: str, resource_id: str, kind: str, grantee: str) -> bool:
        """Whether there was such a grant."""
        with self.db.write() as conn:
            done = conn.execute(
                delete(s.permissions).where(
                    _p.resource_type == resource_type,
                    _p.resource_id == resource_id,
                    _p.grantee_kind == kind,
                    _p.grantee == grantee,
                )
            ).rowcount
        return bool(done)

    def find(
        self,
        *,
        resource_type: str | None = None,
        resource_id: str | None = None,
        kind: str | None = None,
        grantee: str | None = None,
    ) -> list[dict[str, Any]]:
        """Grants matching every given field, in a stable order."""
        conditions = [
            column == value
            for column, value in (
                (_p.resource_type, resource_type),
                (_p.resource_id, resource_id),
                (_p.grantee_kind, kind),
                (_p.grantee, grantee),
            )
            if value is not None
        ]
        stmt = select(s.permissions).where(*conditions) if conditions else select(s.permissions)
        stmt = stmt.order_by(_p.resource_type, _p.resource_id, _p.grantee_kind, _p.grantee)
        with self.db.read() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def by_id(self, grant_id: int) -> dict[str, Any] | None:
        with self.db.read() as conn:
            row = conn.execute(select(s.permissions).where(_p.id == grant_id)).first()
        return None if row is None else dict(row._mapping)

    # ---- hub groups as MLflow roles ---------------------------------------------------

    def register_group(self, group: str) -> int:
        """The role number of a hub group (registered on first use)."""
        r = s.hub_group_roles.c
        with self.db.write() as conn:
            insert_ignore(conn, s.hub_group_roles, [{"group_name": group}])
            return int(conn.execute(select(r.role_id).where(r.group_name == group)).scalar_one())

    def group_of_role(self, role_id: int) -> str | None:
        r = s.hub_group_roles.c
        with self.db.read() as conn:
            name = conn.execute(select(r.group_name).where(r.role_id == role_id)).scalar()
        return None if name is None else str(name)

    def roles(self) -> list[tuple[int, str]]:
        r = s.hub_group_roles.c
        with self.db.read() as conn:
            return [
                (int(a), str(b))
                for a, b in conn.execute(select(r.role_id, r.group_name).order_by(r.role_id))
            ]

    def readable_experiment_ids(self, viewer: Viewer | None, ids: Sequence[int]) -> set[int]:
        """Which of these experiments ``viewer`` may read (one query)."""
        if not ids:
            return set()
        if viewer is None or viewer.principal.is_admin:
            return set(ids)
        eid = s.experiments.c.experiment_id
        stmt = select(eid).where(
            eid.in_(list(ids)), readable_clause(viewer, "experiment", eid) if ids else false()
        )
        with self.db.read() as conn:
            return {int(r) for r in conn.execute(stmt).scalars()}
