"""Stopping a server a benchmark started in a process group of its own."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def stop_group(proc: subprocess.Popen[bytes], grace: float = 20) -> None:
    """SIGTERM the process group led by ``proc``, SIGKILL it if it outlives ``grace`` seconds.

    Servers such as ``mlflow server`` fork workers: stopping only the leader leaves them bound to
    the port and skews the next measurement.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
