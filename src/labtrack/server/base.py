"""The one base handler: authentication, authorization, errors, JSON in and out.

Every labtrack handler derives from :class:`LabtrackHandler` and writes each HTTP verb as::

    @endpoint
    async def get(self) -> None: ...

``endpoint`` is ``tornado.web.authenticated`` around ``jupyter_server.auth.authorized`` (resource
``"labtrack"``, action from the HTTP method: read for GET, write otherwise). On top of that,
``prepare`` authenticates and authorizes every request *before any body byte is read*, because
request bodies are streamed (uploads go straight to disk, JSON bodies are capped).

Errors: anything raised is turned into MLflow's ``{"error_code", "message"}`` JSON by
``write_error`` -- a ``LabtrackException`` with its own status, a tornado ``HTTPError`` with a
code matching its status, anything else as 500 ``INTERNAL_ERROR`` (details only in the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Callable
from http.client import responses
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import orjson
import tornado.web
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado.web import HTTPError

from labtrack.entities.permissions import Principal
from labtrack.entities.wire import float_from_json, float_to_json
from labtrack.errors import LabtrackException, is_database_conflict

if TYPE_CHECKING:
    from labtrack.server.app import LabtrackApp

AUTH_RESOURCE = "labtrack"
JSON_CONTENT_TYPE = "application/json"

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

# Error code for a bare HTTP status (from tornado or jupyter_server, e.g. a failed login).
# The longest request URL served (tornado's default limit for the whole header block); longer
# ones get 414 (up to LabtrackApp.max_header_bytes; beyond it tornado closes the connection).
MAX_URL_BYTES = 64 * 1024

_CODE_FOR_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "ENDPOINT_NOT_FOUND",
    413: "INVALID_PARAMETER_VALUE",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: "TEMPORARILY_UNAVAILABLE",
}


def endpoint(method: F) -> F:
    """Decorate an HTTP verb: authenticated, then authorized on resource ``labtrack``.

    The order matters (jupyter_server checks that the outermost wrapper is tornado's
    ``authenticated``); use this instead of writing the two decorators by hand.
    """
    return cast("F", tornado.web.authenticated(authorized(method)))


# -- JSON ---------------------------------------------------------------------------------------


# The wire module owns the NaN/Infinity encoding; these names keep handler code readable.
metric_value = float_to_json
parse_float = float_from_json


def _sanitize(obj: Any) -> Any:
    if isinstance(obj, float):
        return metric_value(obj)
    if isinstance(obj, dict):
        return {k: _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_sanitize(v) for v in obj]
    return obj


def dumps(obj: Any) -> str:
    """JSON for the wire: always valid JSON; any non-finite float becomes its proto3 string."""
    try:
        return json.dumps(obj, allow_nan=False, separators=(",", ":"))
    except ValueError:
        return json.dumps(_sanitize(obj), allow_nan=False, separators=(",", ":"))


# -- the handler --------------------------------------------------------------------------------


# Deeper than any MLflow request; orjson refuses beyond 1024 levels, json would recurse.
MAX_JSON_DEPTH = 64


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in a request body (``{}`` when empty). Malformed JSON, a non-object,
    nesting deeper than ``MAX_JSON_DEPTH`` or a string that is not Unicode (a lone surrogate
    escape) gives 400 INVALID_PARAMETER_VALUE.

    Decided, as MLflow's server (Python's json) does: a UTF-8 byte order mark is skipped, and
    of duplicate keys the last one wins.
    """
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "recursion" in str(exc):
            raise _too_deep() from None
        # orjson is stricter (NaN literals, integers beyond 64 bits, a BOM): what the json
        # module accepts stays accepted, and its message explains a refusal.
        try:
            data = json.loads(raw)
        except RecursionError:
            raise _too_deep() from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise LabtrackException(
                f"Malformed JSON in request body: {exc}", "INVALID_PARAMETER_VALUE"
            ) from None
        _check_text(data)  # orjson already refused what this looks for
    if not isinstance(data, dict):
        raise LabtrackException("The request body must be a JSON object", "INVALID_PARAMETER_VALUE")
    _check_depth(data)
    return data


def _too_deep() -> LabtrackException:
    return LabtrackException(
        f"Malformed JSON in request body: nested deeper than {MAX_JSON_DEPTH} levels",
        "INVALID_PARAMETER_VALUE",
    )


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [*node.keys(), *node.values()]
    if isinstance(node, list):
        return node
    return []


def _check_depth(data: Any) -> None:
    """Refuse nesting deeper than ``MAX_JSON_DEPTH`` (iteratively: no recursion to exhaust).
    Containers only: a flat list of a million points costs one pass over it."""
    level = [c for c in _children(data) if isinstance(c, (dict, list))]
    depth = 1
    while level:
        depth += 1
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        level = [c for node in level for c in _children(node) if isinstance(c, (dict, list))]


def _check_text(data: Any) -> None:
    """Refuse strings that cannot be stored as UTF-8 (``"\\ud800"`` decodes to a lone
    surrogate, which json accepts and every database rejects later with a 500)."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise LabtrackException(
                    f"Malformed JSON in request body: {node[:50]!r} is not valid Unicode "
                    "(a lone surrogate escape)",
                    "INVALID_PARAMETER_VALUE",
                ) from None
        else:
            stack.extend(_children(node))


def _stopping() -> LabtrackException:
    return LabtrackException("The service is stopping; try again.", "TEMPORARILY_UNAVAILABLE")


@tornado.web.stream_request_body
class LabtrackHandler(ExtensionHandlerMixin, APIHandler):
    """Base of every labtrack handler (see the module docstring)."""

    auth_resource = AUTH_RESOURCE

    # Subclasses accepting raw (non-JSON) bodies, i.e. artifact uploads, set this to False.
    requires_json_body = True

    def initialize(self, name: str = "labtrack", **kwargs: Any) -> None:
        super().initialize(name, **kwargs)
        self._body = bytearray()
        self._body_limit = 0

    @property
    def labtrack(self) -> LabtrackApp:
        return cast("LabtrackApp", self.extensionapp)

    @property
    def username(self) -> str:
        user = self.current_user
        return str(getattr(user, "username", None) or getattr(user, "name", None) or "")

    @property
    def principal(self) -> Principal:
        """The user with their hub groups and admin flag (team mode; solo: the name)."""
        user = self.current_user
        groups = getattr(user, "groups", None) or ()
        return Principal(
            self.username,
            tuple(str(g) for g in groups),
            bool(getattr(user, "is_admin", False)),
        )

    # Team mode: {HTTP method: rule} for a handler class serving its own routes (set by
    # labtrack.server.access on a subclass); checked in ``prepare``, before any body byte.
    access_rules: ClassVar[dict[str, Any] | None] = None

    async def check_access(self) -> None:
        rules = self.access_rules
        if rules is None:
            return
        from labtrack.server.access import check_handler_access

        await check_handler_access(self, rules)

    def body_limit(self) -> int:
        """Largest accepted request body for this request, in bytes."""
        return int(self.labtrack.max_json_body_bytes)

    async def prepare(self) -> None:  # type: ignore[override]
        if len(self.request.uri or "") > MAX_URL_BYTES:
            # Tornado cuts the connection when the header block passes its limit; the server
            # raises that limit (LabtrackApp.max_header_bytes) so that a long URL gets here
            # and is answered 414 in MLflow's error shape.
            self.set_status(414)
            self.set_header("Content-Type", "application/json")
            self.finish(
                dumps(
                    {
                        "error_code": "INVALID_PARAMETER_VALUE",
                        "message": f"The request URL is {len(self.request.uri or '')} bytes "
                        f"long; at most {MAX_URL_BYTES} are accepted. Send large values in "
                        "a POST body.",
                    }
                )
            )
            return
        await super().prepare()
        if self._finished:
            return
        # Authenticate and authorize now, before the (streamed) body is read. The verb's own
        # @endpoint decorators check again; this makes the decision independent of
        # ServerApp.allow_unauthenticated_access.
        user = self.current_user
        if not user:
            raise HTTPError(403, "Authentication required")
        method = (self.request.method or "GET").upper()
        action = HTTP_METHOD_TO_AUTH_ACTION.get(method, "write")
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, user, action, self.auth_resource)
        )
        if not allowed:
            raise HTTPError(
                403, f"User is not authorized to {action} on resource: {self.auth_resource}."
            )
        limit = self.body_limit()
        length = self.request.headers.get("Content-Length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise HTTPError(400, "Invalid Content-Length") from None
            if declared > limit:
                raise HTTPError(413, f"Request body too large (limit {limit} bytes)")
        # A chunked body declares no length. Tornado's own cap would answer a bare 400 with no
        # body, so it is set above ours and ``data_received`` (which sees the body in pieces
        # of at most 64 KiB, whatever the chunk sizes) answers 413 in MLflow's error shape.
        set_max = getattr(self.request.connection, "set_max_body_size", None)
        if callable(set_max):
            set_max(max(limit, int(self.labtrack.max_upload_bytes)))
        self._body_limit = limit
        await self.check_access()

    def data_received(self, chunk: bytes) -> Any:
        """Default body handling: buffer up to ``body_limit()`` bytes."""
        if self._finished:  # already answered 413: drop the rest of the body
            return None
        if len(self._body) + len(chunk) > self._body_limit:
            self.refuse_oversized_body()
            return None
        self._body.extend(chunk)
        return None

    def finish(self, *args: Any, **kwargs: Any) -> Any:
        if not self._finished and self._body_unread():
            # An answer given before the request body was read (a refusal in ``prepare``, a 413
            # while the body streams in, even for a GET) ends the connection: tornado closes it
            # once the answer is written, but decides so after the headers went out, so it does
            # not say so itself. Say it: a keep-alive client (the hub's proxy, a load balancer)
            # would otherwise send its next request on the closing connection, get a reset, and
            # its user a 503.
            self.set_header("Connection", "close")
        return super().finish(*args, **kwargs)

    def _body_unread(self) -> bool:
        """Whether tornado is still to read (part of) the request body: the future it resolves
        when a streamed body has arrived (and before it calls the verb's method)."""
        pending = getattr(self.request, "_body_future", None)
        return pending is not None and not pending.done()

    def refuse_oversized_body(self) -> None:
        """Answer 413 now, while the body still streams in (raising from ``data_received``
        would drop the connection without an answer); tornado closes the connection after."""
        self._body = bytearray()
        self.send_error(
            413,
            exc_info=(
                HTTPError,
                HTTPError(413, f"Request body too large (limit {self._body_limit} bytes)"),
                None,
            ),
        )

    # -- request parsing --------------------------------------------------------------------

    def query_fields(self) -> dict[str, Any]:
        """Fields from the query string: a repeated key gives a list, a single one a string."""
        out: dict[str, Any] = {}
        for key, raw_values in self.request.query_arguments.items():
            values = [self.decode_argument(v, name=key) for v in raw_values]
            out[key] = values[0] if len(values) == 1 else values
        return out

    def json_body_bytes(self) -> bytes:
        """The raw request body, once its Content-Type is ``application/json`` (400 BAD_REQUEST
        otherwise: a text/plain POST would be a CORS "simple request")."""
        ctype = self.request.headers.get("Content-Type", "")
        if ctype.split(";", 1)[0].strip().lower() != JSON_CONTENT_TYPE:
            raise LabtrackException(
                f"Content-Type must be {JSON_CONTENT_TYPE} (got {ctype or 'none'!r})", "BAD_REQUEST"
            )
        return bytes(self._body)

    def json_body(self) -> dict[str, Any]:
        """The JSON object in the request body (``{}`` when empty); see ``parse_json_object``."""
        return parse_json_object(self.json_body_bytes())

    def request_fields(self) -> dict[str, Any]:
        """GET/HEAD: the query string; other methods: the JSON body. A DELETE with an empty
        body and no Content-Type has no fields but its path's (MLflow 3's client sends
        ``logged-models/{id}`` deletes so): a DELETE is never a CORS "simple" request, so
        this opens no cross-site write; a non-empty body must still be JSON."""
        method = (self.request.method or "GET").upper()
        if method in ("GET", "HEAD"):
            return self.query_fields()
        if method == "DELETE" and not bytes(self._body).strip():
            return {}
        return self.json_body()

    # -- responses --------------------------------------------------------------------------

    def write_json(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(dumps({} if obj is None else obj))

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work (database, files) in the extension's thread pool.

        While the server stops, the pool takes no more work and drops what waits in its queue
        (``LabtrackApp.stop_extension``): such a request never ran, and its client gets 503
        TEMPORARILY_UNAVAILABLE, which clients retry (on another replica)."""
        try:
            future = self.labtrack.executor.submit(functools.partial(fn, *args, **kwargs))
        except RuntimeError:  # "cannot schedule new futures after shutdown"
            raise _stopping() from None
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if future.cancelled():
                raise _stopping() from None
            raise

    _VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")

    def allowed_methods(self) -> list[str]:
        """The methods this handler serves (the ``Allow`` header of a 405): the verbs its
        class implements."""
        base = tornado.web.RequestHandler
        return [
            m for m in self._VERBS if getattr(type(self), m.lower()) is not getattr(base, m.lower())
        ]

    # -- the one error path ------------------------------------------------------------------

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, LabtrackException):
            status, payload = exc.http_status, exc.to_json()
        elif isinstance(exc, HTTPError):
            status = exc.status_code
            message = exc.log_message or exc.reason or responses.get(status, "Error")
            if exc.log_message:  # tornado doubles a bare message's "%": undone by formatting
                with contextlib.suppress(TypeError, ValueError):
                    message = exc.log_message % exc.args
            code = _CODE_FOR_STATUS.get(
                status, "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST"
            )
            payload = {"error_code": code, "message": str(message)}
        elif exc is not None and is_database_conflict(exc):
            # Writers kept the database busy past every wait and retry: the request changed
            # nothing and can be sent again (MLflow's client retries 503 with backoff).
            status = 503
            payload = {
                "error_code": "TEMPORARILY_UNAVAILABLE",
                "message": "The store is busy with other writers; nothing was changed. "
                "Retry the request.",
            }
            self.set_header("Retry-After", "1")
        elif exc is None and status_code < 500:
            status = status_code
            payload = {
                "error_code": _CODE_FOR_STATUS.get(status, "BAD_REQUEST"),
                "message": responses.get(status, "Error"),
            }
        else:
            status = 500
            payload = {
                "error_code": "INTERNAL_ERROR",
                "message": "Internal server error; see the Jupyter server log for details.",
            }
        self.set_status(status)
        self.set_header("X-Content-Type-Options", "nosniff")
        if status == 405:  # RFC 9110: a 405 names the methods that are allowed
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.finish(dumps(payload))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, LabtrackException):
            log = self.log.info if value.http_status < 500 else self.log.error
            log(
                "labtrack %s %s -> %s %s: %s",
                self.request.method,
                self.request.path,
                value.http_status,
                value.error_code,
                value.message,
            )
            return
        super().log_exception(typ, value, tb)


class NotFoundHandler(LabtrackHandler):
    """Catch-all under ``labtrack/``: 404 ENDPOINT_NOT_FOUND as JSON (after auth)."""

    def _not_found(self) -> None:
        raise LabtrackException(
            f"No labtrack endpoint {self.request.method} {self.request.path}", "ENDPOINT_NOT_FOUND"
        )

    @endpoint
    def get(self, *args: Any) -> None:
        self._not_found()

    @endpoint
    def head(self, *args: Any) -> None:
        self._not_found()

    @endpoint
    def post(self, *args: Any) -> None:
        self._not_found()

    @endpoint
    def put(self, *args: Any) -> None:
        self._not_found()

    @endpoint
    def patch(self, *args: Any) -> None:
        self._not_found()

    @endpoint
    def delete(self, *args: Any) -> None:
        self._not_found()
