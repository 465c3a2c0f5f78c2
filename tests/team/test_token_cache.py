"""How long a revoked hub token keeps working: ``HubIdentityProvider.token_cache_seconds``.

The service keeps the hub's answer about a token for that many seconds (jupyterhub's
``HubAuth.cache_max_age`` is 300). Without a hub: the default, configuration, the floor. With
the real hub: a replica configured with a 3 s window keeps serving a just-revoked token until the
window ends, then refuses it; and the hub is asked once per token per window, whatever the
number of requests (counted in the hub's own request log).
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
from traitlets import TraitError
from traitlets.config import Config

from hub_fixtures import Hub, Replica, request
from labtrack.server.hub_service import HubIdentityProvider

MLFLOW = "/api/2.0/mlflow"
WINDOW = 3


def test_the_window_is_30_seconds_and_configurable() -> None:
    assert HubIdentityProvider().hub_auth.cache_max_age == 30
    config = Config()
    config.HubIdentityProvider.token_cache_seconds = 5
    idp = HubIdentityProvider(config=config)
    assert idp.hub_auth.cache_max_age == 5
    assert idp.hub_auth.cache.max_age == 5
    # 0 is jupyterhub's "keep forever": refused.
    with pytest.raises(TraitError):
        HubIdentityProvider(token_cache_seconds=0)


def _hub_user_calls(hub: Hub, user: str) -> int:
    """Requests the hub logged for ``GET /hub/api/user`` with ``user``'s token (what a service
    sends to identify a token)."""
    log = (hub.folder / "hub.log").read_text(errors="replace")
    return len(re.findall(rf"GET /hub/api/user \({re.escape(user)}@", log))


def _calls_settle(hub: Hub, user: str) -> int:
    time.sleep(0.5)  # the hub writes its log line after answering
    return _hub_user_calls(hub, user)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_revoked_token_works_until_the_window_ends(hub: Hub, tmp_path: Path) -> None:
    user = f"tc-{uuid.uuid4().hex[:6]}"
    hub.hub_api("POST", "users", {"usernames": [user]})
    hub.hub_api("POST", "groups/team/users", {"users": [user]})
    made = hub.hub_api("POST", f"users/{user}/tokens", {"note": "token cache"})
    token, token_id = str(made["token"]), str(made["id"])
    with Replica(hub, tmp_path, (f"--HubIdentityProvider.token_cache_seconds={WINDOW}",)) as rep:
        url = rep.url + MLFLOW + "/experiments/get?experiment_id=0"
        before = _hub_user_calls(hub, user)
        started = time.monotonic()
        for _ in range(20):
            status, body, _ = request("GET", url, token)
            assert status == 200, body
        within = time.monotonic() - started < WINDOW
        calls = _calls_settle(hub, user) - before
        if within:  # 20 requests in one window: one question to the hub
            assert calls == 1, calls
        print(f"hub calls for 20 requests with one token: {calls}")

        hub.hub_api("DELETE", f"users/{user}/tokens/{token_id}")
        status, body, _ = request("GET", url, token)
        revoked_at = time.monotonic()
        # Inside the window the revoked token still works (what the setting trades off).
        if revoked_at - started < WINDOW - 0.5:
            assert status == 200, body
        time.sleep(max(0.0, started + WINDOW + 0.5 - time.monotonic()))
        status, body, _ = request("GET", url, token)
        assert status == 403, body
        assert body["error_code"] == "PERMISSION_DENIED"
