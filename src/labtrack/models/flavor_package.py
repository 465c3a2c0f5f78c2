"""What every model flavor (``labtrack.sklearn``, ``pytorch``, ``lightgbm``, ``xgboost``,
``keras``, ``pyfunc``) does the same way, so a flavor module keeps only its own part: how the
model's files are written and read, and which MLmodel keys describe them.

- ``save_flavor_model``: a flavor's ``save_model`` around the files its writer puts in the
  package (the folder checked, ``code_paths`` copied, the ``python_function`` and flavor
  entries of MLmodel, input example, signature, metadata, environment files).
- ``log_flavor_model``: a flavor's ``log_model``: its ``save_model`` into an MLflow 3 logged
  model of the active run, registered when asked (``models.logging``).
- ``flavor_confs`` and ``load_flavor_model``: reading a package back.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from labtrack.errors import LabtrackException
from labtrack.models.model import (
    PYFUNC,
    Model,
    ModelInfo,
    add_package_code_to_path,
    copy_code_paths,
    default_requirements,
    finish_package,
    prepare_dir,
    pyfunc_env_conf,
)
from labtrack.models.signature import ModelSignature

# The arguments of every flavor's log_model that say how to log, not what to package.
LOG_ARGUMENTS = (
    "name",
    "artifact_path",
    "registered_model_name",
    "tags",
    "params",
    "model_type",
    "step",
)


@dataclass
class FlavorFiles:
    """What a flavor's writer reports about the model files it wrote into a package."""

    # ``python_function`` keys of its own (``data``, ``model_path``...); ``loader_module``,
    # ``code``, ``env`` and ``python_version`` are added.
    pyfunc_conf: dict[str, Any]
    # The flavor's own MLmodel entry (``code`` is added); None: a ``python_function`` package.
    flavor_conf: dict[str, Any] | None
    # Distributions the model needs, pinned to this environment in ``requirements.txt``
    # unless the caller gives ``pip_requirements``.
    packages: list[str]
    # Runs the model on the input example (the signature's output schema); optional.
    predict: Callable[[Any], Any] | None = None


def save_flavor_model(
    path: str | os.PathLike[str],
    flavor_name: str,
    loader_module: str,
    write: Callable[[str], FlavorFiles],
    *,
    signature: ModelSignature | None,
    input_example: Any,
    pip_requirements: list[str] | None,
    extra_pip_requirements: list[str] | None,
    metadata: dict[str, Any] | None,
    mlflow_model: Model | None,
    code_paths: list[str] | None,
) -> Model:
    """Write a package at ``path`` (which must be absent or empty): ``write(folder)`` writes the
    model's own files and says how MLmodel describes them (``loader_module`` is what
    ``python_function`` loads it with); the rest is every flavor's. The written ``Model``."""
    local = prepare_dir(path)
    code = copy_code_paths(local, code_paths)
    files = write(local)
    model = mlflow_model or Model()
    model.add_flavor(
        PYFUNC,
        loader_module=loader_module,
        **files.pyfunc_conf,
        code=code,
        env=pyfunc_env_conf(),
        python_version=platform.python_version(),
    )
    if files.flavor_conf is not None:
        model.add_flavor(flavor_name, **files.flavor_conf, code=code)
    return finish_package(
        local,
        model,
        input_example=input_example,
        signature=signature,
        predict=files.predict,
        requirements=default_requirements(files.packages),
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
    )


def log_flavor_model(save_model: Callable[..., Model], arguments: Mapping[str, Any]) -> ModelInfo:
    """A flavor's ``log_model``: ``arguments`` are its own arguments (``locals()``, its only
    statement). The logging ones (``LOG_ARGUMENTS``) say where the logged model goes; all the
    others are the flavor's ``save_model`` arguments of the same names."""
    from labtrack.models.logging import log_packaged_model

    save_args = dict(arguments)
    log_args = {key: save_args.pop(key) for key in LOG_ARGUMENTS}

    def save(path: str, model: Model) -> Model:
        return save_model(path=path, mlflow_model=model, **save_args)

    return log_packaged_model(save, **log_args)


def flavor_confs(path: str, meta: Model, flavor_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The flavor's and the ``python_function`` MLmodel entries of the package at ``path``
    (either may be empty, not both), after putting the package's own code on ``sys.path``."""
    conf = meta.flavors.get(flavor_name)
    pyfunc_conf = meta.flavors.get(PYFUNC, {})
    if conf is None and not pyfunc_conf:
        raise LabtrackException(
            f"Model at {path!r} has no '{flavor_name}' flavor.", "RESOURCE_DOES_NOT_EXIST"
        )
    conf = conf or {}
    add_package_code_to_path(path, conf, pyfunc_conf)
    return conf, pyfunc_conf


def load_flavor_model(
    model_uri: str | os.PathLike[str],
    dst_path: str | None,
    load_from_dir: Callable[[str, Model], Any],
) -> Any:
    """A flavor's ``load_model``: the package downloaded, then read by ``load_from_dir``."""
    from labtrack.models.uris import download_model

    local = download_model(model_uri, dst_path)
    return load_from_dir(local, Model.load(local))
