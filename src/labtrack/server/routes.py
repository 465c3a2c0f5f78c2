"""The route table: every URL labtrack serves, one line each.

Paths are written OpenAPI-style, relative to ``<base_url>labtrack`` (so
``/api/2.0/mlflow/runs/create`` is served at ``<base_url>labtrack/api/2.0/mlflow/runs/create``),
with ``{name}`` placeholders matching one path segment, except ``{artifact_path}``, which
matches the rest of the path. Every ``/api/...`` route is also served under ``/ajax-api/...``
(the prefix MLflow's own web UI uses). Anything else under ``labtrack/`` is answered with
404 ``ENDPOINT_NOT_FOUND`` JSON.

Adding a tracking RPC (in ``labtrack/server/tracking_handlers.py``, which must define
``ROUTES: list[Route]``)::

    from labtrack.entities import endpoints as ep
    from labtrack.server.routes import Route, serve

    def create_run(service, req):
        run = service.create_run(
            experiment_id=req.get_str("experiment_id", "0"),
            user_id=req.get_str("user_id") or req.user,
            run_name=req.get_str("run_name"),
            start_time=req.get_int("start_time"),
            tags=req.get_objects("tags"),
        )
        return {"run": run_to_json(run)}

    ROUTES: list[Route] = [
        serve(ep.RUNS_CREATE, create_run),
        serve(ep.LOGGED_MODELS_GET, get_logged_model),
    ]

with the method + path declared once in ``labtrack.entities.endpoints`` (which the REST client
uses too) and described in ``openapi.yaml`` (a test checks all three agree). Every
labtrack route must go through this table: the ``labtrack/`` catch-all is registered last in
the same batch, so a handler added to the web app elsewhere afterwards would never be reached.
The function runs in the thread pool with the lazily built service; path placeholders arrive
as fields.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labtrack.entities import endpoints as ep
from labtrack.entities.endpoints import GREEDY_PARAMS, Endpoint
from labtrack.server.artifact_handlers import ArtifactHandler, ArtifactListHandler
from labtrack.server.base import LabtrackHandler, NotFoundHandler
from labtrack.server.info_handlers import (
    OpenAPIHandler,
    server_info_rpc,
    version_rpc,
    whoami_rpc,
)
from labtrack.server.rpc import BareRpcFunc, RpcFunc, RpcHandler

PREFIX = "labtrack"
# Modules defining ``ROUTES: list[Route]``, one per area of the API.
ROUTE_MODULES = (
    "labtrack.server.tracking_handlers",
    "labtrack.server.logged_model_handlers",
    "labtrack.server.registry_handlers",
    "labtrack.server.project_handlers",
)
TRACKING_MODULE = ROUTE_MODULES[0]
# Served by ``labtrack service`` (team mode) only: the permissions API.
TEAM_ROUTE_MODULES = ("labtrack.server.permission_handlers",)
AJAX_FROM, AJAX_TO = "/api/", "/ajax-api/"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Route:
    """One (method, path) served by either an RPC function or a handler class."""

    method: str
    path: str
    rpc: RpcFunc | BareRpcFunc | None = None
    handler: type[LabtrackHandler] | None = None
    needs_service: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unsupported method {self.method!r} for {self.path}")
        if not self.path.startswith("/"):
            raise ValueError(f"route path must start with '/': {self.path!r}")
        if (self.rpc is None) == (self.handler is None):
            raise ValueError(f"route {self.method} {self.path} needs exactly one of rpc/handler")


def rpc(method: str, path: str, func: RpcFunc | BareRpcFunc, *, service: bool = True) -> Route:
    """An RPC route: ``func(service, request) -> dict | None`` (``service`` is ``None`` when
    ``service=False``)."""
    return Route(method.upper(), path, rpc=func, needs_service=service)


def serve(endpoint: Endpoint, func: RpcFunc | BareRpcFunc, *, service: bool = True) -> Route:
    """The RPC route of one operation of ``labtrack.entities.endpoints``."""
    return rpc(endpoint.method, endpoint.path, func, service=service)


def handled(path: str, handler: type[LabtrackHandler], *methods: str) -> list[Route]:
    """Routes served by a custom handler class (one entry per method it implements)."""
    return [Route(m.upper(), path, handler=handler) for m in methods]


def handled_at(handler: type[LabtrackHandler], *endpoints: Endpoint) -> list[Route]:
    """Operations of ``labtrack.entities.endpoints`` served by one handler class."""
    return [Route(e.method, e.path, handler=handler) for e in endpoints]


CORE_ROUTES: list[Route] = [
    serve(ep.VERSION, version_rpc, service=False),
    *handled_at(OpenAPIHandler, ep.OPENAPI),
    serve(ep.SERVER_INFO, server_info_rpc, service=False),
    serve(ep.LABTRACK_WHOAMI, whoami_rpc, service=False),
    *handled_at(ArtifactListHandler, ep.ARTIFACT_LIST),
    *handled_at(ArtifactHandler, ep.ARTIFACT_DOWNLOAD, ep.ARTIFACT_UPLOAD, ep.ARTIFACT_DELETE),
]


def all_routes(*, team: bool = False) -> list[Route]:
    """The core routes plus the ``ROUTES`` of each module in ``ROUTE_MODULES`` present
    (``team``: and of ``TEAM_ROUTE_MODULES``)."""
    routes = list(CORE_ROUTES)
    for name in ROUTE_MODULES + (TEAM_ROUTE_MODULES if team else ()):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
        else:
            routes.extend(module.ROUTES)
    return routes


def path_to_regex(path: str) -> str:
    """``/a/{x}/b`` -> ``/a/(?P<x>[^/]+)/b`` (regex-escaped literals)."""
    out = []
    pos = 0
    for match in _PLACEHOLDER.finditer(path):
        out.append(re.escape(path[pos : match.start()]))
        name = match.group(1)
        out.append(f"(?P<{name}>.*)" if name in GREEDY_PARAMS else f"(?P<{name}>[^/]+)")
        pos = match.end()
    out.append(re.escape(path[pos:]))
    return "".join(out)


def with_aliases(routes: Sequence[Route]) -> list[Route]:
    """Add the ``/ajax-api/`` twin of every ``/api/`` route."""
    out = list(routes)
    for route in routes:
        if route.path.startswith(AJAX_FROM):
            alias = AJAX_TO + route.path[len(AJAX_FROM) :]
            out.append(Route(route.method, alias, route.rpc, route.handler, route.needs_service))
    return out


def build_handlers(routes: Sequence[Route] | None = None) -> list[tuple[str, Any, dict[str, Any]]]:
    """Tornado handler specs (patterns relative to the server's base_url) for the extension.

    Literal paths come before templated ones (``logged-models/search`` before
    ``logged-models/{model_id}``); the catch-all comes last.
    """
    table = with_aliases(all_routes() if routes is None else routes)
    by_path: dict[str, list[Route]] = {}
    for route in table:
        by_path.setdefault(route.path, []).append(route)

    specs: list[tuple[bool, str, Any, dict[str, Any]]] = []
    for path, group in by_path.items():
        seen = [r.method for r in group]
        if len(set(seen)) != len(seen):
            raise ValueError(f"duplicate route for {path}: {seen}")
        pattern = PREFIX + path_to_regex(path)
        templated = bool(_PLACEHOLDER.search(path))
        handlers = {r.handler for r in group if r.handler is not None}
        if handlers:
            if len(handlers) > 1 or any(r.rpc is not None for r in group):
                raise ValueError(f"{path}: mixes handler classes and/or RPC functions")
            specs.append((templated, pattern, handlers.pop(), {}))
        else:
            rpcs = {r.method: (r.rpc, r.needs_service) for r in group}
            specs.append((templated, pattern, RpcHandler, {"rpcs": rpcs}))
    specs.sort(key=lambda s: s[0])  # stable: literal paths first
    result = [(pattern, cls, kwargs) for _t, pattern, cls, kwargs in specs]
    result.append((PREFIX + r"(?:/.*)?", NotFoundHandler, {}))
    return result
