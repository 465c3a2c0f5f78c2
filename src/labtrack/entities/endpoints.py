"""Every REST operation labtrack serves, as (method, path): one description for both sides.

The server's route table (``labtrack.server.*_handlers``) and the REST client
(``labtrack.client.rest``) are both built from these constants, so a path cannot drift between
them. Paths are OpenAPI-style, relative to the server's ``<base_url>labtrack``; ``{name}``
placeholders match one path segment, except ``{artifact_path}``, which matches the rest of the
path (slashes included). ``openapi.yaml`` describes the same operations (a test checks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

MLFLOW = "/api/2.0/mlflow"
MLFLOW_3 = "/api/3.0/mlflow"
MLFLOW_ARTIFACTS = "/api/2.0/mlflow-artifacts"
LABTRACK = "/api/labtrack"
# Placeholders that match the rest of the path (slashes included) instead of one segment.
GREEDY_PARAMS = frozenset({"artifact_path"})
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One REST operation: an HTTP method and an OpenAPI-style path."""

    method: str
    path: str

    def url(self, **params: str) -> str:
        """The path with its placeholders filled in, percent-encoded (a greedy placeholder
        keeps its slashes)."""
        if not params:
            return self.path

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            return quote(params[name], safe="/" if name in GREEDY_PARAMS else "")

        return _PLACEHOLDER.sub(fill, self.path)


def _get(path: str) -> Endpoint:
    return Endpoint("GET", path)


def _post(path: str) -> Endpoint:
    return Endpoint("POST", path)


def _patch(path: str) -> Endpoint:
    return Endpoint("PATCH", path)


def _delete(path: str) -> Endpoint:
    return Endpoint("DELETE", path)


# ---- meta ---------------------------------------------------------------------------------

VERSION = _get("/version")
OPENAPI = _get("/openapi.yaml")
SERVER_INFO = _get(MLFLOW_3 + "/server-info")

# ---- experiments --------------------------------------------------------------------------

EXPERIMENTS_CREATE = _post(MLFLOW + "/experiments/create")
EXPERIMENTS_SEARCH = _post(MLFLOW + "/experiments/search")
EXPERIMENTS_SEARCH_GET = _get(MLFLOW + "/experiments/search")
EXPERIMENTS_GET = _get(MLFLOW + "/experiments/get")
EXPERIMENTS_GET_BY_NAME = _get(MLFLOW + "/experiments/get-by-name")
EXPERIMENTS_DELETE = _post(MLFLOW + "/experiments/delete")
EXPERIMENTS_RESTORE = _post(MLFLOW + "/experiments/restore")
EXPERIMENTS_UPDATE = _post(MLFLOW + "/experiments/update")
EXPERIMENTS_SET_TAG = _post(MLFLOW + "/experiments/set-experiment-tag")
EXPERIMENTS_DELETE_TAG = _post(MLFLOW + "/experiments/delete-experiment-tag")

# ---- runs, metrics ------------------------------------------------------------------------

RUNS_CREATE = _post(MLFLOW + "/runs/create")
RUNS_UPDATE = _post(MLFLOW + "/runs/update")
RUNS_DELETE = _post(MLFLOW + "/runs/delete")
RUNS_RESTORE = _post(MLFLOW + "/runs/restore")
RUNS_GET = _get(MLFLOW + "/runs/get")
RUNS_SEARCH = _post(MLFLOW + "/runs/search")
RUNS_LOG_METRIC = _post(MLFLOW + "/runs/log-metric")
RUNS_LOG_PARAMETER = _post(MLFLOW + "/runs/log-parameter")
RUNS_SET_TAG = _post(MLFLOW + "/runs/set-tag")
RUNS_DELETE_TAG = _post(MLFLOW + "/runs/delete-tag")
RUNS_LOG_BATCH = _post(MLFLOW + "/runs/log-batch")
RUNS_LOG_INPUTS = _post(MLFLOW + "/runs/log-inputs")
RUNS_LOG_MODEL = _post(MLFLOW + "/runs/log-model")
RUNS_OUTPUTS = _post(MLFLOW + "/runs/outputs")
METRICS_GET_HISTORY = _get(MLFLOW + "/metrics/get-history")
ARTIFACTS_LIST = _get(MLFLOW + "/artifacts/list")

# ---- labtrack's additions -----------------------------------------------------------------

LABTRACK_METRIC_SERIES = _get(LABTRACK + "/metrics/series")
LABTRACK_RUNS_COUNT = _get(LABTRACK + "/runs/count")
LABTRACK_CHANGES = _get(LABTRACK + "/changes")
# JupyterLab's "Run project" (the user's own Jupyter server only, not the team service).
LABTRACK_PROJECTS_DESCRIBE = _get(LABTRACK + "/projects/describe")
LABTRACK_PROJECTS_RUN = _post(LABTRACK + "/projects/run")
LABTRACK_RUNS_HEARTBEAT = _post(LABTRACK + "/runs/heartbeat")
LABTRACK_WHOAMI = _get(LABTRACK + "/whoami")

# ---- model registry -----------------------------------------------------------------------

_RM = MLFLOW + "/registered-models"
_MV = MLFLOW + "/model-versions"

REGISTERED_MODELS_CREATE = _post(_RM + "/create")
REGISTERED_MODELS_RENAME = _post(_RM + "/rename")
REGISTERED_MODELS_UPDATE = _patch(_RM + "/update")
REGISTERED_MODELS_DELETE = _delete(_RM + "/delete")
REGISTERED_MODELS_GET = _get(_RM + "/get")
REGISTERED_MODELS_SEARCH = _get(_RM + "/search")
REGISTERED_MODELS_GET_LATEST_VERSIONS_GET = _get(_RM + "/get-latest-versions")
REGISTERED_MODELS_GET_LATEST_VERSIONS = _post(_RM + "/get-latest-versions")
REGISTERED_MODELS_SET_TAG = _post(_RM + "/set-tag")
REGISTERED_MODELS_DELETE_TAG = _delete(_RM + "/delete-tag")
REGISTERED_MODELS_SET_ALIAS = _post(_RM + "/alias")
REGISTERED_MODELS_DELETE_ALIAS = _delete(_RM + "/alias")
REGISTERED_MODELS_GET_BY_ALIAS = _get(_RM + "/alias")
MODEL_VERSIONS_CREATE = _post(_MV + "/create")
MODEL_VERSIONS_UPDATE = _patch(_MV + "/update")
MODEL_VERSIONS_DELETE = _delete(_MV + "/delete")
MODEL_VERSIONS_GET = _get(_MV + "/get")
MODEL_VERSIONS_SEARCH = _get(_MV + "/search")
MODEL_VERSIONS_GET_DOWNLOAD_URI = _get(_MV + "/get-download-uri")
MODEL_VERSIONS_TRANSITION_STAGE = _post(_MV + "/transition-stage")
MODEL_VERSIONS_SET_TAG = _post(_MV + "/set-tag")
MODEL_VERSIONS_DELETE_TAG = _delete(_MV + "/delete-tag")

# ---- logged models (MLflow 3) -------------------------------------------------------------

_LM = MLFLOW + "/logged-models"

LOGGED_MODELS_CREATE = _post(_LM)
LOGGED_MODELS_SEARCH = _post(_LM + "/search")
LOGGED_MODELS_GET = _get(_LM + "/{model_id}")
LOGGED_MODELS_FINALIZE = _patch(_LM + "/{model_id}")
LOGGED_MODELS_DELETE = _delete(_LM + "/{model_id}")
LOGGED_MODELS_SET_TAGS = _patch(_LM + "/{model_id}/tags")
LOGGED_MODELS_DELETE_TAG = _delete(_LM + "/{model_id}/tags/{tag_key}")
LOGGED_MODELS_LOG_PARAMS = _post(_LM + "/{model_id}/params")

# ---- the artifact proxy -------------------------------------------------------------------

ARTIFACT_LIST = _get(MLFLOW_ARTIFACTS + "/artifacts")
ARTIFACT_DOWNLOAD = _get(MLFLOW_ARTIFACTS + "/artifacts/{artifact_path}")
ARTIFACT_UPLOAD = Endpoint("PUT", MLFLOW_ARTIFACTS + "/artifacts/{artifact_path}")
ARTIFACT_DELETE = _delete(MLFLOW_ARTIFACTS + "/artifacts/{artifact_path}")

# ---- team mode: permissions (MLflow 3.17's auth API, plus labtrack's listing) -------------

USERS_CURRENT = _get(MLFLOW + "/users/current")
USERS_PERMISSIONS_GRANT = _post(MLFLOW_3 + "/users/permissions/grant")
USERS_PERMISSIONS_REVOKE = _post(MLFLOW_3 + "/users/permissions/revoke")
USERS_PERMISSIONS_GET = _get(MLFLOW_3 + "/users/permissions/get")
USERS_PERMISSIONS_LIST = _get(MLFLOW_3 + "/users/permissions/list")
USERS_CURRENT_PERMISSIONS = _get(MLFLOW_3 + "/users/current/permissions")
# The grants on one experiment or registered model (users and hub groups): the permissions
# dialog of the lab UI.
LABTRACK_PERMISSIONS = _get(LABTRACK + "/permissions")
# Hub user and group names matching what a MANAGE holder types (the grant form's suggestions).
LABTRACK_PERMISSIONS_NAMES = _get(LABTRACK + "/permissions/names")
# MLflow 3.17's roles API: a role is a hub group (membership stays the hub's).
ROLES_CREATE = _post(MLFLOW_3 + "/roles/create")
ROLES_GET = _get(MLFLOW_3 + "/roles/get")
ROLES_LIST = _get(MLFLOW_3 + "/roles/list")
ROLES_PERMISSIONS_ADD = _post(MLFLOW_3 + "/roles/permissions/add")
ROLES_PERMISSIONS_REMOVE = _delete(MLFLOW_3 + "/roles/permissions/remove")
ROLES_PERMISSIONS_LIST = _get(MLFLOW_3 + "/roles/permissions/list")
ROLES_PERMISSIONS_UPDATE = _patch(MLFLOW_3 + "/roles/permissions/update")
