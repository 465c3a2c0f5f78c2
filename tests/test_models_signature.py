"""Signatures: inference from examples, MLflow's JSON forms, enforcement on predict."""

from __future__ import annotations

import json

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from labtrack.models.signature import (  # noqa: E402
    ColSpec,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    SchemaError,
    TensorSpec,
    enforce_params,
    enforce_schema,
    infer_signature,
)


def test_infer_from_dataframe() -> None:
    df = pd.DataFrame(
        {
            "i": np.array([1, 2], dtype=np.int64),
            "i32": np.array([1, 2], dtype=np.int32),
            "f": [0.5, 1.5],
            "f32": np.array([0.5, 1.5], dtype=np.float32),
            "s": ["a", "b"],
            "b": [True, False],
            "raw": [b"x", b"y"],
            "t": pd.to_datetime(["2024-01-01", "2024-01-02"]),
        }
    )
    sig = infer_signature(df, np.array([1, 0]))
    inputs = json.loads(sig.to_dict()["inputs"])
    assert inputs == [
        {"type": "long", "name": "i", "required": True},
        {"type": "integer", "name": "i32", "required": True},
        {"type": "double", "name": "f", "required": True},
        {"type": "float", "name": "f32", "required": True},
        {"type": "string", "name": "s", "required": True},
        {"type": "boolean", "name": "b", "required": True},
        {"type": "binary", "name": "raw", "required": True},
        {"type": "datetime", "name": "t", "required": True},
    ]
    # a 1-D prediction for table inputs is one unnamed column, as MLflow writes it
    assert json.loads(sig.to_dict()["outputs"]) == [{"type": "long", "required": True}]
    assert sig.to_dict()["params"] is None


def test_infer_from_ndarray_dict_and_lists() -> None:
    sig = infer_signature(np.zeros((3, 4), dtype=np.float32), np.zeros(3))
    assert json.loads(sig.to_dict()["inputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}
    ]
    assert json.loads(sig.to_dict()["outputs"]) == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}
    ]
    named = infer_signature({"a": np.zeros((2, 3)), "b": np.ones(2, dtype=np.int64)})
    assert [s.to_dict() for s in named.inputs.inputs] == [
        {"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}, "name": "a"},
        {"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}, "name": "b"},
    ]
    cols = infer_signature({"x": 1.0, "y": "s", "z": [1, 2]})
    assert [(s.name, s.type) for s in cols.inputs.inputs] == [
        ("x", "double"),
        ("y", "string"),
        ("z", "long"),
    ]
    records = infer_signature([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    assert [(s.name, s.type) for s in records.inputs.inputs] == [("a", "long"), ("b", "string")]
    assert infer_signature(["a", "b"]).inputs.inputs == [ColSpec("string", None, True)]
    assert infer_signature([[1.0, 2.0]]).inputs.inputs == [TensorSpec("float64", (-1, 2))]


def test_params_schema_roundtrip() -> None:
    sig = infer_signature(pd.DataFrame({"x": [1.0]}), params={"k": 3, "t": 0.5, "tags": ["a"]})
    d = sig.to_dict()
    assert json.loads(d["params"]) == [
        {"name": "k", "type": "long", "default": 3, "shape": None},
        {"name": "t", "type": "double", "default": 0.5, "shape": None},
        {"name": "tags", "type": "string", "default": ["a"], "shape": [-1]},
    ]
    back = ModelSignature.from_dict(d)
    assert back.to_dict() == d


def test_schema_json_roundtrip() -> None:
    schema = Schema([ColSpec("double", "a"), ColSpec("string", "b", required=False)])
    assert Schema.from_json(schema.to_json()) == schema
    tensor = Schema([TensorSpec("float32", (-1, 28, 28), "img")])
    assert Schema.from_json(tensor.to_json()) == tensor


SCHEMA = Schema([ColSpec("double", "a"), ColSpec("long", "b"), ColSpec("string", "c")])


def test_enforce_accepts_and_converts_safely() -> None:
    df = pd.DataFrame({"a": [1, 2], "b": np.array([1, 2], dtype=np.int32), "c": ["x", "y"]})
    out = enforce_schema(df, SCHEMA)
    assert str(out["a"].dtype) == "float64"  # int -> double: safe
    assert str(out["b"].dtype) == "int64"  # int32 -> long: safe
    # extra columns are dropped, order follows the signature
    extra = df.assign(zzz=1)[["zzz", "c", "b", "a"]]
    assert list(enforce_schema(extra, SCHEMA).columns) == ["a", "b", "c"]
    # records and dicts become tables
    assert enforce_schema([{"a": 1.0, "b": 2, "c": "x"}], SCHEMA).shape == (1, 3)
    assert enforce_schema({"a": [1.0], "b": [2], "c": ["x"]}, SCHEMA).shape == (1, 3)


def test_enforce_missing_column_is_a_clear_error() -> None:
    with pytest.raises(SchemaError, match=r"Model is missing inputs \['b'\]") as err:
        enforce_schema(pd.DataFrame({"a": [1.0], "c": ["x"], "bb": [1]}), SCHEMA)
    assert "extra inputs: ['bb']" in err.value.message
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    optional = Schema([ColSpec("double", "a"), ColSpec("double", "opt", required=False)])
    assert list(enforce_schema(pd.DataFrame({"a": [1.0]}), optional).columns) == ["a"]


def test_enforce_wrong_type_is_a_clear_error() -> None:
    with pytest.raises(SchemaError, match=r"column b.*float64 to int64"):
        enforce_schema(pd.DataFrame({"a": [1.0], "b": [1.5], "c": ["x"]}), SCHEMA)
    with pytest.raises(SchemaError, match="column a"):
        enforce_schema(pd.DataFrame({"a": ["text"], "b": [1], "c": ["x"]}), SCHEMA)
    with pytest.raises(SchemaError, match="column c"):
        enforce_schema(pd.DataFrame({"a": [1.0], "b": [1], "c": [3.0]}), SCHEMA)
    f32 = Schema([ColSpec("float", "x")])
    with pytest.raises(SchemaError, match="float64 to float32"):
        enforce_schema(pd.DataFrame({"x": [0.1]}), f32)


def test_enforce_tensors() -> None:
    schema = Schema([TensorSpec("float32", (-1, 2))])
    out = enforce_schema([[1, 2], [3, 4]], schema)
    assert out.dtype == np.float32
    assert out.shape == (2, 2)
    with pytest.raises(SchemaError, match="Shape of input"):
        enforce_schema(np.zeros((2, 3), dtype=np.float32), schema)
    with pytest.raises(SchemaError, match="float32 to int64"):
        enforce_schema(np.zeros((2, 2), dtype=np.float32), Schema([TensorSpec("int64", (-1, 2))]))
    named = Schema([TensorSpec("int64", (-1,), "a"), TensorSpec("float64", (-1,), "b")])
    got = enforce_schema({"a": [1, 2], "b": [1.0, 2.0]}, named)
    assert set(got) == {"a", "b"}
    with pytest.raises(SchemaError, match=r"missing inputs \['b'\]"):
        enforce_schema({"a": [1]}, named)


def test_enforce_params() -> None:
    schema = ParamSchema([ParamSpec("k", "long", 3), ParamSpec("t", "double", 0.5)])
    assert enforce_params(None, schema) == {"k": 3, "t": 0.5}
    assert enforce_params({"t": 1}, schema) == {"k": 3, "t": 1.0}
    with pytest.raises(SchemaError, match="param 'k'"):
        enforce_params({"k": "three"}, schema)
    with pytest.warns(UserWarning, match="Unrecognized params"):
        assert enforce_params({"zz": 1}, schema) == {"k": 3, "t": 0.5}
