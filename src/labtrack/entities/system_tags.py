"""MLflow's system tag names: the tags MLflow clients and the MLflow UI read and write.

One place for every name, so the client, the service, the store and the search agree.
"""

from __future__ import annotations

USER = "mlflow.user"
RUN_NAME = "mlflow.runName"
PARENT_RUN_ID = "mlflow.parentRunId"
NOTE_CONTENT = "mlflow.note.content"
SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
GIT_REPO_URL = "mlflow.source.git.repoURL"
LOG_MODEL_HISTORY = "mlflow.log-model.history"
# On a logged model (MLflow 3): the registered versions made from it, a JSON list of
# {"name", "version"} objects.
MODEL_VERSIONS = "mlflow.modelVersions"
# On a dataset input (not a run tag): the context the dataset was used in ("training", ...).
DATASET_CONTEXT = "mlflow.data.context"
# Legacy name of the repo URL tag; MLflow still writes it beside GIT_REPO_URL for projects.
LEGACY_GIT_REPO_URL = "mlflow.gitRepoURL"
# Project runs (``labtrack run`` / ``lt.projects.run``), with MLflow's names.
SOURCE_TYPE_PROJECT = "PROJECT"  # the value of SOURCE_TYPE for a project run
PROJECT_ENTRY_POINT = "mlflow.project.entryPoint"
PROJECT_ENV = "mlflow.project.env"
PROJECT_BACKEND = "mlflow.project.backend"
DOCKER_IMAGE_NAME = "mlflow.docker.image.name"
# labtrack's own: the exit code of the project's command (MLflow records none).
PROJECT_EXIT_CODE = "labtrack.project.exitCode"
# labtrack's own: why a run was marked KILLED by the liveness sweep (its writer stopped
# sending heartbeats: the process was killed or its machine lost).
KILLED_REASON = "labtrack.killedReason"
# labtrack's own: the Ray job that ran the project (``--backend ray``).
PROJECT_RAY_JOB_ID = "labtrack.project.rayJobId"
