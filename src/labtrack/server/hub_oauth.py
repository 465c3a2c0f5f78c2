"""The browser side of ``labtrack service``: JupyterHub OAuth.

``<prefix>oauth_login?next=<path>`` starts the flow (state cookie, PKCE) and sends the browser to
the hub; the hub sends it back to ``<prefix>oauth_callback``, which stores the user's OAuth token
in a cookie scoped to the service prefix (jupyterhub's ``HubOAuthCallbackHandler``). Later
requests carrying that cookie are identified by :class:`~labtrack.server.hub_service.
HubIdentityProvider`; cookie-authenticated writes need jupyter_server's XSRF token.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from tornado import web
from tornado.httputil import url_concat


class ServiceHubOAuth(HubOAuth):
    """jupyterhub's ``HubOAuth`` minus its XSRF patch.

    ``HubOAuth`` replaces ``check_xsrf_cookie`` on jupyter_server's handler class with a check
    that runs before the user is known (tornado calls it before ``prepare``), which refuses
    every token-authenticated POST. jupyter_server 2 already checks XSRF itself once the user
    is identified: token-authenticated requests skip it, cookie-authenticated writes must
    carry the ``_xsrf`` token.
    """

    def _patch_xsrf(self, handler: Any) -> None:
        return


class OAuthCallbackHandler(HubOAuthCallbackHandler):
    """Finishes the OAuth flow (jupyterhub's handler, given this service's ``HubOAuth``)."""

    def initialize(self, hub_auth: Any) -> None:
        self.hub_auth = hub_auth

    @allow_unauthenticated
    async def get(self) -> None:
        await super().get()


class OAuthLoginHandler(web.RequestHandler):
    """Starts the OAuth flow; ``next`` must be a path under the service prefix (no open
    redirect)."""

    def initialize(self, hub_auth: Any) -> None:
        self.hub_auth = hub_auth

    @allow_unauthenticated
    def get(self) -> None:
        base = self.hub_auth.base_url
        next_url = self.get_argument("next", base)
        if not next_url.startswith(base) or next_url.startswith("//") or "\\" in next_url:
            next_url = base
        params = {}
        code_verifier = None
        if self.hub_auth.pkce_enabled:
            code_verifier, challenge, method = self.hub_auth.generate_pkce_code_challenge()
            params["code_challenge"] = challenge
            params["code_challenge_method"] = method
        state = self.hub_auth.set_state_cookie(self, next_url=next_url, code_verifier=code_verifier)
        params["state"] = state
        self.redirect(url_concat(self.hub_auth.login_url, params))


class LogoutHandler(web.RequestHandler):
    """Forgets this service's OAuth cookie, then logs out of the hub."""

    def initialize(self, hub_auth: Any) -> None:
        self.hub_auth = hub_auth

    @allow_unauthenticated
    def get(self) -> None:
        self.hub_auth.clear_cookie(self)
        self.redirect(self.hub_auth.hub_host + self.hub_auth.hub_prefix + "logout")


def oauth_handlers(hub_auth: Any) -> list[tuple[str, type, dict[str, Any]]]:
    """Handler specs relative to the service prefix."""
    kwargs = {"hub_auth": hub_auth}
    return [
        (r"/oauth_login", OAuthLoginHandler, kwargs),
        (r"/oauth_callback", OAuthCallbackHandler, kwargs),
        (r"/logout", LogoutHandler, kwargs),
    ]
