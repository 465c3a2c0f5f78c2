"""The one error a project run raises for anything the user can fix (MLflow's name for it);
defined in ``labtrack.errors`` so the MLproject parser below the server can raise it too."""

from __future__ import annotations

from labtrack.errors import ExecutionException

__all__ = ["ExecutionException"]
