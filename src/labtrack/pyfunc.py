"""``lt.pyfunc``: the generic ``python_function`` flavor (MLflow's names).

- ``load_model(uri)`` loads any package with a ``python_function`` flavor whose loader this
  library knows: ``mlflow.sklearn`` / ``labtrack.sklearn``, ``mlflow.pytorch`` /
  ``labtrack.pytorch`` and custom Python models (``mlflow.pyfunc.model``). The result's
  ``predict`` enforces the package's signature.
- ``save_model`` / ``log_model`` package a custom model: an instance of a subclass of
  :class:`PythonModel` (``load_context`` + ``predict``) or a plain function, plus an
  ``artifacts`` dict of files the model needs (``context.artifacts[name]`` is their local path).

Loading a model runs code from the package (pickle). Only load models you trust.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import inspect
import os
import platform
import shutil
from collections.abc import Iterator, Mapping
from typing import Any

from labtrack.errors import LabtrackException
from labtrack.models.flavor_package import FlavorFiles, log_flavor_model, save_flavor_model
from labtrack.models.model import (
    PYFUNC,
    Model,
    ModelInfo,
    add_package_code_to_path,
    conda_env,
    default_requirements,
    pickler,
)
from labtrack.models.signature import ModelSignature, enforce_params, enforce_schema

FLAVOR_NAME = PYFUNC
CUSTOM_LOADER = "mlflow.pyfunc.model"
PYTHON_MODEL_FILE = "python_model.pkl"

# loader_module written in MLmodel files -> the labtrack module that loads it.
_LOADERS = {
    "mlflow.sklearn": "labtrack.sklearn",
    "labtrack.sklearn": "labtrack.sklearn",
    "mlflow.pytorch": "labtrack.pytorch",
    "labtrack.pytorch": "labtrack.pytorch",
    "mlflow.lightgbm": "labtrack.lightgbm",
    "labtrack.lightgbm": "labtrack.lightgbm",
    "mlflow.xgboost": "labtrack.xgboost",
    "labtrack.xgboost": "labtrack.xgboost",
    "mlflow.keras": "labtrack.keras",
    "labtrack.keras": "labtrack.keras",
    CUSTOM_LOADER: "labtrack.pyfunc",
    "labtrack.pyfunc": "labtrack.pyfunc",
}


class PythonModelContext:
    """What ``PythonModel.load_context`` receives: local paths of the model's artifacts."""

    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any] | None = None):
        self.artifacts = artifacts
        self.model_config = model_config or {}


class PythonModel:
    """Base class of custom models: override ``predict`` (and ``load_context`` if needed).

    ``predict(self, context, model_input, params=None)`` (MLflow's form) or
    ``predict(self, model_input, params=None)``.
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Load artifacts (``context.artifacts``) once, when the model is loaded."""

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError


class _FunctionModel(PythonModel):
    """A plain function used as a model."""

    def __init__(self, func: Any) -> None:
        self.func = func

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return self.func(model_input)


def _wants_context(method: Any) -> bool:
    try:
        names = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):  # pragma: no cover
        return True
    return (bool(names) and names[0] == "context") or len([n for n in names if n != "params"]) >= 2


def _accepts_params(method: Any) -> bool:
    try:
        sig = inspect.signature(method)
    except (TypeError, ValueError):  # pragma: no cover
        return False
    return "params" in sig.parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()
    )


class _CustomModelWrapper:
    def __init__(self, python_model: PythonModel, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.context = context
        self._with_context = _wants_context(python_model.predict)
        self._with_params = _accepts_params(python_model.predict)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        predict: Any = self.python_model.predict
        args = (self.context, data) if self._with_context else (data,)
        if self._with_params:
            return predict(*args, params=params)
        return predict(*args)


class PyFuncModel:
    """A loaded model: ``predict(data, params=None)`` with the signature enforced."""

    def __init__(self, model_meta: Model, model_impl: Any, path: str) -> None:
        self.metadata = model_meta
        self._impl = model_impl
        self.path = path
        conf = model_meta.flavors.get(PYFUNC, {})
        self.loader_module = conf.get("loader_module")
        self._schema = model_meta.get_input_schema()
        self._params_schema = model_meta.get_params_schema()
        self._with_params = _accepts_params(model_impl.predict)

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        if self._schema is not None:
            data = enforce_schema(data, self._schema)
        if self._params_schema is not None or params:
            params = enforce_params(params, self._params_schema)
        if self._with_params:
            return self._impl.predict(data, params=params or None)
        return self._impl.predict(data)

    def unwrap_python_model(self) -> Any:
        if isinstance(self._impl, _CustomModelWrapper):
            return self._impl.python_model
        raise LabtrackException(
            "unwrap_python_model() is only for custom Python models.", "INVALID_PARAMETER_VALUE"
        )

    def get_raw_model(self) -> Any:
        return getattr(self._impl, "raw_model", self._impl)

    @property
    def signature(self) -> ModelSignature | None:
        return self.metadata.signature

    @property
    def model_config(self) -> dict[str, Any]:
        conf = self.metadata.flavors.get(PYFUNC, {})
        return dict(conf.get("model_config") or {})

    def __repr__(self) -> str:
        return f"PyFuncModel(loader_module={self.loader_module!r}, path={self.path!r})"


# ---- loading ------------------------------------------------------------------------------


def load_model(
    model_uri: str | os.PathLike[str],
    dst_path: str | None = None,
    model_config: dict[str, Any] | None = None,
) -> PyFuncModel:
    """Load a package as a ``PyFuncModel``. Runs the package's code: load only trusted models."""
    from labtrack.models.uris import download_model

    local = download_model(model_uri, dst_path)
    return load_local(local, model_config)


def load_local(local: str, model_config: dict[str, Any] | None = None) -> PyFuncModel:
    meta = Model.load(local)
    conf = meta.flavors.get(PYFUNC)
    if conf is None:
        raise LabtrackException(
            f"Model at {local!r} has no '{PYFUNC}' flavor (flavors: {sorted(meta.flavors)}); "
            "load it with its own flavor's load_model.",
            "RESOURCE_DOES_NOT_EXIST",
        )
    loader = conf.get("loader_module")
    target = _LOADERS.get(str(loader))
    if target is None:
        raise LabtrackException(
            f"Model at {local!r} needs the loader module {loader!r}, which labtrack does not "
            f"provide (supported: {sorted(_LOADERS)}).",
            "INVALID_PARAMETER_VALUE",
        )
    module = importlib.import_module(target)
    add_package_code_to_path(local, conf)
    try:
        impl = module._load_pyfunc(local, meta, model_config)
    except ModuleNotFoundError as exc:
        raise LabtrackException(
            f"Loading the model at {local!r} needs the Python package {exc.name!r}, which is "
            f"not installed here (see the model's requirements.txt).",
            "INVALID_PARAMETER_VALUE",
        ) from exc
    return PyFuncModel(meta, impl, local)


def _load_pyfunc(path: str, meta: Model, model_config: dict[str, Any] | None = None) -> Any:
    """The loader of custom Python models."""
    import pickle

    conf = meta.flavors[PYFUNC]
    with open(os.path.join(path, conf.get("python_model", PYTHON_MODEL_FILE)), "rb") as f:
        python_model = pickle.load(f)  # noqa: S301 - loading a model runs its code; documented
    artifacts = {
        name: os.path.join(path, info["path"] if isinstance(info, Mapping) else str(info))
        for name, info in (conf.get("artifacts") or {}).items()
    }
    config = dict(conf.get("model_config") or {})
    config.update(model_config or {})
    context = PythonModelContext(artifacts, config)
    python_model.load_context(context)
    return _CustomModelWrapper(python_model, context)


# ---- saving -------------------------------------------------------------------------------


def _copy_artifacts(path: str, artifacts: Mapping[str, str]) -> dict[str, Any]:
    from labtrack.models.uris import download_model

    out: dict[str, Any] = {}
    if not artifacts:
        return out
    base = os.path.join(path, "artifacts")
    os.makedirs(base, exist_ok=True)
    for name, uri in artifacts.items():
        local = download_model(uri)  # a path, or any artifact/model URI fetched to a temp dir
        dest = os.path.join(base, os.path.basename(local.rstrip(os.sep)) or name)
        if os.path.exists(dest):
            dest = os.path.join(base, name)
        if os.path.isdir(local):
            shutil.copytree(local, dest)
        else:
            shutil.copyfile(local, dest)
        out[name] = {"path": os.path.relpath(dest, path).replace(os.sep, "/"), "uri": str(uri)}
    return out


def save_model(
    path: str | os.PathLike[str],
    python_model: Any = None,
    artifacts: Mapping[str, str] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
    code_paths: list[str] | None = None,
    **_: Any,
) -> Model:
    """Package a custom Python model (a ``PythonModel`` instance or a function) at ``path``.

    ``code_paths``: files or folders of Python code the model needs, copied into the package
    and importable when it is loaded (anywhere, also by MLflow)."""
    cloudpickle = pickler()

    if python_model is None:
        raise LabtrackException("python_model is required.", "INVALID_PARAMETER_VALUE")
    if not isinstance(python_model, PythonModel):
        if not callable(python_model):
            raise LabtrackException(
                "python_model must be a PythonModel instance or a callable.",
                "INVALID_PARAMETER_VALUE",
            )
        python_model = _FunctionModel(python_model)

    def write(local: str) -> FlavorFiles:
        with open(os.path.join(local, PYTHON_MODEL_FILE), "wb") as f:
            cloudpickle.dump(python_model, f)
        conf: dict[str, Any] = {
            "python_model": PYTHON_MODEL_FILE,
            "cloudpickle_version": getattr(cloudpickle, "__version__", None),
            "artifacts": _copy_artifacts(local, artifacts or {}),
            "streamable": False,
        }
        if model_config:
            conf["model_config"] = dict(model_config)

        def predict(example: Any) -> Any:
            # This process already has the model's code: its sys.path is left alone.
            impl = _load_pyfunc(local, Model(flavors={PYFUNC: conf}), model_config)
            return impl.predict(example)

        return FlavorFiles(
            pyfunc_conf=conf, flavor_conf=None, packages=["cloudpickle"], predict=predict
        )

    return save_flavor_model(
        path,
        FLAVOR_NAME,
        CUSTOM_LOADER,
        write,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        mlflow_model=mlflow_model,
        code_paths=code_paths,
    )


def log_model(
    name: str | None = None,
    python_model: Any = None,
    artifacts: Mapping[str, str] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    registered_model_name: str | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    artifact_path: str | None = None,
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    code_paths: list[str] | None = None,
) -> ModelInfo:
    """Package a custom model and log it (an MLflow 3 logged model of the active run)."""
    return log_flavor_model(save_model, locals())


def get_model_dependencies(model_uri: str) -> str:
    """Local path of the package's ``requirements.txt``."""
    from labtrack.models.uris import download_model

    return os.path.join(download_model(model_uri), "requirements.txt")


__all__ = [
    "FLAVOR_NAME",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "get_model_dependencies",
    "load_model",
    "log_model",
    "save_model",
]


# ---- MLflow's helpers around the flavor ---------------------------------------------------


def get_default_pip_requirements() -> list[str]:
    """What a custom Python model needs at least (pinned to this environment's version)."""
    return default_requirements(["cloudpickle"])


def get_default_conda_env() -> dict[str, Any]:
    """The conda environment written for a custom Python model by default."""
    return conda_env(get_default_pip_requirements())


def load_pyfunc(
    model_uri: str | os.PathLike[str],
    suppress_warnings: bool = False,
    dst_path: str | None = None,
) -> PyFuncModel:
    """MLflow's old name for ``load_model``."""
    del suppress_warnings
    return load_model(model_uri, dst_path)


class EnvType:
    """Environment kinds MLflow builds for a model (``build_model_env``)."""

    CONDA = "conda"
    VIRTUALENV = "virtualenv"


def add_to_model(
    model: Model,
    loader_module: str,
    data: str | None = None,
    code: str | None = None,
    conda_env: str | None = None,
    python_env: str | None = None,
    model_config: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Model:
    """Add the ``python_function`` flavor to ``model`` (an ``MLmodel`` being written): which
    module loads it, its data and code folders and environment files, as MLflow records them."""
    params: dict[str, Any] = {"loader_module": loader_module, **kwargs}
    params["python_version"] = platform.python_version()
    if code:
        params["code"] = code
    if data:
        params["data"] = data
    env: dict[str, str] = {}
    if conda_env:
        env["conda"] = conda_env
    if python_env:
        env["virtualenv"] = python_env
    if env:
        params["env"] = env
    if model_config:
        params["model_config"] = model_config
    return model.add_flavor(FLAVOR_NAME, **params)


def archive_directory(path: str) -> str:
    """Pack the folder ``path`` into a new ``.tar.gz`` file; its path."""
    import tarfile
    import tempfile

    fd, archive = tempfile.mkstemp(suffix=".tar.gz", prefix="labtrack-archive-")
    os.close(fd)
    with tarfile.open(archive, "w:gz") as tar:
        for name in sorted(os.listdir(path)):
            tar.add(os.path.join(path, name), arcname=name)
    return archive


def extract_archive_to_dir(archive_path: str, dst_dir: str) -> str:
    """Unpack a ``.tar.gz`` made by ``archive_directory`` into ``dst_dir``; ``dst_dir``.
    Members that would land outside ``dst_dir`` (absolute paths, ``..``, links) are refused."""
    import tarfile

    os.makedirs(dst_dir, exist_ok=True)
    root = os.path.realpath(dst_dir)
    with tarfile.open(archive_path, "r:*") as tar:
        members = tar.getmembers()
        for member in members:
            target = os.path.realpath(os.path.join(root, member.name))
            if not (target == root or target.startswith(root + os.sep)):
                raise LabtrackException(
                    f"Archive member {member.name!r} would be written outside {dst_dir!r}.",
                    "INVALID_PARAMETER_VALUE",
                )
            if not (member.isfile() or member.isdir()):
                raise LabtrackException(
                    f"Archive member {member.name!r} is not a plain file or folder.",
                    "INVALID_PARAMETER_VALUE",
                )
        tar.extractall(root, members=members)  # noqa: S202 - every member checked above
    return dst_dir


class Context:
    """What a model's ``predict`` can learn about the request it serves (MLflow's prediction
    context): ``request_id``, ``is_evaluate``, and user data."""

    def __init__(
        self,
        request_id: str | None = None,
        is_evaluate: bool = False,
        dependencies_schemas: dict[str, Any] | None = None,
        model_id: str | None = None,
        endpoint_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.request_id = request_id
        self.is_evaluate = is_evaluate
        self.dependencies_schemas = dependencies_schemas
        self.model_id = model_id
        self.endpoint_name = endpoint_name
        self.__dict__.update(kwargs)

    def update(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            if not hasattr(self, key):
                raise AttributeError(f"Context has no attribute {key!r}")
            setattr(self, key, value)


_prediction_context: contextvars.ContextVar[Context | None] = contextvars.ContextVar(
    "labtrack_prediction_context", default=None
)


@contextlib.contextmanager
def set_prediction_context(context: Context | None) -> Iterator[None]:
    """Within the block, ``get_prediction_context()`` returns ``context`` (per thread and
    asyncio task)."""
    if context is not None and not isinstance(context, Context):
        raise TypeError(f"Expected a Context, got {type(context).__name__}.")
    token = _prediction_context.set(context)
    try:
        yield
    finally:
        _prediction_context.reset(token)


def get_prediction_context() -> Context | None:
    return _prediction_context.get()
