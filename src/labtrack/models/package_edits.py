"""Changing a saved or logged model package after the fact, and what it needs to run:
``set_signature``, ``update_model_requirements``, ``infer_pip_requirements`` (MLflow's names).

A package is edited where it lives: a local folder in place; a run's or a logged model's
package by rewriting its files in the artifact store. Registry URIs (``models:/<name>/<v>``)
are refused, as MLflow refuses them: a registered version must not change under its users.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

from labtrack.errors import LabtrackException, invalid
from labtrack.models.model import CONDA_FILE, REQUIREMENTS_FILE, Model

logger = logging.getLogger("labtrack")


def _client() -> Any:
    from labtrack.client.fluent import current_client

    return current_client()


def _package_location(model_uri: str) -> tuple[str | None, str]:
    """(artifact URI of the package folder or None, local folder holding a copy of it)."""
    from labtrack.models.uris import _is_local, download_model, parse_models_uri

    if _is_local(model_uri):
        return None, download_model(model_uri)
    client = _client()
    if model_uri.startswith("models:"):
        name, which, alias = parse_models_uri(model_uri)
        if which is not None or alias is not None:
            raise invalid(
                f"Cannot change the registered model version {model_uri!r}: registry URIs "
                "are not supported. Change the run's or logged model's package instead."
            )
        uri = client.get_logged_model(name).artifact_location
    elif model_uri.startswith("runs:"):
        rest = model_uri[len("runs:") :].lstrip("/")
        run_id, _, path = rest.partition("/")
        path = path.strip("/")
        # A logged model the run produced first (MLflow 3), as download_model resolves it:
        # editing the copy the server shows under the run's folder would shadow the model.
        uri = _run_logged_model_uri(client, run_id, path, model_uri)
        if uri is None:
            entries = client.list_artifacts(run_id, path or None)
            if not any(os.path.basename(e.path) == "MLmodel" for e in entries):
                raise LabtrackException(f"No model at {model_uri!r}.", "RESOURCE_DOES_NOT_EXIST")
            base = client.get_run(run_id).info.artifact_uri.rstrip("/")
            uri = f"{base}/{path}" if path else base
    elif model_uri.startswith("mlflow-artifacts:"):
        uri = model_uri
    else:
        raise invalid(f"Unsupported model URI {model_uri!r}.")
    return uri, client.download_artifact_uri(uri, tempfile.mkdtemp(prefix="labtrack-model-"))


def _run_logged_model_uri(client: Any, run_id: str, path: str, model_uri: str) -> str | None:
    """The location of the newest logged model named ``path`` the run produced, if any."""
    run = client.get_run(run_id)
    name_filter = f"source_run_id = '{run_id}'"
    if path:
        name_filter += " AND name = '" + path.replace("'", "''") + "'"
    found = list(client.search_logged_models([run.info.experiment_id], name_filter, 10).items)
    if not found:
        return None
    return str(max(found, key=lambda m: m.creation_timestamp).artifact_location)


def _write_back(artifact_uri: str | None, local: str, names: list[str]) -> None:
    """Store the rewritten files ``names`` of the package copy ``local`` at ``artifact_uri``."""
    if artifact_uri is None:
        return  # edited in place
    staging = tempfile.mkdtemp(prefix="labtrack-edit-")
    try:
        for name in names:
            if os.path.exists(os.path.join(local, name)):
                shutil.copy2(os.path.join(local, name), os.path.join(staging, name))
        # The package usually belongs to a finished run or finalized model: replacing its
        # files is the point of the call.
        _client().upload_to_artifact_uri(staging, artifact_uri, overwrite=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(local, ignore_errors=True)


def set_signature(model_uri: str, signature: Any) -> None:
    """Set (or replace) the signature recorded in a package's MLmodel file."""
    from labtrack.models.signature import ModelSignature

    if not isinstance(signature, ModelSignature):
        raise invalid("signature must be a ModelSignature (see infer_signature).")
    uri, local = _package_location(model_uri)
    model = Model.load(local)
    model.signature = signature
    model.save(local)
    _write_back(uri, local, ["MLmodel"])


_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _requirement_name(line: str) -> str | None:
    match = _NAME.match(line)
    return match.group(1).lower().replace("_", "-") if match else None


def update_model_requirements(model_uri: str, operation: str, requirement_list: list[str]) -> None:
    """Add (replacing any requirement of the same package) or remove pip requirements in a
    package's requirements.txt and conda.yaml."""
    if operation not in ("add", "remove"):
        raise invalid(f"Invalid operation {operation!r}: 'add' or 'remove'.")
    names = {_requirement_name(r) for r in requirement_list}
    if None in names:
        raise invalid(f"Invalid requirement in {requirement_list!r}.")
    uri, local = _package_location(model_uri)
    path = os.path.join(local, REQUIREMENTS_FILE)
    current: list[str] = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            current = [line.strip() for line in f if line.strip()]
    kept = [r for r in current if r.startswith("-") or _requirement_name(r) not in names]
    updated = kept + list(requirement_list) if operation == "add" else kept
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(updated) + ("\n" if updated else ""))
    conda_path = os.path.join(local, CONDA_FILE)
    if os.path.exists(conda_path):
        import yaml

        with open(conda_path, encoding="utf-8") as f:
            conda = yaml.safe_load(f) or {}
        for dep in conda.get("dependencies", []):
            if isinstance(dep, dict) and "pip" in dep:
                dep["pip"] = updated
        with open(conda_path, "w", encoding="utf-8") as f:
            yaml.safe_dump(conda, f, default_flow_style=False, sort_keys=False)
    _write_back(uri, local, [REQUIREMENTS_FILE, CONDA_FILE])


# Run in a fresh interpreter: load the package (and score its input example), then report the
# top-level modules imported on the way; the caller maps them to installed distributions.
_PROBE = """
import json, sys
before = set(sys.modules)
from labtrack.pyfunc import load_model
model = load_model(sys.argv[1])
try:
    example = model.metadata.load_input_example(sys.argv[1])
except Exception:
    example = None
if example is not None:
    model.predict(example)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def infer_pip_requirements(
    model_uri: str, flavor: str, fallback: list[str] | None = None, timeout: int | None = None
) -> list[str]:
    """The pip requirements a package needs, found as MLflow finds them: load it (and score
    its input example) in a fresh interpreter, and pin the distributions of the modules it
    imported (standard library and labtrack left out; a package another listed package
    already requires is left out too). On failure, ``fallback`` (with a warning) or []."""
    del flavor  # the pyfunc flavor loads every flavor labtrack knows
    from labtrack.models.uris import download_model

    try:
        local = download_model(model_uri)
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, local],
            capture_output=True,
            timeout=timeout or 600,
            check=True,
        )
        modules = json.loads(proc.stdout.decode().strip().splitlines()[-1])
        return _pinned_distributions(modules)
    except Exception as exc:
        if fallback is None:
            raise
        logger.warning("Could not infer the model's requirements (%s); using the fallback.", exc)
        return list(fallback)


def _pinned_distributions(modules: list[str]) -> list[str]:
    from importlib import metadata

    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    by_module = metadata.packages_distributions()
    dists: set[str] = set()
    for module in modules:
        if module in stdlib or module.startswith("_"):
            continue
        for dist in by_module.get(module, []):
            dists.add(dist)
    dists = {d for d in dists if d.lower() not in ("labtrack", "mlflow", "pip", "setuptools")}
    required: set[str] = set()
    for dist in dists:
        for req in metadata.requires(dist) or []:
            if "extra ==" not in req:
                name = _requirement_name(req)
                if name:
                    required.add(name)
    keep = sorted(d for d in dists if d.lower().replace("_", "-") not in required)
    return [f"{d}=={metadata.version(d)}" for d in keep]
