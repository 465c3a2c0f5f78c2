"""Project environments (a virtualenv built from python_env.yaml, cached) and MLflow's own client
logging from inside a project."""

from __future__ import annotations

import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from projects_helpers import all_runs, clean_env, labtrack_run, write_project

REPO = Path(__file__).resolve().parents[1]
MINOR = ".".join(map(str, sys.version_info[:2]))

WHERE = """
import sys
import labtrack as lt
with lt.start_run():
    lt.log_param("prefix", sys.prefix)
    lt.log_param("labtrack_from", lt.__file__)
print("user code starts")
"""


def _venv_project(tmp_path: Path, python: str) -> Path:
    return write_project(
        tmp_path / "venvproj",
        {
            "MLproject": """
                name: venvproj
                python_env: python_env.yaml
                entry_points:
                  main:
                    command: "python where.py"
            """,
            # No dependencies: builds offline, in a couple of seconds.
            "python_env.yaml": f'python: "{python}"\nbuild_dependencies: []\ndependencies: []\n',
            "where.py": WHERE,
        },
    )


def _env_without_source_path(tmp_path: Path) -> dict[str, str]:
    # labtrack must reach the project's env through labtrack's own bridge, not PYTHONPATH.
    env = clean_env(tmp_path)
    env.pop("PYTHONPATH", None)
    return env


@pytest.mark.slow
def test_virtualenv_is_built_from_python_env_once_and_reused(tmp_path):
    project = _venv_project(tmp_path, MINOR)
    env = _env_without_source_path(tmp_path)
    first = labtrack_run(tmp_path, str(project), env=env)
    assert first.returncode == 0, first.stderr
    assert "building environment" in first.stderr
    started = time.monotonic()
    second = labtrack_run(tmp_path, str(project), env=env)
    reuse_seconds = time.monotonic() - started
    assert second.returncode == 0, second.stderr
    assert "building environment" not in second.stderr
    envs = [p for p in (tmp_path / "home" / "envs").iterdir() if p.is_dir()]
    assert len(envs) == 1
    runs = all_runs(tmp_path)
    assert len(runs) == 2
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.project.env"] == "virtualenv"  # the project's default
        # The command ran in the cached env, and imported this checkout's labtrack.
        assert Path(run.data.params["prefix"]) == envs[0]
        assert run.data.params["labtrack_from"].startswith(str(REPO / "src"))
    print(f"cache hit: labtrack run took {reuse_seconds:.2f}s")


@pytest.mark.slow
def test_an_interpreter_that_is_not_installed_is_never_downloaded(tmp_path):
    project = _venv_project(tmp_path, "3.99")
    res = labtrack_run(tmp_path, str(project), env=_env_without_source_path(tmp_path))
    assert res.returncode == 2
    assert "no python3.99 is installed on this machine (labtrack never downloads one)" in res.stderr
    assert not (tmp_path / "home" / "envs").exists() or not any(
        p.is_dir() for p in (tmp_path / "home" / "envs").iterdir()
    )


def test_uv_without_uv_is_a_clear_error(tmp_path):
    project = _venv_project(tmp_path, MINOR)
    env = clean_env(tmp_path)
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "uv").exists()
    )
    res = labtrack_run(tmp_path, str(project), "--env-manager", "uv", env=env)
    assert res.returncode == 2
    assert "needs the 'uv' command" in res.stderr


# ---- MLflow's own client inside a project ------------------------------------------------------


def _mlflow_python() -> Path | None:
    sys.path.insert(0, str(REPO / "tests"))
    from mlflow_compat import envs

    override = os.environ.get("LABTRACK_MLFLOW3_PYTHON")
    if override:
        return Path(override)
    venv = envs.compat_dir() / "mlflow3"
    return envs._python(venv) if envs._is_ready(venv, envs.ENVS["mlflow3"]) else None


@contextmanager
def _server(tmp_path: Path):
    sys.path.insert(0, str(REPO / "tests"))
    from live_server import start_live_server

    gen = start_live_server(tmp_path / "server")
    try:
        yield next(gen)
    finally:
        gen.close()


@pytest.mark.slow
def test_import_labtrack_and_import_mlflow_both_log_to_the_project_run(tmp_path):
    mlflow_python = _mlflow_python()
    if mlflow_python is None:
        pytest.skip(
            "the mlflow 3 compat venv is not built (python tests/mlflow_compat/envs.py mlflow3)"
        )
    project = write_project(
        tmp_path / "both",
        {
            "MLproject": """
                entry_points:
                  main:
                    parameters:
                      mlflow_python: path
                    command: "python lt_step.py && {mlflow_python} mlflow_step.py"
            """,
            "lt_step.py": """
                import labtrack as lt
                with lt.start_run():
                    lt.log_metric("from_labtrack", 1.0)
            """,
            "mlflow_step.py": """
                import mlflow
                with mlflow.start_run() as run:
                    mlflow.log_metric("from_mlflow", 2.0)
                    mlflow.set_tag("mlflow_saw_run", run.info.run_id)
            """,
        },
    )
    with _server(tmp_path) as server:
        env = clean_env(
            tmp_path,
            LABTRACK_TRACKING_URI=server.url,
            LABTRACK_TRACKING_TOKEN=server.token,
            MLFLOW_TRACKING_TOKEN=server.token,
        )
        res = labtrack_run(
            tmp_path, str(project), "-P", f"mlflow_python={mlflow_python}", env=env, timeout=240
        )
        assert res.returncode == 0, res.stderr
        from labtrack.client.tracking_client import TrackingClient

        client = TrackingClient(server.store_uri, server.artifact_root)
        (run,) = client.search_runs(["0"]).items
    assert run.info.status == "FINISHED"
    assert run.data.metrics == {"from_labtrack": 1.0, "from_mlflow": 2.0}
    assert run.data.tags["mlflow_saw_run"] == run.info.run_id
    assert run.data.tags["mlflow.source.type"] == "PROJECT"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not installed (not on PATH)")
def test_uv_builds_the_env_through_pips_configured_index(tmp_path):
    project = _venv_project(tmp_path, MINOR)
    # One small dependency, installed by uv from the index pip is configured with.
    (project / "python_env.yaml").write_text(f'python: "{MINOR}"\ndependencies: [six]\n')
    (project / "where.py").write_text(WHERE.replace("import sys", "import sys, six"))
    res = labtrack_run(tmp_path, str(project), "--env-manager", "uv", timeout=300)
    assert res.returncode == 0, res.stderr
    (run,) = all_runs(tmp_path)
    assert run.data.tags["mlflow.project.env"] == "uv"
    assert Path(run.data.params["prefix"]).parent == tmp_path / "home" / "envs"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("python: [3.11\n", "python_env.yaml: invalid YAML (line"),
        ('python: "3.11"\ndependecies: [six]\n', "python_env.yaml: unknown key 'dependecies'"),
        ('python: "3.11"\ndependencies: six\n', "'dependencies' must be a list of requirement"),
        ("python: {version: 3.11}\n", "'python' must be a version like '3.11'"),
    ],
)
def test_a_bad_python_env_yaml_names_the_file_and_the_problem(
    tmp_path, capsys, monkeypatch, content, problem
):
    from labtrack.cli import main

    project = _venv_project(tmp_path, MINOR)
    (project / "python_env.yaml").write_text(content)
    monkeypatch.setenv("LABTRACK_TRACKING_URI", f"sqlite:///{tmp_path / 'store' / 'labtrack.db'}")
    monkeypatch.setenv("LABTRACK_HOME", str(tmp_path / "home"))
    assert main(["run", str(project)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert problem in lines[0]
    assert str(project / "python_env.yaml") in lines[0]
    assert not (tmp_path / "store" / "labtrack.db").exists()
    assert not (tmp_path / "home" / "envs").exists()
