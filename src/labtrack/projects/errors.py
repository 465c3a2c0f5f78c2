"""The one error a project run raises for anything the user can fix (MLflow's name for it)."""

from __future__ import annotations

from labtrack.errors import LabtrackException


class ExecutionException(LabtrackException):
    """A project could not be loaded, prepared or started. The message is one line, naming
    the file or option at fault, so the CLI can print it without a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "INVALID_PARAMETER_VALUE")
