"""Dataset objects (MLflow's ``PandasDataset`` / ``NumpyDataset``): the data plus what a run's
input records about it (name, digest, source, schema, profile).

``lt.log_input(dataset)`` reads those attributes; ``to_dict()`` gives the same fields as the
strings a run input stores. The data stays in memory and is never uploaded.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from labtrack.data.digest import numpy_digest, pandas_digest
from labtrack.data.sources import DatasetSource
from labtrack.entities import Dataset as DatasetEntity
from labtrack.errors import invalid
from labtrack.models.signature import Schema, infer_schema

# MLflow's default when no name is given.
DEFAULT_NAME = "dataset"


class ColumnDatasetSchema(Schema):
    """A frame's column schema. ``to_dict()`` is the JSON a run input stores (MLflow's
    ``{"mlflow_colspec": [...]}``), which is what ``lt.log_input`` serializes."""

    def to_dict(self) -> dict[str, Any]:
        return {"mlflow_colspec": [spec.to_dict() for spec in self.inputs]}


class TensorDatasetSchema:
    """Tensor schemas of an array dataset's features and targets (MLflow's
    ``{"mlflow_tensorspec": {"features": "<json>", "targets": "<json>" | null}}``)."""

    def __init__(self, features: Schema, targets: Schema | None = None) -> None:
        self.features = features
        self.targets = targets

    def to_dict(self) -> dict[str, Any]:
        return {
            "mlflow_tensorspec": {
                "features": self.features.to_json(),
                "targets": self.targets.to_json() if self.targets is not None else None,
            }
        }

    def __repr__(self) -> str:
        return f"TensorDatasetSchema(features={self.features!r}, targets={self.targets!r})"


class Dataset:
    """Base of dataset objects: a name, a digest (computed when not given) and a source."""

    def __init__(self, source: DatasetSource, name: str | None, digest: str | None) -> None:
        self._source = source
        self._name = name or DEFAULT_NAME
        self._digest = digest or self._compute_digest()

    def _compute_digest(self) -> str:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return self._name

    @property
    def digest(self) -> str:
        return self._digest

    @property
    def source(self) -> DatasetSource:
        return self._source

    @property
    def schema(self) -> Any:
        return None

    @property
    def profile(self) -> dict[str, Any] | None:
        return None

    def to_dict(self) -> dict[str, str | None]:
        """The fields of a run input, as strings (schema, source and profile are JSON)."""
        schema = self.schema
        profile = self.profile
        return {
            "name": self.name,
            "digest": self.digest,
            "source": self.source.to_json(),
            "source_type": self.source._get_source_type(),
            "schema": json.dumps(schema.to_dict()) if schema is not None else None,
            "profile": json.dumps(profile) if profile is not None else None,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def _to_mlflow_entity(self) -> DatasetEntity:
        d = self.to_dict()
        return DatasetEntity(
            name=str(d["name"]),
            digest=str(d["digest"]),
            source_type=str(d["source_type"]),
            source=str(d["source"]),
            schema=d["schema"],
            profile=d["profile"],
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} digest={self.digest!r}>"


class PandasDataset(Dataset):
    """A DataFrame, optionally naming its target and predictions columns."""

    def __init__(
        self,
        df: Any,
        source: DatasetSource,
        targets: str | None = None,
        name: str | None = None,
        digest: str | None = None,
        predictions: str | None = None,
    ) -> None:
        for role, column in (("targets", targets), ("predictions", predictions)):
            if column is not None and column not in df.columns:
                raise invalid(
                    f"The DataFrame has no {role} column {column!r} "
                    f"(columns: {[str(c) for c in df.columns]})."
                )
        self._df = df
        self._targets = targets
        self._predictions = predictions
        super().__init__(source, name, digest)

    def _compute_digest(self) -> str:
        return pandas_digest(self._df)

    @property
    def df(self) -> Any:
        return self._df

    @property
    def targets(self) -> str | None:
        return self._targets

    @property
    def predictions(self) -> str | None:
        return self._predictions

    @property
    def profile(self) -> dict[str, Any]:
        return {"num_rows": len(self._df), "num_elements": int(self._df.size)}

    @cached_property
    def schema(self) -> ColumnDatasetSchema | None:
        try:
            return ColumnDatasetSchema(infer_schema(self._df).inputs)
        except Exception:  # an exotic column type: the input is still worth recording
            return None


class NumpyDataset(Dataset):
    """Feature and optional target arrays (or dicts of arrays)."""

    def __init__(
        self,
        features: Any,
        source: DatasetSource,
        targets: Any = None,
        name: str | None = None,
        digest: str | None = None,
    ) -> None:
        self._features = features
        self._targets = targets
        super().__init__(source, name, digest)

    def _compute_digest(self) -> str:
        return numpy_digest(self._features, self._targets)

    @property
    def features(self) -> Any:
        return self._features

    @property
    def targets(self) -> Any:
        return self._targets

    @property
    def profile(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for role, value in (("features", self._features), ("targets", self._targets)):
            if value is None:
                continue
            out.update(_array_profile(role, value))
        return out

    @cached_property
    def schema(self) -> TensorDatasetSchema | None:
        try:
            targets = infer_schema(self._targets) if self._targets is not None else None
            return TensorDatasetSchema(infer_schema(self._features), targets)
        except Exception:  # an exotic dtype: the input is still worth recording
            return None


def _array_profile(role: str, value: Any) -> dict[str, Any]:
    import numpy as np

    if isinstance(value, dict):
        arrays = {k: np.asarray(v) for k, v in value.items()}
        return {
            f"{role}_shape": {k: list(a.shape) for k, a in arrays.items()},
            f"{role}_size": {k: int(a.size) for k, a in arrays.items()},
            f"{role}_nbytes": {k: int(a.nbytes) for k, a in arrays.items()},
        }
    array = np.asarray(value)
    return {
        f"{role}_shape": list(array.shape),
        f"{role}_size": int(array.size),
        f"{role}_nbytes": int(array.nbytes),
    }
