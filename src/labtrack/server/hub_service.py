"""``labtrack service``: one labtrack per team, as a JupyterHub service.

The same handlers as the Jupyter server extension, served by a jupyter_server ``ServerApp``
that runs nothing else: no contents, kernels, terminals or other extensions (its
``default_services`` is empty and only the ``labtrack`` extension is loaded). Its
``base_url`` is the hub's service prefix (``/services/labtrack/``) and labtrack's routes are
mounted at that prefix itself (``LabtrackApp.route_prefix = ""``), so the MLflow tracking URI
is the service's URL: ``MLFLOW_TRACKING_URI=<hub>/services/labtrack``.

Who is who is the hub's decision:

- :class:`HubIdentityProvider` authenticates hub API tokens (``Authorization: token|Bearer``,
  checked against the hub's API by jupyterhub's ``HubOAuth``) and, for browsers, the cookie set
  by the OAuth flow (``<prefix>oauth_login`` starts it, ``<prefix>oauth_callback`` finishes
  it). The hub's answer for a token is kept ``HubIdentityProvider.token_cache_seconds``
  (default 30): a token revoked on the hub, or a user removed from the team's group, keeps
  working that long on each replica. Each replica asks the hub about once per token (and
  OAuth session) per window (requests arriving while an expired entry is re-checked each ask):
  the team benchmark's load, 16 clients on 2 tokens against 2 replicas, made 0.37 hub
  requests/s at 30 s (``benchmarks/bench_team.py`` prints the count).
- :class:`HubAuthorizer` admits a user only when the hub granted their token (or OAuth
  session) an access scope of this service (``access:services!service=<name>`` or
  ``access:services``); anyone else gets 403 in MLflow's error shape. Only labtrack's own
  resource is ever authorized.
- In team mode a run's user is the authenticated user (:mod:`labtrack.server.team_routes`).

Environment (set by the hub for a managed service; set them yourself for an external one):
``JUPYTERHUB_SERVICE_URL`` (where to listen), ``JUPYTERHUB_SERVICE_PREFIX``,
``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_SERVICE_NAME``, and for OAuth
``JUPYTERHUB_CLIENT_ID``, ``JUPYTERHUB_OAUTH_CALLBACK_URL``. The store comes from
``LABTRACK_STORE_URI`` (or ``LABTRACK_TRACKING_URI``), artifacts from
``LABTRACK_ARTIFACT_ROOT`` (e.g. ``s3://bucket/prefix``; the endpoint from
``MLFLOW_S3_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL``, credentials from ``AWS_*``).
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from jupyter_server.auth import Authorizer, IdentityProvider, User
from jupyter_server.serverapp import ServerApp
from tornado import web
from traitlets import Instance, Integer, TraitError, default, validate

from labtrack import config
from labtrack.server.base import AUTH_RESOURCE

ACCESS_ALL_SERVICES = "access:services"


class HubUser(User):
    """A hub user (or service) as the hub described it (``hub_model``: name, groups, scopes,
    admin, kind)."""

    hub_model: dict[str, Any]

    def __init__(self, hub_model: dict[str, Any]) -> None:
        self.hub_model = hub_model
        super().__init__(username=str(hub_model["name"]))

    @property
    def scopes(self) -> set[str]:
        return set(self.hub_model.get("scopes") or ())

    @property
    def groups(self) -> list[str]:
        return list(self.hub_model.get("groups") or ())

    @property
    def is_admin(self) -> bool:
        return bool(self.hub_model.get("admin"))


def _hub_oauth_class() -> type:
    from labtrack.server.hub_oauth import ServiceHubOAuth

    return ServiceHubOAuth


class HubIdentityProvider(IdentityProvider):
    """Identifies requests with the hub: a hub token in ``Authorization`` (``token`` or
    ``Bearer``), or the cookie of this service's OAuth session. ``?token=`` in URLs is not
    accepted (unless ``HubAuth.allow_token_in_url``): tokens in URLs end up in logs."""

    hub_auth = Instance("jupyterhub.services.auth.HubOAuth")

    token_cache_seconds = Integer(
        30,
        config=True,
        help="""How long the hub's answer about a token (or an OAuth session) is reused, in
        seconds: a token revoked on the hub, a user removed from the team's group or a hub
        admin flag taken away still works that long on each replica. Each replica asks the
        hub once per token per window (``GET /hub/api/user``). At least 1. Replaces
        jupyterhub's ``HubAuth.cache_max_age`` (300) for this service.""",
    )

    @validate("token_cache_seconds")
    def _valid_cache_seconds(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:  # jupyterhub's cache takes 0 for "keep forever"
            raise TraitError("token_cache_seconds must be at least 1")
        return value

    @default("hub_auth")
    def _default_hub_auth(self) -> Any:
        return _hub_oauth_class()(parent=self, cache_max_age=self.token_cache_seconds)

    # jupyter_server's own token login is off: the hub is the only way in.
    @property
    def token(self) -> str:  # type: ignore[override]
        return ""

    token_generated = False

    @property
    def auth_enabled(self) -> bool:
        return True

    @property
    def login_available(self) -> bool:
        return False

    async def get_user(self, handler: web.RequestHandler) -> User | None:
        if hasattr(handler, "_labtrack_hub_user"):
            cached: HubUser | None = handler._labtrack_hub_user
            return cached
        model = await self.hub_auth.get_user(handler, sync=False)
        user = HubUser(model) if model else None
        handler._labtrack_hub_user = user  # type: ignore[attr-defined]
        return user

    def is_token_authenticated(self, handler: web.RequestHandler) -> bool:
        # Set by HubAuth when the Authorization header (not a cookie) identified the user:
        # such requests skip the XSRF check, cookie-authenticated ones do not.
        return bool(getattr(handler, "_token_authenticated", False))

    def get_handlers(self) -> list[tuple[str, object]]:
        from labtrack.server.hub_oauth import oauth_handlers

        return oauth_handlers(self.hub_auth)  # type: ignore[return-value]

    def validate_security(self, app: Any, ssl_options: Any = None) -> None:
        # The base class warns about a missing token/password: the hub authenticates here.
        return


def has_access(user: Any, hub_auth: Any) -> bool:
    """Whether the hub granted ``user`` access to this service (one of ``access_scopes``, or
    ``access:services`` for every service)."""
    if not isinstance(user, HubUser):
        return False
    required = set(hub_auth.access_scopes) | {ACCESS_ALL_SERVICES}
    return bool(hub_auth.check_scopes(required, user.hub_model))


class HubAuthorizer(Authorizer):
    """Admits hub users with an access scope of this service, on labtrack's resource only
    (the ``ServerApp`` serves nothing else; anything else asked for is refused)."""

    def is_authorized(
        self, handler: web.RequestHandler, user: User, action: str, resource: str
    ) -> bool:
        if resource != AUTH_RESOURCE:
            return False
        idp = self.identity_provider
        hub_auth = getattr(idp, "hub_auth", None)
        if hub_auth is None:  # pragma: no cover - configured together
            return False
        allowed = has_access(user, hub_auth)
        if not allowed:
            self.log.info("labtrack: %s has no access scope of this service", user.username)
        return allowed


class LabtrackServiceApp(ServerApp):
    """A jupyter_server serving labtrack's routes and nothing else."""

    name = "labtrack-service"
    description = "labtrack as a JupyterHub service"
    # No contents, files, kernels, terminals...: only the identity provider's handlers (the
    # OAuth callback) and jupyter_server's harmless base handlers, under the labtrack routes.
    default_services = ()  # type: ignore[assignment]

    def _handle_sigint(self, sig: Any, frame: Any) -> None:
        # The hub stops a managed service with SIGINT: stop now, no interactive prompt (as
        # jupyterhub-singleuser does).
        self._signal_stop(sig, frame)

    def init_server_extensions(self) -> None:
        # Exactly one extension, whatever the machine's Jupyter config enables.
        self.jpserver_extensions = {"labtrack": True}
        super().init_server_extensions()


def _bind_from_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SystemExit(f"labtrack service: cannot listen on {url!r} (want http://host:port)")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def service_argv(environ: dict[str, str] | None = None) -> list[str]:
    """The ServerApp command line for this service, from the hub's environment."""
    env = os.environ if environ is None else environ
    url = env.get(config.HUB_SERVICE_URL_ENV)
    if not url:
        raise SystemExit(
            f"labtrack service: ${config.HUB_SERVICE_URL_ENV} is not set (the hub sets it for a "
            "managed service; set it for an external one, e.g. http://127.0.0.1:10101)"
        )
    if not env.get(config.HUB_API_TOKEN_ENV):
        raise SystemExit(f"labtrack service: ${config.HUB_API_TOKEN_ENV} is not set")
    host, port = _bind_from_url(url)
    prefix = env.get(config.HUB_SERVICE_PREFIX_ENV) or "/services/labtrack/"
    if not prefix.endswith("/"):
        prefix += "/"
    argv = [
        f"--ServerApp.ip={host}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={prefix}",
        "--ServerApp.open_browser=False",
        "--ServerApp.allow_root=True",
        "--ServerApp.allow_unauthenticated_access=False",
        "--ServerApp.identity_provider_class=labtrack.server.hub_service.HubIdentityProvider",
        "--ServerApp.authorizer_class=labtrack.server.hub_service.HubAuthorizer",
        "--ServerApp.trust_xheaders=True",
        "--LabtrackApp.route_prefix=",
        "--LabtrackApp.team_mode=True",
        "--LabtrackApp.export_environment=False",
    ]
    store = env.get(config.STORE_URI_ENV) or env.get(config.TRACKING_URI_ENV)
    if store and not config.is_http_uri(store):
        argv.append(f"--LabtrackApp.store_uri={store}")
    root = env.get(config.ARTIFACT_ROOT_ENV)
    if root:
        argv.append(f"--LabtrackApp.artifact_root={root}")
    return argv


def main(extra_argv: list[str] | None = None) -> int:
    """Run the service until it is stopped (the hub stops a managed service with SIGTERM)."""
    argv = service_argv() + list(extra_argv or [])
    # The service serves no notebooks: run it from a folder of its own, not the hub's.
    os.environ.setdefault("JUPYTER_RUNTIME_DIR", os.path.join(config.labtrack_home(), "runtime"))
    LabtrackServiceApp.launch_instance(argv=argv)
    # Stopped: nothing is served any more and the store is closed. The interpreter's teardown
    # would now walk every object jupyter_server, SQLAlchemy and numpy made (~250,000), which
    # took 2.5-3 s of a loaded machine between SIGTERM and exit. Frozen objects are skipped;
    # atexit handlers still run (worker threads finishing a request are joined).
    gc.freeze()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))


__all__ = [
    "HubAuthorizer",
    "HubIdentityProvider",
    "HubUser",
    "LabtrackServiceApp",
    "has_access",
    "main",
    "service_argv",
]
