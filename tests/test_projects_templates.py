"""``labtrack init`` templates and ``examples/workflow``: chained steps, each a nested project run
reading the previous step's artifacts, run end to end with ``--env-manager local``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from projects_helpers import all_runs, clean_env, labtrack_argv, labtrack_run, store_client

pytest.importorskip("sklearn")

REPO = Path(__file__).resolve().parents[1]


def _init(tmp_path: Path, template: str, folder: Path, *extra: str):
    return subprocess.run(
        labtrack_argv("init", "--template", template, *extra, str(folder)),
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_classification_template_runs_end_to_end_and_registers_its_model(tmp_path):
    project = tmp_path / "churn"
    res = _init(tmp_path, "classification", project)
    assert res.returncode == 0, res.stderr
    assert {"MLproject", "python_env.yaml", "workflow.py", "README.md"} <= {
        p.name for p in project.iterdir()
    }
    res = labtrack_run(tmp_path, str(project), "--env-manager", "local", timeout=300)
    assert res.returncode == 0, res.stderr
    runs = {r.info.run_name: r for r in all_runs(tmp_path)}
    steps = ["ingest", "split", "train", "evaluate", "register"]
    assert set(steps) <= set(runs)
    (workflow,) = [r for name, r in runs.items() if name not in steps]
    assert workflow.data.tags["mlflow.project.entryPoint"] == "main"
    for step in steps:
        run = runs[step]
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == workflow.info.run_id
        assert run.data.tags["mlflow.project.entryPoint"] == step
        assert run.data.tags["mlflow.project.env"] == "local"
    # Each step read what the one before logged.
    assert runs["split"].data.params["data_run_id"] == runs["ingest"].info.run_id
    assert runs["evaluate"].data.params["train_run_id"] == runs["train"].info.run_id
    assert runs["evaluate"].data.metrics["test_accuracy"] > 0.7
    assert runs["register"].data.tags["registered_version"] == "1"
    version = store_client(tmp_path).get_model_version("churn", 1)
    assert version.run_id == runs["train"].info.run_id


def test_regression_template_scaffolds_and_its_first_step_runs(tmp_path):
    project = tmp_path / "prices"
    assert _init(tmp_path, "regression", project).returncode == 0
    assert 'TASK = "regression"' in (project / "steps" / "common.py").read_text()
    res = labtrack_run(
        tmp_path, str(project), "-e", "ingest", "-P", "n_samples=50", "--env-manager", "local"
    )
    assert res.returncode == 0, res.stderr
    (run,) = all_runs(tmp_path)
    assert run.data.metrics == {"rows": 50.0, "features": 8.0}
    # A second init into the same (now non-empty) folder is refused, with one line.
    again = _init(tmp_path, "regression", project)
    assert again.returncode == 2
    assert again.stderr.strip().endswith("is not empty (use --force to write into it)")


@pytest.mark.slow
def test_the_workflow_example_chains_ingest_train_evaluate_register(tmp_path):
    example = REPO / "examples" / "workflow"
    res = labtrack_run(
        tmp_path, str(example), "--env-manager", "local", "-P", "model_name=wf", timeout=300
    )
    assert res.returncode == 0, res.stderr
    runs = {r.info.run_name: r for r in all_runs(tmp_path)}
    for step in ("ingest", "train", "evaluate", "register"):
        assert runs[step].info.status == "FINISHED"
    assert runs["register"].data.tags["registered"] == "wf v1"
    parents = {runs[s].data.tags["mlflow.parentRunId"] for s in ("ingest", "register")}
    assert len(parents) == 1
