"""The local backend: the entry point's command in a shell on this machine, supervised.

The command runs in a new session (its own process group), so a Ctrl-C in the terminal reaches
only the supervisor, which then stops the whole group (the shell and everything it started)
and records the run KILLED. The run's final status follows the process: exit 0 is FINISHED,
any other exit FAILED (the exit code kept as a tag), a stop by us KILLED.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from labtrack import config
from labtrack.client.tracking_client import TrackingClient
from labtrack.entities import RunStatus, system_tags

# How long a stopped project may take to exit after SIGTERM before it gets SIGKILL.
STOP_GRACE_SECONDS = 10.0


class Terminated(Exception):
    """SIGTERM reached the supervisor (or ``labtrack run`` waiting on a cluster job)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """On the main thread, SIGTERM raises ``Terminated`` inside the block (as Ctrl-C raises
    KeyboardInterrupt), so the caller can stop what it started and record it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(signum: int, _frame: Any) -> None:
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def shell_argv(command: str) -> list[str]:
    # bash as MLflow uses it (commands are written for it); plain sh where there is no bash.
    shell = shutil.which("bash") or "/bin/sh"
    return [shell, "-c", command]


def docker_argv(command: str, image: str, cwd: Path, env: Mapping[str, str]) -> list[str]:
    """The command inside ``image``, the project mounted at MLflow's path, the run's variables
    passed in; host networking so a tracking server on localhost stays reachable."""
    argv = ["docker", "run", "--rm", "--network", "host", "-v", f"{cwd}:/mlflow/projects/code"]
    argv += ["-w", "/mlflow/projects/code"]
    passed = (
        *config.RUN_ID_ENVS,
        config.TRACKING_URI_ENV,
        config.MLFLOW_TRACKING_URI_ENV,
        *config.EXPERIMENT_ID_ENVS,
    )
    for key in passed:
        if key in env:
            argv += ["-e", f"{key}={env[key]}"]
    return [*argv, image, "bash", "-c", command]


def start(argv: list[str], cwd: Path, env: Mapping[str, str]) -> subprocess.Popen:
    return subprocess.Popen(argv, cwd=cwd, env=dict(env), start_new_session=True)


def stop_group(proc: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to the project's whole process group, SIGKILL after ``grace`` seconds."""
    for sig, timeout in ((signal.SIGTERM, grace), (signal.SIGKILL, 30.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=timeout)
            # The shell may be gone while children it started linger in the group.
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
        return


def supervise(
    argv: list[str],
    cwd: Path,
    env: Mapping[str, str],
    run_id: str,
    client: TrackingClient,
    grace: float = STOP_GRACE_SECONDS,
) -> int:
    """Run the project's process to its end and record how it ended. Returns the exit status
    the caller should exit with (128 + signal number when stopped by a signal); ``grace`` is
    how long a stopped project may take to exit before SIGKILL."""
    proc: subprocess.Popen | None = None
    stopped_by: int | None = None
    try:
        with sigterm_raises():
            proc = start(argv, cwd, env)
            try:
                code = proc.wait()
            except KeyboardInterrupt:
                stopped_by = signal.SIGINT
            except Terminated as exc:
                stopped_by = exc.signum
            if stopped_by is not None:
                stop_group(proc, grace)
                code = 128 + int(stopped_by)
    finally:
        if proc is None:  # could not even start (e.g. no shell): a failed run, not a stuck one
            client.set_terminated(run_id, RunStatus.FAILED.value)
    if stopped_by is not None:
        status = RunStatus.KILLED
    else:
        status = RunStatus.FINISHED if code == 0 else RunStatus.FAILED
        # A negative return code is a signal from someone else (e.g. the OOM killer).
        code = code if code >= 0 else 128 - code
    client.set_tag(run_id, system_tags.PROJECT_EXIT_CODE, str(code))
    client.set_terminated(run_id, status.value)
    if stopped_by == signal.SIGINT:
        raise KeyboardInterrupt
    return code


def spawn_supervisor(
    argv: list[str], cwd: Path, env: Mapping[str, str], run_id: str
) -> subprocess.Popen:
    """``synchronous=False``: a separate Python process supervises the project, so the run
    still gets its final status if the caller exits first (MLflow does the same)."""
    job = json.dumps({"argv": argv, "cwd": str(cwd), "env": dict(env), "run_id": run_id})
    code = "import sys; from labtrack.projects.backends.local import _main; _main(sys.stdin.read())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        text=True,
        env=_supervisor_env(env),
        start_new_session=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(job)
    proc.stdin.close()
    return proc


def _supervisor_env(env: Mapping[str, str]) -> dict[str, str]:
    # The supervisor must import this labtrack, whatever environment the project runs in.
    out = dict(os.environ)
    for key in (config.TRACKING_URI_ENV, config.ARTIFACT_ROOT_ENV):
        if key in env:
            out[key] = env[key]
    src = str(Path(__file__).resolve().parents[3])
    out["PYTHONPATH"] = os.pathsep.join(p for p in (src, out.get("PYTHONPATH")) if p)
    return out


def _main(job_json: str) -> None:
    job = json.loads(job_json)
    client = TrackingClient()
    try:
        code = supervise(job["argv"], Path(job["cwd"]), job["env"], job["run_id"], client)
    except KeyboardInterrupt:
        code = 130
    client.flush()
    sys.exit(code)


def _job_stop_grace() -> float:
    """A stopped Ray job gets SIGTERM, then SIGKILL $RAY_JOB_STOP_WAIT_TIME_S (3) seconds
    later, this supervisor included: the project gets half of that, so the supervisor still
    has time to record the run KILLED."""
    try:
        ray_wait = float(os.environ.get("RAY_JOB_STOP_WAIT_TIME_S", "3"))
    except ValueError:
        ray_wait = 3.0
    return min(STOP_GRACE_SECONDS, max(0.5, ray_wait / 2))


def _job_main(argv: list[str]) -> int:
    """``python -m labtrack.projects.backends.local RUN_ID COMMAND``: supervise COMMAND in this
    folder with this process's environment (a cluster job's entrypoint: the job's runtime
    environment already carries the run's variables)."""
    run_id, command = argv
    client = TrackingClient()
    try:
        # Reach the store before the command starts: a job that cannot log fails at once (and
        # the store is open when a stop leaves Ray's few seconds to record it).
        client.get_run(run_id)
    except Exception as exc:  # any way of not reaching it: the job's log says which
        print(f"labtrack: cannot reach run {run_id} at {client.tracking_uri}: {exc}", flush=True)
        return 1
    try:
        code = supervise(
            shell_argv(command), Path.cwd(), os.environ, run_id, client, _job_stop_grace()
        )
    except KeyboardInterrupt:
        code = 130
    client.flush()
    return code


if __name__ == "__main__":
    sys.exit(_job_main(sys.argv[1:]))
