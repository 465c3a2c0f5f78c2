"""Alembic migrations, run programmatically when a store is opened (see ``engine.ensure_schema``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

_HERE = Path(__file__).parent


def _config() -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE))
    return cfg


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    from labtrack.store.engine import write_options

    cfg = _config()
    # SQLite: BEGIN IMMEDIATE makes concurrent migrators (several processes opening a new
    # store at once) take turns; alembic then reads the revision the previous one left.
    conn_ = engine.connect().execution_options(**write_options())
    with conn_ as conn, conn.begin():
        if engine.dialect.name == "postgresql":
            # Two processes opening a fresh database at once: one migrates, the other waits.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7302194712)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
