"""The MLmodel package: a directory with an ``MLmodel`` YAML file, the model's files, its
environment (``requirements.txt``, ``conda.yaml``, ``python_env.yaml``) and an input example.

The layout and field names are MLflow's, so packages move both ways between the tools.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from labtrack.errors import LabtrackException
from labtrack.models.signature import ModelSignature, infer_schema, infer_signature

MLMODEL_FILE = "MLmodel"
INPUT_EXAMPLE_FILE = "input_example.json"
SERVING_INPUT_FILE = "serving_input_example.json"
REQUIREMENTS_FILE = "requirements.txt"
CONDA_FILE = "conda.yaml"
PYTHON_ENV_FILE = "python_env.yaml"
PYFUNC = "python_function"


def _now_utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


class Model:
    """The contents of an ``MLmodel`` file."""

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, Any] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        model_id: str | None = None,
        **extra: Any,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = utc_time_created or _now_utc()
        self.flavors: dict[str, Any] = dict(flavors or {})
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid = model_uuid or uuid.uuid4().hex
        self.model_id = model_id
        self.extra = extra

    def add_flavor(self, name: str, **params: Any) -> Model:
        self.flavors[name] = params
        return self

    def get_input_schema(self) -> Any:
        return self.signature.inputs if self.signature else None

    def get_output_schema(self) -> Any:
        return self.signature.outputs if self.signature else None

    def get_params_schema(self) -> Any:
        return self.signature.params if self.signature else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.artifact_path is not None:
            out["artifact_path"] = self.artifact_path
        out["flavors"] = self.flavors
        out["model_uuid"] = self.model_uuid
        out["model_id"] = self.model_id
        if self.run_id is not None:
            out["run_id"] = self.run_id
        if self.saved_input_example_info is not None:
            out["saved_input_example_info"] = self.saved_input_example_info
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
        out["utc_time_created"] = self.utc_time_created
        out.update(self.extra)
        return out

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), default_flow_style=False, sort_keys=True)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str)

    def save(self, path: str) -> None:
        """Write the MLmodel file (``path`` is the file or the package directory)."""
        if os.path.isdir(path):
            path = os.path.join(path, MLMODEL_FILE)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_yaml())

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Model:
        d = dict(d)
        sig = d.pop("signature", None)
        known = {
            "artifact_path",
            "run_id",
            "utc_time_created",
            "flavors",
            "saved_input_example_info",
            "model_uuid",
            "model_id",
        }
        kwargs = {k: d.pop(k) for k in list(d) if k in known}
        if isinstance(kwargs.get("utc_time_created"), _dt.datetime):
            kwargs["utc_time_created"] = str(kwargs["utc_time_created"])
        return cls(
            signature=ModelSignature.from_dict(sig) if isinstance(sig, dict) else None,
            **kwargs,
            **d,
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read ``<path>/MLmodel`` (or the MLmodel file itself)."""
        import yaml

        path = os.fspath(path)
        if os.path.isdir(path):
            path = os.path.join(path, MLMODEL_FILE)
        if not os.path.isfile(path):
            raise LabtrackException(
                f"Could not find an '{MLMODEL_FILE}' configuration file at {path!r}.",
                "RESOURCE_DOES_NOT_EXIST",
            )
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
        if not isinstance(data, dict) or not isinstance(data.get("flavors"), dict):
            raise LabtrackException(
                f"{path!r} is not a valid MLmodel file.", "INVALID_PARAMETER_VALUE"
            )
        return cls.from_dict(data)

    def load_input_example(self, path: str) -> Any:
        """The saved input example (a DataFrame, array or JSON value), or None."""
        info = self.saved_input_example_info
        if not info:
            return None
        with open(os.path.join(path, info["artifact_path"]), encoding="utf-8") as f:
            data = json.load(f)
        kind = info.get("type")
        if kind == "dataframe":
            import pandas as pd

            if info.get("pandas_orient", "split") == "records":
                return pd.DataFrame.from_records(data)
            return pd.DataFrame(data["data"], columns=data.get("columns"))
        if kind == "ndarray":
            import numpy as np

            if isinstance(data, dict) and "inputs" in data:
                data = data["inputs"]
            if isinstance(data, dict):
                return {k: np.asarray(v) for k, v in data.items()}
            return np.asarray(data)
        return data


@dataclass
class ModelInfo:
    """What ``log_model`` returns (MLflow's fields)."""

    artifact_path: str
    flavors: dict[str, Any]
    model_uri: str
    model_uuid: str
    run_id: str | None
    signature: ModelSignature | None
    utc_time_created: str
    model_id: str | None = None
    name: str | None = None
    registered_model_version: int | None = None
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


# ---- environment files ------------------------------------------------------------------


def _version_of(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def default_requirements(packages: list[str]) -> list[str]:
    """Pinned requirements for the given distributions that are installed here."""
    out = []
    for dist in packages:
        version = _version_of(dist)
        out.append(f"{dist}=={version}" if version else dist)
    return out


def conda_env(requirements: list[str]) -> dict[str, Any]:
    """The conda environment MLflow writes beside a model (``conda.yaml``) for these pip
    requirements, with this interpreter's Python version."""
    return {
        "name": "mlflow-env",
        "channels": ["conda-forge"],
        "dependencies": [f"python={platform.python_version()}", "pip", {"pip": list(requirements)}],
    }


def write_environment(
    path: str,
    requirements: list[str],
    extra_requirements: list[str] | None = None,
) -> None:
    import yaml

    reqs = list(dict.fromkeys([*requirements, *(extra_requirements or [])]))
    python_version = platform.python_version()
    with open(os.path.join(path, REQUIREMENTS_FILE), "w", encoding="utf-8") as f:
        f.write("\n".join(reqs) + ("\n" if reqs else ""))
    conda = conda_env(reqs)
    with open(os.path.join(path, CONDA_FILE), "w", encoding="utf-8") as f:
        yaml.safe_dump(conda, f, default_flow_style=False, sort_keys=False)
    pip_version = _version_of("pip")
    python_env = {
        "python": python_version,
        "build_dependencies": [
            f"pip=={pip_version}" if pip_version else "pip",
            "setuptools",
            "wheel",
        ],
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    }
    with open(os.path.join(path, PYTHON_ENV_FILE), "w", encoding="utf-8") as f:
        yaml.safe_dump(python_env, f, default_flow_style=False, sort_keys=False)


def pyfunc_env_conf() -> dict[str, Any]:
    return {"conda": CONDA_FILE, "virtualenv": PYTHON_ENV_FILE}


# ---- input examples -----------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return value


def save_input_example(path: str, example: Any) -> dict[str, Any]:
    """Write ``input_example.json`` and ``serving_input_example.json``; the MLmodel info."""
    import numpy as np
    import pandas as pd

    if isinstance(example, pd.Series):
        example = example.to_frame()
    if isinstance(example, pd.DataFrame):
        split = json.loads(example.to_json(orient="split", index=False, date_format="iso"))
        stored: Any = {"columns": split["columns"], "data": split["data"]}
        serving: Any = {"dataframe_split": stored}
        info = {"type": "dataframe", "pandas_orient": "split"}
    elif isinstance(example, np.ndarray) or (
        isinstance(example, dict)
        and example
        and all(isinstance(v, np.ndarray) for v in example.values())
    ):
        stored = _jsonable(example)
        serving = {"inputs": stored}
        info = {"type": "ndarray"}
    elif isinstance(example, dict):
        stored = _jsonable(example)
        # Columns of scalars or lists: one row per list item.
        serving = (
            {"dataframe_records": [stored]}
            if all(not isinstance(v, (list, tuple)) for v in example.values())
            else {"inputs": stored}
        )
        info = {"type": "json_object"}
    elif isinstance(example, (list, tuple)):
        stored = _jsonable(list(example))
        if stored and all(isinstance(r, dict) for r in stored):
            serving = {"dataframe_records": stored}
        else:
            serving = {"inputs": stored}
        info = {"type": "json_object"}
    else:
        stored = _jsonable(example)
        serving = {"inputs": stored}
        info = {"type": "json_object"}
    with open(os.path.join(path, INPUT_EXAMPLE_FILE), "w", encoding="utf-8") as f:
        json.dump(stored, f)
    with open(os.path.join(path, SERVING_INPUT_FILE), "w", encoding="utf-8") as f:
        json.dump(serving, f, indent=2)
    return {
        "artifact_path": INPUT_EXAMPLE_FILE,
        "serving_input_path": SERVING_INPUT_FILE,
        **info,
    }


def finish_package(
    path: str,
    model: Model,
    *,
    input_example: Any = None,
    signature: ModelSignature | bool | None = None,
    predict: Any = None,
    requirements: list[str],
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Model:
    """Add the example, signature and environment to a package whose flavors are set; write
    MLmodel. ``signature=False`` skips inference; ``predict`` computes the output schema."""
    if input_example is not None:
        model.saved_input_example_info = save_input_example(path, input_example)
        if signature is None:
            output = None
            if predict is not None:
                try:
                    output = predict(input_example)
                except Exception:  # the output schema is optional: never fail a save on it
                    output = None
            try:
                signature = infer_signature(input_example, output)
            except LabtrackException:
                signature = ModelSignature(infer_schema(input_example), None)
    if isinstance(signature, ModelSignature):
        model.signature = signature
    if metadata:
        model.extra["metadata"] = metadata
    reqs = pip_requirements if pip_requirements is not None else requirements
    write_environment(path, list(reqs), extra_pip_requirements)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
    model.extra.setdefault("model_size_bytes", size)
    model.save(path)
    return model


def prepare_dir(path: str | os.PathLike[str]) -> str:
    path = os.fspath(path)
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise LabtrackException(
            f"Path {path!r} already exists and is not empty.", "RESOURCE_ALREADY_EXISTS"
        )
    os.makedirs(path, exist_ok=True)
    return path


def pickler() -> Any:
    """cloudpickle when installed (pickles classes and functions defined in a notebook by
    value), else the standard library's pickle."""
    try:
        import cloudpickle

        return cloudpickle
    except ImportError:  # pragma: no cover - depends on the environment
        import pickle

        return pickle


# Where a package keeps its own Python code (MLflow's ``code_paths``; the flavors' ``code`` key).
CODE_DIR = "code"


def copy_code_paths(local: str, code_paths: Sequence[str | os.PathLike[str]] | None) -> str | None:
    """Copy ``code_paths`` (files or folders) into the package's ``code`` folder; the value of
    the flavors' ``code`` key (``None`` without code)."""
    if not code_paths:
        return None
    root = os.path.join(local, CODE_DIR)
    os.makedirs(root, exist_ok=True)
    for item in code_paths:
        source = os.fspath(item)
        if not os.path.exists(source):
            raise LabtrackException(
                f"Code path {source!r} does not exist.", "INVALID_PARAMETER_VALUE"
            )
        target = os.path.join(root, os.path.basename(os.path.normpath(source)))
        if os.path.isdir(source):
            shutil.copytree(
                source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, target)
    return CODE_DIR


def add_package_code_to_path(local: str, *confs: Mapping[str, Any] | None) -> None:
    """Make a package's own code importable before its model is unpickled: its ``code`` folder
    goes first on ``sys.path``, and modules of the same names already imported are forgotten,
    so the package gets the code it was saved with (as MLflow's loaders do)."""
    code = next((c.get("code") for c in confs if c and c.get("code")), None)
    if not code:
        return
    folder = os.path.realpath(os.path.join(local, str(code)))
    if not folder.startswith(os.path.realpath(local) + os.sep) or not os.path.isdir(folder):
        return  # a package cannot point outside itself
    names = {
        os.path.splitext(entry)[0]
        for entry in os.listdir(folder)
        if entry.endswith(".py") or os.path.isdir(os.path.join(folder, entry))
    }
    for module in [m for m in sys.modules if m.split(".", 1)[0] in names]:
        del sys.modules[module]
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
