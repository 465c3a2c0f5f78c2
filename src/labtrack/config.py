"""Where things live when the user configured nothing.

Solo mode: one per-user store (SQLite + artifact folder) under the Jupyter data dir, shared by the
Jupyter server, its kernels and terminals, and plain scripts of the same user.
"""

from __future__ import annotations

import os
from pathlib import Path

# Every environment variable labtrack reads, named once. Where MLflow has its own name for the
# same setting, labtrack's comes first and MLflow's is honoured too.
TRACKING_URI_ENV = "LABTRACK_TRACKING_URI"
MLFLOW_TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
STORE_URI_ENV = "LABTRACK_STORE_URI"
ARTIFACT_ROOT_ENV = "LABTRACK_ARTIFACT_ROOT"
HOME_ENV = "LABTRACK_HOME"
# Liveness of runs (beyond MLflow): the client beats every INTERVAL seconds while a run is
# active; the server and `labtrack gc` mark a RUNNING run that has beaten but then fell
# silent for TIMEOUT seconds KILLED.
HEARTBEAT_INTERVAL_ENV = "LABTRACK_HEARTBEAT_INTERVAL"
HEARTBEAT_TIMEOUT_ENV = "LABTRACK_HEARTBEAT_TIMEOUT"
DEFAULT_HEARTBEAT_INTERVAL = 30.0
DEFAULT_HEARTBEAT_TIMEOUT = 600.0
# Team mode: the permission level of everyone admitted where nothing was granted.
DEFAULT_PERMISSION_ENV = "LABTRACK_DEFAULT_PERMISSION"
TRACKING_TOKEN_ENVS = ("LABTRACK_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN", "JUPYTERHUB_API_TOKEN")
EXPERIMENT_ID_ENVS = ("LABTRACK_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_ID")
EXPERIMENT_NAME_ENVS = ("LABTRACK_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")
RUN_ID_ENVS = ("LABTRACK_RUN_ID", "MLFLOW_RUN_ID")
USER_ENVS = ("LABTRACK_USER", "JUPYTERHUB_USER")
# labtrack service (JupyterHub): set by the hub for a managed service.
HUB_SERVICE_URL_ENV = "JUPYTERHUB_SERVICE_URL"
HUB_SERVICE_PREFIX_ENV = "JUPYTERHUB_SERVICE_PREFIX"
HUB_SERVICE_NAME_ENV = "JUPYTERHUB_SERVICE_NAME"
HUB_API_TOKEN_ENV = "JUPYTERHUB_API_TOKEN"  # noqa: S105 - a variable name
HUB_API_URL_ENV = "JUPYTERHUB_API_URL"
# S3-compatible artifact roots (s3://bucket/prefix): the endpoint of a non-AWS store, MLflow's
# name first. Credentials come from the usual AWS_* variables, read by botocore itself.
S3_ENDPOINT_ENVS = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def first_env(names: tuple[str, ...]) -> str | None:
    """The value of the first of ``names`` that is set and not empty."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def labtrack_home() -> Path:
    """The per-user folder holding the default store (``$LABTRACK_HOME`` overrides it)."""
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    # jupyter_core is already imported in any Jupyter process and cheap otherwise.
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "labtrack"


def default_store_uri() -> str:
    return f"sqlite:///{labtrack_home() / 'labtrack.db'}"


def default_artifact_root(store_uri: str | None = None) -> str:
    """Artifacts sit beside a SQLite file; otherwise in the per-user folder."""
    env = os.environ.get(ARTIFACT_ROOT_ENV)
    if env:
        return env
    if store_uri and store_uri.startswith("sqlite:///"):
        db_path = Path(store_uri[len("sqlite:///") :])
        return str(db_path.parent / "artifacts")
    return str(labtrack_home() / "artifacts")


# Set by ``set_tracking_uri`` for the whole process: the fluent API and every client created
# without a URI use it (as MLflow's ``MlflowClient()`` does).
_process_tracking_uri: str | None = None


def set_process_tracking_uri(uri: str | None) -> None:
    global _process_tracking_uri
    _process_tracking_uri = normalize_uri(uri) if uri else None


def process_tracking_uri() -> str | None:
    return _process_tracking_uri


# The model registry's URI: the tracking URI unless set apart (MLflow's registry URI).
REGISTRY_URI_ENVS = ("LABTRACK_REGISTRY_URI", "MLFLOW_REGISTRY_URI")
_process_registry_uri: str | None = None


def set_process_registry_uri(uri: str | None) -> None:
    global _process_registry_uri
    _process_registry_uri = normalize_uri(uri) if uri else None


def resolve_registry_uri(explicit: str | None = None, tracking_uri: str | None = None) -> str:
    """The registry a client uses: explicit, the one ``set_registry_uri`` set,
    $LABTRACK_REGISTRY_URI, $MLFLOW_REGISTRY_URI, else the tracking URI."""
    for candidate in (explicit, _process_registry_uri, first_env(REGISTRY_URI_ENVS)):
        if candidate:
            if candidate.lower().startswith("databricks"):
                # Not a path: without this it would open a new local store of that name.
                from labtrack.errors import LabtrackException

                raise LabtrackException(
                    f"Registry URI {candidate!r}: Databricks registries are not supported; "
                    "use a labtrack store or server URI.",
                    "INVALID_PARAMETER_VALUE",
                )
            return normalize_uri(candidate)
    return resolve_tracking_uri(tracking_uri)


def resolve_tracking_uri(explicit: str | None = None) -> str:
    """The URI a client uses: explicit, the one ``set_tracking_uri`` set, $LABTRACK_TRACKING_URI,
    $LABTRACK_STORE_URI, $MLFLOW_TRACKING_URI, else the per-user default store."""
    for candidate in (
        explicit,
        _process_tracking_uri,
        os.environ.get(TRACKING_URI_ENV),
        os.environ.get(STORE_URI_ENV),
        os.environ.get(MLFLOW_TRACKING_URI_ENV),
    ):
        if candidate:
            return normalize_uri(candidate)
    return default_store_uri()


def normalize_uri(uri: str) -> str:
    """Accept plain paths and ``file:`` URIs for the embedded store, as MLflow users type them."""
    if "://" not in uri and not uri.startswith("sqlite:"):
        path = Path(uri).expanduser().resolve()
        if path.suffix in (".db", ".sqlite", ".sqlite3"):
            return f"sqlite:///{path}"
        return f"sqlite:///{path / 'labtrack.db'}"
    if uri.startswith("file://"):
        return normalize_uri(uri[len("file://") :])
    return uri


def is_http_uri(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def env_seconds(name: str, default: float) -> float:
    """A positive number of seconds from the environment (``default`` if unset or invalid)."""
    try:
        value = float(os.environ.get(name, ""))
    except ValueError:
        return default
    return value if value > 0 else default
