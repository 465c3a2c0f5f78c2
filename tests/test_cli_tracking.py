"""MLflow's command names on the ``labtrack`` CLI, run as real subprocesses: experiments, runs,
artifacts, models predict/prepare-env, db upgrade, doctor, --version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "MLFLOW_"))}
    clean.update(
        PYTHONPATH=SRC,
        LABTRACK_HOME=str(tmp_path / "home"),
        LABTRACK_TRACKING_URI=f"sqlite:///{tmp_path / 'store' / 'labtrack.db'}",
    )
    return clean


def labtrack(env: dict[str, str], *args: str, stdin: bytes | None = None, ok: bool = True):
    proc = subprocess.run(
        [sys.executable, "-m", "labtrack.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )
    out, err = proc.stdout.decode(), proc.stderr.decode()
    if ok:
        assert proc.returncode == 0, err
    return proc.returncode, out, err


def test_version(env) -> None:
    _, out, _ = labtrack(env, "--version")
    assert out.startswith("labtrack, version ")


def test_experiments_and_runs_commands(env, tmp_path) -> None:
    _, out, _ = labtrack(env, "experiments", "create", "--experiment-name", "cli-exp")
    assert out.startswith("Created experiment 'cli-exp' with id ")
    exp_id = out.strip().rsplit(" ", 1)[1]
    code, _, err = labtrack(env, "experiments", "create", "-n", "cli-exp", ok=False)
    assert code == 1
    assert "error:" in err
    assert "Traceback" not in err

    labtrack(env, "experiments", "rename", "--experiment-id", exp_id, "--new-name", "renamed")
    _, out, _ = labtrack(env, "experiments", "search")
    assert "renamed" in out
    assert "Default" in out
    labtrack(env, "experiments", "delete", "-x", exp_id)
    _, out, _ = labtrack(env, "experiments", "search")
    assert "renamed" not in out
    _, out, _ = labtrack(env, "experiments", "search", "--view", "deleted_only")
    assert "renamed" in out
    assert "Default" not in out
    labtrack(env, "experiments", "restore", "-x", exp_id)

    # A run with a param and an artifact, written by the Python API into the same store.
    script = (
        "import labtrack as lt\n"
        f"with lt.start_run(experiment_id='{exp_id}', run_name='cli-run') as r:\n"
        "    lt.log_param('alpha', 0.5)\n"
        "    lt.log_text('hello', 'notes/readme.txt')\n"
        "print(r.info.run_id)\n"
    )
    run_id = (
        subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, check=True, timeout=120
        )
        .stdout.decode()
        .strip()
    )

    _, out, _ = labtrack(env, "runs", "list", "--experiment-id", exp_id)
    assert "cli-run" in out
    assert run_id in out
    _, out, _ = labtrack(env, "runs", "describe", "--run-id", run_id)
    described = json.loads(out)
    assert described["info"]["run_id"] == run_id
    assert described["data"]["params"] == [{"key": "alpha", "value": "0.5"}]
    labtrack(env, "runs", "delete", "--run-id", run_id)
    _, out, _ = labtrack(env, "runs", "list", "--experiment-id", exp_id)
    assert run_id not in out
    _, out, _ = labtrack(env, "runs", "list", "--experiment-id", exp_id, "-v", "deleted_only")
    assert run_id in out
    labtrack(env, "runs", "restore", "--run-id", run_id)
    code, _, err = labtrack(env, "runs", "describe", "--run-id", "0" * 32, ok=False)
    assert code == 1
    assert "Traceback" not in err

    # Artifacts: list, upload a file and a folder, download by run and by URI.
    _, out, _ = labtrack(env, "artifacts", "list", "--run-id", run_id)
    assert json.loads(out) == [{"path": "notes", "is_dir": True}]
    _, out, _ = labtrack(env, "artifacts", "list", "-r", run_id, "-a", "notes")
    assert json.loads(out) == [{"path": "notes/readme.txt", "is_dir": False, "file_size": 5}]
    (tmp_path / "model.txt").write_text("weights")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "a.csv").write_text("x\n1\n")
    labtrack(
        env,
        "artifacts",
        "log-artifact",
        "--local-file",
        str(tmp_path / "model.txt"),
        "--run-id",
        run_id,
        "--artifact-path",
        "model",
    )
    labtrack(env, "artifacts", "log-artifacts", "-l", str(tmp_path / "folder"), "-r", run_id)
    _, out, _ = labtrack(env, "artifacts", "list", "-r", run_id)
    assert {e["path"] for e in json.loads(out)} == {"notes", "model", "a.csv"}

    dst = tmp_path / "downloaded"
    _, out, _ = labtrack(
        env, "artifacts", "download", "--run-id", run_id, "--artifact-path", "model",
        "--dst-path", str(dst),
    )  # fmt: skip
    assert Path(out.strip(), "model.txt").read_text() == "weights"
    _, out, _ = labtrack(env, "artifacts", "download", "-u", f"runs:/{run_id}/notes/readme.txt")
    assert Path(out.strip()).read_text() == "hello"
    code, _, err = labtrack(env, "artifacts", "download", ok=False)
    assert code == 2
    assert "--run-id" in err


def test_models_predict_from_json_and_csv(env, tmp_path) -> None:
    script = (
        "import numpy as np, pandas as pd, labtrack as lt\n"
        "from sklearn.linear_model import LinearRegression\n"
        "X = pd.DataFrame({'a': [0.0, 1.0, 2.0], 'b': [1.0, 1.0, 1.0]})\n"
        "m = LinearRegression().fit(X, 2 * X['a'] + 1)\n"
        f"lt.sklearn.save_model(m, r'{tmp_path / 'model'}', input_example=X.head(2))\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300)
    payload = {"dataframe_split": {"columns": ["a", "b"], "data": [[3.0, 1.0], [4.0, 1.0]]}}
    (tmp_path / "in.json").write_text(json.dumps(payload))
    _, out, _ = labtrack(
        env, "models", "predict", "-m", str(tmp_path / "model"), "-i", str(tmp_path / "in.json"),
        "-t", "json",
    )  # fmt: skip
    assert json.loads(out)["predictions"] == pytest.approx([7.0, 9.0])

    (tmp_path / "in.csv").write_text("a,b\n5,1\n")
    labtrack(
        env, "models", "predict", "--model-uri", str(tmp_path / "model"), "--input-path",
        str(tmp_path / "in.csv"), "--content-type", "csv", "--output-path", str(tmp_path / "o"),
    )  # fmt: skip
    assert json.loads((tmp_path / "o").read_text())["predictions"] == pytest.approx([11.0])

    _, out, _ = labtrack(
        env, "models", "predict", "-m", str(tmp_path / "model"), stdin=json.dumps(payload).encode()
    )
    assert json.loads(out)["predictions"] == pytest.approx([7.0, 9.0])

    code, _, err = labtrack(
        env, "models", "predict", "-m", str(tmp_path / "model"), "-i", str(tmp_path / "in.json"),
        "--env-manager", "virtualenv", ok=False,
    )  # fmt: skip
    assert code == 1
    assert "env_manager" in err
    (tmp_path / "bad.json").write_text('{"nope": 1}')
    code, _, err = labtrack(
        env, "models", "predict", "-m", str(tmp_path / "model"), "-i", str(tmp_path / "bad.json"),
        ok=False,
    )  # fmt: skip
    assert code == 1
    assert "dataframe_split" in err

    # prepare-env: a package listing no requirements has nothing to install.
    os.remove(tmp_path / "model" / "requirements.txt")
    _, out, _ = labtrack(env, "models", "prepare-env", "-m", str(tmp_path / "model"))
    assert "has what the model" in out


def test_db_upgrade_creates_and_reports_the_schema(env, tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    _, out, _ = labtrack(env, "db", "upgrade", url)
    assert out.startswith("Upgraded the database from revision (empty) to ")
    _, out, _ = labtrack(env, "db", "upgrade", url)
    assert "already at the newest revision" in out
    code, _, err = labtrack(env, "db", "upgrade", "mysql://u@h/db", ok=False)
    assert code == 1
    assert "not supported" in err


def test_doctor_reports_and_masks(env) -> None:
    env = dict(env, LABTRACK_TRACKING_TOKEN="very-secret")
    _, out, _ = labtrack(env, "doctor")
    assert "Store reachable:" in out
    assert "yes" in out
    assert env["LABTRACK_TRACKING_URI"] in out
    assert "very-secret" not in out
    _, out, _ = labtrack(env, "doctor", "--mask-envs")
    assert "LABTRACK_HOME:" in out
    assert env["LABTRACK_HOME"] not in out


def test_models_serve_takes_mlflows_env_manager_option(env, tmp_path) -> None:
    code, _, err = labtrack(
        env, "models", "serve", "-m", str(tmp_path), "--env-manager", "virtualenv", ok=False
    )
    assert code == 2
    assert "--env-manager local" in err


def test_tracking_commands_against_a_server(env, tmp_path_factory, tmp_path) -> None:
    """The same commands with MLFLOW_TRACKING_URI pointing at a labtrack server (REST)."""
    from live_server import start_live_server

    servers = start_live_server(tmp_path_factory.mktemp("cli-server"))
    server = next(servers)
    try:
        env = {k: v for k, v in env.items() if k != "LABTRACK_TRACKING_URI"}
        env.update(MLFLOW_TRACKING_URI=server.url, MLFLOW_TRACKING_TOKEN=server.token)
        _, out, _ = labtrack(env, "experiments", "create", "-n", "over-rest")
        exp_id = out.strip().rsplit(" ", 1)[1]
        script = (
            "import labtrack as lt\n"
            f"with lt.start_run(experiment_id='{exp_id}') as r:\n"
            "    lt.log_text('over http', 'a/b.txt')\n"
            "print(r.info.run_id)\n"
        )
        run_id = (
            subprocess.run(
                [sys.executable, "-c", script],
                env=env,
                capture_output=True,
                check=True,
                timeout=120,
            )
            .stdout.decode()
            .strip()
        )
        _, out, _ = labtrack(env, "runs", "describe", "--run-id", run_id)
        assert json.loads(out)["info"]["experiment_id"] == exp_id
        _, out, _ = labtrack(env, "artifacts", "download", "-r", run_id, "-a", "a/b.txt",
                             "-d", str(tmp_path / "d"))  # fmt: skip
        assert Path(out.strip()).read_text() == "over http"
        _, out, _ = labtrack(env, "doctor")
        assert server.url in out
        assert server.token not in out
        assert "Store reachable: yes" in " ".join(out.split())
    finally:
        for _ in servers:
            pass
