"""Packing metric points into columnar chunks and reading them back (numpy, no SQL here)."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, NamedTuple, TypeVar

import numpy as np

_I8 = np.dtype("<i8")
_F8 = np.dtype("<f8")

T = TypeVar("T", bound=Hashable)


class Bounds(NamedTuple):
    """What the write path asks of a batch's points, worked out once per series."""

    min_step: int
    max_step: int
    min_timestamp: int
    max_timestamp: int
    steps_increasing: bool  # strictly: one point per step, in step order


@dataclass(slots=True)
class Points:
    """Columns of one series, in insertion order. Treat the arrays as read-only: ``bounds()``
    is remembered."""

    steps: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray
    _bounds: Bounds | None = field(default=None, compare=False, repr=False)

    def __len__(self) -> int:
        return int(self.steps.shape[0])

    def bounds(self) -> Bounds:
        """Min and max step and timestamp, and whether steps strictly increase (at least one
        point). A batch's series has ~100 points, where numpy's per-call cost is the cost: the
        write path made a dozen reductions per series before these were kept."""
        if self._bounds is None:
            steps, stamps = self.steps, self.timestamps
            increasing = bool((steps[1:] > steps[:-1]).all())
            if increasing:
                lo_step, hi_step = int(steps[0]), int(steps[-1])
            else:
                lo_step, hi_step = int(steps.min()), int(steps.max())
            self._bounds = Bounds(
                lo_step, hi_step, int(stamps.min()), int(stamps.max()), increasing
            )
        return self._bounds

    @classmethod
    def empty(cls) -> Points:
        return cls(np.empty(0, _I8), np.empty(0, _I8), np.empty(0, _F8))

    @classmethod
    def from_tuples(cls, rows: Sequence[tuple[int, int, float]]) -> Points:
        """From ``(step, timestamp, value)`` tuples."""
        if not rows:
            return cls.empty()
        steps, timestamps, values = zip(*rows, strict=True)
        return cls(
            np.fromiter(steps, _I8, len(rows)),
            np.fromiter(timestamps, _I8, len(rows)),
            np.fromiter(values, _F8, len(rows)),
        )

    @classmethod
    def from_arrays(cls, steps: Any, timestamps: Any, values: Any) -> Points:
        """From buffers of int64/int64/float64 (e.g. ``array.array``), without copying."""
        return cls(
            np.frombuffer(steps, np.int64),
            np.frombuffer(timestamps, np.int64),
            np.frombuffer(values, np.float64),
        )

    @classmethod
    def from_blobs(cls, steps: bytes, timestamps: bytes, values: bytes) -> Points:
        return cls(
            np.frombuffer(steps, _I8),
            np.frombuffer(timestamps, _I8),
            np.frombuffer(values, _F8),
        )

    @classmethod
    def concat(cls, parts: Iterable[Points]) -> Points:
        parts = list(parts)
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(
            np.concatenate([p.steps for p in parts]),
            np.concatenate([p.timestamps for p in parts]),
            np.concatenate([p.values for p in parts]),
        )

    def blobs(self) -> tuple[bytes, bytes, bytes]:
        return (
            self.steps.astype(_I8, copy=False).tobytes(),
            self.timestamps.astype(_I8, copy=False).tobytes(),
            self.values.astype(_F8, copy=False).tobytes(),
        )

    def take(self, index: np.ndarray | slice) -> Points:
        return Points(self.steps[index], self.timestamps[index], self.values[index])

    def without(self, existing: Points) -> Points:
        """The points not already present in ``existing`` (exact (step, timestamp, value))."""
        if len(existing) == 0 or len(self) == 0:
            return self
        seen = set(_keys(existing))
        keep = np.fromiter((k not in seen for k in _keys(self)), bool, len(self))
        return self.take(keep)

    def unique(self) -> Points:
        """Drop exact repeats inside this batch, keeping the first occurrence."""
        if len(self) < 2 or self.bounds().steps_increasing:
            return self
        bits = self.values.astype(_F8, copy=False).view(np.int64)
        order = np.lexsort((bits, self.timestamps, self.steps))
        s, t, b = self.steps[order], self.timestamps[order], bits[order]
        repeat = (s[1:] == s[:-1]) & (t[1:] == t[:-1]) & (b[1:] == b[:-1])
        if not repeat.any():
            return self
        drop = np.zeros(len(self), bool)
        # lexsort is stable, so within a run of repeats the first is the earliest logged.
        drop[order[1:][repeat]] = True
        return self.take(~drop)

    def is_sorted_by_step(self) -> bool:
        ds = np.diff(self.steps)
        return bool(((ds > 0) | ((ds == 0) & (np.diff(self.timestamps) >= 0))).all())

    def step_order(self) -> np.ndarray | None:
        """The permutation that orders by (step, timestamp), stable so that equal points keep
        insertion order; ``None`` when already in that order."""
        # Training loops log in order: checking is O(n), sorting is not.
        if self.is_sorted_by_step():
            return None
        return np.lexsort((self.timestamps, self.steps))

    def sorted_by_step(self) -> Points:
        """Order by (step, timestamp); stable, so equal points keep insertion order."""
        order = self.step_order()
        return self if order is None else self.take(order)


def _keys(p: Points) -> Iterable[tuple[int, int, bytes]]:
    # Compare values by their bytes so NaN equals NaN for duplicate detection.
    vb = p.values.astype(_F8, copy=False).view(np.int64)
    return zip(p.steps.tolist(), p.timestamps.tolist(), vb.tolist(), strict=True)


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
