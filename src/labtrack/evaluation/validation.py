"""Model validation: ``MetricThreshold`` checks of candidate metrics (against fixed bounds and,
with a baseline, against the baseline's values), raising ``ModelValidationFailedException``.

Semantics are MLflow's: ``threshold`` is an absolute bound (>= when greater is better, <=
otherwise); ``min_absolute_change`` / ``min_relative_change`` need the candidate to beat the
baseline by at least that much (relative to the baseline's magnitude).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from labtrack.errors import LabtrackException, invalid


class ModelValidationFailedException(LabtrackException):
    """Raised when metrics miss their ``MetricThreshold``s; the message lists each failure."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "BAD_REQUEST")  # MLflow's code for it


@dataclass(frozen=True)
class MetricThreshold:
    threshold: float | None = None
    min_absolute_change: float | None = None
    min_relative_change: float | None = None
    greater_is_better: bool | None = None

    def __post_init__(self) -> None:
        if self.greater_is_better is None:
            raise invalid("MetricThreshold: greater_is_better is required.")
        for name in ("threshold", "min_absolute_change", "min_relative_change"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, (int, float)):
                raise invalid(f"MetricThreshold: {name} must be a number, not {value!r}.")
        if self.min_absolute_change is not None and self.min_absolute_change <= 0:
            raise invalid("MetricThreshold: min_absolute_change must be positive.")
        if self.min_relative_change is not None and not 0 < self.min_relative_change <= 1:
            raise invalid("MetricThreshold: min_relative_change must be in (0, 1].")
        if self.threshold is None and (
            self.min_absolute_change is None and self.min_relative_change is None
        ):
            raise invalid(
                "MetricThreshold: give a threshold, min_absolute_change or min_relative_change."
            )


def _failures(
    name: str,
    spec: MetricThreshold,
    candidate: float | None,
    baseline: float | None,
) -> list[str]:
    if candidate is None:
        return [f"Metric {name!r}: not computed for the candidate model."]
    better = spec.greater_is_better
    out = []
    if spec.threshold is not None:
        ok = candidate >= spec.threshold if better else candidate <= spec.threshold
        if not ok:
            op = ">=" if better else "<="
            out.append(
                f"Metric {name!r}: candidate value {candidate} is not {op} the threshold "
                f"{spec.threshold}."
            )
    needs_baseline = spec.min_absolute_change is not None or spec.min_relative_change is not None
    if needs_baseline and baseline is None:
        out.append(
            f"Metric {name!r}: a min_absolute_change/min_relative_change needs a baseline "
            "model's value, and there is none."
        )
        return out
    if baseline is None:
        return out
    gain = candidate - baseline if better else baseline - candidate
    if spec.min_absolute_change is not None and gain < spec.min_absolute_change:
        out.append(
            f"Metric {name!r}: candidate {candidate} vs baseline {baseline} improves by {gain}, "
            f"less than min_absolute_change {spec.min_absolute_change}."
        )
    if spec.min_relative_change is not None:
        relative = gain / abs(baseline) if baseline != 0 else (float("inf") if gain > 0 else 0.0)
        if relative < spec.min_relative_change:
            out.append(
                f"Metric {name!r}: candidate {candidate} vs baseline {baseline} improves by "
                f"{relative:.4g} relative, less than min_relative_change "
                f"{spec.min_relative_change}."
            )
    return out


def validate(
    thresholds: Mapping[str, MetricThreshold],
    candidate: Mapping[str, float],
    baseline: Mapping[str, float] | None = None,
) -> None:
    """Raise ``ModelValidationFailedException`` naming every metric that misses its bounds."""
    problems: list[str] = []
    for name, spec in thresholds.items():
        if not isinstance(spec, MetricThreshold):
            raise invalid(f"validation_thresholds[{name!r}] must be a MetricThreshold.")
        base = None if baseline is None else baseline.get(name)
        problems.extend(_failures(name, spec, candidate.get(name), base))
    if problems:
        raise ModelValidationFailedException(
            "Model validation failed:\n" + "\n".join(f"- {p}" for p in problems)
        )
