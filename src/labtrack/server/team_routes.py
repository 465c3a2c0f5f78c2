"""Team mode (``labtrack service``): a run's user is the authenticated user.

In solo mode a client may name the run's user (MLflow clients send ``user_id`` and the
``mlflow.user`` tag from the local account name) and the Jupyter user is the fallback. On a
team service anyone could log runs under a colleague's name that way, so here:

- ``runs/create``: ``user_id`` and the ``mlflow.user`` tag are set to the authenticated user,
  whatever the client sent;
- ``runs/set-tag`` and ``runs/log-batch``: setting ``mlflow.user`` to anything but the value
  it holds is refused (403 PERMISSION_DENIED): not another name, and not one's own name on a
  colleague's run (that would take the run over); ``runs/delete-tag`` of ``mlflow.user`` too;
- logged models the same (MLflow 3's clients tag them with the local account's name too):
  ``mlflow.user`` is the authenticated user on create; setting it to anything but the value it
  holds, and deleting it (``DELETE logged-models/{id}/tags/mlflow.user``), are refused;
- ``whoami`` says ``team: true``: runs here belong to the authenticated user, so the dashboard
  offers its "mine / everyone" filter.

The rules wrap the RPC functions of the route table, so the handlers themselves stay the same
in both modes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from labtrack.entities import endpoints as ep
from labtrack.entities import system_tags
from labtrack.errors import LabtrackException
from labtrack.server.routes import Route
from labtrack.server.rpc import BareRpcFunc, RpcFunc, RpcRequest


def _denied(message: str) -> LabtrackException:
    return LabtrackException(message, "PERMISSION_DENIED")


def _authenticated(req: RpcRequest) -> str:
    if not req.user:  # every team route is authenticated; this is a second guard
        raise LabtrackException("Authentication required", "UNAUTHENTICATED")
    return req.user


def _user_tags_in(items: Iterable[Any]) -> list[Any]:
    return [
        item.get("value")
        for item in items
        if isinstance(item, Mapping) and item.get("key") == system_tags.USER
    ]


def _with_own_user_tag(req: RpcRequest, user: str) -> dict[str, Any]:
    """The request's fields with any ``mlflow.user`` tag replaced by ``user``'s."""
    fields = dict(req.fields)
    tags = [
        t
        for t in req.get_objects("tags")
        if not (isinstance(t, Mapping) and t.get("key") == system_tags.USER)
    ]
    fields["tags"] = [*tags, {"key": system_tags.USER, "value": user}]
    return fields


def _create_run(func: RpcFunc) -> RpcFunc:
    @functools.wraps(func)
    def create_run(service: Any, req: RpcRequest) -> Any:
        user = _authenticated(req)
        fields = _with_own_user_tag(req, user)
        fields["user_id"] = user
        return func(service, req.with_fields(fields))

    return create_run


def _create_logged_model(func: RpcFunc) -> RpcFunc:
    """MLflow 3's clients tag a logged model with the local account's name, as a run."""

    @functools.wraps(func)
    def create_logged_model(service: Any, req: RpcRequest) -> Any:
        return func(service, req.with_fields(_with_own_user_tag(req, _authenticated(req))))

    return create_logged_model


def _check_user_tag(
    values: Sequence[Any], user: str, held: Callable[[], str | None], what: str
) -> None:
    """``mlflow.user`` names who created the run or logged model: a request may only repeat
    the value it holds (an object without one may get its caller's name). Anything else,
    one's own name on a colleague's object included, is refused."""
    if not values:
        return
    current = held()
    allowed = user if current is None else current
    if any(value != allowed for value in values):
        raise _denied(
            f"The tag {system_tags.USER} names the {what}'s user ({allowed!r}): it cannot change."
        )


def _run_user(service: Any, req: RpcRequest) -> str | None:
    return cast("str | None", service.get_run(req.run_id()).data.tags.get(system_tags.USER))


def _model_user(service: Any, req: RpcRequest) -> str | None:
    model = service.logged_models.get_logged_model(req.str_required("model_id"))
    return cast("str | None", model.tags.get(system_tags.USER))


def _set_tags(func: RpcFunc) -> RpcFunc:
    @functools.wraps(func)
    def set_tags(service: Any, req: RpcRequest) -> Any:
        user = _authenticated(req)
        values = _user_tags_in(req.get_list("tags"))
        _check_user_tag(values, user, lambda: _model_user(service, req), "logged model")
        return func(service, req)

    return set_tags


def _set_tag(func: RpcFunc) -> RpcFunc:
    @functools.wraps(func)
    def set_tag(service: Any, req: RpcRequest) -> Any:
        user = _authenticated(req)
        if req.get_str("key") == system_tags.USER:
            values = [req.get_str("value")]
            _check_user_tag(values, user, lambda: _run_user(service, req), "run")
        return func(service, req)

    return set_tag


def _user_tag_stays(key_field: str, owner: str) -> Callable[[RpcFunc], RpcFunc]:
    """A tag delete that refuses ``mlflow.user``: it names who the run or model belongs to."""

    def wrap(func: RpcFunc) -> RpcFunc:
        @functools.wraps(func)
        def delete_tag(service: Any, req: RpcRequest) -> Any:
            _authenticated(req)
            if req.get_str(key_field) == system_tags.USER:
                raise _denied(f"The tag {system_tags.USER} names the {owner}'s user: it stays.")
            return func(service, req)

        return delete_tag

    return wrap


_delete_tag = _user_tag_stays("key", "run")
_delete_model_tag = _user_tag_stays("tag_key", "logged model")


def _log_batch(func: RpcFunc) -> RpcFunc:
    @functools.wraps(func)
    def log_batch(service: Any, req: RpcRequest) -> Any:
        user = _authenticated(req)
        body = req.body
        # The hot path: a metric batch names no mlflow.user tag, so its body is not parsed
        # twice. A JSON escape could spell the key otherwise; such bodies are parsed.
        if body is None or b"mlflow.user" in body or b"\\u" in body:
            values = _user_tags_in(req.get_list("tags"))
            _check_user_tag(values, user, lambda: _run_user(service, req), "run")
        return func(service, req)

    return log_batch


def _whoami(func: BareRpcFunc) -> BareRpcFunc:
    @functools.wraps(func)
    def whoami(service: None, req: RpcRequest) -> Any:
        answer = func(service, req)
        base = dict(answer) if isinstance(answer, Mapping) else {}
        return {**base, "user": _authenticated(req), "team": True}

    return whoami


# Routes served without the tracking service (their function takes None).
_BARE_RULES = {(ep.LABTRACK_WHOAMI.method, ep.LABTRACK_WHOAMI.path): _whoami}

_RULES = {
    (e.method, e.path): rule
    for e, rule in (
        (ep.RUNS_CREATE, _create_run),
        (ep.RUNS_SET_TAG, _set_tag),
        (ep.RUNS_DELETE_TAG, _delete_tag),
        (ep.RUNS_LOG_BATCH, _log_batch),
        (ep.LOGGED_MODELS_CREATE, _create_logged_model),
        (ep.LOGGED_MODELS_SET_TAGS, _set_tags),
        (ep.LOGGED_MODELS_DELETE_TAG, _delete_model_tag),
    )
}


# Routes that run the user's code as the server's account: the user's own Jupyter server only.
_SOLO_ONLY = frozenset({ep.LABTRACK_PROJECTS_DESCRIBE.path, ep.LABTRACK_PROJECTS_RUN.path})


def team_routes(routes: Sequence[Route]) -> list[Route]:
    """The route table with the team rules applied (a rule whose route is missing fails
    loudly: the rule would silently stop protecting anything)."""
    out = []
    found = set()
    for route in routes:
        if route.path in _SOLO_ONLY:
            continue
        bare_rule = _BARE_RULES.get((route.method, route.path))
        if bare_rule is not None and route.rpc is not None and not route.needs_service:
            found.add((route.method, route.path))
            bare = cast("BareRpcFunc", route.rpc)
            route = Route(route.method, route.path, rpc=bare_rule(bare), needs_service=False)
        rule = _RULES.get((route.method, route.path))
        if rule is not None and route.rpc is not None and route.needs_service:
            found.add((route.method, route.path))
            # A route that needs the service has a function taking it (routes.serve).
            func = cast("RpcFunc", route.rpc)
            route = Route(route.method, route.path, rpc=rule(func), needs_service=True)
        out.append(route)
    missing = (set(_RULES) | set(_BARE_RULES)) - found
    if missing:
        raise RuntimeError(f"team rules for routes that are not RPC routes: {sorted(missing)}")
    return out
