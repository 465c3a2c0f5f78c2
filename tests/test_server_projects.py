"""JupyterLab's "Run project" routes against a real Jupyter server: describe an MLproject, start
``labtrack run`` as the server's child and follow the run; bad input is a 4xx naming the field,
and nothing outside the Jupyter root folder is described or run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from projects_helpers import write_project
from server_fixtures import *  # noqa: F403
from server_fixtures import Fetch, assert_error, json_of

MLPROJECT = """
name: tiny
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      epochs: int
      label: {type: string, default: "a b"}
    command: "python train.py --alpha {alpha} --epochs {epochs} --label {label}"
  other:
    command: "python train.py"
"""
TRAIN = """
import sys
import labtrack as lt
args = sys.argv[1:]
lt.log_metric("argc", len(args))
lt.set_tag("argv", " ".join(args))
"""
DESCRIBE = "api/labtrack/projects/describe"
RUN = "api/labtrack/projects/run"


@pytest.fixture
def project(jp_root_dir: Path) -> Path:
    return write_project(jp_root_dir / "proj", {"MLproject": MLPROJECT, "train.py": TRAIN})


def get_run(fetch: Fetch, run_id: str) -> dict[str, Any]:
    return json_of(fetch(f"api/2.0/mlflow/runs/get?run_id={run_id}"))["run"]


def wait_ended(fetch: Fetch, run_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = get_run(fetch, run_id)
        if run["info"]["status"] != "RUNNING" or time.monotonic() > deadline:
            return run
        time.sleep(0.2)


def test_describe_lists_entry_points_with_typed_parameters(fetch: Fetch, project: Path) -> None:
    body = json_of(fetch(f"{DESCRIBE}?path=proj/MLproject"))
    assert body["name"] == "tiny"
    assert body["path"] == "proj"
    main, other = body["entry_points"]
    assert main["name"] == "main"
    assert other == {
        "name": "other",
        "command": "python train.py",
        "parameters": [],
    }
    assert main["parameters"] == [
        {"name": "alpha", "type": "float", "default": "0.5", "required": False},
        {"name": "epochs", "type": "int", "required": True},
        {"name": "label", "type": "string", "default": "a b", "required": False},
    ]
    # The folder works as well as the file.
    assert json_of(fetch(f"{DESCRIBE}?path=proj"))["name"] == "tiny"


def test_run_starts_labtrack_run_and_the_run_finishes_with_params_and_tags(
    fetch: Fetch, project: Path
) -> None:
    evil = "x; touch pwned $(touch pwned2)"
    resp = fetch(
        RUN,
        method="POST",
        json_body={
            "path": "proj/MLproject",
            "entry_point": "main",
            "parameters": {"epochs": "3", "label": evil},
            "env_manager": "local",
            "run_name": "from-lab",
        },
    )
    started = json_of(resp)
    assert resp.code == 200
    assert started["experiment_id"] == "0"
    run = wait_ended(fetch, started["run_id"])
    assert run["info"]["status"] == "FINISHED", run
    assert run["info"]["run_name"] == "from-lab"
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params == {"alpha": "0.5", "epochs": "3", "label": evil}
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.project.env"] == "local"
    assert tags["labtrack.project.path"] == "proj"
    # The parameter stayed data: one argv element, nothing executed.
    assert tags["argv"] == f"--alpha 0.5 --epochs 3 --label {evil}"
    assert not (project / "pwned").exists()
    assert not (project / "pwned2").exists()


def test_a_project_that_fails_before_its_command_leaves_the_run_failed_with_the_reason(
    fetch: Fetch, jp_root_dir: Path
) -> None:
    write_project(
        jp_root_dir / "condaproj",
        {
            "MLproject": "name: c\nconda_env: conda.yaml\nentry_points:\n  main: 'true'\n",
            "conda.yaml": "name: c\ndependencies: [python]\n",
        },
    )
    resp = fetch(RUN, method="POST", json_body={"path": "condaproj", "env_manager": "conda"})
    run = wait_ended(fetch, json_of(resp)["run_id"])
    if run["info"]["status"] == "FINISHED":  # pragma: no cover - a machine with conda
        pytest.skip("conda is installed here")
    assert run["info"]["status"] == "FAILED"
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert "conda" in tags["labtrack.project.error"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "path"),
        ({"path": "proj", "entry_point": "nope"}, 400, "nope"),
        ({"path": "proj", "entry_point": "--backend=ray"}, 400, "--backend=ray"),
        ({"path": "proj"}, 400, "epochs"),  # required, no default
        ({"path": "proj", "parameters": {"epochs": "three"}}, 400, "three"),
        ({"path": "proj", "parameters": {"epochs": "1", "alpha": "x"}}, 400, "alpha"),
        ({"path": "proj", "parameters": ["epochs"]}, 400, "parameters"),
        ({"path": "proj", "parameters": {"epochs": {"a": 1}}}, 400, "parameters.epochs"),
        ({"path": "proj", "parameters": {"epochs": "1"}, "env_manager": "sh"}, 400, "env_manager"),
        ({"path": "proj", "parameters": {"epochs": "1"}, "experiment_id": "999"}, 404, "999"),
        ({"path": "proj#sub"}, 400, "path"),
        ({"path": "git+https://example.com/x.git"}, 404, "path"),
        ({"path": "proj/train.py"}, 400, "MLproject"),
        ({"path": "nosuch"}, 404, "nosuch"),
    ],
)
def test_bad_run_input_is_a_4xx_naming_the_field(
    fetch: Fetch, project: Path, body: dict[str, Any], status: int, field: str
) -> None:
    before = json_of(fetch("api/2.0/mlflow/runs/search", method="POST", json_body={}))
    err = assert_error(fetch(RUN, method="POST", json_body=body), status)
    assert field in err["message"], err
    after = json_of(fetch("api/2.0/mlflow/runs/search", method="POST", json_body={}))
    assert after == before  # no run was created


@pytest.mark.parametrize("path", ["..", "../outside", "proj/../..", "/etc", "escape"])
def test_nothing_outside_the_jupyter_root_is_described_or_run(
    fetch: Fetch, project: Path, jp_root_dir: Path, tmp_path: Path, path: str
) -> None:
    outside = write_project(tmp_path / "outside", {"MLproject": MLPROJECT, "train.py": TRAIN})
    (jp_root_dir / "escape").symlink_to(outside)
    assert_error(fetch(f"{DESCRIBE}?path={path}"), 403, "PERMISSION_DENIED")
    body = {"path": path, "parameters": {"epochs": "1"}}
    assert_error(fetch(RUN, method="POST", json_body=body), 403, "PERMISSION_DENIED")


def test_an_absolute_path_inside_the_root_is_accepted(fetch: Fetch, project: Path) -> None:
    body = json_of(fetch(f"{DESCRIBE}?path={project}"))
    assert body["path"] == "proj"


def test_invalid_mlproject_names_the_problem(fetch: Fetch, jp_root_dir: Path) -> None:
    write_project(jp_root_dir / "bad", {"MLproject": "name: x\nentry_pointz: {}\n"})
    err = assert_error(fetch(f"{DESCRIBE}?path=bad"), 400, "INVALID_PARAMETER_VALUE")
    assert "entry_pointz" in err["message"]


def test_project_routes_need_authentication(fetch: Fetch, project: Path) -> None:
    assert fetch(f"{DESCRIBE}?path=proj", auth=False).code == 403
    resp = fetch(RUN, method="POST", json_body={"path": "proj"}, auth=False)
    assert resp.code == 403


def test_a_project_in_git_records_its_commit(fetch: Fetch, project: Path) -> None:
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=project,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "project")
    body = {"path": "proj", "parameters": {"epochs": "1"}, "env_manager": "local"}
    run = wait_ended(fetch, json_of(fetch(RUN, method="POST", json_body=body))["run_id"])
    assert run["info"]["status"] == "FINISHED"
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["mlflow.source.git.commit"] == git("rev-parse", "HEAD")


def test_the_team_service_does_not_serve_project_runs() -> None:
    # labtrack service runs as a service account: a project started there would run as it.
    from labtrack.server.mount import mounted_handlers

    solo = [spec[0] for spec in mounted_handlers()]
    team = [spec[0] for spec in mounted_handlers(team=True)]
    assert any("projects/run" in p for p in solo)
    assert not any("projects" in p for p in team)
