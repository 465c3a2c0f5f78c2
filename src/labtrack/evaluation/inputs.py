"""Turning what ``lt.evaluate`` is given into features, targets, predictions and a dataset,
with one clear ``INVALID_PARAMETER_VALUE`` error for each way the input can be wrong."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from labtrack.errors import invalid

MODEL_TYPES = ("classifier", "regressor")


@dataclass
class EvalData:
    features: Any  # what the model gets: a DataFrame, or the 2-D array it was given as
    names: list[str]  # the feature columns' names
    targets: Any  # a 1-D numpy array
    predictions: Any  # a 1-D numpy array when given as a column, else None
    dataset: Any  # a labtrack.data dataset (logged as the run's input)

    def frame(self) -> Any:
        """The features as a DataFrame (for the per-row table and custom metrics)."""
        import pandas as pd

        if isinstance(self.features, pd.DataFrame):
            return self.features
        return pd.DataFrame(self.features, columns=self.names)


def check_model_type(model_type: Any) -> str:
    if model_type not in MODEL_TYPES:
        raise invalid(
            f"Unknown model_type {model_type!r}: the default evaluator supports "
            f"{', '.join(repr(t) for t in MODEL_TYPES)}."
        )
    return str(model_type)


def _feature_names(count: int, given: Any) -> list[str]:
    if given is not None:
        names = [str(n) for n in given]
        if len(names) != count:
            raise invalid(
                f"feature_names has {len(names)} names but the data has {count} feature columns."
            )
        return names
    # MLflow's names for unnamed columns: feature_1..feature_9, or feature_01..feature_10 ...
    width = math.ceil(math.log10(count + 1))
    return [f"feature_{str(i + 1).zfill(width)}" for i in range(count)]


def _as_1d(values: Any, what: str) -> Any:
    import numpy as np

    arr = np.asarray(values)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise invalid(f"{what} must be one value per row; got an array of shape {arr.shape}.")
    return arr


def resolve_data(
    data: Any,
    targets: Any,
    predictions: Any,
    feature_names: Any,
) -> EvalData:
    """Features, targets and (optionally) a predictions column from a DataFrame, a numpy
    array, a list, or a ``lt.data`` dataset."""
    import numpy as np
    import pandas as pd

    from labtrack import data as lt_data

    dataset: lt_data.Dataset | None
    if isinstance(data, lt_data.PandasDataset):
        dataset = data
        targets = targets if targets is not None else data.targets
        predictions = predictions if predictions is not None else data.predictions
        data = data.df
    elif isinstance(data, lt_data.NumpyDataset):
        dataset = data
        if targets is None:
            targets = data.targets
        data = data.features
    else:
        dataset = None
    if data is None:
        raise invalid("evaluate needs data: a DataFrame, a numpy array or a dataset.")
    if targets is None:
        raise invalid(
            "evaluate needs targets: a column name of the DataFrame, or an array of labels."
        )

    if isinstance(data, pd.DataFrame):
        if isinstance(targets, str):
            if targets not in data.columns:
                raise invalid(
                    f"The target column {targets!r} is not in the data "
                    f"(columns: {[str(c) for c in data.columns]})."
                )
            y = data[targets].to_numpy()
            drop = [targets]
        else:
            y = _as_1d(targets, "targets")
            drop = []
        pred = None
        if predictions is not None:
            if not isinstance(predictions, str) or predictions not in data.columns:
                raise invalid(
                    f"The predictions column {predictions!r} is not in the data "
                    f"(columns: {[str(c) for c in data.columns]})."
                )
            pred = data[predictions].to_numpy()
            drop.append(predictions)
        features = data.drop(columns=drop)
        if feature_names is not None:
            missing = [n for n in feature_names if n not in features.columns]
            if missing:
                raise invalid(f"feature_names {missing} are not columns of the data.")
            features = features[list(feature_names)]
        names = [str(c) for c in features.columns]
        if dataset is None:
            dataset = lt_data.from_pandas(
                data, targets=targets if isinstance(targets, str) else None
            )
    else:
        if isinstance(targets, str):
            raise invalid(
                f"targets={targets!r} names a column, but the data is a "
                f"{type(data).__name__}, which has none; pass the labels as an array."
            )
        if predictions is not None:
            raise invalid("predictions names a column: give the data as a DataFrame.")
        try:
            arr = np.asarray(data)
        except Exception as exc:
            raise invalid(f"Cannot use {type(data).__name__} as evaluation data.") from exc
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise invalid(f"Evaluation data must be 2-D (rows x features); got shape {arr.shape}.")
        y = _as_1d(targets, "targets")
        # The model gets the array as given (it was likely fitted on one): no column names.
        features = arr
        names = _feature_names(arr.shape[1], feature_names)
        pred = None
        if dataset is None:
            dataset = lt_data.from_numpy(arr, targets=y)
    if len(features) != len(y):
        raise invalid(
            f"The data has {len(features)} rows but there are {len(y)} targets: they must match."
        )
    if len(y) == 0:
        raise invalid("The evaluation data is empty.")
    return EvalData(features, names, y, pred, dataset)


def check_targets(model_type: str, y: Any) -> None:
    import numpy as np
    import pandas as pd

    if model_type == "regressor":
        if not (pd.api.types.is_numeric_dtype(y.dtype) and not pd.api.types.is_bool_dtype(y)):
            sample = [str(v) for v in y[:3]]
            raise invalid(
                f"A regressor's targets must be numeric; these are {y.dtype} (e.g. {sample})."
            )
        if not np.isfinite(y.astype(float)).all():
            raise invalid("A regressor's targets contain NaN or infinite values.")


def check_predictions(y_pred: Any, n_rows: int) -> Any:
    pred = _as_1d(y_pred, "The model's predictions")
    if len(pred) != n_rows:
        raise invalid(
            f"The model returned {len(pred)} predictions for {n_rows} rows: they must match."
        )
    return pred
