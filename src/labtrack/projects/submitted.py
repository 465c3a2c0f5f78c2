"""``SubmittedRun``: a handle on a project run that was started (MLflow's interface)."""

from __future__ import annotations

import abc
import signal
import subprocess
import time

from labtrack.client.tracking_client import TrackingClient
from labtrack.entities import RunStatus


class SubmittedRun(abc.ABC):
    """A project run in progress or done: ``run_id``, ``wait()``, ``get_status()``,
    ``cancel()``."""

    def __init__(self, run_id: str, client: TrackingClient) -> None:
        self._run_id = run_id
        self._client = client

    @property
    def run_id(self) -> str:
        return self._run_id

    @abc.abstractmethod
    def wait(self) -> bool:
        """Wait until the run ends; True when it FINISHED."""

    @abc.abstractmethod
    def cancel(self) -> None:
        """Stop the run's process (or job) and wait for it; the run ends KILLED."""

    def get_status(self) -> str:
        """The run's status as the tracking store has it (RUNNING, FINISHED, FAILED, KILLED)."""
        return str(self._client.get_run(self._run_id).info.status)

    def _mark_killed_if_running(self) -> None:
        if self.get_status() in (RunStatus.RUNNING.value, RunStatus.SCHEDULED.value):
            self._client.set_terminated(self._run_id, RunStatus.KILLED.value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: run_id={self._run_id!r}>"


class CompletedRun(SubmittedRun):
    """A run that ran to its end before ``run()`` returned (``synchronous=True``)."""

    def __init__(self, run_id: str, client: TrackingClient, exit_code: int) -> None:
        super().__init__(run_id, client)
        self.exit_code = exit_code

    def wait(self) -> bool:
        return self.get_status() == RunStatus.FINISHED.value

    def cancel(self) -> None:
        pass


class LocalSubmittedRun(SubmittedRun):
    """A run supervised by a ``labtrack`` process of its own (``synchronous=False``): the
    supervisor records the final status even if this Python process exits first."""

    def __init__(self, run_id: str, client: TrackingClient, process: subprocess.Popen) -> None:
        super().__init__(run_id, client)
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    def wait(self) -> bool:
        self._process.wait()
        return self.get_status() == RunStatus.FINISHED.value

    def cancel(self) -> None:
        if self._process.poll() is None:
            # The supervisor stops the project's process group and marks the run KILLED.
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        # If the supervisor could not record it (killed hard), record it here.
        self._mark_killed_if_running()

    def get_status(self) -> str:
        status = super().get_status()
        if status == RunStatus.RUNNING.value and self._process.poll() is not None:
            # The supervisor is gone yet the run says RUNNING: give the store a moment
            # (its last write may be in flight), then report what it holds.
            time.sleep(0.05)
            status = super().get_status()
        return status
