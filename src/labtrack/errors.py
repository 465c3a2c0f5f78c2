"""One exception type carrying an MLflow error code, so every layer reports errors the same way."""

from __future__ import annotations

# MLflow error codes and the HTTP status the client expects for each.
HTTP_STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_STATE": 400,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "REQUEST_LIMIT_EXCEEDED": 429,
    "TEMPORARILY_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}


class LabtrackException(Exception):
    """An error with an MLflow error code (e.g. ``INVALID_PARAMETER_VALUE``)."""

    def __init__(self, message: str, error_code: str = "INTERNAL_ERROR") -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code if error_code in HTTP_STATUS else "INTERNAL_ERROR"

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.error_code]

    def to_json(self) -> dict[str, str]:
        return {"error_code": self.error_code, "message": self.message}


class ExecutionException(LabtrackException):
    """A project could not be loaded, prepared or started (MLflow's name for it). The message
    is one line, naming the file or option at fault, so the CLI can print it without a
    traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "INVALID_PARAMETER_VALUE")


# MLflow users catch MlflowException; keep that name working.
MlflowException = LabtrackException


def invalid(message: str) -> LabtrackException:
    return LabtrackException(message, "INVALID_PARAMETER_VALUE")


def not_found(message: str) -> LabtrackException:
    return LabtrackException(message, "RESOURCE_DOES_NOT_EXIST")


def already_exists(message: str) -> LabtrackException:
    return LabtrackException(message, "RESOURCE_ALREADY_EXISTS")


# PostgreSQL SQLSTATEs of transactions rolled back to break a conflict: deadlock_detected,
# serialization_failure, lock_not_available.
_CONFLICT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def is_database_conflict(exc: BaseException) -> bool:
    """Whether a database error (a DB-API error, or SQLAlchemy's wrapper of one) means the
    database was busy with other writers, not that the request was wrong: SQLite's busy
    timeout ("database is locked"), a PostgreSQL deadlock or serialization failure. Such a
    transaction was rolled back whole; the same request can be sent again."""
    orig = getattr(exc, "orig", None) or exc
    if getattr(orig, "sqlstate", None) in _CONFLICT_SQLSTATES:
        return True
    text = str(orig)
    return type(orig).__name__ == "OperationalError" and (
        "database is locked" in text or "database is busy" in text
    )
