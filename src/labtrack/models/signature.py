"""Model signatures: what a model takes and returns, inferred from examples, enforced on predict.

The JSON forms are MLflow's, so signatures written here read in MLflow and the reverse:

- column specs ``{"type": "double", "name": "x", "required": true}`` (types ``boolean``,
  ``integer``, ``long``, ``float``, ``double``, ``string``, ``binary``, ``datetime``);
- tensor specs ``{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 4]}}``
  (optionally with a ``name``);
- params ``{"name": "k", "type": "double", "default": 1.0, "shape": null}``.

Enforcement follows MLflow: missing required inputs are an error; a value may be converted
only where no information is lost (int32 -> int64, int -> double, float32 -> float64 ...);
anything else is an error naming the column and both types. numpy and pandas are imported
only by the functions that need them.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labtrack.errors import LabtrackException

# column type -> numpy dtype name
COLUMN_TYPES: dict[str, str] = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}
PARAM_TYPES = ("boolean", "integer", "long", "float", "double", "string", "datetime")


class SchemaError(LabtrackException):
    """Input or params do not match the model's signature (INVALID_PARAMETER_VALUE)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "INVALID_PARAMETER_VALUE")


# ---- specs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColSpec:
    type: str
    name: str | None = None
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class TensorSpec:
    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "tensor",
            "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)},
        }
        if self.name is not None:
            out["name"] = self.name
        return out


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: Any = None
    shape: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        default = self.default
        if isinstance(default, (_dt.date, _dt.datetime)):
            default = default.isoformat()
        return {
            "name": self.name,
            "type": self.type,
            "default": default,
            "shape": list(self.shape) if self.shape is not None else None,
        }


@dataclass
class Schema:
    inputs: list[ColSpec | TensorSpec] = field(default_factory=list)

    @property
    def is_tensor(self) -> bool:
        return bool(self.inputs) and isinstance(self.inputs[0], TensorSpec)

    @property
    def has_names(self) -> bool:
        return bool(self.inputs) and all(s.name is not None for s in self.inputs)

    def names(self) -> list[str]:
        return [s.name for s in self.inputs if s.name is not None]

    def required_names(self) -> list[str]:
        return [
            s.name
            for s in self.inputs
            if s.name is not None and (not isinstance(s, ColSpec) or s.required)
        ]

    def to_json(self) -> str:
        return json.dumps([s.to_dict() for s in self.inputs])

    @classmethod
    def from_json(cls, text: str | list[Any]) -> Schema:
        items = json.loads(text) if isinstance(text, str) else text
        specs: list[ColSpec | TensorSpec] = []
        for item in items:
            if item.get("type") == "tensor":
                ts = item.get("tensor-spec") or {}
                specs.append(
                    TensorSpec(str(ts.get("dtype")), tuple(ts.get("shape") or ()), item.get("name"))
                )
            else:
                specs.append(
                    ColSpec(
                        str(item.get("type")), item.get("name"), bool(item.get("required", True))
                    )
                )
        return cls(specs)


@dataclass
class ParamSchema:
    params: list[ParamSpec] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps([p.to_dict() for p in self.params])

    @classmethod
    def from_json(cls, text: str | list[Any]) -> ParamSchema:
        items = json.loads(text) if isinstance(text, str) else text
        return cls(
            [
                ParamSpec(
                    i["name"],
                    i.get("type", "string"),
                    i.get("default"),
                    tuple(i["shape"]) if i.get("shape") is not None else None,
                )
                for i in items
            ]
        )


@dataclass
class ModelSignature:
    inputs: Schema | None = None
    outputs: Schema | None = None
    params: ParamSchema | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": self.params.to_json() if self.params else None,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelSignature:
        def load(key: str, kind: Any) -> Any:
            value = d.get(key)
            return kind.from_json(value) if value else None

        return cls(load("inputs", Schema), load("outputs", Schema), load("params", ParamSchema))


# ---- inference ----------------------------------------------------------------------------


def _col_type_of_dtype(dtype: Any, values: Any = None) -> str:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "long" if np.dtype(dtype).itemsize >= 8 else "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "double" if np.dtype(dtype).itemsize >= 8 else "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_string_dtype(dtype) or dtype == object:  # noqa: E721
        if values is not None:
            sample = [x for x in list(values)[:100] if x is not None]
            if sample and all(isinstance(x, (bytes, bytearray)) for x in sample):
                return "binary"
            if sample and all(isinstance(x, bool) for x in sample):
                return "boolean"
            if sample and all(isinstance(x, int) and not isinstance(x, bool) for x in sample):
                return "long"
            if sample and all(isinstance(x, (int, float)) for x in sample):
                return "double"
        return "string"
    raise SchemaError(f"Cannot infer a signature type for dtype {dtype}.")


def _col_type_of_value(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, (bytes, bytearray)):
        return "binary"
    if isinstance(value, _dt.datetime):
        return "datetime"
    if isinstance(value, str):
        return "string"
    type_name = type(value).__module__
    if type_name == "numpy":
        import numpy as np

        return _col_type_of_dtype(np.asarray(value).dtype)
    raise SchemaError(f"Cannot infer a signature type for {type(value).__name__}.")


def _tensor_spec(array: Any, name: str | None = None) -> TensorSpec:
    import numpy as np

    arr = np.asarray(array)
    if arr.dtype == object:
        raise SchemaError("Cannot infer a tensor signature for an array of Python objects.")
    shape = (-1, *arr.shape[1:]) if arr.ndim else ()
    return TensorSpec(arr.dtype.name, tuple(int(s) for s in shape), name)


def _frame_schema(df: Any) -> Schema:
    return Schema(
        [ColSpec(_col_type_of_dtype(df[c].dtype, df[c].values), str(c), True) for c in df.columns]
    )


def infer_schema(data: Any) -> Schema:
    """The schema of an example: a DataFrame/Series, a numpy array, a dict or a list."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return _frame_schema(data)
    if isinstance(data, pd.Series):
        return Schema([ColSpec(_col_type_of_dtype(data.dtype, data.values), None, True)])
    if isinstance(data, np.ndarray):
        return Schema([_tensor_spec(data)])
    if isinstance(data, Mapping):
        if data and all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema([_tensor_spec(v, str(k)) for k, v in data.items()])
        specs: list[ColSpec | TensorSpec] = []
        for key, value in data.items():
            if isinstance(value, (list, tuple)):
                types = {_col_type_of_value(x) for x in value if x is not None}
                kind = _merge_types(types)
            else:
                kind = _col_type_of_value(value)
            specs.append(ColSpec(kind, str(key), True))
        return Schema(specs)
    if isinstance(data, (list, tuple)):
        if not data:
            raise SchemaError("Cannot infer a signature from an empty list.")
        if all(isinstance(x, Mapping) for x in data):
            return _frame_schema(pd.DataFrame.from_records(list(data)))
        if all(isinstance(x, str) for x in data):
            return Schema([ColSpec("string", None, True)])
        return Schema([_tensor_spec(np.asarray(data))])
    if isinstance(data, (str, bytes, bool, int, float)):
        return Schema([ColSpec(_col_type_of_value(data), None, True)])
    raise SchemaError(f"Cannot infer a signature from {type(data).__name__}.")


def _merge_types(types: set[str]) -> str:
    if not types:
        return "string"
    if len(types) == 1:
        return next(iter(types))
    if types <= {"long", "double", "integer", "float"}:
        return "double"
    raise SchemaError(f"Values of several types in one column: {sorted(types)}.")


def infer_param_schema(params: Mapping[str, Any]) -> ParamSchema:
    specs = []
    for name, value in params.items():
        if isinstance(value, (list, tuple)):
            types = {_col_type_of_value(x) for x in value}
            specs.append(ParamSpec(str(name), _merge_types(types), list(value), (-1,)))
        else:
            specs.append(ParamSpec(str(name), _col_type_of_value(value), value, None))
    return ParamSchema(specs)


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: Mapping[str, Any] | None = None
) -> ModelSignature:
    """A signature from an input example, optionally the model's output and default params."""
    inputs = infer_schema(model_input) if model_input is not None else None
    outputs = None
    if model_output is not None:
        outputs = infer_schema(model_output)
        # A 1-D prediction for column inputs is one unnamed column (MLflow's convention).
        if (
            inputs is not None
            and not inputs.is_tensor
            and outputs.is_tensor
            and len(outputs.inputs) == 1
        ):
            spec = outputs.inputs[0]
            assert isinstance(spec, TensorSpec)
            if len(spec.shape) == 1 and spec.dtype != "object":
                outputs = Schema([ColSpec(_col_type_of_dtype(spec.dtype), None, True)])
    return ModelSignature(inputs, outputs, infer_param_schema(params) if params else None)


# ---- enforcement --------------------------------------------------------------------------


def _can_convert(src: Any, dst_type: str) -> bool:
    import numpy as np
    import pandas as pd

    if dst_type == "string":
        return bool(pd.api.types.is_string_dtype(src) or src == object)  # noqa: E721
    if dst_type == "binary":
        return bool(src == object)  # noqa: E721
    if dst_type == "datetime":
        return bool(pd.api.types.is_datetime64_any_dtype(src))
    target = np.dtype(COLUMN_TYPES[dst_type])
    try:
        return bool(np.can_cast(np.dtype(src), target, casting="safe"))
    except TypeError:
        return False


def _enforce_column(name: str, series: Any, spec: ColSpec) -> Any:
    import numpy as np
    import pandas as pd

    kind = spec.type
    if kind not in COLUMN_TYPES:
        return series
    dtype = series.dtype
    if _col_type_of_dtype_safe(dtype) == kind:
        return series
    if dtype == object and kind not in ("string", "binary"):  # noqa: E721
        # Python values (JSON numbers, None): convert when every value fits the type.
        try:
            inferred = pd.Series(list(series.values), index=series.index).infer_objects()
        except Exception:  # pragma: no cover - defensive
            inferred = series
        if inferred.dtype != object and _can_convert(inferred.dtype, kind):
            return inferred.astype(COLUMN_TYPES[kind]) if kind != "datetime" else inferred
        if kind in ("float", "double") and series.isna().all():
            return series.astype(COLUMN_TYPES[kind])
    elif kind == "datetime" and (pd.api.types.is_string_dtype(dtype) or dtype == object):  # noqa: E721
        try:
            return pd.to_datetime(series)
        except (ValueError, TypeError):
            pass
    elif _can_convert(dtype, kind):
        if kind in ("string", "binary"):
            return series
        return series.astype(COLUMN_TYPES[kind])
    elif (
        kind in ("float", "double")
        and pd.api.types.is_float_dtype(dtype)
        and np.dtype(dtype).itemsize > np.dtype(COLUMN_TYPES[kind]).itemsize
    ):
        pass  # float64 -> float32 loses precision: refused below
    hint = ""
    if kind in ("integer", "long") and pd.api.types.is_float_dtype(dtype):
        hint = (
            " Integer columns cannot hold missing values or fractions; if the column may have"
            " them, declare it as 'double'."
        )
    raise SchemaError(
        f"Incompatible input types for column {name}. Can not safely convert {dtype} to "
        f"{COLUMN_TYPES[kind]} (signature type '{kind}').{hint}"
    )


def _col_type_of_dtype_safe(dtype: Any) -> str | None:
    try:
        kind = _col_type_of_dtype(dtype)
    except SchemaError:
        return None
    return None if kind == "string" and dtype == object else kind  # noqa: E721


def _as_frame(data: Any, schema: Schema) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame(name=schema.names()[0] if schema.has_names else 0)
    if isinstance(data, Mapping):
        values = {
            k: (v if isinstance(v, (list, tuple, np.ndarray)) else [v]) for k, v in data.items()
        }
        try:
            return pd.DataFrame(values)
        except ValueError as exc:
            raise SchemaError(f"Cannot read the input as a table: {exc}") from None
    if isinstance(data, (list, tuple)) and data and all(isinstance(r, Mapping) for r in data):
        return pd.DataFrame.from_records(list(data))
    if isinstance(data, (list, tuple, np.ndarray)):
        arr = np.asarray(data, dtype=object if isinstance(data, (list, tuple)) else None)
        if arr.ndim == 1 and len(schema.inputs) == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2 or arr.shape[1] != len(schema.inputs):
            raise SchemaError(
                f"The model expects {len(schema.inputs)} input column(s) "
                f"({', '.join(schema.names()) or 'unnamed'}); got an array of shape {arr.shape}."
            )
        columns = schema.names() if schema.has_names else list(range(arr.shape[1]))
        frame = pd.DataFrame(arr, columns=columns)
        return frame.infer_objects() if arr.dtype == object else frame
    if isinstance(data, (str, bytes, int, float, bool)):
        return pd.DataFrame({schema.names()[0] if schema.has_names else 0: [data]})
    raise SchemaError(f"Unsupported input type {type(data).__name__} for a column signature.")


def _enforce_columns(data: Any, schema: Schema) -> Any:
    df = _as_frame(data, schema)
    if not schema.has_names:
        # Unnamed columns: matched by position.
        if len(df.columns) < len(schema.inputs):
            raise SchemaError(
                f"The model expects {len(schema.inputs)} input column(s); got {len(df.columns)}."
            )
        out = df.copy()
        for i, spec in enumerate(schema.inputs):
            assert isinstance(spec, ColSpec)
            col = df.columns[i]
            out[col] = _enforce_column(str(col), df[col], spec)
        return out
    columns = [str(c) for c in df.columns]
    if columns != list(df.columns):
        df = df.set_axis(columns, axis=1)
    missing = [n for n in schema.required_names() if n not in df.columns]
    if missing:
        extra = [c for c in columns if c not in schema.names()]
        note = f" Note that there were extra inputs: {extra}." if extra else ""
        raise SchemaError(f"Model is missing inputs {missing}.{note}")
    present = [s for s in schema.inputs if s.name in df.columns]
    # Fast path (the scoring server's usual case): the right columns, already the right types.
    if [s.name for s in present] == columns and all(
        _exact(df[s.name].dtype, s) for s in present if isinstance(s, ColSpec)
    ):
        return df
    keep: dict[str, Any] = {}
    for spec in present:
        assert isinstance(spec, ColSpec)
        assert spec.name is not None
        keep[spec.name] = _enforce_column(spec.name, df[spec.name], spec)
    import pandas as pd

    return pd.DataFrame(keep, index=df.index)


_EXACT_DTYPES = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
}


def _exact(dtype: Any, spec: ColSpec) -> bool:
    want = _EXACT_DTYPES.get(spec.type)
    return want is not None and str(dtype) == want


def _enforce_tensor(name: str, value: Any, spec: TensorSpec) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(value, (pd.DataFrame, pd.Series)):
        value = value.to_numpy()
    target = np.dtype(spec.dtype)
    if isinstance(value, (list, tuple)):
        # JSON lists (the scoring server's "inputs"/"instances"): read in the declared dtype.
        try:
            value = np.asarray(value, dtype=target)
        except (TypeError, ValueError):
            raise SchemaError(
                f"Incompatible input types for tensor {name}: values cannot be read as {target}."
            ) from None
    arr = np.asarray(value)
    if arr.dtype != target:
        if arr.dtype == object:
            try:
                arr = arr.astype(target)
            except (TypeError, ValueError):
                raise SchemaError(
                    f"Incompatible input types for tensor {name}: values cannot be read as "
                    f"{target}."
                ) from None
        elif np.can_cast(arr.dtype, target, casting="safe") or (
            # JSON numbers arrive as float64/int64: narrowing them to the declared width is
            # what the scoring protocol means, as long as the kind stays the same.
            arr.dtype.kind == target.kind
        ):
            arr = arr.astype(target)
        else:
            raise SchemaError(
                f"Incompatible input types for tensor {name}. Can not safely convert "
                f"{arr.dtype} to {target}."
            )
    shape = tuple(spec.shape)
    if shape and (
        arr.ndim != len(shape)
        or any(want != -1 and want != got for want, got in zip(shape, arr.shape, strict=False))
    ):
        raise SchemaError(
            f"Shape of input {arr.shape} does not match expected shape {shape} for tensor {name}."
        )
    return arr


def enforce_schema(data: Any, schema: Schema) -> Any:
    """``data`` converted to what ``schema`` declares, or a ``SchemaError`` saying why not."""
    if not schema.inputs:
        return data
    if not schema.is_tensor:
        return _enforce_columns(data, schema)
    specs = [s for s in schema.inputs if isinstance(s, TensorSpec)]
    if len(specs) == 1 and (specs[0].name is None or not isinstance(data, Mapping)):
        return _enforce_tensor(specs[0].name or "input", data, specs[0])
    if not isinstance(data, Mapping):
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            data = {c: data[c].to_numpy() for c in data.columns}
        else:
            raise SchemaError(
                f"The model expects named tensors {[s.name for s in specs]}; got "
                f"{type(data).__name__}."
            )
    missing = [s.name for s in specs if s.name not in data]
    if missing:
        raise SchemaError(f"Model is missing inputs {missing}.")
    return {s.name: _enforce_tensor(str(s.name), data[s.name], s) for s in specs}


def _param_value(spec: ParamSpec, value: Any) -> Any:
    def one(x: Any) -> Any:
        kind = spec.type
        if kind == "boolean":
            if isinstance(x, bool):
                return x
        elif kind in ("integer", "long"):
            if isinstance(x, int) and not isinstance(x, bool):
                return x
        elif kind in ("float", "double"):
            if isinstance(x, (int, float)) and not isinstance(x, bool):
                return float(x)
        elif kind == "string":
            if isinstance(x, str):
                return x
        elif kind == "datetime":
            if isinstance(x, _dt.datetime):
                return x
            if isinstance(x, str):
                try:
                    return _dt.datetime.fromisoformat(x)
                except ValueError:
                    pass
        else:
            return x
        raise SchemaError(f"Incompatible type for param {spec.name!r}: expected {kind}, got {x!r}.")

    if spec.shape is not None:
        if not isinstance(value, (list, tuple)):
            raise SchemaError(f"Param {spec.name!r} expects a list, got {value!r}.")
        return [one(x) for x in value]
    return one(value)


def enforce_params(params: Mapping[str, Any] | None, schema: ParamSchema | None) -> dict[str, Any]:
    """Params filled with the signature's defaults and checked against its types."""
    given = dict(params or {})
    if schema is None:
        return given
    known = {p.name: p for p in schema.params}
    unknown = [k for k in given if k not in known]
    if unknown:
        # MLflow's behaviour: unknown params are dropped with a warning, not an error.
        import warnings

        warnings.warn(
            f"Unrecognized params {unknown} are ignored; the model accepts {sorted(known)}.",
            stacklevel=3,
        )
    out = {}
    for name, spec in known.items():
        out[name] = _param_value(spec, given[name]) if name in given else spec.default
    return out
