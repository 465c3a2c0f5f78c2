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
# On a dataset input (not a run tag): the context the dataset was used in ("training", ...).
DATASET_CONTEXT = "mlflow.data.context"
