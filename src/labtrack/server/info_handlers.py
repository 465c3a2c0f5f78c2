"""Small routes that need no tracking service: version, server info, the OpenAPI document."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

from labtrack.server.base import LabtrackHandler, endpoint
from labtrack.server.rpc import RpcRequest


def labtrack_version() -> str:
    try:
        from labtrack._version import __version__  # written by the build (hatch)

        return str(__version__)
    except ImportError:
        pass
    try:
        from importlib.metadata import version

        return version("labtrack")
    except Exception:
        return "0+unknown"


def version_rpc(_service: None, _request: RpcRequest) -> Mapping[str, Any]:
    return {"version": labtrack_version(), "api": "mlflow-2.0"}


def server_info_rpc(_service: None, _request: RpcRequest) -> Mapping[str, Any]:
    # Probed by MLflow 3.x clients; any non-200 would do, but a real answer avoids a warning.
    return {"store_type": "SqlStore", "workspaces_enabled": False}


def whoami_rpc(_service: None, request: RpcRequest) -> Mapping[str, Any]:
    # Solo mode: runs carry the client's account name, not the Jupyter user, so "mine" means
    # nothing here; team mode (team_routes) answers team=True.
    return {"user": request.user, "team": False}


def openapi_text() -> str:
    return resources.files("labtrack.server").joinpath("openapi.yaml").read_text("utf-8")


class OpenAPIHandler(LabtrackHandler):
    """``GET <base>labtrack/openapi.yaml``: the API description."""

    @endpoint
    async def get(self) -> None:
        text = await self.run_blocking(openapi_text)
        self.finish(text, set_content_type="application/yaml; charset=utf-8")
