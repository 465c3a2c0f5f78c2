"""Metric points as columns: one series' steps, timestamps and values as numpy arrays.

Plain data shared by every layer: the client's batching queue builds them, the service checks
them and the store packs them into chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

# Points per chart series when a chart does not say: the server downsamples a series to about
# this many buckets (min and max kept). The dashboard's `maxPoints` setting defaults to it too
# (lab-extension/schema/model.json; a test keeps them equal).
CHART_POINTS = 1000

_I8 = np.dtype("<i8")
_F8 = np.dtype("<f8")


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
