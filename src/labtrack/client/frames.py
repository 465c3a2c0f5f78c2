"""Runs as a pandas DataFrame, in the column layout MLflow users know."""

from __future__ import annotations

from typing import Any

from labtrack.entities import Run


def runs_to_dataframe(runs: list[Run]) -> Any:
    """Columns: run_id, experiment_id, status, artifact_uri, start_time, end_time (UTC
    datetimes), then ``metrics.*``, ``params.*``, ``tags.*``; missing values are NaN/None."""
    import numpy as np
    import pandas as pd

    n = len(runs)
    base: dict[str, Any] = {
        "run_id": [r.info.run_id for r in runs],
        "experiment_id": [r.info.experiment_id for r in runs],
        "status": [r.info.status for r in runs],
        "artifact_uri": [r.info.artifact_uri for r in runs],
        "start_time": pd.to_datetime([r.info.start_time for r in runs], unit="ms", utc=True),
        "end_time": pd.to_datetime([r.info.end_time for r in runs], unit="ms", utc=True),
    }
    metrics: dict[str, np.ndarray] = {}
    params: dict[str, list] = {}
    tags: dict[str, list] = {}
    for i, run in enumerate(runs):
        for key, latest in run.data.metrics.items():
            col = metrics.get(key)
            if col is None:
                col = metrics[key] = np.full(n, np.nan)
            col[i] = latest
        for key, value in run.data.params.items():
            params.setdefault(key, [None] * n)[i] = value
        for key, value in run.data.tags.items():
            tags.setdefault(key, [None] * n)[i] = value
    columns: dict[str, Any] = dict(base)
    columns.update({f"metrics.{k}": v for k, v in sorted(metrics.items())})
    columns.update({f"params.{k}": v for k, v in sorted(params.items())})
    columns.update({f"tags.{k}": v for k, v in sorted(tags.items())})
    return pd.DataFrame(columns)
