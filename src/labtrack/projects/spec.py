"""The MLproject format: now ``labtrack.mlproject`` (the server reads it too); kept as a name."""

from __future__ import annotations

from labtrack.mlproject import (
    MLPROJECT_NAMES,
    PARAMETER_TYPES,
    DockerEnv,
    EntryPoint,
    Parameter,
    Project,
    load_project,
)

__all__ = [
    "MLPROJECT_NAMES",
    "PARAMETER_TYPES",
    "DockerEnv",
    "EntryPoint",
    "Parameter",
    "Project",
    "load_project",
]
