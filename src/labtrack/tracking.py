"""MLflow's ``mlflow.tracking`` module: the client class and where it points.

``import labtrack.tracking`` gives the names MLflow code imports from ``mlflow.tracking``
(``MlflowClient``, ``get_tracking_uri``, ``set_tracking_uri``, ``is_tracking_uri_set``,
``get_registry_uri``, ``set_registry_uri``); they are the package's own functions.
"""

from __future__ import annotations

from labtrack.client.fluent import (
    get_registry_uri,
    get_tracking_uri,
    is_tracking_uri_set,
    set_registry_uri,
    set_tracking_uri,
)
from labtrack.client.tracking_client import MlflowClient

__all__ = [
    "MlflowClient",
    "get_registry_uri",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "set_registry_uri",
    "set_tracking_uri",
]
