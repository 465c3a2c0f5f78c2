"""A real JupyterHub with ``labtrack service`` as a managed service, once per test session.

Parts, all real: JupyterHub (PyPI ``jupyterhub``) with npm's ``configurable-http-proxy``
(``tests/run_all.sh`` installs it into ``.ci-node/``; ``$LABTRACK_CHP`` or ``PATH`` work too),
``DummyAuthenticator`` with a password, a fresh PostgreSQL database for the labtrack store and
SeaweedFS (``seaweed_fixtures``) for artifacts.

Users ``alice`` and ``bob`` are in the group ``team``, which a role grants
``access:services!service=labtrack``; ``carol`` exists but is outside it; ``admin`` is a hub
admin outside the team. A second service, ``test-admin``, holds a token with ``admin:users``,
``admin:groups`` and ``tokens`` to create them and their API tokens (a user must exist before a
token can be made for them).

Users' Jupyter servers are spawned by ``SimpleLocalProcessSpawner`` (local processes of this
test's user, one home each under the hub's folder) with the settings the team deployment guide
documents: ``LABTRACK_TRACKING_URI`` in ``c.Spawner.environment`` and the service's access scope
in ``c.Spawner.server_token_scopes``. ``Hub.start_server`` starts one and waits for it.

Every port is free when picked (hub, hub API, proxy API, service). Teardown stops the hub by its
pid (it stops its service and its proxy), then, if still alive, the proxy by its pid file and
any child the hub left, and drops the database.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from ports import on_free_ports, raise_if_port_taken
from seaweed_fixtures import Seaweed, private_folder, stop_process

REPO = Path(__file__).resolve().parents[1]
HUB_START_TIMEOUT = 120
SERVER_START_TIMEOUT = 150
SERVICE = "labtrack"
PASSWORD = "labtrack-test-password"  # DummyAuthenticator: one password for every user
TEAM = ("alice", "bob")
OUTSIDER = "carol"
ADMIN = "admin"
# A second, externally managed service over the same store and bucket (a replica): the hub
# only routes to it; the fixture starts and stops its process.
EXTERNAL = "labtrack-external"


def chp_command() -> str:
    """configurable-http-proxy: $LABTRACK_CHP, the project-local npm install, or PATH."""
    for candidate in (
        os.environ.get("LABTRACK_CHP"),
        str(REPO / ".ci-node" / "node_modules" / ".bin" / "configurable-http-proxy"),
        shutil.which("configurable-http-proxy"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(
        "configurable-http-proxy is missing: npm install --prefix .ci-node "
        "configurable-http-proxy@5 (tests/run_all.sh does this)"
    )


@dataclass
class Hub:
    url: str  # http://127.0.0.1:<port> (the proxy: what users reach)
    admin_token: str
    folder: Path
    store_uri: str
    artifact_root: str
    seaweed: Seaweed
    proc: subprocess.Popen[bytes]
    tokens: dict[str, str] = field(default_factory=dict)
    # The environment of the externally managed service (more replicas of it can be started
    # with another JUPYTERHUB_SERVICE_URL).
    external_env: dict[str, str] = field(default_factory=dict)

    @property
    def service_url(self) -> str:
        """The MLflow tracking URI of the team service."""
        return f"{self.url}/services/{SERVICE}"

    @property
    def external_url(self) -> str:
        """The tracking URI of the externally managed replica."""
        return f"{self.url}/services/{EXTERNAL}"

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = (self.folder / "hub.log").read_text(errors="replace")
        except OSError:
            return "(no hub log)"
        return "\n".join(text.splitlines()[-lines:])

    def hub_api(self, method: str, path: str, body: Any = None) -> Any:
        status, data = http(method, f"{self.url}/hub/api/{path}", token=self.admin_token, body=body)
        if status >= 300:
            raise AssertionError(f"hub API {method} {path}: {status} {data}\n{self.log_tail()}")
        return data

    def new_token(self, user: str, note: str = "labtrack tests") -> str:
        return str(self.hub_api("POST", f"users/{user}/tokens", {"note": note})["token"])

    def server_url(self, user: str) -> str:
        """The user's Jupyter server, through the proxy."""
        return f"{self.url}/user/{user}"

    def start_server(self, user: str, timeout: float = SERVER_START_TIMEOUT) -> str:
        """Start the user's Jupyter server (the hub's local spawner) and wait until the proxy
        routes to it; returns its URL. Already running is fine."""
        status, body = http(
            "POST", f"{self.url}/hub/api/users/{user}/server", token=self.admin_token
        )
        if status not in (201, 202, 400):  # 400: already running
            raise AssertionError(f"starting {user}'s server: {status} {body}\n{self.log_tail()}")

        def ready() -> bool:
            model = self.hub_api("GET", f"users/{user}")
            server = (model.get("servers") or {}).get("")
            return bool(server and server.get("ready"))

        _wait_for(ready, timeout, f"{user}'s Jupyter server", self.log_tail)
        return self.server_url(user)

    def stop_server(self, user: str) -> None:
        http("DELETE", f"{self.url}/hub/api/users/{user}/server", token=self.admin_token)


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    scheme: str = "token",
) -> tuple[int, Any]:
    """One request; returns (status, parsed JSON or bytes). No redirects are followed."""
    data = raw
    hdrs = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    if token:
        hdrs["Authorization"] = f"{scheme} {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=60) as resp:
            status, payload = resp.status, resp.read()
            ctype = resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        status, payload = err.code, err.read()
        ctype = err.headers.get("Content-Type", "") if err.headers else ""
    if "json" in ctype and payload:
        return status, json.loads(payload)
    return status, payload


def _hub_config(
    folder: Path,
    *,
    ports: dict[str, int],
    admin_token: str,
    external_token: str,
    service_env: dict[str, str],
) -> str:
    labtrack = Path(sys.executable).with_name("labtrack")
    command = (
        [str(labtrack), "service"]
        if labtrack.exists()
        else [
            sys.executable,
            "-m",
            "labtrack.cli",
            "service",
        ]
    )
    config = {
        "ip": "127.0.0.1",
        "port": ports["hub"],
        "hub_port": ports["hub_api"],
        "proxy_api": f"http://127.0.0.1:{ports['proxy_api']}",
        "chp": [chp_command()],
        "proxy_token": secrets.token_hex(16),
        "folder": str(folder),
        "password": PASSWORD,
        "admin_token": admin_token,
        "service": {
            "name": SERVICE,
            "url": f"http://127.0.0.1:{ports['service']}",
            "command": command,
            "environment": service_env,
            "oauth_no_confirm": True,
        },
        "admin": ADMIN,
        "spawner": {
            "cmd": [str(Path(sys.executable).with_name("jupyterhub-singleuser"))],
            "home": str(folder / "home") + "/{username}",
            "environment": {
                # What the team deployment guide tells admins to set (c.Spawner.environment):
                "LABTRACK_TRACKING_URI": f"http://127.0.0.1:{ports['hub']}/services/{SERVICE}",
                "PYTHONPATH": str(REPO / "src"),
                # A lab extension bundle of one's own (a worktree's build) wins over the
                # installed one when the tests run with $JUPYTER_PATH.
                **(
                    {"JUPYTER_PATH": os.environ["JUPYTER_PATH"]}
                    if os.environ.get("JUPYTER_PATH")
                    else {}
                ),
            },
        },
        "external": {
            "name": EXTERNAL,
            "url": f"http://127.0.0.1:{ports['external']}",
            "api_token": external_token,
            "oauth_no_confirm": True,
        },
    }
    return f"""\
# Written by tests/hub_fixtures.py
import json
cfg = json.loads({json.dumps(json.dumps(config))})
c = get_config()  # noqa: F821
c.JupyterHub.ip = cfg["ip"]
c.JupyterHub.port = cfg["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = cfg["hub_port"]
c.JupyterHub.db_url = "sqlite:///" + cfg["folder"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = cfg["folder"] + "/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = cfg["folder"] + "/jupyterhub.pid"
c.ConfigurableHTTPProxy.api_url = cfg["proxy_api"]
c.ConfigurableHTTPProxy.command = cfg["chp"]
c.ConfigurableHTTPProxy.auth_token = cfg["proxy_token"]
c.ConfigurableHTTPProxy.pid_file = cfg["folder"] + "/proxy.pid"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = cfg["password"]
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{cfg["admin"]}}
c.JupyterHub.services = [
    cfg["service"],
    cfg["external"],
    {{"name": "test-admin", "api_token": cfg["admin_token"]}},
]
# Users' servers: local processes (as this test's user), each in a home of its own; the
# server's token may use the team service when its user may (c.Spawner.server_token_scopes).
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = cfg["spawner"]["home"]
c.Spawner.cmd = cfg["spawner"]["cmd"]
c.Spawner.args = ["--allow-root"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = cfg["spawner"]["environment"]
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "access:services!service=labtrack",
]
c.JupyterHub.load_groups = {{"team": {{"users": []}}}}
c.JupyterHub.load_roles = [
    {{
        "name": "labtrack-team",
        "scopes": [
            "access:services!service=labtrack",
            "access:services!service=labtrack-external",
        ],
        "groups": ["team"],
    }},
    {{
        "name": "test-admin",
        "scopes": ["admin:users", "admin:groups", "tokens", "list:users", "admin:servers"],
        "services": ["test-admin"],
    }},
    {{
        # The service reads users' groups and admin flags (get_user_permission on another
        # user, effective levels in the permissions dialog) and lists user and group names
        # (the dialog's suggestions): what docs/team-deployment.md grants it.
        "name": "labtrack-service",
        "scopes": ["read:users:groups", "list:users", "list:groups"],
        "services": ["labtrack", "labtrack-external"],
    }},
]
"""


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _wait_for(check, timeout: float, what: str, hub_log) -> Any:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            last = check()
            if last:
                return last
        time.sleep(0.3)
    pytest.fail(f"{what} not ready in {timeout}s (last: {last!r})\n{hub_log()}")


def run_hub(
    folder: Path, store_uri: str, seaweed: Seaweed
) -> contextlib.AbstractContextManager[Hub]:
    """The hub on 5 free ports (new ones if one was taken before its process bound it)."""
    return on_free_ports(5, lambda ports: _run_hub(folder, store_uri, seaweed, ports))


@contextlib.contextmanager
def _run_hub(folder: Path, store_uri: str, seaweed: Seaweed, ports: list[int]) -> Iterator[Hub]:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in ("jupyterhub.sqlite", "proxy.pid", "jupyterhub.pid"):  # an earlier attempt's
        (folder / stale).unlink(missing_ok=True)
    hub_port, hub_api, proxy_api, service_port, external_port = ports
    admin_token = secrets.token_hex(24)
    external_token = secrets.token_hex(24)
    bucket = seaweed.new_bucket("team")
    artifact_root = f"s3://{bucket}/artifacts"
    home = folder / "service-home"
    service_env = {
        "LABTRACK_STORE_URI": store_uri,
        "LABTRACK_ARTIFACT_ROOT": artifact_root,
        "LABTRACK_HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        **seaweed.env(),
    }
    src = str(REPO / "src")
    service_env["PYTHONPATH"] = src  # this checkout's labtrack, installed or not
    (folder / "jupyterhub_config.py").write_text(
        _hub_config(
            folder,
            ports={
                "hub": hub_port,
                "hub_api": hub_api,
                "proxy_api": proxy_api,
                "service": service_port,
                "external": external_port,
            },
            admin_token=admin_token,
            external_token=external_token,
            service_env=service_env,
        )
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LABTRACK_", "MLFLOW_", "JUPYTERHUB_", "AWS_", "CONFIGPROXY_"))
    }
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    log = open(folder / "hub.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(folder / "jupyterhub_config.py")],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    hub = Hub(
        f"http://127.0.0.1:{hub_port}",
        admin_token,
        folder,
        store_uri,
        artifact_root,
        seaweed,
        proc,
    )
    seen_children: set[int] = set()
    external: subprocess.Popen[bytes] | None = None
    try:

        def hub_up() -> bool:
            if proc.poll() is not None:
                raise_if_port_taken(folder / "hub.log", "jupyterhub")
                pytest.fail(f"jupyterhub exited with {proc.returncode}\n{hub.log_tail()}")
            status, _ = http("GET", f"{hub.url}/hub/api/")
            return status == 200

        _wait_for(hub_up, HUB_START_TIMEOUT, "jupyterhub", hub.log_tail)

        def service_up() -> bool:
            # Unauthenticated: the service answers 403 in MLflow's JSON shape once it runs.
            status, body = http("GET", f"{hub.service_url}/api/2.0/mlflow/experiments/get")
            if status == 403 and isinstance(body, dict):
                return True
            raise_if_port_taken(folder / "hub.log", "labtrack service")
            return False

        _wait_for(service_up, HUB_START_TIMEOUT, "labtrack service", hub.log_tail)
        seen_children.update(_children(proc.pid))

        # The externally managed service: the environment the hub would have set, by hand.
        ext_home = folder / "external-home"
        ext_env = {
            **env,
            **service_env,
            "LABTRACK_HOME": str(ext_home),
            "JUPYTER_CONFIG_DIR": str(ext_home / "config"),
            "JUPYTER_DATA_DIR": str(ext_home / "data"),
            "JUPYTER_RUNTIME_DIR": str(ext_home / "runtime"),
            "JUPYTERHUB_SERVICE_NAME": EXTERNAL,
            "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{external_port}",
            "JUPYTERHUB_SERVICE_PREFIX": f"/services/{EXTERNAL}/",
            "JUPYTERHUB_API_TOKEN": external_token,
            "JUPYTERHUB_API_URL": f"http://127.0.0.1:{hub_api}/hub/api",
            "JUPYTERHUB_CLIENT_ID": f"service-{EXTERNAL}",
            "JUPYTERHUB_OAUTH_CALLBACK_URL": f"/services/{EXTERNAL}/oauth_callback",
            "JUPYTERHUB_HOST": "",
            "JUPYTERHUB_BASE_URL": "/",
        }
        hub.external_env = dict(ext_env)
        external = subprocess.Popen(
            [sys.executable, "-m", "labtrack.cli", "service"],
            cwd=folder,
            env=ext_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def external_up() -> bool:
            assert external is not None
            if external.poll() is not None:
                raise_if_port_taken(folder / "hub.log", "external labtrack service")
                pytest.fail(f"external labtrack service exited\n{hub.log_tail()}")
            status, body = http("GET", f"{hub.external_url}/api/2.0/mlflow/experiments/get")
            return status == 403 and isinstance(body, dict)

        _wait_for(external_up, HUB_START_TIMEOUT, "external labtrack service", hub.log_tail)

        hub.hub_api("POST", "users", {"usernames": [*TEAM, OUTSIDER, ADMIN]})
        hub.hub_api("POST", "groups/team/users", {"users": list(TEAM)})
        for user in (*TEAM, OUTSIDER, ADMIN):
            hub.tokens[user] = hub.new_token(user)
        # The team logs to the Default experiment: a hub admin grants the group EDIT there
        # (everyone else's default is READ), as a deployment would.
        status, body = http(
            "POST",
            f"{hub.service_url}/api/3.0/mlflow/users/permissions/grant",
            token=hub.tokens[ADMIN],
            body={
                "group_name": "team",
                "resource_type": "experiment",
                "resource_id": "0",
                "permission": "EDIT",
            },
        )
        if status != 200:
            raise AssertionError(f"granting the team EDIT on experiment 0: {status} {body}")
        yield hub
    finally:
        if external is not None:
            stop_process(external.pid, timeout=15)
            with contextlib.suppress(subprocess.TimeoutExpired):
                external.wait(timeout=5)
        seen_children.update(_children(proc.pid))
        stop_process(proc.pid, timeout=30)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        log.close()
        # A hub that died hard leaves its proxy and its service: stop them by their pids.
        pid_file = folder / "proxy.pid"
        if pid_file.exists():
            with contextlib.suppress(ValueError):
                stop_process(int(pid_file.read_text().strip()))
        for pid in seen_children:
            stop_process(pid, timeout=5)


# -- replicas behind a load balancer ------------------------------------------------------


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if not found:
        pytest.fail("haproxy is missing: apt-get install -y haproxy (tests/run_all.sh does this)")
    return found


@dataclass
class Cluster:
    balancer: str  # http://127.0.0.1:<port>/services/labtrack-external
    replicas: list[str]  # each replica's own URL, same path


def request(method: str, url: str, token: str, body: Any = None) -> tuple[int, Any, dict[str, str]]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            status, payload, raw_headers = resp.status, resp.read(), resp.headers.items()
    except urllib.error.HTTPError as err:
        status, payload, raw_headers = err.code, err.read(), (err.headers or {}).items()
    headers = {name.lower(): value for name, value in raw_headers}  # haproxy lowercases them
    try:
        parsed = json.loads(payload) if payload else None
    except ValueError:
        parsed = payload
    return status, parsed, headers


def _wait(check: Any, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if check():
                return
        raise_if_port_taken(log, what)
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    pytest.fail(f"{what} not ready in {timeout}s\n{tail}")


def start_replica(
    hub: Hub, home: Path, port: int, log: IO[bytes], argv: tuple[str, ...] = ()
) -> subprocess.Popen[bytes]:
    """One more process of the externally managed service (same hub identity, store and
    bucket), listening on ``port``, with ``argv`` as extra options; its output goes to
    ``log``."""
    assert hub.external_env, "the hub fixture records the external service's environment"
    env = {
        **hub.external_env,
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
        "LABTRACK_HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "labtrack.cli", "service", *argv],
        cwd=home.parent,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def replica_up(url: str) -> bool:
    """Whether the service at ``url`` serves (an anonymous request gets MLflow's 403)."""
    status, body, _ = request("GET", url + "/api/2.0/mlflow/experiments/get", "x")
    return status == 403 and isinstance(body, dict)


class Replica:
    """One replica of the externally managed service, as a process of its own in ``folder``
    (stopped on exit of the ``with`` block if still running), on a free port."""

    def __init__(self, hub: Hub, folder: Path, argv: tuple[str, ...] = ()) -> None:
        self.log_path = folder / "replica.log"
        self._stack = contextlib.ExitStack()
        self._log = self._stack.enter_context(self.log_path.open("wb"))
        self.proc: subprocess.Popen[bytes]
        self.url = self._stack.enter_context(
            on_free_ports(1, lambda ports: self._started(hub, folder, ports[0], argv))
        )

    @contextlib.contextmanager
    def _started(self, hub: Hub, folder: Path, port: int, argv: tuple[str, ...]) -> Iterator[str]:
        self._log.seek(0)
        self._log.truncate()
        self.proc = start_replica(hub, folder / "home", port, self._log, argv)
        url = f"http://127.0.0.1:{port}/services/labtrack-external"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if replica_up(url):
                        break
                except OSError:
                    pass
                if self.proc.poll() is not None:
                    raise_if_port_taken(self.log_path, "replica")
                assert self.proc.poll() is None, self.log_tail()
                assert time.monotonic() < deadline, self.log_tail()
                time.sleep(0.3)
            yield url
        finally:
            if self.proc.poll() is None:
                stop_process(self.proc.pid, timeout=15)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)

    def log_tail(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop_and_time(self) -> float:
        """SIGTERM; seconds until the process has exited (0 is its exit status)."""
        started = time.monotonic()
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 60 s after SIGTERM\n{self.log_tail()}")
        elapsed = time.monotonic() - started
        assert code == 0, self.log_tail()
        return elapsed

    def __enter__(self) -> Replica:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def run_replicas(hub: Hub, count: int = 2) -> contextlib.AbstractContextManager[Cluster]:
    """``count`` replicas of the externally managed service (same hub identity, store and
    bucket) behind Debian's haproxy (round-robin; each answer names its replica in
    ``X-Labtrack-Replica``), on free ports."""
    return on_free_ports(count + 1, lambda ports: _run_replicas(hub, ports))


@contextlib.contextmanager
def _run_replicas(hub: Hub, all_ports: list[int]) -> Iterator[Cluster]:
    lb_port, *ports = all_ports
    folder = hub.folder / f"replicas-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    log_path = folder / "replicas.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed at teardown
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for index, port in enumerate(ports):
            procs.append(start_replica(hub, folder / f"replica-{index}", port, log))
        servers = "\n".join(f"    server r{i} 127.0.0.1:{port}" for i, port in enumerate(ports))
        config = folder / "haproxy.cfg"
        config.write_text(
            f"""\
global
    maxconn 1024
defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
frontend team
    bind 127.0.0.1:{lb_port}
    default_backend replicas
backend replicas
    balance roundrobin
    http-response set-header X-Labtrack-Replica %[srv_name]
{servers}
"""
        )
        check = subprocess.run(
            [haproxy_binary(), "-c", "-f", str(config)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout + check.stderr
        procs.append(
            subprocess.Popen(
                [haproxy_binary(), "-db", "-f", str(config)],
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        replicas = [f"http://127.0.0.1:{port}/services/{EXTERNAL}" for port in ports]
        for url in replicas:
            _wait(lambda url=url: replica_up(url), 120, f"replica {url}", log_path)
        balancer = f"http://127.0.0.1:{lb_port}/services/{EXTERNAL}"
        _wait(
            lambda: (
                request("GET", balancer + "/api/labtrack/whoami", hub.tokens["alice"])[0] == 200
            ),
            60,
            "haproxy",
            log_path,
        )
        yield Cluster(balancer, replicas)
    finally:
        for proc in reversed(procs):
            stop_process(proc.pid, timeout=15)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        log.close()


def _fresh_pg_database() -> Iterator[str]:
    from conftest import PG_ADMIN_URL, _pg_available

    problem = _pg_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    import psycopg

    name = f"labtrack_team_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def team_pg_database() -> Iterator[str]:
    """A PostgreSQL database of its own for the team service (store tests reset theirs)."""
    yield from _fresh_pg_database()


@pytest.fixture(scope="session")
def hub(team_pg_database: str, seaweed: Seaweed, request: pytest.FixtureRequest) -> Iterator[Hub]:
    # A folder of its own, not under pytest's basetemp: other pytest runs on the machine prune
    # old basetemps, which would delete the hub's database under a long session. Kept if a
    # test failed (tests/team/conftest.py also adds the log lines of a failed test to its
    # report).
    with (
        private_folder("labtrack-hub-", request) as folder,
        run_hub(folder, team_pg_database, seaweed) as running,
    ):
        yield running
