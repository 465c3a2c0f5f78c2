"""The Python API as a notebook user types it: ``import labtrack as lt``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labtrack.errors import LabtrackException

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _python(code: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": SRC, **env}
    for var in ("MLFLOW_TRACKING_URI", "LABTRACK_TRACKING_URI", "LABTRACK_STORE_URI"):
        if var not in env:
            full_env.pop(var, None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_run_records_params_metrics_tags_and_source(fluent):
    lt = fluent
    exp = lt.set_experiment("fluent-demo")
    with lt.start_run(run_name="first", tags={"team": "vision"}, description="**notes**") as run:
        lt.log_param("lr", 0.01)
        lt.log_params({"layers": 3, "optimizer": "adam"})
        for step in range(50):
            lt.log_metric("loss", 1.0 / (step + 1), step=step)
        lt.log_metrics({"acc": 0.9, "f1": 0.8}, step=49)
        lt.set_tags({"stage": "dev"})
    got = lt.get_run(run.info.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.end_time is not None
    assert got.info.experiment_id == exp.experiment_id
    assert got.info.run_name == "first"
    assert got.data.params == {"lr": "0.01", "layers": "3", "optimizer": "adam"}
    assert got.data.metrics["loss"] == pytest.approx(1 / 50)
    assert got.data.latest_metrics["loss"].step == 49
    assert got.data.metrics["acc"] == 0.9
    tags = got.data.tags
    assert tags["team"] == "vision"
    assert tags["stage"] == "dev"
    assert tags["mlflow.note.content"] == "**notes**"
    assert tags["mlflow.user"]
    assert tags["mlflow.source.type"] == "LOCAL"
    history = lt.MlflowClient().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == list(range(50))


def test_nested_runs_and_failure_status(fluent):
    lt = fluent
    with lt.start_run(run_name="parent") as parent:
        with lt.start_run(run_name="child", nested=True) as child:
            assert lt.active_run().info.run_id == child.info.run_id
        assert lt.active_run().info.run_id == parent.info.run_id
        with pytest.raises(LabtrackException, match="already active"):
            lt.start_run()
    assert lt.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    with pytest.raises(ZeroDivisionError), lt.start_run(run_name="boom") as failed:
        1 / 0  # noqa: B018
    assert lt.get_run(failed.info.run_id).info.status == "FAILED"
    assert lt.active_run() is None


def test_logging_without_a_run_starts_one(fluent):
    lt = fluent
    lt.log_metric("m", 1.0)
    run = lt.active_run()
    assert run is not None
    lt.end_run()
    assert lt.get_run(run.info.run_id).data.metrics["m"] == 1.0


def test_invalid_input_is_refused_at_the_call(fluent):
    lt = fluent
    with lt.start_run():
        with pytest.raises(LabtrackException, match="Invalid metric name"):
            lt.log_metric("../escape", 1.0)
        with pytest.raises(LabtrackException, match="Please specify a number"):
            lt.log_metric("ok", "not a number")
        with pytest.raises(LabtrackException, match="exceeds the limit"):
            lt.log_param("big", "x" * 6001)
        lt.log_param("p", 1)
        with pytest.raises(LabtrackException, match="Changing param values is not allowed"):
            lt.log_param("p", 2)


def test_a_failed_background_write_is_reported_not_swallowed(fluent):
    lt = fluent
    run = lt.start_run()
    rid = run.info.run_id
    lt.MlflowClient().delete_run(rid)
    # The write fails in the background thread; the warning and the error reach the user.
    with pytest.warns(RuntimeWarning, match="could not be written"):  # noqa: PT031
        lt.log_metric("m", 1.0)
        with pytest.raises(LabtrackException, match="must be in the 'active' state"):
            lt.flush()
    lt.MlflowClient().restore_run(rid)
    lt.end_run()


def test_search_runs_returns_a_dataframe_and_a_list(fluent):
    lt = fluent
    lt.set_experiment("search")
    for i in range(5):
        with lt.start_run(run_name=f"r{i}"):
            lt.log_param("i", i)
            lt.log_metric("score", i * 10)
    df = lt.search_runs(filter_string="metrics.score >= 20", order_by=["metrics.score DESC"])
    assert list(df["metrics.score"]) == [40.0, 30.0, 20.0]
    assert list(df["params.i"]) == ["4", "3", "2"]
    assert {"run_id", "experiment_id", "status", "start_time", "tags.mlflow.runName"} <= set(
        df.columns
    )
    assert str(df["start_time"].dt.tz) == "UTC"
    runs = lt.search_runs(output_format="list", order_by=["params.i ASC"])
    assert [r.info.run_name for r in runs] == [f"r{i}" for i in range(5)]
    by_name = lt.search_runs(experiment_names=["search"], filter_string="params.i = '1'")
    assert len(by_name) == 1


def test_text_dict_table_and_files_as_artifacts(fluent, tmp_path):
    lt = fluent
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x,y\n1,2\n")
    with lt.start_run() as run:
        lt.log_text("hello", "notes/hello.txt")
        lt.log_dict({"a": 1}, "config.yaml")
        lt.log_dict({"a": 1}, "config.json")
        lt.log_table({"col": [1, 2], "name": ["a", "b"]}, "table.json")
        lt.log_artifacts(str(tmp_path / "data"), "data")
        lt.log_artifact(str(tmp_path / "data" / "a.csv"))
    c = lt.MlflowClient()
    rid = run.info.run_id
    top = {f.path: f for f in c.list_artifacts(rid)}
    assert set(top) == {"notes", "config.yaml", "config.json", "table.json", "data", "a.csv"}
    assert top["notes"].is_dir
    assert top["a.csv"].file_size == 8
    assert [f.path for f in c.list_artifacts(rid, "notes")] == ["notes/hello.txt"]
    out = Path(c.download_artifacts(rid, "", str(tmp_path / "dl")))
    assert (out / "notes" / "hello.txt").read_text() == "hello"
    assert (out / "config.yaml").read_text().strip() == "a: 1"
    assert json.loads((out / "table.json").read_text()) == {
        "columns": ["col", "name"],
        "data": [[1, "a"], [2, "b"]],
    }
    with pytest.raises(LabtrackException):
        c.download_artifacts(rid, "../../etc/passwd", str(tmp_path / "evil"))


def test_log_image_from_numpy(fluent):
    np = pytest.importorskip("numpy")
    pytest.importorskip("PIL", reason="log_image needs Pillow or matplotlib, as in MLflow")
    lt = fluent
    with lt.start_run() as run:
        lt.log_image(np.zeros((8, 8, 3), dtype=np.uint8), "img.png")
    data = Path(lt.MlflowClient().download_artifacts(run.info.run_id, "img.png")).read_bytes()
    assert data.startswith(b"\x89PNG")


def test_import_is_cheap_and_loads_no_heavy_modules():
    res = _python(
        """
        import sys, time
        t = time.perf_counter()
        import labtrack
        took = time.perf_counter() - t
        heavy = [m for m in ("pandas", "sqlalchemy", "altair", "sklearn", "jupyter_server",
                             "numpy", "lark", "alembic", "tornado") if m in sys.modules]
        print(heavy)
        """,
        {},
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def test_points_queued_at_exit_are_written(tmp_path):
    """A script that never calls end_run or flush still loses nothing."""
    store = tmp_path / "exit-store"
    res = _python(
        """
        import labtrack as lt
        lt.set_experiment("exit")
        run = lt.start_run()
        for i in range(20000):
            lt.log_metric("m", i, step=i)
        print(run.info.run_id)
        """,
        {"LABTRACK_TRACKING_URI": str(store)},
    )
    assert res.returncode == 0, res.stderr
    run_id = res.stdout.strip()
    from labtrack.client.tracking_client import TrackingClient

    client = TrackingClient(str(store))
    assert len(client.get_metric_history(run_id, "m")) == 20000


def test_acknowledged_points_survive_a_killed_process(tmp_path):
    """After flush() returns, a SIGKILL of the writer loses none of those points."""
    store = tmp_path / "kill-store"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time
                import labtrack as lt
                run = lt.start_run()
                for i in range(5000):
                    lt.log_metric("m", i, step=i)
                lt.flush()
                print(run.info.run_id, flush=True)
                while True:
                    lt.log_metric("after", 1.0)
                    time.sleep(0.001)
                """
            ),
        ],
        env={**os.environ, "PYTHONPATH": SRC, "LABTRACK_TRACKING_URI": str(store)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    from labtrack.client.tracking_client import TrackingClient

    client = TrackingClient(str(store))
    assert len(client.get_metric_history(run_id, "m")) == 5000
    assert client.get_run(run_id).info.status == "RUNNING"  # killed, never ended


def test_two_processes_write_to_one_store_without_losing_points(tmp_path):
    store = tmp_path / "shared-store"
    code = """
        import labtrack as lt
        lt.set_experiment("shared")
        with lt.start_run() as run:
            for i in range(3000):
                lt.log_metric("m", i, step=i)
                if i % 500 == 0:
                    lt.set_tag(f"t{i}", i)
        print(run.info.run_id)
    """
    env = {**os.environ, "PYTHONPATH": SRC, "LABTRACK_TRACKING_URI": str(store)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    from labtrack.client.tracking_client import TrackingClient

    client = TrackingClient(str(store))
    for out, _ in outs:
        rid = out.strip()
        assert len(client.get_metric_history(rid, "m")) == 3000
        assert client.get_run(rid).info.status == "FINISHED"


def test_environment_selects_store_and_experiment(tmp_path):
    store = tmp_path / "env-store"
    res = _python(
        """
        import labtrack as lt
        with lt.start_run() as run:
            lt.log_param("a", 1)
        print(run.info.experiment_id, lt.get_tracking_uri())
        """,
        {"MLFLOW_TRACKING_URI": str(store), "MLFLOW_EXPERIMENT_NAME": "from-env"},
    )
    assert res.returncode == 0, res.stderr
    exp_id, uri = res.stdout.split()
    assert uri == f"sqlite:///{store / 'labtrack.db'}"
    from labtrack.client.tracking_client import TrackingClient

    assert TrackingClient(str(store)).get_experiment(exp_id).name == "from-env"


def test_git_commit_is_captured(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "train.py").write_text(
        "import labtrack as lt\nwith lt.start_run() as r: pass\nprint(r.info.run_id)\n"
    )
    git = ["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=a"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    store = tmp_path / "git-store"
    res = subprocess.run(
        [sys.executable, str(repo / "train.py")],
        env={**os.environ, "PYTHONPATH": SRC, "LABTRACK_TRACKING_URI": str(store)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    from labtrack.client.tracking_client import TrackingClient

    tags = TrackingClient(str(store)).get_run(res.stdout.strip()).data.tags
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.source.name"] == str(repo / "train.py")
    assert tags["mlflow.source.type"] == "LOCAL"
