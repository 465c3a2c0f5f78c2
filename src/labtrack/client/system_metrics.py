"""System metrics of a run (MLflow's ``log_system_metrics``): CPU, memory, disk and network
sampled by a background thread while the run is active, logged as ``system/...`` metrics.

Sampling uses psutil (as MLflow's does); without it a warning is logged and nothing is
collected. Settings are per process, as in MLflow: ``enable_system_metrics_logging``,
``set_system_metrics_sampling_interval``, ``set_system_metrics_samples_before_logging``,
``set_system_metrics_node_id``, or MLflow's environment variables.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

logger = logging.getLogger("labtrack")

_ENABLE_ENV = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"
_INTERVAL_ENV = "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"
_SAMPLES_ENV = "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING"
_NODE_ENV = "MLFLOW_SYSTEM_METRICS_NODE_ID"

_enabled: bool | None = None
_interval: float | None = None
_samples: int | None = None
_node_id: str | None = None


def enable_system_metrics_logging() -> None:
    """Every run started from now on samples system metrics (unless it says otherwise)."""
    global _enabled
    _enabled = True


def disable_system_metrics_logging() -> None:
    global _enabled
    _enabled = False


def set_system_metrics_sampling_interval(interval: float | None) -> None:
    """Seconds between two samples (default 10); None restores the default."""
    global _interval
    if interval is not None and interval <= 0:
        raise ValueError("The sampling interval must be positive.")
    _interval = interval


def set_system_metrics_samples_before_logging(samples: int | None) -> None:
    """How many samples are averaged into one logged point (default 1)."""
    global _samples
    if samples is not None and samples < 1:
        raise ValueError("samples_before_logging must be at least 1.")
    _samples = samples


def set_system_metrics_node_id(node_id: str | None) -> None:
    """A name for this machine: metrics become ``system/<node_id>/...`` (several nodes, one
    run)."""
    global _node_id
    _node_id = node_id


def enabled() -> bool:
    if _enabled is not None:
        return _enabled
    return os.environ.get(_ENABLE_ENV, "").strip().lower() in ("1", "true", "yes")


def sampling_interval() -> float:
    return _interval if _interval is not None else float(os.environ.get(_INTERVAL_ENV) or 10)


def samples_before_logging() -> int:
    return _samples if _samples is not None else int(os.environ.get(_SAMPLES_ENV) or 1)


def node_id() -> str | None:
    return _node_id if _node_id is not None else os.environ.get(_NODE_ENV) or None


def sample() -> dict[str, float]:
    """One reading of this machine (MLflow's metric names, without the ``system/`` prefix)."""
    import psutil

    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(os.path.abspath(os.sep))
    net = psutil.net_io_counters()
    mb = 1024 * 1024
    return {
        "cpu_utilization_percentage": float(psutil.cpu_percent()),
        "system_memory_usage_megabytes": (memory.total - memory.available) / mb,
        "system_memory_usage_percentage": float(memory.percent),
        "disk_usage_percentage": float(disk.percent),
        "disk_usage_megabytes": disk.used / mb,
        "disk_available_megabytes": disk.free / mb,
        "network_receive_megabytes": net.bytes_recv / mb,
        "network_transmit_megabytes": net.bytes_sent / mb,
    }


class SystemMetricsMonitor:
    """Samples every ``interval`` seconds; every ``samples`` samples, logs their average as the
    next step of each ``system/...`` metric through ``log`` (``{key: value}, step``)."""

    def __init__(
        self,
        log: Callable[[dict[str, float], int], None],
        interval: float | None = None,
        samples: int | None = None,
        node: str | None = None,
    ) -> None:
        self._log = log
        self.interval = interval if interval is not None else sampling_interval()
        self.samples = samples if samples is not None else samples_before_logging()
        node = node if node is not None else node_id()
        self.prefix = f"system/{node}/" if node else "system/"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="labtrack-system-metrics")
        self._thread.daemon = True

    def start(self) -> bool:
        try:
            import psutil  # noqa: F401
        except ImportError:
            logger.warning("System metrics need psutil: pip install psutil. Not collected.")
            return False
        self._thread.start()
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        step = 0
        readings: list[dict[str, float]] = []
        while not self._stop.wait(self.interval):
            try:
                readings.append(sample())
                if len(readings) >= self.samples:
                    averaged = {
                        self.prefix + key: sum(r[key] for r in readings) / len(readings)
                        for key in readings[0]
                    }
                    self._log(averaged, step)
                    step += 1
                    readings = []
            except Exception:  # a monitor must never break the run it watches
                logger.warning("could not log system metrics", exc_info=True)
                return
