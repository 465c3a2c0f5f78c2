"""Where the route table is mounted: ``<base_url>labtrack/`` (the Jupyter server extension) or
``<base_url>`` itself (``labtrack service``, whose base_url is the hub's service prefix, so the
MLflow tracking URI is the service's URL: ``<hub>/services/labtrack``).

The route table (:mod:`labtrack.server.routes`) builds patterns under ``labtrack``; this module
moves them under another prefix and, in team mode, applies :mod:`labtrack.server.team_routes`.
"""

from __future__ import annotations

import re
from typing import Any

from labtrack.server.base import NotFoundHandler
from labtrack.server.routes import PREFIX, all_routes, build_handlers

HandlerSpec = tuple[str, Any, dict[str, Any]]

# With no prefix, only the API namespaces get labtrack's JSON 404: the rest of the service's
# URL space (the OAuth callback, the hub's login redirect) belongs to the identity provider.
_ROOT_CATCH_ALL = r"(?:api|ajax-api)(?:/.*)?"


def _clean_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    if prefix and not re.fullmatch(r"[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)*", prefix):
        raise ValueError(f"route prefix {prefix!r}: letters, digits, '._~-' and '/' only")
    return prefix


def mounted_handlers(
    prefix: str = PREFIX, *, team: bool = False, default_permission: str = "READ"
) -> list[HandlerSpec]:
    """Tornado handler specs (relative to the server's base_url) with every route under
    ``prefix`` (``""``: at the base_url itself). ``team``: the run's user is the
    authenticated user (see :mod:`labtrack.server.team_routes`), every route is checked
    against the caller's permissions (:mod:`labtrack.server.access`, with
    ``default_permission`` for everyone admitted), and the permissions API is served."""
    prefix = _clean_prefix(prefix)
    routes = None
    if team:
        from labtrack.entities.permissions import parse_permission
        from labtrack.server.access import access_routes
        from labtrack.server.team_routes import team_routes

        default = parse_permission(default_permission, "default_permission")
        routes = access_routes(team_routes(all_routes(team=True)), default)
    specs = build_handlers(routes)
    if prefix == PREFIX:
        return specs
    out: list[HandlerSpec] = []
    for pattern, cls, kwargs in specs:
        if cls is NotFoundHandler:
            catch_all = _ROOT_CATCH_ALL if not prefix else re.escape(prefix) + r"(?:/.*)?"
            out.append((catch_all, cls, kwargs))
            continue
        if not pattern.startswith(PREFIX + "/"):  # pragma: no cover - build_handlers' contract
            raise ValueError(f"unexpected route pattern {pattern!r}")
        rest = pattern[len(PREFIX) + 1 :]
        out.append(((re.escape(prefix) + "/" + rest) if prefix else rest, cls, kwargs))
    return out
