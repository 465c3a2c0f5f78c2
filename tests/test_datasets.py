"""``lt.data``: datasets with MLflow's digests, sources, schemas and profiles, logged as run
inputs through ``lt.log_input`` and found again by search."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import labtrack as lt
from labtrack.errors import LabtrackException


def _frames() -> dict[str, pd.DataFrame]:
    n = np.arange(50)
    m = np.arange(12000)
    return {
        # mixed column kinds, names out of order: bools and datetimes are not hashed, and
        # the hashed columns are taken in Index.union order
        "mixed_kinds": pd.DataFrame(
            {
                "b_num": np.sin(n) * 3.0,
                "a_str": [f"s{i}" for i in range(50)],
                "c_int": n,
                "flag": [True, False] * 25,
                "when": pd.date_range("2024-01-01", periods=50),
            }
        ),
        # more rows than the 10,000 hashed
        "long": pd.DataFrame({"x": np.cos(m) / 7.0, "y": m % 5}),
        # a column of str and int values is not hashed
        "mixed_values": pd.DataFrame({"z": [1.5, 2.5], "mixed": ["a", 1]}),
    }


def _arrays() -> dict[str, tuple[object, object]]:
    k = np.arange(120, dtype=float).reshape(30, 4) / 10.0
    return {
        "features": (k, None),
        "features_targets": (k, np.arange(30) % 2),
        "dict": ({"p": np.arange(6).reshape(3, 2), "a": np.ones(3)}, np.array([1, 2, 3])),
        "long": (np.arange(15000, dtype=float).reshape(5000, 3), None),
    }


# Computed by mlflow 3.17.2's from_pandas / from_numpy on the same data.
MLFLOW_PANDAS_DIGESTS = {"mixed_kinds": "9f216ebd", "long": "1396e3c4", "mixed_values": "608db6e4"}
MLFLOW_NUMPY_DIGESTS = {
    "features": "820ce0c5",
    "features_targets": "2ee14c5f",
    "dict": "322d2dc4",
    "long": "3af09582",
}


@pytest.mark.parametrize("key", sorted(MLFLOW_PANDAS_DIGESTS))
def test_pandas_digest_is_mlflows(key: str) -> None:
    assert lt.data.from_pandas(_frames()[key]).digest == MLFLOW_PANDAS_DIGESTS[key]


@pytest.mark.parametrize("key", sorted(MLFLOW_NUMPY_DIGESTS))
def test_numpy_digest_is_mlflows(key: str) -> None:
    features, targets = _arrays()[key]
    assert lt.data.from_numpy(features, targets=targets).digest == MLFLOW_NUMPY_DIGESTS[key]


def test_digest_follows_the_data_and_a_given_digest_wins() -> None:
    df = _frames()["mixed_kinds"]
    changed = df.copy()
    changed.loc[3, "b_num"] = 99.0
    assert lt.data.from_pandas(changed).digest != lt.data.from_pandas(df).digest
    assert lt.data.from_pandas(df, digest="mine").digest == "mine"


def test_pandas_dataset_fields_are_mlflows() -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "n": [1, 2, 3], "label": ["a", "b", "a"]})
    ds = lt.data.from_pandas(df, source="data/train.csv", targets="label", name="train")
    assert (ds.name, ds.targets, ds.df is df) == ("train", "label", True)
    assert ds.profile == {"num_rows": 3, "num_elements": 9}
    d = ds.to_dict()
    assert d["source_type"] == "local"
    assert json.loads(d["source"]) == {"uri": "data/train.csv"}
    assert json.loads(d["schema"]) == {
        "mlflow_colspec": [
            {"type": "double", "name": "x", "required": True},
            {"type": "long", "name": "n", "required": True},
            {"type": "string", "name": "label", "required": True},
        ]
    }
    assert lt.data.from_pandas(df).name == "dataset"  # MLflow's default name


def test_numpy_dataset_schema_and_profile() -> None:
    features, targets = _arrays()["features_targets"]
    ds = lt.data.from_numpy(features, targets=targets, source="s3://bucket/x.npy")
    d = ds.to_dict()
    assert d["source_type"] == "s3"
    assert json.loads(d["source"]) == {"uri": "s3://bucket/x.npy"}
    spec = json.loads(d["schema"])["mlflow_tensorspec"]
    assert json.loads(spec["features"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}
    ]
    assert json.loads(spec["targets"])[0]["tensor-spec"]["dtype"] == "int64"
    assert ds.profile == {
        "features_shape": [30, 4],
        "features_size": 120,
        "features_nbytes": 960,
        "targets_shape": [30],
        "targets_size": 30,
        "targets_nbytes": 240,
    }


def test_sources() -> None:
    df = pd.DataFrame({"x": [1]})
    http = lt.data.from_pandas(df, source="https://example.com/d.csv").source
    assert (http.source_type, http.to_dict()) == ("http", {"url": "https://example.com/d.csv"})
    code = lt.data.from_pandas(df).source
    assert code.source_type == "code"
    assert code.to_dict()["tags"]["mlflow.source.type"] in ("LOCAL", "NOTEBOOK")
    assert lt.data.get_source(lt.data.from_pandas(df, source="/d.csv")).uri == "/d.csv"


def test_bad_input_is_a_clear_error() -> None:
    df = pd.DataFrame({"x": [1]})
    with pytest.raises(LabtrackException, match="no targets column 'y'") as err:
        lt.data.from_pandas(df, targets="y")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException, match="DataFrame"):
        lt.data.from_pandas([[1, 2]])
    with pytest.raises(LabtrackException, match="numpy array"):
        lt.data.from_numpy([[1, 2]])


def test_log_input_records_the_dataset_and_search_finds_it(fluent) -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    train = lt.data.from_pandas(df, source="data/train.csv", targets="y", name="train")
    arrays = lt.data.from_numpy(np.ones((4, 2)), targets=np.zeros(4), name="ones")
    with fluent.start_run() as run:
        fluent.log_input(train, context="training")
        fluent.log_input(arrays, context="eval")
    with fluent.start_run():
        pass  # a run without inputs
    inputs = fluent.get_run(run.info.run_id).inputs.dataset_inputs
    by_name = {i.dataset.name: i for i in inputs}
    logged = by_name["train"].dataset
    assert (logged.digest, logged.source_type) == (train.digest, "local")
    assert json.loads(logged.profile) == {"num_rows": 3, "num_elements": 6}
    assert json.loads(logged.schema)["mlflow_colspec"][0]["name"] == "x"
    assert {(t.key, t.value) for t in by_name["train"].tags} == {
        ("mlflow.data.context", "training")
    }
    assert by_name["ones"].dataset.digest == arrays.digest
    # get_source rebuilds the source from the logged input
    assert lt.data.get_source(by_name["train"]).uri == "data/train.csv"
    assert lt.data.get_source(by_name["ones"].dataset).source_type == "code"

    def found(flt: str) -> set[str]:
        return {r.info.run_id for r in fluent.search_runs(filter_string=flt, output_format="list")}

    assert found("datasets.name = 'train'") == {run.info.run_id}
    assert found(f"dataset.digest = '{train.digest}'") == {run.info.run_id}
    assert found("datasets.context = 'eval' and datasets.name = 'ones'") == {run.info.run_id}
    assert found("datasets.name = 'nope'") == set()
