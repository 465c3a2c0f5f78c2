"""Projects: reproducible runs of MLproject folders and git repositories (MLflow's format).

``lt.projects.run(uri, entry_point, parameters, ...)`` and ``labtrack run URI`` fetch a project,
check its parameters, prepare its environment (local, virtualenv/uv, conda, docker), record a
run with MLflow's project tags and run the entry point's command on a backend (``local`` or a
Ray cluster), handing it the run so ``import labtrack`` and ``import mlflow`` inside the project
both log to it.
"""

from __future__ import annotations

from labtrack.mlproject import EntryPoint, Parameter, Project, load_project
from labtrack.projects.errors import ExecutionException
from labtrack.projects.runner import ProjectRunFailed, run
from labtrack.projects.submitted import SubmittedRun

__all__ = [
    "EntryPoint",
    "ExecutionException",
    "Parameter",
    "Project",
    "ProjectRunFailed",
    "SubmittedRun",
    "load_project",
    "run",
]
