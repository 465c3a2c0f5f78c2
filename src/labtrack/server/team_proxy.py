"""A user's Jupyter server using the team's ``labtrack service``.

When the single-user server's ``LABTRACK_TRACKING_URI`` is the team service's URL (the hub's
``c.Spawner.environment`` sets it), the extension opens no store of its own. Its routes
(``<base_url>labtrack/...``, what the lab extension calls) are forwarded to the service with
the server's own hub token (``$JUPYTERHUB_API_TOKEN``, which the hub issues with the scopes in
``c.Spawner.server_token_scopes``). So the dashboard, sidebar and widgets show the team's store
from the same origin as JupyterLab: no CORS, no second OAuth login in the browser, and the
browser never holds a token for the service. The service sees the server's owner: requests
reach this handler only after the single-user server authenticated its user.

The path under ``labtrack/`` is the same as under the service's prefix (both mount the one
route table), so forwarding is a prefix swap. Request bodies are JSON from the UI and are
buffered (``LabtrackApp.max_json_body_bytes``); answers (artifact downloads included) are
streamed back as they arrive.
"""

from __future__ import annotations

from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httputil import HTTPHeaders

from labtrack.errors import LabtrackException
from labtrack.server.base import LabtrackHandler, endpoint

# Answer headers passed back to the browser (hop-by-hop and cookie headers are not).
_PASSED_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Content-Disposition",
    "Cache-Control",
    "ETag",
    "Last-Modified",
    "X-Content-Type-Options",
)
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


class TeamProxyHandler(LabtrackHandler):
    """``<base_url>labtrack/<path>`` -> ``<team service>/<path>``, with the server's token."""

    requires_json_body = False

    async def _forward(self, path: str | None) -> None:
        app = self.labtrack
        base = app.team_service_url.rstrip("/")
        url = base + (path or "/")
        if self.request.query:
            url += "?" + self.request.query
        method = (self.request.method or "GET").upper()
        headers = {"Accept": self.request.headers.get("Accept", "application/json")}
        token = app.team_service_token
        if token:
            headers["Authorization"] = f"token {token}"
        ctype = self.request.headers.get("Content-Type")
        if ctype:
            headers["Content-Type"] = ctype
        upstream_headers = HTTPHeaders()
        started = False

        def on_header(line: str) -> None:
            if line.startswith("HTTP/"):
                upstream_headers.clear()  # a 100-continue came first
                return
            if line.strip():
                upstream_headers.parse_line(line)

        status_holder: dict[str, int] = {}

        def start() -> None:
            nonlocal started
            started = True
            self.set_status(status_holder.get("code", 200))
            self.clear_header("Content-Type")
            for name in _PASSED_HEADERS:
                value = upstream_headers.get(name)
                if value is not None:
                    self.set_header(name, value)

        def on_chunk(chunk: bytes) -> None:
            if not started:
                start()
            self.write(chunk)
            self.flush()

        def on_status_line(line: str) -> None:
            if line.startswith("HTTP/"):
                parts = line.split(" ", 2)
                if len(parts) >= 2 and parts[1].isdigit():
                    status_holder["code"] = int(parts[1])
            on_header(line)

        request = HTTPRequest(
            url,
            method=method,
            headers=headers,
            body=bytes(self._body) if method in _BODY_METHODS else None,
            allow_nonstandard_methods=True,  # DELETE with a JSON body (MLflow's registry)
            follow_redirects=False,
            decompress_response=False,
            header_callback=on_status_line,
            streaming_callback=on_chunk,
            request_timeout=app.team_proxy_timeout,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError as exc:
            raise LabtrackException(
                f"The team's labtrack service at {base} is unreachable: {exc}",
                "TEMPORARILY_UNAVAILABLE",
            ) from None
        if response.code == 599:
            raise LabtrackException(
                f"The team's labtrack service at {base} did not answer: {response.error}",
                "TEMPORARILY_UNAVAILABLE",
            )
        if not started:
            status_holder["code"] = response.code
            start()
        self.finish()

    @endpoint
    async def get(self, path: str | None = None) -> None:
        await self._forward(path)

    @endpoint
    async def head(self, path: str | None = None) -> None:
        await self._forward(path)

    @endpoint
    async def post(self, path: str | None = None) -> None:
        await self._forward(path)

    @endpoint
    async def put(self, path: str | None = None) -> None:
        await self._forward(path)

    @endpoint
    async def patch(self, path: str | None = None) -> None:
        await self._forward(path)

    @endpoint
    async def delete(self, path: str | None = None) -> None:
        await self._forward(path)


def proxy_handlers(prefix: str) -> list[tuple[str, Any, dict[str, Any]]]:
    """The one handler spec serving everything under ``prefix``."""
    return [(prefix.strip("/") + r"(/.*)?", TeamProxyHandler, {})]
