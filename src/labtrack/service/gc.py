"""``labtrack gc``'s rules (MLflow 3.17's ``mlflow gc``): permanently delete runs, logged models
and experiments in the ``deleted`` lifecycle stage, with their artifacts, and sweep the upload
temp files crashes left.

What MLflow does, and what labtrack keeps from it:

- Runs: every deleted run (``--older-than``: deleted at least that long ago, by
  ``deleted_time``), or those named in ``--run-ids``, which must all be deleted (and old
  enough). Their artifact folder goes first, then their rows; a run whose artifact URI is not
  in the store's artifact root keeps its files (MLflow skips what it cannot resolve).
- Logged models: likewise, by ``last_updated_timestamp``, with their artifacts.
- Experiments: every deleted experiment (``--older-than``: by ``last_update_time``), or those in
  ``--experiment-ids``; their deleted runs go too. An experiment's row goes once it has no runs
  left; its logged models' rows go with it (MLflow's cascade) but their files stay, as in
  MLflow (a registered version may still be stored there).

Unlike MLflow, every named id is checked before anything is deleted, so a refusal deletes
nothing; and a swept experiment that still holds a run (restored on its own, or deleted too
recently) is kept instead of taking that run with it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from labtrack.artifact_store.uris import uri_to_relpath
from labtrack.errors import LabtrackException, invalid, not_found
from labtrack.store.database import now_ms

if TYPE_CHECKING:
    from labtrack.artifact_store.store import ArtifactStore
    from labtrack.service.tracking import TrackingService

# Upload temp files idle this long belong to no live upload (one writes every MiB).
TEMP_FILE_IDLE_SECONDS = 3600.0

_DURATION = re.compile(
    r"^(?:(?P<days>[.\d]+)d)?(?:(?P<hours>[.\d]+)h)?(?:(?P<minutes>[.\d]+)m)?"
    r"(?:(?P<seconds>[.\d]+)s)?$"
)


def parse_older_than(text: str | None) -> int:
    """``--older-than`` (MLflow's ``#d#h#m#s``, numbers may have decimals: ``1.5d``, ``2h30m``)
    in milliseconds; ``None`` is 0."""
    if text is None:
        return 0
    match = _DURATION.match(text.strip())
    parts = {k: v for k, v in match.groupdict().items() if v} if match else {}
    try:
        delta = timedelta(**{k: float(v) for k, v in parts.items()})
    except (ValueError, OverflowError):
        parts = {}
    if not parts:
        raise invalid(
            f"--older-than: could not parse {text!r} as a time span; "
            "examples: '8h', '2d8h5m20s', '1.5d', '30m'"
        )
    return int(delta.total_seconds() * 1000)


def split_ids(text: str | None) -> list[str] | None:
    """A comma-separated id list (``None`` when not given); blanks around ids are dropped."""
    if text is None:
        return None
    ids = [part.strip() for part in text.split(",") if part.strip()]
    return list(dict.fromkeys(ids))


@dataclass
class GcResult:
    runs: list[str] = field(default_factory=list)
    logged_models: list[str] = field(default_factory=list)
    experiments: list[str] = field(default_factory=list)
    kept_experiments: dict[str, str] = field(default_factory=dict)  # id -> why
    temp_files: int = 0
    temp_bytes: int = 0


@dataclass
class _Plan:
    runs: list[tuple[str, str]]  # (run id, artifact URI)
    logged_models: list[tuple[str, str]]  # (model id, artifact location)
    experiments: list[str]
    kept_experiments: dict[str, str]


def collect_garbage(
    service: TrackingService,
    *,
    older_than: str | None = None,
    run_ids: Sequence[str] | None = None,
    experiment_ids: Sequence[str] | None = None,
    logged_model_ids: Sequence[str] | None = None,
    artifact_root: str | None = None,
    report: Callable[[str], None] = lambda line: None,
) -> GcResult:
    """Permanently delete what is in the deleted stage (see the module); ``report`` gets one
    line per deletion, MLflow's wording. Refusals raise before anything is deleted."""
    from labtrack.artifact_store.store import ArtifactStore

    older_ms = parse_older_than(older_than)
    plan = _plan(service, older_than, older_ms, run_ids, experiment_ids, logged_model_ids)
    artifacts = ArtifactStore(artifact_root or service.artifact_root)
    hard = service.store.hard_deletes
    result = GcResult(kept_experiments=plan.kept_experiments)
    for run_id, uri in plan.runs:
        # Restored since the plan was made: its files must not go (the store re-checks the
        # rows under the run's lock).
        if _run_stage(service, run_id) != "deleted":
            report(f"Run with ID {run_id} is kept: it was restored or removed meanwhile.")
            continue
        _delete_folder(artifacts, uri, run_id, report)
        hard.delete_run(run_id)
        result.runs.append(run_id)
        report(f"Run with ID {run_id} has been permanently deleted.")
    for model_id, uri in plan.logged_models:
        _delete_folder(artifacts, uri, model_id, report)
        hard.delete_logged_model(model_id)
        result.logged_models.append(model_id)
        report(f"Logged model with ID {model_id} has been permanently deleted.")
    for eid in plan.experiments:
        try:
            hard.delete_experiment(eid)
        except LabtrackException as exc:
            # A run restored (or an experiment restored) since the plan was made.
            plan.kept_experiments[eid] = exc.message.rstrip(".")
            continue
        result.experiments.append(eid)
        report(f"Experiment with ID {eid} has been permanently deleted.")
    for eid, why in plan.kept_experiments.items():
        report(f"Experiment with ID {eid} is kept: {why}.")
    result.temp_files, result.temp_bytes = artifacts.sweep_temp_files(TEMP_FILE_IDLE_SECONDS)
    return result


def _run_stage(service: TrackingService, run_id: str) -> str | None:
    try:
        return service.store.get_run(run_id).info.lifecycle_stage
    except LabtrackException:
        return None


def _plan(
    service: TrackingService,
    older_than: str | None,
    older_ms: int,
    run_ids: Sequence[str] | None,
    experiment_ids: Sequence[str] | None,
    logged_model_ids: Sequence[str] | None,
) -> _Plan:
    store = service.store
    hard = store.hard_deletes
    old_runs = set(hard.deleted_run_ids(older_ms))
    too_recent = f"Only runs deleted more than {older_than} ago can be permanently deleted."

    runs: dict[str, str] = {}
    if run_ids is None:
        for run_id in sorted(old_runs):
            runs[run_id] = ""
    else:
        for run_id in run_ids:
            info = store.get_run(run_id).info  # RESOURCE_DOES_NOT_EXIST names the run
            if info.lifecycle_stage != "deleted":
                raise invalid(
                    f"Run {run_id} is not in the deleted lifecycle stage ({info.status}, "
                    f"{info.lifecycle_stage}): only deleted runs can be permanently deleted."
                )
            if older_ms and run_id not in old_runs:
                raise invalid(f"Run {run_id} was deleted too recently. {too_recent}")
            runs[run_id] = info.artifact_uri

    all_deleted_models = set(hard.deleted_logged_model_ids(0))
    old_models = set(hard.deleted_logged_model_ids(older_ms))
    models: list[tuple[str, str]] = []
    for model_id in sorted(old_models) if logged_model_ids is None else logged_model_ids:
        model = service.logged_models.get_logged_model(model_id, allow_deleted=True)
        if model_id not in all_deleted_models:
            raise invalid(
                f"Logged model {model_id} is not in the deleted lifecycle stage: "
                "only deleted logged models can be permanently deleted."
            )
        if older_ms and model_id not in old_models:
            raise invalid(
                f"Logged model {model_id} was deleted too recently. Only logged models "
                f"deleted more than {older_than} ago can be permanently deleted."
            )
        models.append((model_id, model.artifact_location))

    kept: dict[str, str] = {}
    experiments: list[str] = []
    if experiment_ids is None:
        candidates = hard.deleted_experiment_ids(older_ms)
    else:
        candidates = list(experiment_ids)
        cutoff = now_ms() - older_ms
        for eid in candidates:
            exp = store.get_experiment(eid)
            if exp.lifecycle_stage != "deleted":
                raise invalid(
                    f"Experiment {eid} is not in the deleted lifecycle stage: "
                    "only deleted experiments can be permanently deleted."
                )
            if older_ms and (exp.last_update_time is None or exp.last_update_time >= cutoff):
                raise invalid(
                    f"Experiment {eid} was deleted too recently. Only experiments deleted "
                    f"more than {older_than} ago can be permanently deleted."
                )
    for eid in candidates:
        try:
            numeric = int(eid)
        except ValueError:
            raise not_found(f"No Experiment with id={eid} exists") from None
        stages = hard.run_ids_of_experiments([numeric])
        active = [r for r, stage in stages.items() if stage != "deleted"]
        recent = [r for r, stage in stages.items() if stage == "deleted" and r not in old_runs]
        why = ""
        if active:
            why = f"its run {active[0]} is active"
        elif recent and older_ms:
            why = f"its run {recent[0]} was deleted less than {older_than} ago"
        if why and experiment_ids is not None:
            raise invalid(f"Experiment {eid} cannot be permanently deleted: {why}.")
        if why:
            kept[eid] = why
            continue
        experiments.append(eid)
        for run_id in sorted(stages):
            runs.setdefault(run_id, "")

    # The artifact URIs of runs found by id lists (one read per run).
    planned = [(rid, uri or store.get_run(rid).info.artifact_uri) for rid, uri in runs.items()]
    return _Plan(planned, models, experiments, kept)


def _delete_folder(
    artifacts: ArtifactStore, uri: str, owner_id: str, report: Callable[[str], None]
) -> None:
    """Delete an owner's artifact folder, and the ``<owner id>`` folder around it once empty."""
    try:
        rel = uri_to_relpath(uri, artifacts.artifact_root)
        artifacts.delete(rel, missing_ok=True)
    except LabtrackException as exc:
        # MLflow's rule: what cannot be resolved is reported and its files are left alone.
        report(f"warning: the artifacts of {owner_id} at {uri!r} were left in place: {exc.message}")
        return
    parent = posixpath.dirname(rel)
    if posixpath.basename(parent) == owner_id and artifacts.list_dir(parent) == []:
        artifacts.delete(parent, missing_ok=True)
