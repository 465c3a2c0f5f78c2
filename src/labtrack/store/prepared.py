"""Hot-path statements run on the DB-API cursor.

SQLAlchemy writes each statement's SQL once per dialect; executions then go straight to the
driver. For the small statements of a REST log-batch (a dozen per request), SQLAlchemy's
per-call work (cache lookup, parameter processing, result wrapping, events) cost more than
SQLite's own work. Only statements whose parameters and results need no type conversion on
either backend belong here: text, integers, floats, booleans and bytes.

Driver errors are raised as SQLAlchemy's exception classes (``IntegrityError`` ...), so callers
handle them as they handle errors of ``Connection.execute``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler


def _named_dialect(dialect: Dialect) -> Dialect:
    """The dialect, compiling named parameters that a dict can fill (``:name`` for SQLite,
    ``%(name)s`` for psycopg)."""
    if dialect.paramstyle in ("named", "pyformat"):
        return dialect
    return type(dialect)(paramstyle="named")  # type: ignore[call-arg]


class PreparedStatement:
    """A Core statement compiled once for a dialect, executed with dict parameters."""

    __slots__ = ("_dbapi_error", "sql")

    def __init__(self, stmt: ClauseElement, dialect: Dialect) -> None:
        compiled = cast("SQLCompiler", stmt.compile(dialect=_named_dialect(dialect)))
        # Every parameter comes from the caller: a constant the statement binds itself (a
        # Python value in an expression) would need filling in on every execution.
        fixed = sorted(b.key for b in compiled.binds.values() if b.value is not None)
        if fixed:
            raise ValueError(f"Prepared statements take no bound constants: {fixed}")
        self.sql = compiled.string
        self._dbapi_error = dialect.loaded_dbapi.Error

    def _fail(self, exc: Exception, params: Any) -> Exception:
        return DBAPIError.instance(self.sql, params, exc, self._dbapi_error)

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """Run once; the DB-API cursor (rows as tuples in the select's column order)."""
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self.sql, params)
        except self._dbapi_error as exc:
            raise self._fail(exc, params) from exc
        return cursor

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        cursor = self.execute(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(self.sql, rows)
        except self._dbapi_error as exc:
            raise self._fail(exc, rows[0]) from exc
        finally:
            cursor.close()

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        cursor = self.execute(conn, params)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def first(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        cursor = self.execute(conn, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()


def in_params(prefix: str, values: Iterable[Any]) -> dict[str, Any]:
    """Parameters for a statement prepared with ``n`` placeholders ``prefix0 .. prefix{n-1}``
    (an IN list of fixed length: prepared once per length)."""
    return {f"{prefix}{i}": v for i, v in enumerate(values)}
