"""The model registry's system of record: registered models, versions, tags and aliases.

It uses the tracking store's ``Database`` (engine, transactions, change feed). Integrity that
needs the database lives here: unique names, version numbers that count up from 1 without gaps
or duplicates (even with concurrent writers), stage transitions, aliases that point at live
versions. Input validation lives in ``labtrack.service.registry``.

Version numbers are never reused within a registered model (MLflow's rule): deleting a version
keeps its row as a tombstone (``current_stage = 'Deleted_Internal'``, payload cleared), which
every read skips. ``MAX(version) + 1`` therefore stays correct after deletes. Writers creating
versions of one model are serialized by ``BEGIN IMMEDIATE`` on SQLite and by locking the
registered model's row (``SELECT ... FOR UPDATE``) on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from labtrack.entities import ModelVersion, PagedList, RegisteredModel
from labtrack.entities.permissions import MANAGE, REGISTERED_MODEL, USER, Viewer
from labtrack.errors import already_exists, invalid, not_found
from labtrack.store import schema as s
from labtrack.store.database import (
    Database,
    decode_page_token,
    encode_page_token,
    in_chunks,
    now_ms,
    upsert,
)
from labtrack.store.logged_model_store import record_model_version
from labtrack.store.permission_store import drop_in, grant_in, readable_clause, rename_in

if TYPE_CHECKING:
    from labtrack.store.tracking_store import TrackingStore

STAGE_NONE = "None"
STAGE_STAGING = "Staging"
STAGE_PRODUCTION = "Production"
STAGE_ARCHIVED = "Archived"
STAGES = (STAGE_NONE, STAGE_STAGING, STAGE_PRODUCTION, STAGE_ARCHIVED)
ACTIVE_STAGES = (STAGE_STAGING, STAGE_PRODUCTION)
# A deleted version's tombstone: keeps its number from being handed out again.
STAGE_DELETED = "Deleted_Internal"
STATUS_READY = "READY"
CHANGE_KIND = "registry"

_rm = s.registered_models.c
_mv = s.model_versions.c
_rmt = s.registered_model_tags.c
_mvt = s.model_version_tags.c
_al = s.registered_model_aliases.c


def canonical_stage(stage: object) -> str:
    """``'production'`` -> ``'Production'``; anything but the four stages is invalid."""
    if isinstance(stage, str):
        for known in STAGES:
            if stage.strip().lower() == known.lower():
                return known
    raise invalid(
        f"Invalid Model Version stage: {stage!r}. Value must be one of {', '.join(STAGES)}."
    )


def _model_missing(name: str) -> Exception:
    return not_found(f"Registered Model with name={name} not found")


def _version_missing(name: str, version: int | str) -> Exception:
    return not_found(f"Model Version (name={name}, version={version}) not found")


class RegistryStore:
    """SQL implementation of the model registry over a :class:`TrackingStore`'s database."""

    def __init__(self, tracking_store: TrackingStore) -> None:
        self.db: Database = tracking_store.db

    # ---- helpers ------------------------------------------------------------------------

    def _record(self, conn: Connection, run_id: str | None = None) -> None:
        self.db.record_change(conn, CHANGE_KIND, None, run_id)

    def _lock_model(self, conn: Connection, name: str) -> Any:
        """The registered model's row, locked for the rest of the transaction on PostgreSQL
        (SQLite's BEGIN IMMEDIATE already holds the database write lock)."""
        stmt = select(s.registered_models).where(_rm.name == name)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None:
            raise _model_missing(name)
        return row

    def _touch_model(self, conn: Connection, name: str, t: int) -> None:
        conn.execute(
            update(s.registered_models).where(_rm.name == name).values(last_updated_time=t)
        )

    def _version_row(self, conn: Connection, name: str, version: int) -> Any:
        row = conn.execute(
            select(s.model_versions).where(
                _mv.name == name, _mv.version == version, _mv.current_stage != STAGE_DELETED
            )
        ).first()
        if row is None:
            raise _version_missing(name, version)
        return row

    def _models_by_names(
        self, conn: Connection, names: Sequence[str]
    ) -> dict[str, RegisteredModel]:
        if not names:
            return {}
        out = {
            r.name: RegisteredModel(
                name=r.name,
                creation_timestamp=r.creation_time,
                last_updated_timestamp=r.last_updated_time,
                description=r.description,
            )
            for r in conn.execute(select(s.registered_models).where(_rm.name.in_(names)))
        }
        if not out:
            return out
        keys = list(out)
        for r in conn.execute(
            select(_rmt.name, _rmt.key, _rmt.value).where(_rmt.name.in_(keys)).order_by(_rmt.key)
        ):
            out[r.name].tags[r.key] = r.value
        for r in conn.execute(
            select(_al.name, _al.alias, _al.version).where(_al.name.in_(keys)).order_by(_al.alias)
        ):
            out[r.name].aliases[r.alias] = str(r.version)
        # The latest version in each stage (MLflow's ``latest_versions``).
        latest = (
            select(_mv.name, func.max(_mv.version).label("version"))
            .where(_mv.name.in_(keys), _mv.current_stage != STAGE_DELETED)
            .group_by(_mv.name, _mv.current_stage)
        )
        pairs = [(r.name, r.version) for r in conn.execute(latest)]
        for mv in self._versions_by_keys(conn, pairs):
            out[mv.name].latest_versions.append(mv)
        for model in out.values():
            model.latest_versions.sort(key=lambda m: int(m.version))
        return out

    def _versions_by_keys(
        self, conn: Connection, keys: Iterable[tuple[str, int]]
    ) -> list[ModelVersion]:
        """Model versions for (name, version) pairs, in the order given (missing ones skipped)."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        found: dict[tuple[str, int], ModelVersion] = {}
        for chunk in in_chunks(wanted, 400):
            pair = tuple_(_mv.name, _mv.version)
            for r in conn.execute(select(s.model_versions).where(pair.in_(chunk))):
                found[(r.name, r.version)] = _version_from_row(r)
            tag_pair = tuple_(_mvt.name, _mvt.version)
            for r in conn.execute(
                select(_mvt.name, _mvt.version, _mvt.key, _mvt.value)
                .where(tag_pair.in_(chunk))
                .order_by(_mvt.key)
            ):
                if (r.name, r.version) in found:
                    found[(r.name, r.version)].tags[r.key] = r.value
            names = list({n for n, _v in chunk})
            for r in conn.execute(
                select(_al.name, _al.alias, _al.version)
                .where(_al.name.in_(names))
                .order_by(_al.alias)
            ):
                if (r.name, r.version) in found:
                    found[(r.name, r.version)].aliases.append(r.alias)
        return [found[k] for k in wanted if k in found]

    # ---- registered models --------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: dict[str, str] | None = None,
        description: str | None = None,
        owner: str | None = None,
    ) -> RegisteredModel:
        """``owner`` (team mode): the creator, who gets MANAGE in the same transaction."""
        t = now_ms()
        try:
            with self.db.write() as conn:
                if conn.execute(select(_rm.name).where(_rm.name == name)).first():
                    raise already_exists(f"Registered Model (name={name}) already exists.")
                conn.execute(
                    insert(s.registered_models).values(
                        name=name, creation_time=t, last_updated_time=t, description=description
                    )
                )
                if tags:
                    conn.execute(
                        insert(s.registered_model_tags),
                        [{"name": name, "key": k, "value": v} for k, v in tags.items()],
                    )
                if owner:
                    grant_in(conn, REGISTERED_MODEL, name, USER, owner, MANAGE.name)
                self._record(conn)
        except IntegrityError as exc:
            raise already_exists(f"Registered Model (name={name}) already exists.") from exc
        return self.get_registered_model(name)

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            found = self._models_by_names(conn, [name])
        if name not in found:
            raise _model_missing(name)
        return found[name]

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        with self.db.write() as conn:
            self._lock_model(conn, name)
            conn.execute(
                update(s.registered_models)
                .where(_rm.name == name)
                .values(description=description, last_updated_time=now_ms())
            )
            self._record(conn)
        return self.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Versions, tags and aliases follow the model (foreign keys ON UPDATE CASCADE)."""
        if new_name == name:
            return self.get_registered_model(name)
        try:
            with self.db.write() as conn:
                self._lock_model(conn, name)
                if conn.execute(select(_rm.name).where(_rm.name == new_name)).first():
                    raise already_exists(f"Registered Model (name={new_name}) already exists.")
                conn.execute(
                    update(s.registered_models)
                    .where(_rm.name == name)
                    .values(name=new_name, last_updated_time=now_ms())
                )
                rename_in(conn, REGISTERED_MODEL, name, new_name)
                self._record(conn)
        except IntegrityError as exc:
            raise already_exists(f"Registered Model (name={new_name}) already exists.") from exc
        return self.get_registered_model(new_name)

    def delete_registered_model(self, name: str) -> None:
        """The model with all its versions, tags and aliases."""
        with self.db.write() as conn:
            self._lock_model(conn, name)
            # Explicit, child tables first: correct even where foreign keys are not enforced.
            conn.execute(delete(s.model_version_tags).where(_mvt.name == name))
            conn.execute(delete(s.registered_model_aliases).where(_al.name == name))
            conn.execute(delete(s.registered_model_tags).where(_rmt.name == name))
            conn.execute(delete(s.model_versions).where(_mv.name == name))
            conn.execute(delete(s.registered_models).where(_rm.name == name))
            drop_in(conn, REGISTERED_MODEL, name)
            self._record(conn)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        with self.db.write() as conn:
            self._lock_model(conn, name)
            upsert(
                conn,
                s.registered_model_tags,
                [{"name": name, "key": key, "value": value}],
                ("name", "key"),
            )
            self._record(conn)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Deleting a tag the model does not have is a no-op (MLflow's behaviour)."""
        with self.db.write() as conn:
            self._lock_model(conn, name)
            conn.execute(delete(s.registered_model_tags).where(_rmt.name == name, _rmt.key == key))
            self._record(conn)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | None = None,
        page_token: str | None = None,
        viewer: Viewer | None = None,
    ) -> PagedList:
        from labtrack.store.search.sql import (
            apply_registered_model_order,
            registered_model_filter_clauses,
        )

        offset = decode_page_token(page_token)
        stmt = select(_rm.name).where(
            *registered_model_filter_clauses(filter_string),
            readable_clause(viewer, REGISTERED_MODEL, _rm.name),
        )
        stmt = apply_registered_model_order(stmt, order_by).offset(offset).limit(max_results + 1)
        with self.db.read() as conn:
            names: list[str] = list(conn.execute(stmt).scalars())
            page, more = names[:max_results], len(names) > max_results
            found = self._models_by_names(conn, page)
        return PagedList(
            [found[n] for n in page if n in found],
            encode_page_token(offset + max_results) if more else None,
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        """The latest version in each of ``stages`` (all stages when empty), by version."""
        wanted = [canonical_stage(st) for st in stages or []]
        with self.db.read() as conn:
            if conn.execute(select(_rm.name).where(_rm.name == name)).first() is None:
                raise _model_missing(name)
            stmt = (
                select(_mv.current_stage, func.max(_mv.version).label("version"))
                .where(_mv.name == name, _mv.current_stage != STAGE_DELETED)
                .group_by(_mv.current_stage)
            )
            if wanted:
                stmt = stmt.where(_mv.current_stage.in_(wanted))
            versions = sorted(r.version for r in conn.execute(stmt))
            return self._versions_by_keys(conn, [(name, v) for v in versions])

    # ---- model versions -----------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        user_id: str | None = None,
        model_id: str | None = None,
        storage_location: str | None = None,
    ) -> ModelVersion:
        """``storage_location``: where the version downloads from when that is not its
        source (a copied version: the original's files)."""
        t = now_ms()
        with self.db.write() as conn:
            self._lock_model(conn, name)
            last = conn.execute(select(func.max(_mv.version)).where(_mv.name == name)).scalar()
            version = int(last or 0) + 1
            if model_id:
                # A 3.x logged model: its files live at the model's artifact location, and
                # the version belongs to the run that logged it unless told otherwise.
                lm = s.logged_models.c
                logged = conn.execute(
                    select(lm.artifact_location, lm.source_run_id).where(lm.model_id == model_id)
                ).first()
                if logged is None:
                    raise not_found(f"Logged model with ID '{model_id}' not found.")
                storage_location = storage_location or logged.artifact_location
                run_id = run_id or logged.source_run_id
            conn.execute(
                insert(s.model_versions).values(
                    name=name,
                    version=version,
                    creation_time=t,
                    last_updated_time=t,
                    description=description,
                    user_id=user_id,
                    current_stage=STAGE_NONE,
                    source=source,
                    run_id=run_id,
                    run_link=run_link,
                    status=STATUS_READY,
                    storage_location=storage_location,
                    model_id=model_id,
                )
            )
            if tags:
                conn.execute(
                    insert(s.model_version_tags),
                    [
                        {"name": name, "version": version, "key": k, "value": v}
                        for k, v in tags.items()
                    ],
                )
            if model_id:
                record_model_version(conn, model_id, name, version)
            self._touch_model(conn, name, t)
            self._record(conn, run_id)
        return self.get_model_version(name, version)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        with self.db.read() as conn:
            self._version_row(conn, name, version)
            return self._versions_by_keys(conn, [(name, version)])[0]

    def update_model_version(
        self, name: str, version: int, description: str | None
    ) -> ModelVersion:
        t = now_ms()
        with self.db.write() as conn:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            conn.execute(
                update(s.model_versions)
                .where(_mv.name == name, _mv.version == version)
                .values(description=description, last_updated_time=t)
            )
            self._record(conn)
        return self.get_model_version(name, version)

    def transition_model_version_stage(
        self, name: str, version: int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        stage = canonical_stage(stage)
        if archive_existing_versions and stage not in ACTIVE_STAGES:
            raise invalid(
                f"Model version transition cannot archive existing model versions because "
                f"'{stage}' is not an Active stage. Valid stages are "
                f"{', '.join(ACTIVE_STAGES)}."
            )
        t = now_ms()
        with self.db.write() as conn:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            if archive_existing_versions:
                conn.execute(
                    update(s.model_versions)
                    .where(
                        _mv.name == name,
                        _mv.version != version,
                        _mv.current_stage == stage,
                    )
                    .values(current_stage=STAGE_ARCHIVED, last_updated_time=t)
                )
            conn.execute(
                update(s.model_versions)
                .where(_mv.name == name, _mv.version == version)
                .values(current_stage=stage, last_updated_time=t)
            )
            self._touch_model(conn, name, t)
            self._record(conn)
        return self.get_model_version(name, version)

    def delete_model_version(self, name: str, version: int) -> None:
        """Leaves a tombstone so the number is never reused; tags and aliases go."""
        t = now_ms()
        with self.db.write() as conn:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            conn.execute(
                delete(s.model_version_tags).where(_mvt.name == name, _mvt.version == version)
            )
            conn.execute(
                delete(s.registered_model_aliases).where(_al.name == name, _al.version == version)
            )
            conn.execute(
                update(s.model_versions)
                .where(_mv.name == name, _mv.version == version)
                .values(
                    current_stage=STAGE_DELETED,
                    last_updated_time=t,
                    description=None,
                    user_id=None,
                    source="REDACTED-SOURCE-PATH",
                    run_id=None,
                    run_link=None,
                    status_message=None,
                    storage_location=None,
                    model_id=None,
                )
            )
            self._touch_model(conn, name, t)
            self._record(conn)

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        with self.db.read() as conn:
            row = self._version_row(conn, name, version)
        return row.storage_location or row.source or ""

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        with self.db.write() as conn:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            upsert(
                conn,
                s.model_version_tags,
                [{"name": name, "version": version, "key": key, "value": value}],
                ("name", "version", "key"),
            )
            self._record(conn)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        with self.db.write() as conn:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            conn.execute(
                delete(s.model_version_tags).where(
                    _mvt.name == name, _mvt.version == version, _mvt.key == key
                )
            )
            self._record(conn)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: list[str] | None = None,
        page_token: str | None = None,
        viewer: Viewer | None = None,
    ) -> PagedList:
        from labtrack.store.search.sql import (
            apply_model_version_order,
            model_version_filter_clauses,
        )

        offset = decode_page_token(page_token)
        stmt = select(_mv.name, _mv.version).where(
            _mv.current_stage != STAGE_DELETED,
            *model_version_filter_clauses(filter_string),
            readable_clause(viewer, REGISTERED_MODEL, _mv.name),
        )
        stmt = apply_model_version_order(stmt, order_by).offset(offset).limit(max_results + 1)
        with self.db.read() as conn:
            keys = [(r.name, r.version) for r in conn.execute(stmt)]
            page, more = keys[:max_results], len(keys) > max_results
            items = self._versions_by_keys(conn, page)
        return PagedList(items, encode_page_token(offset + max_results) if more else None)

    # ---- aliases ------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` (moving it if it pointed elsewhere)."""
        with self.db.write() as conn:
            self._lock_model(conn, name)
            self._version_row(conn, name, version)
            upsert(
                conn,
                s.registered_model_aliases,
                [{"name": name, "alias": alias, "version": version}],
                ("name", "alias"),
            )
            self._touch_model(conn, name, now_ms())
            self._record(conn)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Deleting an alias the model does not have is a no-op (MLflow's behaviour)."""
        with self.db.write() as conn:
            self._lock_model(conn, name)
            conn.execute(
                delete(s.registered_model_aliases).where(_al.name == name, _al.alias == alias)
            )
            self._touch_model(conn, name, now_ms())
            self._record(conn)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self.db.read() as conn:
            if conn.execute(select(_rm.name).where(_rm.name == name)).first() is None:
                raise _model_missing(name)
            version = conn.execute(
                select(_al.version).where(_al.name == name, _al.alias == alias)
            ).scalar()
            if version is None:
                raise not_found(f"Registered model alias {alias} not found.")
            found = self._versions_by_keys(conn, [(name, version)])
        if not found or found[0].current_stage == STAGE_DELETED:
            raise not_found(f"Registered model alias {alias} not found.")
        return found[0]

    def version_numbers(self, name: str) -> list[int]:
        """Every version number ever given out for ``name`` (tombstones included), ascending.
        For tests and diagnostics."""
        with self.db.read() as conn:
            return list(
                conn.execute(
                    select(_mv.version).where(_mv.name == name).order_by(_mv.version)
                ).scalars()
            )


def _version_from_row(r: Any) -> ModelVersion:
    return ModelVersion(
        name=r.name,
        version=str(r.version),
        creation_timestamp=r.creation_time,
        last_updated_timestamp=r.last_updated_time,
        current_stage=r.current_stage,
        description=r.description or "",  # MLflow answers "" for a version without one
        user_id=r.user_id,
        source=r.source,
        run_id=r.run_id,
        run_link=r.run_link,
        status=r.status,
        status_message=r.status_message,
        storage_location=r.storage_location,
        model_id=r.model_id,
    )
