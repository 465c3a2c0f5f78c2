"""Fixtures for labtrack's browser tests.

One real `jupyter lab` per session, on a free port, with a token, an isolated
Jupyter config/runtime/settings/workspace area, and a fresh labtrack store
(seeded through labtrack's own Python API). The browser is Debian's chromium
driven by Python Playwright.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_launch import CHROMIUM, launch
from playwright.sync_api import Browser, Page, sync_playwright

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "test-results"
SERVER_START_TIMEOUT = 90.0


@dataclass(frozen=True)
class LabServer:
    url: str  # base URL ending in "/"
    token: str
    log: Path

    def api(self, path: str, method: str = "GET", body: object | None = None) -> object:
        """Call the server with the token (token requests skip the XSRF check)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - a local test server
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            text = response.read().decode()
        return json.loads(text) if text else None

    def lab_url(self, query: str = "reset") -> str:
        return f"{self.url}lab?{query}&token={self.token}"


def _jupyter_server_port(runtime_dir: Path, timeout: float, alive: Callable[[], bool]) -> int:
    """tests/ports.py's reader of the port a ``jupyter server --port=0`` bound (that module is
    loaded by its path: tests/ is another pytest root)."""
    spec = importlib.util.spec_from_file_location(
        "labtrack_tests_ports", HERE.parent / "tests" / "ports.py"
    )
    assert spec is not None
    assert spec.loader is not None
    ports = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ports)
    return int(ports.jupyter_server_port(runtime_dir, timeout, alive))


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def results_dir() -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS


@pytest.fixture(scope="session")
def labtrack_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A fresh store, seeded through labtrack's fluent API."""
    root = tmp_path_factory.mktemp("labtrack-store")
    store_uri = f"sqlite:///{root / 'labtrack.db'}"
    artifacts = root / "artifacts"
    artifacts.mkdir()
    env = {
        # Never touch the user's default (solo) store.
        "LABTRACK_HOME": str(root / "home"),
        "LABTRACK_STORE_URI": store_uri,
        "LABTRACK_TRACKING_URI": store_uri,
        "LABTRACK_ARTIFACT_ROOT": str(artifacts),
    }
    seed = subprocess.run(
        [sys.executable, str(HERE / "seed_store.py")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if seed.returncode != 0:
        pytest.fail(
            "seeding the labtrack store failed (is the labtrack Python API installed?)\n"
            f"{seed.stdout}\n{seed.stderr}"
        )
    return env


@pytest.fixture(scope="session")
def lab_server(
    labtrack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory, results_dir: Path
) -> Iterator[LabServer]:
    """A real `jupyter lab` serving the installed labtrack extension."""
    home = tmp_path_factory.mktemp("jupyter")
    root_dir = home / "notebooks"
    root_dir.mkdir()
    token = secrets.token_hex(16)
    log = results_dir / "jupyter-lab.log"
    env = {
        **os.environ,
        **labtrack_env,
        # Keep the user's own runtime/settings/workspaces out of the test, but
        # keep the environment's config (sys.prefix/etc/jupyter), which enables
        # the labtrack server extension.
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--port=0",  # it binds a free port and names it in its runtime file
        "--ip=127.0.0.1",
        f"--ServerApp.root_dir={root_dir}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_unauthenticated_access=False",
        "--ServerApp.port_retries=0",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    # No "get notified about news?" toast covering the screenshots.
    labconfig = home / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    with log.open("w") as log_file:
        process = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=root_dir
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        try:
            port = _jupyter_server_port(
                home / "runtime", SERVER_START_TIMEOUT, lambda: process.poll() is None
            )
        except RuntimeError as err:
            pytest.fail(f"{err}:\n{_tail(log)}")
        server = LabServer(url=f"http://127.0.0.1:{port}/", token=token, log=log)
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited with {process.returncode}:\n{_tail(log)}")
            try:
                server.api("api/status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start in time:\n{_tail(log)}")
                time.sleep(0.25)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} not found: apt-get update && apt-get install -y chromium "
            "(or point LABTRACK_UI_CHROMIUM at a Chromium binary)"
        )
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest, results_dir: Path) -> Iterator[Page]:
    """A fresh browser page; uncaught page errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        page.screenshot(path=str(results_dir / f"{request.node.name}-failure.png"))
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
