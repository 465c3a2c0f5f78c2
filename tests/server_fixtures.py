"""Fixtures for tests that run a real Jupyter server with the labtrack extension in-process.

Import them into a test module with ``from server_fixtures import *``. This pulls in
pytest-jupyter's server fixtures (including its autouse event-loop and cleanup fixtures) for
that module only, so other tests are not affected. Tests are plain (sync) functions that
drive the server with the ``fetch`` fixture (``fetch(...)`` returns the finished response).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403
from tornado.httpclient import HTTPResponse

Fetch = Callable[..., HTTPResponse]


@pytest.fixture
def labtrack_paths(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "store_dir": tmp_path / "store",
        "artifact_root": tmp_path / "artifact-root",
        "outside": tmp_path / "outside",
    }
    for p in paths.values():
        p.mkdir()
    (paths["outside"] / "secret.txt").write_text("top secret")
    return paths


@pytest.fixture
def labtrack_config() -> dict[str, Any]:
    """Extra ``LabtrackApp`` config for a test (override or update in the test module)."""
    return {}


@pytest.fixture
def server_app_config() -> dict[str, Any]:
    """Extra ``ServerApp`` config for a test."""
    return {}


@pytest.fixture  # type: ignore[no-redef]
def jp_server_config(
    labtrack_paths: dict[str, Path],
    labtrack_config: dict[str, Any],
    server_app_config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    # The extension exports these into os.environ; make sure monkeypatch restores them.
    for var in ("LABTRACK_TRACKING_URI", "LABTRACK_ARTIFACT_ROOT", "LABTRACK_STORE_URI"):
        monkeypatch.setenv(var, "placeholder")
        monkeypatch.delenv(var)
    return {
        "ServerApp": {
            # terminals: not needed here, and its websocket handler trips the auth-warning check
            "jpserver_extensions": {"labtrack": True, "jupyter_server_terminals": False},
            "allow_unauthenticated_access": False,
            **server_app_config,
        },
        "LabtrackApp": {
            "store_uri": f"sqlite:///{labtrack_paths['store_dir'] / 'labtrack.db'}",
            "artifact_root": str(labtrack_paths["artifact_root"]),
            **labtrack_config,
        },
    }


@pytest.fixture
def labtrack_app(jp_serverapp: Any) -> Any:
    """The running ``LabtrackApp`` extension instance."""
    return jp_serverapp.web_app.settings["labtrack"]


@pytest.fixture
def fetch(
    jp_serverapp: Any,
    http_server_client: Any,
    jp_auth_header: dict[str, str],
    jp_base_url: str,
    jp_asyncio_loop: Any,
) -> Fetch:
    """``fetch(path, method="GET", body=None, headers=None, auth=True)`` -> response.

    ``path`` is appended verbatim (no escaping) to ``<base_url>labtrack/``, so tests can send
    hostile raw paths. Errors do not raise: check ``response.code``.
    """

    def _fetch(
        path: str,
        method: str = "GET",
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        json_body: Any = None,
        prefix: str = "labtrack/",
    ) -> HTTPResponse:
        hdrs = dict(headers or {})
        if auth:
            for key, value in jp_auth_header.items():
                hdrs.setdefault(key, value)
        if json_body is not None:
            body = json.dumps(json_body)
            hdrs.setdefault("Content-Type", "application/json")
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        url = jp_base_url + prefix + path
        future = http_server_client.fetch(
            url,
            method=method,
            body=body,
            headers=hdrs,
            raise_error=False,
            allow_nonstandard_methods=True,
            request_timeout=30,
        )
        return jp_asyncio_loop.run_until_complete(future)

    return _fetch


def json_of(response: HTTPResponse) -> Any:
    assert response.headers.get("Content-Type", "").startswith("application/json"), (
        response.code,
        response.headers.get("Content-Type"),
        response.body[:200],
    )
    return json.loads(response.body)


def assert_error(response: HTTPResponse, status: int, code: str | None = None) -> dict[str, Any]:
    body = json_of(response)
    assert response.code == status, (response.code, body)
    assert set(body) >= {"error_code", "message"}, body
    if code is not None:
        assert body["error_code"] == code, body
    return body
