"""The Jupyter server extension: labtrack's REST API at ``<base_url>labtrack/``.

Configuration (``jupyter_server_config.py`` / command line, section ``LabtrackApp``):

- ``store_uri``: the tracking store (``$LABTRACK_STORE_URI``, else the per-user SQLite store from
  :func:`labtrack.config.default_store_uri`);
- ``artifact_root``: the artifact root (``$LABTRACK_ARTIFACT_ROOT``, else beside the SQLite file);
- ``max_workers``: threads running blocking database/file work off the event loop;
- ``max_json_body_bytes`` / ``max_upload_bytes``: request body limits;
- ``heartbeat_timeout``: seconds after which a RUNNING run whose writer stopped beating is
  marked KILLED (``$LABTRACK_HEARTBEAT_TIMEOUT``, default 600; 0 turns the sweep off).

A Jupyter server of a team (JupyterHub with ``labtrack service``): when
``$LABTRACK_TRACKING_URI`` is an http(s) URL (``c.Spawner.environment`` sets it to the service's
URL), the extension opens no store and forwards its routes to that service with the server's
hub token (:mod:`labtrack.server.team_proxy`); kernels inherit that URI and get
``MLFLOW_TRACKING_URI``/``MLFLOW_TRACKING_TOKEN`` too, so ``import labtrack`` and ``import
mlflow`` log to the team with no setup.

Environment for kernels and terminals: when the extension loads it sets
``LABTRACK_TRACKING_URI`` (and ``LABTRACK_ARTIFACT_ROOT``) in the server's own environment if
they are not set yet. Kernels and terminals inherit the server's environment, so code running in
them logs to the same store with no setup. Set ``LabtrackApp.export_environment = False`` to
turn this off.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop
from traitlets import Bool, Float, Int, Unicode, default
from traitlets import Callable as CallableTrait

from labtrack.config import (
    ARTIFACT_ROOT_ENV,
    DEFAULT_PERMISSION_ENV,
    MLFLOW_TRACKING_URI_ENV,
    STORE_URI_ENV,
    TRACKING_TOKEN_ENVS,
    TRACKING_URI_ENV,
    first_env,
    is_http_uri,
)

if TYPE_CHECKING:
    from labtrack.artifact_store.store import ArtifactStore
    from labtrack.service.tracking import TrackingService

NAME = "labtrack"


def _default_service_factory(store_uri: str, artifact_root: str) -> Any:
    """The service the tracking handlers call, over a store at ``store_uri`` (imported lazily:
    it pulls SQLAlchemy in)."""
    from labtrack.service.tracking import TrackingService
    from labtrack.store.tracking_store import TrackingStore

    # The server writes for hours: WAL checkpoints go to a thread of their own.
    return TrackingService(TrackingStore(store_uri, artifact_root, background_checkpoints=True))


def _close_service(service: Any) -> None:
    """``close()``/``dispose()`` on the service, else on its ``store``."""
    for target in (service, getattr(service, "store", None)):
        for name in ("close", "dispose"):
            method = getattr(target, name, None)
            if callable(method):
                method()
                return


class LabtrackApp(ExtensionApp):
    """Serves the MLflow-compatible REST API and labtrack's own routes."""

    name = NAME
    load_other_extensions = True
    open_browser = Bool(False).tag(config=True)

    store_uri = Unicode(
        help="Tracking store URI (sqlite:///... or postgresql+psycopg://...). "
        "Default: $LABTRACK_STORE_URI, else the per-user SQLite store."
    ).tag(config=True)

    artifact_root = Unicode(
        help="Artifact root (a local path, file:// URI, or later an fsspec URL such as s3://...). "
        "Default: $LABTRACK_ARTIFACT_ROOT, else an 'artifacts' folder beside the SQLite store."
    ).tag(config=True)

    max_workers = Int(8, help="Threads for blocking database and file work.").tag(config=True)

    max_json_body_bytes = Int(
        1024 * 1024, help="Largest accepted JSON request body, in bytes."
    ).tag(config=True)

    max_upload_bytes = Int(
        16 * 1024**3, help="Largest accepted artifact upload (PUT body), in bytes."
    ).tag(config=True)

    temp_file_max_age = Int(
        3600,
        help="Upload temp files not written to for this many seconds are left by a crash and "
        "removed when the server starts (labtrack gc removes them too).",
    ).tag(config=True)

    max_header_bytes = Int(
        2 * 1024 * 1024,
        help="Largest request header block tornado reads (its default is 64 KiB, past which it "
        "drops the connection): raised so that URLs longer than labtrack serves get a 414 in "
        "MLflow's error shape. Applies to the whole Jupyter server.",
    ).tag(config=True)

    heartbeat_timeout = Float(
        help="Seconds of silence after which a RUNNING run whose writer had been sending "
        "heartbeats (labtrack's clients do while a run is active) is marked KILLED, ended at "
        "its last heartbeat. Runs that never beat (MLflow's clients) are left alone. "
        "Default: $LABTRACK_HEARTBEAT_TIMEOUT, else 600. 0 turns the sweep off."
    ).tag(config=True)

    export_environment = Bool(
        True,
        help="Set LABTRACK_TRACKING_URI / LABTRACK_ARTIFACT_ROOT in the server's environment "
        "(when unset) so kernels and terminals it starts use the same store.",
    ).tag(config=True)

    route_prefix = Unicode(
        "labtrack",
        help="Where the routes are mounted, relative to the server's base_url: 'labtrack' "
        "serves <base_url>labtrack/api/2.0/mlflow/...; '' serves <base_url>api/2.0/mlflow/... "
        "(labtrack service: the MLflow tracking URI is then the service's own URL).",
    ).tag(config=True)

    team_mode = Bool(
        False,
        help="Serve one team (labtrack service): a run's user is always the authenticated user "
        "(a client's user_id or mlflow.user tag naming someone else is overridden or refused).",
    ).tag(config=True)

    team_service_url = Unicode(
        help="The team's labtrack service (e.g. http://hub.internal/services/labtrack): the "
        "dashboard's routes are forwarded there and kernels log there. Default: "
        "$LABTRACK_TRACKING_URI when it is an http(s) URL (not in team_mode itself).",
    ).tag(config=True)

    team_service_token = Unicode(
        help="The hub token sent to the team service. Default: $LABTRACK_TRACKING_TOKEN, "
        "$MLFLOW_TRACKING_TOKEN, else the server's own $JUPYTERHUB_API_TOKEN (its scopes come "
        "from c.Spawner.server_token_scopes).",
    ).tag(config=True)

    team_proxy_timeout = Int(
        300, help="Seconds a forwarded request may take (artifact downloads included)."
    ).tag(config=True)
    default_permission = Unicode(
        help="Team mode: the permission level everyone admitted holds on experiments and "
        "registered models nobody granted them anything on (MLflow's levels: READ, USE, EDIT, "
        "MANAGE, NO_PERMISSIONS). Default: $LABTRACK_DEFAULT_PERMISSION, else READ.",
    ).tag(config=True)

    @default("default_permission")
    def _default_default_permission(self) -> str:
        return os.environ.get(DEFAULT_PERMISSION_ENV) or "READ"

    service_factory = CallableTrait(
        default_value=_default_service_factory,
        help="Callable (store_uri: str, artifact_root: str) -> service, called once, lazily, "
        "on the first request that needs the tracking service.",
    ).tag(config=True)

    @default("store_uri")
    def _default_store_uri(self) -> str:
        env = os.environ.get(STORE_URI_ENV)
        if env:
            return env
        from labtrack import config

        return config.default_store_uri()

    @default("heartbeat_timeout")
    def _default_heartbeat_timeout(self) -> float:
        from labtrack import config

        return config.env_seconds(config.HEARTBEAT_TIMEOUT_ENV, config.DEFAULT_HEARTBEAT_TIMEOUT)

    @default("artifact_root")
    def _default_artifact_root(self) -> str:
        env = os.environ.get(ARTIFACT_ROOT_ENV)
        if env:
            return env
        from labtrack import config

        return config.default_artifact_root(self.store_uri)

    @default("team_service_url")
    def _default_team_service_url(self) -> str:
        uri = os.environ.get(TRACKING_URI_ENV, "")
        if self.team_mode or not is_http_uri(uri):
            return ""
        return uri

    @default("team_service_token")
    def _default_team_service_token(self) -> str:
        return first_env(TRACKING_TOKEN_ENVS) or ""

    # -- lifecycle ---------------------------------------------------------------------------

    def initialize_settings(self) -> None:
        self.executor = ThreadPoolExecutor(
            max_workers=max(1, self.max_workers), thread_name_prefix="labtrack"
        )
        self._service: Any = None
        self._service_lock = threading.Lock()
        self._artifact_store: ArtifactStore | None = None
        self._artifact_lock = threading.Lock()
        if self.team_service_url:
            if self.export_environment:
                self._export_team_environment()
            self.log.info("labtrack: using the team service %s", self.team_service_url)
            return
        if self.export_environment:
            os.environ.setdefault(TRACKING_URI_ENV, self.store_uri)
            os.environ.setdefault(ARTIFACT_ROOT_ENV, self.artifact_root)
        self.log.info(
            "labtrack: store %s, artifacts %s", _redact(self.store_uri), self.artifact_root
        )
        # After the server is built (extensions load before its HTTP server exists).
        IOLoop.current().add_callback(self._raise_header_limit)
        self._stopping = threading.Event()
        if self.heartbeat_timeout > 0:
            threading.Thread(
                target=self._sweep_silent_runs, name="labtrack-liveness", daemon=True
            ).start()

    def _raise_header_limit(self) -> None:
        server = getattr(self.serverapp, "http_server", None)
        params = getattr(server, "conn_params", None)
        if params is not None and params.max_header_size < self.max_header_bytes:
            params.max_header_size = self.max_header_bytes

    def _sweep_silent_runs(self) -> None:
        """Every quarter of the timeout (at most a minute): mark silent runs KILLED."""
        interval = min(60.0, self.heartbeat_timeout / 4)
        while not self._stopping.wait(interval):
            try:
                service = self.get_service()
                sweep = getattr(service, "kill_silent_runs", None)
                killed = sweep(self.heartbeat_timeout) if sweep is not None else []
            except Exception:  # housekeeping must not stop; the next round tries again
                self.log.exception("labtrack: could not sweep silent runs")
                continue
            if killed:
                self.log.info("labtrack: marked %d silent runs KILLED", len(killed))

    def _export_team_environment(self) -> None:
        """Kernels and terminals inherit the server's environment: the team's URI for labtrack
        and mlflow, and the token (mlflow reads only ``MLFLOW_TRACKING_TOKEN``)."""
        os.environ.setdefault(TRACKING_URI_ENV, self.team_service_url)
        os.environ.setdefault(MLFLOW_TRACKING_URI_ENV, self.team_service_url)
        if self.team_service_token:
            os.environ.setdefault("MLFLOW_TRACKING_TOKEN", self.team_service_token)

    def initialize_handlers(self) -> None:
        if self.team_service_url:
            from labtrack.server.team_proxy import proxy_handlers

            self.handlers.extend(proxy_handlers(self.route_prefix or "labtrack"))
            return
        from labtrack.server.mount import mounted_handlers

        self.handlers.extend(
            mounted_handlers(
                self.route_prefix,
                team=self.team_mode,
                default_permission=self.default_permission,
            )
        )

    async def stop_extension(self) -> None:
        """Stop serving promptly (SIGTERM: the hub, Kubernetes and systemd stop this way).

        Requests still queued for a worker thread are cancelled (they never ran, so they wrote
        nothing; their clients see the connection close and retry); those already running
        finish in their threads, which the interpreter joins at exit. The store is closed from
        a thread of its own, not queued behind the requests it would otherwise wait for."""
        stopping = getattr(self, "_stopping", None)
        if stopping is not None:
            stopping.set()
        executor = getattr(self, "executor", None)
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        service = getattr(self, "_service", None)
        if service is not None:
            self._service = None
            try:
                await asyncio.to_thread(_close_service, service)
            except Exception:  # pragma: no cover - best effort at shutdown
                self.log.exception("labtrack: error while closing the service")

    # -- lazily built collaborators (called from worker threads) ---------------------------

    @property
    def artifact_store(self) -> ArtifactStore:
        """The artifact store (built on first use; creates the root folder)."""
        if self._artifact_store is None:
            with self._artifact_lock:
                if self._artifact_store is None:
                    from labtrack.artifact_store.store import ArtifactStore

                    self._artifact_store = ArtifactStore(self.artifact_root)
                    self.executor.submit(self._sweep_temp_files, self._artifact_store)
        return self._artifact_store

    def _sweep_temp_files(self, store: ArtifactStore) -> None:
        """Uploads cut off by a crash leave temp files no listing shows: remove old ones."""
        try:
            files, size = store.sweep_temp_files(self.temp_file_max_age)
        except Exception:  # pragma: no cover - housekeeping must not break serving
            self.log.exception("labtrack: could not sweep upload temp files")
            return
        if files:
            self.log.info("labtrack: removed %d upload temp files (%d bytes)", files, size)

    def get_service(self) -> TrackingService:
        """The tracking service, built by ``service_factory`` on first use (blocking)."""
        if self._service is None:
            with self._service_lock:
                if self._service is None:
                    factory: Callable[[str, str], Any] = self.service_factory
                    service = factory(self.store_uri, self.artifact_root)
                    # The store records its artifact root on first use and keeps it; serve
                    # artifacts from the same place as the service (and in-process clients).
                    settled = getattr(service, "artifact_root", None)
                    if isinstance(settled, str) and settled and settled != self.artifact_root:
                        self.log.warning(
                            "labtrack: the store's recorded artifact root %s overrides the "
                            "configured %s",
                            settled,
                            self.artifact_root,
                        )
                        with self._artifact_lock:
                            self.artifact_root = settled
                            self._artifact_store = None
                    self._service = service
        return self._service


def _redact(uri: str) -> str:
    """Hide a password in a database URI for logging."""
    if "://" in uri and "@" in uri:
        scheme, rest = uri.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return uri
