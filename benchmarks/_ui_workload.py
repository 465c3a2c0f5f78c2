"""The data both dashboards are measured on in ``bench_ui.py``, defined once.

Plain Python + numpy only: ``bench_ui.py`` writes it into labtrack's store, and
``_mlflow_ui_side.py`` (run by MLflow's interpreter, which has numpy but not labtrack) writes the
same runs, params and points into MLflow's. The noise comes from a seeded generator, so the two
stores hold identical values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

BIG = "bench-10k-runs"
LONG = "bench-long-series"
WIDE = "bench-200-metrics"
WIDE_RUN = "wide-run"
RUN_PAGE_METRICS = 200
RUN_PAGE_STEPS = 1_000


@dataclass(frozen=True)
class ScalarRun:
    """One run of the big experiment: two metrics at step 10, three params."""

    name: str
    start_offset_ms: int  # added to ``now``
    metrics: tuple[tuple[str, float], ...]
    params: tuple[tuple[str, str], ...]


def big_runs(runs: int) -> Iterator[ScalarRun]:
    for i in range(runs):
        yield ScalarRun(
            f"run-{i:05d}",
            -i * 1000,
            (("loss", 1.0 / (i + 1)), ("accuracy", (i % 100) / 100)),
            (("lr", str(10 ** -(i % 5))), ("depth", str(i % 12)), ("opt", "adam")),
        )


BIG_METRIC_STEP = 10


@dataclass(frozen=True)
class SeriesRun:
    """One run of the long-series experiment: ``loss`` at steps 0..steps-1, param ``lr``."""

    name: str
    start_offset_ms: int
    lr: str
    steps: np.ndarray  # int64
    timestamp_offsets_ms: np.ndarray  # int64, added to ``now``
    values: np.ndarray  # float64


def long_runs(series_runs: int, steps: int, seed: int = 0) -> Iterator[SeriesRun]:
    rng = np.random.default_rng(seed)
    step_array = np.arange(steps, dtype=np.int64)
    for i in range(series_runs):
        values = np.exp(-step_array / (steps / 5)) * (1 + 0.1 * i) + rng.random(steps) * 0.05
        yield SeriesRun(
            f"long-{i:03d}", i, str(0.001 * (i + 1)), step_array, step_array * 10, values
        )


def wide_metrics() -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(key, steps, timestamp offsets in ms, values) for the run page's 200 metrics."""
    steps = np.arange(RUN_PAGE_STEPS, dtype=np.int64)
    for k in range(RUN_PAGE_METRICS):
        yield f"metric_{k:03d}", steps, steps * 10, np.sin(steps / (k + 10)) + k
