"""``lt.transformers``: Hugging Face ``Trainer`` autologging (MLflow's
``mlflow.transformers.autolog`` name). Packaging transformers models and pipelines as an
MLflow flavor is not built yet."""

from __future__ import annotations

from labtrack.autologging.transformers import autolog

__all__ = ["autolog"]
