"""``lt.data``: dataset objects for ``lt.log_input`` and ``lt.evaluate`` (MLflow's names).

``from_pandas(df, source=..., targets=..., name=...)`` and ``from_numpy(features, targets=...)``
build datasets carrying a name, an MLflow-compatible digest, a source, a schema and a profile;
``get_source(dataset)`` gives the source object back from a dataset or a logged run input.
pandas and numpy are imported only when a dataset is built.
"""

from __future__ import annotations

from typing import Any

from labtrack.data.datasets import (
    ColumnDatasetSchema,
    Dataset,
    NumpyDataset,
    PandasDataset,
    TensorDatasetSchema,
)
from labtrack.data.sources import (
    CodeDatasetSource,
    DatasetSource,
    HTTPDatasetSource,
    LocalArtifactDatasetSource,
    URIDatasetSource,
    resolve_source,
    source_from_json,
)
from labtrack.entities import Dataset as DatasetEntity
from labtrack.entities import DatasetInput
from labtrack.errors import invalid


def from_pandas(
    df: Any,
    source: str | DatasetSource | None = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
    predictions: str | None = None,
) -> PandasDataset:
    """A dataset over a DataFrame. ``source``: a path, URI or ``DatasetSource`` (default: the
    notebook or script running); ``targets``/``predictions``: column names in ``df``."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise invalid(f"from_pandas expects a pandas DataFrame, not {type(df).__name__}.")
    return PandasDataset(df, resolve_source(source), targets, name, digest, predictions)


def from_numpy(
    features: Any,
    source: str | DatasetSource | None = None,
    targets: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> NumpyDataset:
    """A dataset over numpy arrays (or dicts of arrays) of features and optional targets."""
    import numpy as np

    def check(role: str, value: Any) -> None:
        arrays = value.values() if isinstance(value, dict) else [value]
        if not all(isinstance(a, np.ndarray) for a in arrays):
            raise invalid(f"from_numpy expects {role} as a numpy array or a dict of arrays.")

    check("features", features)
    if targets is not None:
        check("targets", targets)
    return NumpyDataset(features, resolve_source(source), targets, name, digest)


def get_source(dataset: Any) -> DatasetSource:
    """The source of a dataset object, a logged dataset (``run.inputs.dataset_inputs[i]`` or
    its ``.dataset``)."""
    if isinstance(dataset, Dataset):
        return dataset.source
    if isinstance(dataset, DatasetInput):
        dataset = dataset.dataset
    if isinstance(dataset, DatasetEntity):
        return source_from_json(dataset.source_type, dataset.source)
    raise invalid(
        f"get_source expects a dataset or a logged dataset input, not {type(dataset).__name__}."
    )


__all__ = [
    "CodeDatasetSource",
    "ColumnDatasetSchema",
    "Dataset",
    "DatasetSource",
    "HTTPDatasetSource",
    "LocalArtifactDatasetSource",
    "NumpyDataset",
    "PandasDataset",
    "TensorDatasetSchema",
    "URIDatasetSource",
    "from_numpy",
    "from_pandas",
    "get_source",
]
