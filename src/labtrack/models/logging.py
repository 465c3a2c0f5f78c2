"""``log_model``: package a model, store it as an MLflow 3 logged model, optionally register it.

Why the 3.x layout (a logged model ``m-<hex>`` with its own artifact location
``mlflow-artifacts:/<exp>/models/<model_id>/artifacts``) rather than files under the run:
it is what the mlflow 3 client writes and reads, so packages flow both ways unchanged —
``mlflow.pyfunc.load_model("runs:/<run>/<name>")`` finds labtrack's model through
``logged-models/search`` (source run and name), ``models:/<model_id>`` works for both tools,
and a registered version's source ``models:/<model_id>`` keeps the lineage (version -> logged
model -> run) that the registry UI shows. A 2.x client loads registered versions
(``get-download-uri`` returns the logged model's location) and ``runs:/<run>/<name>``: the
artifact proxy answers reads of the run's ``<name>/`` folder from the run's logged model.
The run also gets the ``mlflow.log-model.history`` record and a run output, like MLflow's own
client.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from typing import Any

from labtrack.client import fluent
from labtrack.errors import LabtrackException
from labtrack.models.model import Model, ModelInfo


def log_packaged_model(
    save: Callable[[str, Model], Model],
    name: str | None,
    *,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    run_id: str | None = None,
) -> ModelInfo:
    """Create a logged model, write the package with ``save(dir, model)`` and upload it."""
    name = name or artifact_path or "model"
    client = fluent.current_client()
    if run_id is None:
        active = fluent.active_run()
        run_id = active.info.run_id if active is not None else None
    experiment_id = client.get_run(run_id).info.experiment_id if run_id else fluent._experiment_id()
    logged = client.create_logged_model(
        experiment_id,
        name=name,
        source_run_id=run_id,
        tags=tags,
        params=params,
        model_type=model_type,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="labtrack-log-model-") as tmp:
            local = os.path.join(tmp, "model")
            meta = save(
                local,
                Model(artifact_path=name, run_id=run_id, model_id=logged.model_id),
            )
            client.upload_to_artifact_uri(local, logged.artifact_location)
    except BaseException:
        # The original error matters more than a failure to record it.
        with contextlib.suppress(LabtrackException):
            client.finalize_logged_model(logged.model_id, "LOGGED_MODEL_UPLOAD_FAILED")
        raise
    client.finalize_logged_model(logged.model_id, "LOGGED_MODEL_READY")
    fluent.note_logged_model(logged.model_id)
    if run_id:
        client.log_model_outputs(run_id, [logged.model_id], step)
        client._record_logged_model(run_id, meta.to_json())
    info = ModelInfo(
        artifact_path=name,
        flavors=meta.flavors,
        model_uri=f"models:/{logged.model_id}",
        model_uuid=meta.model_uuid,
        run_id=run_id,
        signature=meta.signature,
        utc_time_created=meta.utc_time_created,
        model_id=logged.model_id,
        name=name,
        saved_input_example_info=meta.saved_input_example_info,
    )
    if registered_model_name:
        mv = register_model(info.model_uri, registered_model_name, tags=None)
        info.registered_model_version = int(mv.version)
    return info


def register_model(
    model_uri: str,
    name: str,
    await_registration_for: int = 300,
    *,
    tags: dict[str, Any] | None = None,
) -> Any:
    """Register ``model_uri`` (``runs:/<run>/<path>``, ``models:/<model_id>`` or an artifact
    URI) as a new version of the registered model ``name`` (created if needed); the
    ``ModelVersion``. ``lt.register_model`` (MLflow's signature)."""
    del await_registration_for  # versions are READY at once
    client = fluent.current_client()
    try:
        client.create_registered_model(name)
    except LabtrackException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    run_id = None
    model_id = None
    source = model_uri
    if model_uri.startswith("runs:"):
        rest = model_uri[len("runs:") :].lstrip("/")
        run_id, _, path = rest.partition("/")
        # A 3.x model produced by the run: register the logged model (keeps the lineage).
        logged = _logged_model_of_run(client, run_id, path.strip("/"))
        if logged is not None:
            model_id = logged.model_id
            source = f"models:/{model_id}"
    elif model_uri.startswith("models:/") and "/" not in model_uri[8:] and "@" not in model_uri:
        model_id = model_uri[len("models:/") :]
        logged = client.get_logged_model(model_id)
        run_id = logged.source_run_id
    return client.create_model_version(
        name, source, run_id=run_id or None, tags=tags, model_id=model_id
    )


def _logged_model_of_run(client: Any, run_id: str, path: str) -> Any:
    """The run's logged model ``path`` names, or None for a package in the run's own folder.

    The run's logged models are asked first: the server shows a run's logged model ``<name>``
    under the run's ``<name>/`` folder too (for MLflow 2 clients), so a listing cannot tell."""
    run = client.get_run(run_id)
    flt = f"source_run_id = '{run_id}'"
    if path:
        flt += " AND name = '" + path.replace("'", "''") + "'"
    found = list(client.search_logged_models([run.info.experiment_id], flt, 10).items)
    if not found:
        return None
    if not path:
        # runs:/<run> alone names a logged model only when the run's folder holds no package.
        entries = client.list_artifacts(run_id, None)
        if any(os.path.basename(e.path) == "MLmodel" for e in entries):
            return None
    return max(found, key=lambda m: m.creation_timestamp)
