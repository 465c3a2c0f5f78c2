"""Thin RPC handlers: parse the request, call one function with the service, serialise.

An RPC function has the signature ``(service, request: RpcRequest) -> dict | None`` and runs in
the extension's thread pool (so it may block on the database). It reads its fields with the
typed accessors of :class:`RpcRequest`, which raise ``INVALID_PARAMETER_VALUE`` with MLflow's
wording, and returns the response object (``None`` -> ``{}``). Raise ``LabtrackException`` for
errors. See :mod:`labtrack.server.routes` for how to register one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast, overload

from tornado.web import HTTPError

from labtrack.entities.permissions import Principal
from labtrack.errors import LabtrackException
from labtrack.server.base import (
    LabtrackHandler,
    dumps,
    endpoint,
    parse_float,
    parse_json_object,
)

if TYPE_CHECKING:
    from labtrack.service.tracking import TrackingService


# Bodies larger than this get no ETag: hashing megabytes costs more than a 304 could save.
ETAG_MAX_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class RawJson:
    """A response body an RPC function already encoded as JSON (sent as is)."""

    body: bytes


RpcResult: TypeAlias = "Mapping[str, Any] | RawJson | None"
# An RPC function: the tracking service (registry and logged models hang off it) and the request.
RpcFunc: TypeAlias = Callable[["TrackingService", "RpcRequest"], RpcResult]
# A route that needs no store (version, server info) is called with no service.
BareRpcFunc: TypeAlias = Callable[[None, "RpcRequest"], RpcResult]


DECODES_BODY = "_labtrack_decodes_body"

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def decodes_body(func: F) -> F:
    """Mark an RPC function that may decode ``req.body`` itself (a faster decoder for a hot
    route); ``req.fields`` stays available and is parsed on first use."""
    setattr(func, DECODES_BODY, True)
    return func


_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def _missing(key: str) -> LabtrackException:
    return LabtrackException(
        f"Missing value for required parameter '{key}'. See the API docs for more information "
        "about request parameters.",
        "INVALID_PARAMETER_VALUE",
    )


def _bad(key: str, value: Any, expected: str) -> LabtrackException:
    shown = repr(value)
    if len(shown) > 200:
        shown = shown[:200] + "..."
    return LabtrackException(
        f"Invalid value {shown} for parameter '{key}' supplied: expected {expected}",
        "INVALID_PARAMETER_VALUE",
    )


class RpcRequest:
    """The fields of one request (query string for GET, JSON body otherwise, plus path
    parameters), with typed accessors. ``user`` is the Jupyter user's name.

    ``body`` is the raw JSON body, given only to functions marked ``@decodes_body``; their
    ``fields`` are parsed from it on first use.
    """

    def __init__(
        self,
        fields: Mapping[str, Any] | None = None,
        *,
        user: str = "",
        method: str = "GET",
        path_args: Mapping[str, str] | None = None,
        body: bytes | None = None,
        principal: Principal | None = None,
    ) -> None:
        self.path_args: dict[str, str] = dict(path_args or {})
        # Team mode: the hub user with their groups and admin flag (solo: just the name).
        self.principal = principal or Principal(user)
        self._memo: dict[str, Any] = {}
        self._fields: dict[str, Any] | None = None
        if fields is not None or body is None:
            self._fields = {**(fields or {}), **self.path_args}
        self.body = body
        self.user = user
        self.method = method

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per request: a body decoded for the permission check is the
        body the function then uses (one decode, and the check and the write see the same
        run)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return cast(T, self._memo[key])

    @property
    def fields(self) -> dict[str, Any]:
        if self._fields is None:
            assert self.body is not None
            self._fields = {**parse_json_object(self.body), **self.path_args}
        return self._fields

    def with_fields(self, fields: Mapping[str, Any]) -> RpcRequest:
        """The same request with these fields (a function that decoded the body itself)."""
        return RpcRequest(
            fields,
            user=self.user,
            method=self.method,
            path_args=self.path_args,
            principal=self.principal,
        )

    def __contains__(self, key: str) -> bool:
        return self.fields.get(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        value = self.fields.get(key)
        return default if value is None else value

    def require(self, key: str) -> Any:
        value = self.fields.get(key)
        if value is None or value == "":
            raise _missing(key)
        return value

    @overload
    def get_str(self, key: str, default: str, *, required: bool = False) -> str: ...

    @overload
    def get_str(self, key: str, default: None = None, *, required: bool = False) -> str | None: ...

    def get_str(
        self, key: str, default: str | None = None, *, required: bool = False
    ) -> str | None:
        value = self.fields.get(key)
        if value is None or (required and value == ""):
            if required:
                raise _missing(key)
            return default
        # A number where a string belongs is refused, as MLflow's proto3 parsing refuses it
        # (``"run_id": 31`` would otherwise look up a run named "31" and answer 404).
        if isinstance(value, list):
            if len(value) != 1:
                raise _bad(key, value, "a single string")
            value = value[0]
        if not isinstance(value, str):
            raise _bad(key, value, "a string")
        return value

    def str_required(self, key: str) -> str:
        value = self.get_str(key, required=True)
        assert value is not None
        return value

    @overload
    def get_int(self, key: str, default: int, *, required: bool = False) -> int: ...

    @overload
    def get_int(self, key: str, default: None = None, *, required: bool = False) -> int | None: ...

    def get_int(
        self, key: str, default: int | None = None, *, required: bool = False
    ) -> int | None:
        """An integer from a JSON number or a numeric string (int64 may arrive quoted). An
        empty string is no integer (400, as MLflow's proto parsing says), not the default."""
        value = self.fields.get(key)
        if value is None or (required and value == ""):
            if required:
                raise _missing(key)
            return default
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool):
            raise _bad(key, value, "an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise _bad(key, value, "an integer")

    def get_float(
        self, key: str, default: float | None = None, *, required: bool = False
    ) -> float | None:
        """A double; ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` are accepted."""
        value = self.fields.get(key)
        if value is None or value == "":
            if required:
                raise _missing(key)
            return default
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        return parse_float(value, key)

    def get_bool(self, key: str, default: bool = False) -> bool:
        """A boolean from JSON ``true``/``false`` or the query strings ``true``/``false``."""
        value = self.fields.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _bad(key, value, "a boolean")

    def get_list(self, key: str) -> list[Any]:
        """A repeated field: a JSON array, repeated query keys, or one value -> ``[value]``."""
        value = self.fields.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, (str, int, float, dict)):
            return [value]
        raise _bad(key, value, "a list")

    def get_objects(self, key: str) -> list[dict[str, Any]]:
        """A repeated message field (e.g. ``tags``): a list of JSON objects."""
        items = self.get_list(key)
        for item in items:
            if not isinstance(item, dict):
                raise _bad(key, item, "a list of objects")
        return items

    def get_key_values(self, key: str) -> list[tuple[str, str]]:
        """A repeated key/value message (``tags``, ``params``) by MLflow's rule: objects with a
        string ``key`` and a string ``value`` (missing or null is ``""``; a number is refused,
        as MLflow's proto3 parsing refuses it). Pairs in request order: duplicates are for the
        service to judge."""
        pairs = []
        for item in self.get_objects(key):
            name = item.get("key")
            if not isinstance(name, str):
                raise LabtrackException(
                    f"Every entry of '{key}' needs a string 'key'.", "INVALID_PARAMETER_VALUE"
                )
            value = item.get("value")
            if value is not None and not isinstance(value, str):
                raise _bad(f"{key}.value", value, "a string")
            pairs.append((name, "" if value is None else value))
        return pairs

    def get_enum(self, key: str, choices: Iterable[str], default: str | None = None) -> str | None:
        value = self.get_str(key, default)
        if value is None:
            return None
        allowed = list(choices)
        if value not in allowed:
            raise _bad(key, value, "one of " + ", ".join(allowed))
        return value

    @overload
    def run_id(self) -> str: ...

    @overload
    def run_id(self, *, required: bool) -> str | None: ...

    def run_id(self, *, required: bool = True) -> str | None:
        """``run_id``, or the legacy ``run_uuid`` the client sends alongside it."""
        value = self.get_str("run_id") or self.get_str("run_uuid")
        if not value and required:
            raise _missing("run_id")
        return value


class RpcHandler(LabtrackHandler):
    """One handler class for every RPC route; ``rpcs`` maps HTTP method -> (function,
    needs_service). Registered by :func:`labtrack.server.routes.build_handlers`."""

    def initialize(  # type: ignore[override]
        self,
        name: str = "labtrack",
        rpcs: Mapping[str, tuple[RpcFunc | BareRpcFunc, bool]] | None = None,
    ) -> None:
        super().initialize(name)
        self.rpcs = dict(rpcs or {})

    async def _dispatch(self, path_kwargs: Mapping[str, str]) -> None:
        method = (self.request.method or "GET").upper()
        entry = self.rpcs.get(method)
        if entry is None:
            raise HTTPError(405, f"Method {method} is not supported on {self.request.path}")
        func, needs_service = entry
        user = self.username
        principal = self.principal
        app = self.labtrack
        raw_body = getattr(func, DECODES_BODY, False) and method not in ("GET", "HEAD")

        # Parsing the body and encoding the answer happen in the worker too: a 1,000-metric
        # batch or a 25,000-point history page would otherwise hold up the event loop.
        def call() -> bytes:
            if raw_body:
                request = RpcRequest(
                    user=user,
                    method=method,
                    path_args=path_kwargs,
                    body=self.json_body_bytes(),
                    principal=principal,
                )
            else:
                request = RpcRequest(
                    self.request_fields(),
                    user=user,
                    method=method,
                    path_args=path_kwargs,
                    principal=principal,
                )
            if needs_service:
                result = cast(RpcFunc, func)(app.get_service(), request)
            else:  # declared at its route as needing none
                result = cast(BareRpcFunc, func)(None, request)
            if isinstance(result, RawJson):
                return result.body
            return dumps({} if result is None else result).encode()

        body = await self.run_blocking(call)
        self._etag_worthwhile = len(body) <= ETAG_MAX_BYTES
        self.set_status(200)
        self.finish(body)

    _etag_worthwhile = True

    def allowed_methods(self) -> list[str]:
        return sorted(self.rpcs)

    def compute_etag(self) -> str | None:
        return super().compute_etag() if self._etag_worthwhile else None

    @endpoint
    async def get(self, **kwargs: str) -> None:
        await self._dispatch(kwargs)

    @endpoint
    async def post(self, **kwargs: str) -> None:
        await self._dispatch(kwargs)

    @endpoint
    async def put(self, **kwargs: str) -> None:
        await self._dispatch(kwargs)

    @endpoint
    async def patch(self, **kwargs: str) -> None:
        await self._dispatch(kwargs)

    @endpoint
    async def delete(self, **kwargs: str) -> None:
        await self._dispatch(kwargs)
