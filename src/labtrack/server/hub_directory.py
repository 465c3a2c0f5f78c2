"""The hub's users and groups, as ``labtrack service`` may see them: the hub's REST API with
the service's own token (``$JUPYTERHUB_API_TOKEN``, ``$JUPYTERHUB_API_URL``).

Scopes the service's role needs (least privilege; names and memberships, nothing else):

- ``read:users:groups``: a user's groups (their effective level, ``users/permissions/get``);
- ``list:users``: user names (suggestions while typing a grantee; includes ``read:users:name``,
  which also lets the service look one user up);
- ``list:groups``: group names (suggestions; includes ``read:groups:name``).

Without ``list:users``/``list:groups`` the suggestions are empty and a name cannot be checked
(:class:`HubUnavailable`); the rest of the service works.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from labtrack import config
from labtrack.entities.permissions import Principal

TIMEOUT = 10
# The most users and groups one suggestion request returns (of each).
SUGGESTIONS = 10
# Groups are filtered here (the hub's group listing has no name filter): read at most this many.
MAX_GROUPS = 2_000
_PAGINATION = "application/jupyterhub-pagination+json"


class HubUnavailable(Exception):
    """The hub did not answer, or refused the service (a scope missing from its role)."""


def _get(path: str, query: dict[str, Any] | None = None) -> Any:
    """``GET <hub api>/<path>``; ``None`` for 404; :class:`HubUnavailable` for anything else
    that is not an answer."""
    api_url = os.environ.get(config.HUB_API_URL_ENV)
    token = os.environ.get(config.HUB_API_TOKEN_ENV)
    if not api_url or not token:
        raise HubUnavailable("not running as a hub service")
    url = api_url.rstrip("/") + "/" + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    if not url.startswith(("http://", "https://")):
        raise HubUnavailable(f"not an http(s) hub API URL: {api_url!r}")
    request = urllib.request.Request(  # noqa: S310 - an http(s) URL, checked above
        url, headers={"Authorization": f"token {token}", "Accept": _PAGINATION}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as resp:  # noqa: S310
            return json.loads(resp.read())
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise HubUnavailable(f"the hub answered {err.code} for {path}") from err
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise HubUnavailable(f"the hub did not answer: {err}") from err


def _quoted(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def user(name: str) -> Principal | None:
    """A hub user with their groups and admin flag; ``None`` if the hub has no such user."""
    model = _get("users/" + _quoted(name))
    if not isinstance(model, dict):
        return None
    groups = model.get("groups")
    return Principal(
        str(model.get("name", name)), tuple(str(g) for g in groups or ()), bool(model.get("admin"))
    )


def group_exists(name: str) -> bool:
    return isinstance(_get("groups/" + _quoted(name)), dict)


def exists(kind: str, name: str) -> bool:
    """Whether the hub knows a user (``kind`` ``user``) or a group of that name."""
    return user(name) is not None if kind == "user" else group_exists(name)


def _items(answer: Any) -> list[dict[str, Any]]:
    items = answer.get("items") if isinstance(answer, dict) else answer
    return [i for i in items or () if isinstance(i, dict) and isinstance(i.get("name"), str)]


def _rank(names: list[str], typed: str) -> list[str]:
    """Names containing ``typed`` (case-insensitive), those starting with it first."""
    low = typed.lower()
    hits = [n for n in names if low in n.lower()]
    return sorted(hits, key=lambda n: (not n.lower().startswith(low), n.lower()))[:SUGGESTIONS]


def suggest_users(typed: str) -> list[str]:
    answer = _get("users", {"name_filter": typed, "limit": 50} if typed else {"limit": 50})
    return _rank([str(i["name"]) for i in _items(answer)], typed)


def suggest_groups(typed: str) -> list[str]:
    names: list[str] = []
    offset = 0
    while len(names) < MAX_GROUPS:
        answer = _get("groups", {"offset": offset, "limit": 200})
        page = [str(i["name"]) for i in _items(answer)]
        names.extend(page)
        total = (answer.get("_pagination") or {}).get("total") if isinstance(answer, dict) else None
        offset += len(page)
        if not page or not isinstance(total, int) or offset >= total:
            break
    return _rank(names, typed)


__all__ = ["HubUnavailable", "exists", "group_exists", "suggest_groups", "suggest_users", "user"]
