"""Packing metric points into columnar chunks and reading them back (numpy, no SQL here)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from itertools import pairwise
from typing import Any, TypeVar

import numpy as np

from labtrack.entities.points import Points

_I8 = np.dtype("<i8")
_F8 = np.dtype("<f8")

T = TypeVar("T", bound=Hashable)


def chunks_in_order(bounds: Sequence[tuple[int, int, int, int]]) -> bool:
    """Whether every point of each chunk sorts before every point of the next one.

    ``bounds`` are ``(min_step, max_step, min_timestamp, max_timestamp)`` per chunk in ``seq``
    order. Then the (step, timestamp) order of the history is the chunks' own orders one after
    another, so a page can be read from just the chunks it covers.
    """
    for (_, max_step, _, max_ts), (min_step, _, min_ts, _) in pairwise(bounds):
        if max_step > min_step or (max_step == min_step and max_ts >= min_ts):
            return False
    return True


def rechunk(parts: Sequence[tuple[T, Points]], size: int) -> list[tuple[T, Points]]:
    """Merge consecutive parts with the same label and cut them into chunks of ``size`` points.

    Order is kept (it decides ties between equal (step, timestamp) points); parts with
    different labels (model/dataset of the points) are never merged.
    """
    out: list[tuple[T, Points]] = []
    run: list[Points] = []
    label: Any = None

    def flush() -> None:
        merged = Points.concat(run)
        if len(merged) <= size:  # the usual batch: keep the points (and their bounds)
            out.append((label, merged))
            return
        for start in range(0, len(merged), size):
            out.append((label, merged.take(slice(start, start + size))))

    for part_label, points in parts:
        if run and part_label != label:
            flush()
            run = []
        label = part_label
        if len(points):
            run.append(points)
    if run:
        flush()
    return out


def latest_point(p: Points) -> tuple[int, int, float]:
    """MLflow's "latest": greatest (step, timestamp, value), NaN ranking below any number."""
    vals = p.values
    if p.bounds().steps_increasing:
        i = len(p) - 1  # one point per step, the last step last: the usual training batch
    else:
        rank = np.where(np.isnan(vals), -np.inf, vals)
        i = int(np.lexsort((rank, p.timestamps, p.steps))[-1])
    return int(p.steps[i]), int(p.timestamps[i]), float(vals[i])


def downsample(
    p: Points, max_points: int, x: str = "step"
) -> tuple[Points, np.ndarray, np.ndarray]:
    """At most ``max_points`` buckets over ``x``; each keeps its last point plus its min and max.

    Returns (points, mins, maxs). Spikes survive because min/max are per bucket. Input must be
    sorted by x.
    """
    n = len(p)
    xs = p.steps if x == "step" else p.timestamps
    if n <= max_points:
        return p, p.values.copy(), p.values.copy()
    lo, hi = float(xs[0]), float(xs[-1])
    width = (hi - lo) / max_points or 1.0
    bucket = np.minimum(((xs - lo) / width).astype(np.int64), max_points - 1)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], n] - 1
    vals = p.values
    # fmin/fmax ignore NaN inside a bucket unless the whole bucket is NaN.
    mins = np.fmin.reduceat(vals, starts)
    maxs = np.fmax.reduceat(vals, starts)
    return p.take(ends), mins, maxs
