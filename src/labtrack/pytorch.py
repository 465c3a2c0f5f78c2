"""``lt.pytorch``: PyTorch modules in MLflow's ``pytorch`` flavor.

The whole module is saved with ``torch.save`` (cloudpickle as the pickler, so classes defined
in a notebook travel with it) under ``data/model.pth``. ``load_model`` returns the module;
``lt.pyfunc.load_model`` wraps it: inputs become tensors, the module runs under
``torch.no_grad()`` in eval mode, outputs come back as numpy arrays.
Loading a pickle runs code from the package: only load models you trust.
"""

from __future__ import annotations

import os
from typing import Any

from labtrack.autologging.pytorch import autolog  # MLflow's mlflow.pytorch.autolog
from labtrack.errors import LabtrackException
from labtrack.models.flavor_package import (
    FlavorFiles,
    load_flavor_model,
    log_flavor_model,
    save_flavor_model,
)
from labtrack.models.model import (
    PYFUNC,
    Model,
    ModelInfo,
    add_package_code_to_path,
    conda_env,
    default_requirements,
    pickler,
)
from labtrack.models.signature import ModelSignature

FLAVOR_NAME = "pytorch"
DATA_DIR = "data"
MODEL_FILE = "model.pth"
# What MLflow's loader reads to pick the unpickler; MLflow's own module is cloudpickle-based.
PICKLE_MODULE_INFO = "pickle_module_info.txt"
PICKLE_MODULE_NAME = "mlflow.pytorch.pickle_module"


def _predict_with(module: Any) -> Any:
    def predict(data: Any) -> Any:
        return _TorchWrapper(module).predict(data)

    return predict


def save_model(
    pytorch_model: Any,
    path: str | os.PathLike[str],
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    mlflow_model: Model | None = None,
    code_paths: list[str] | None = None,
    **_: Any,
) -> Model:
    """Package a ``torch.nn.Module`` (or a TorchScript ``ScriptModule``) at ``path``
    (``code_paths``: code the module's classes need, copied into the package and importable
    when it is loaded)."""
    import torch

    if not isinstance(pytorch_model, torch.nn.Module):
        raise LabtrackException(
            "pytorch_model must be a torch.nn.Module.", "INVALID_PARAMETER_VALUE"
        )

    def write(local: str) -> FlavorFiles:
        data = os.path.join(local, DATA_DIR)
        os.makedirs(data)
        if isinstance(pytorch_model, torch.jit.ScriptModule):
            # TorchScript modules cannot be pickled; torch.jit.save writes the archive MLflow
            # writes, and torch.load recognises it when the package is loaded.
            torch.jit.save(pytorch_model, os.path.join(data, MODEL_FILE))
        else:
            torch.save(pytorch_model, os.path.join(data, MODEL_FILE), pickle_module=pickler())
        with open(os.path.join(data, PICKLE_MODULE_INFO), "w", encoding="utf-8") as f:
            f.write(PICKLE_MODULE_NAME)
        return FlavorFiles(
            pyfunc_conf={"data": DATA_DIR, "pickle_module_name": PICKLE_MODULE_NAME},
            flavor_conf={"model_data": DATA_DIR, "pytorch_version": str(torch.__version__)},
            packages=["torch", "cloudpickle"],
            predict=_predict_with(pytorch_model),
        )

    return save_flavor_model(
        path,
        FLAVOR_NAME,
        "mlflow.pytorch",
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
    pytorch_model: Any,
    name: str | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    artifact_path: str | None = None,
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    code_paths: list[str] | None = None,
) -> ModelInfo:
    """Package a module and log it (an MLflow 3 logged model of the active run)."""
    return log_flavor_model(save_model, locals())


def _load_from_dir(path: str, meta: Model) -> Any:
    import torch

    conf = meta.flavors.get(FLAVOR_NAME) or {}
    add_package_code_to_path(path, conf, meta.flavors.get(PYFUNC))
    data = conf.get("model_data") or meta.flavors.get(PYFUNC, {}).get("data") or DATA_DIR
    target = os.path.join(path, data)
    if os.path.isdir(target):
        target = os.path.join(target, MODEL_FILE)
    # The standard unpickler reads cloudpickle's output; weights_only=False loads the module
    # object itself (code from the package runs: load only trusted models).
    if _is_torchscript(target):
        return torch.jit.load(target, map_location="cpu")
    return torch.load(target, weights_only=False, map_location="cpu")


def _is_torchscript(path: str) -> bool:
    """A TorchScript archive is a zip holding ``<name>/constants.pkl`` (a pickled module has
    ``<name>/data.pkl`` only)."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(n.endswith("/constants.pkl") for n in archive.namelist())


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> Any:
    """The ``torch.nn.Module`` of a package."""
    return load_flavor_model(model_uri, dst_path, _load_from_dir)


class _TorchWrapper:
    def __init__(self, module: Any) -> None:
        self.raw_model = module

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        import numpy as np
        import torch

        if hasattr(data, "to_numpy"):
            data = data.to_numpy()
        self.raw_model.eval()
        with torch.no_grad():
            if isinstance(data, dict):
                out = self.raw_model(**{k: torch.as_tensor(np.asarray(v)) for k, v in data.items()})
            else:
                arr = np.asarray(data)
                if arr.dtype == np.float64:
                    arr = arr.astype(np.float32)  # the usual parameter dtype
                out = self.raw_model(torch.as_tensor(arr))
        if isinstance(out, torch.Tensor):
            return out.detach().cpu().numpy()
        return out


def _load_pyfunc(path: str, meta: Model, model_config: dict[str, Any] | None = None) -> Any:
    return _TorchWrapper(_load_from_dir(path, meta))


__all__ = ["FLAVOR_NAME", "autolog", "load_model", "log_model", "save_model"]


def get_default_pip_requirements() -> list[str]:
    """torch and cloudpickle pinned to this environment's versions."""
    return default_requirements(["torch", "cloudpickle"])


def get_default_conda_env() -> dict[str, Any]:
    """The conda environment written for a PyTorch model by default."""
    return conda_env(get_default_pip_requirements())


# MLflow's checkpoint layout (its Lightning autolog writes it): the run tag names the latest
# checkpoint file; per-epoch or per-step checkpoints sit in folders of their own.
LATEST_CHECKPOINT_TAG = "mlflow.latest_checkpoint_artifact"
_CHECKPOINT_DIR = "checkpoints"


def load_checkpoint(
    model_class: Any,
    run_id: str | None = None,
    epoch: int | None = None,
    global_step: int | None = None,
    kwargs: dict[str, Any] | None = None,
) -> Any:
    """A model restored from a checkpoint a run logged (``model_class.load_from_checkpoint``,
    e.g. a Lightning module): the latest one, or the one of ``epoch`` or ``global_step``.
    ``run_id`` defaults to the active run."""
    import shutil
    import tempfile

    from labtrack.client.fluent import active_run, current_client

    client = current_client()
    if run_id is None:
        active = active_run()
        if active is None:
            raise LabtrackException(
                "There is no active run: give the run_id of the run that logged the checkpoint.",
                "INVALID_PARAMETER_VALUE",
            )
        run_id = active.info.run_id
    latest = client.get_run(run_id).data.tags.get(LATEST_CHECKPOINT_TAG)
    if latest is None:
        raise LabtrackException(
            f"Run {run_id} has no logged checkpoint (no {LATEST_CHECKPOINT_TAG} tag).",
            "RESOURCE_DOES_NOT_EXIST",
        )
    filename = latest.rsplit("/", 1)[-1]
    if epoch is not None and global_step is not None:
        raise LabtrackException(
            "Only one of 'epoch' and 'global_step' can be set for 'load_checkpoint'.",
            "INVALID_PARAMETER_VALUE",
        )
    if global_step is not None:
        path = f"{_CHECKPOINT_DIR}/global_step_{int(global_step)}/{filename}"
    elif epoch is not None:
        path = f"{_CHECKPOINT_DIR}/epoch_{int(epoch)}/{filename}"
    else:
        path = latest
    tmp = tempfile.mkdtemp(prefix="labtrack-checkpoint-")
    try:
        local = client.download_artifacts(run_id, path, tmp)
        return model_class.load_from_checkpoint(local, **(kwargs or {}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
