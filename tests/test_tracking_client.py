"""``TrackingClient`` as MLflow users use ``MlflowClient``: explicit ids, fresh clients."""

from __future__ import annotations

import threading

import pytest


def _call_with_deadline(func, seconds: float = 20.0):
    """Run ``func`` in a thread; fail (instead of hanging the suite) if it does not return."""
    result: dict = {}

    def target() -> None:
        try:
            result["value"] = func()
        except BaseException as exc:  # pragma: no cover - reported below
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"call did not return within {seconds} s (deadlock)"
    if "error" in result:
        raise result["error"]
    return result.get("value")


def test_a_fresh_clients_first_call_may_be_log_metric(tmp_path):
    """``MlflowClient().log_metric(run_id, ...)`` as the first call on a new client."""
    import labtrack as lt

    uri = f"sqlite:///{tmp_path / 'db.sqlite'}"
    run_id = lt.TrackingClient(uri).create_run("0").info.run_id

    fresh = lt.TrackingClient(uri)
    _call_with_deadline(lambda: fresh.log_metric(run_id, "loss", 0.5, step=3))
    _call_with_deadline(fresh.flush)
    history = lt.TrackingClient(uri).get_metric_history(run_id, "loss")
    assert [(m.value, m.step) for m in history] == [(0.5, 3)]


@pytest.mark.parametrize("first", ["log_metric", "flush", "backend"])
def test_concurrent_first_calls_on_a_fresh_client_all_return(tmp_path, first):
    import labtrack as lt

    uri = f"sqlite:///{tmp_path / 'db.sqlite'}"
    run_id = lt.TrackingClient(uri).create_run("0").info.run_id
    fresh = lt.TrackingClient(uri)
    calls = {
        "log_metric": lambda: fresh.log_metric(run_id, "m", 1.0),
        "flush": fresh.flush,
        "backend": lambda: fresh.backend,
    }
    threads = [threading.Thread(target=calls[first], daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads)


def test_a_client_without_uri_uses_set_tracking_uri(tmp_path, monkeypatch):
    """``MlflowClient()`` after ``set_tracking_uri(...)`` talks to that store, not the default."""
    import labtrack as lt
    from labtrack import config

    for var in ("LABTRACK_TRACKING_URI", "MLFLOW_TRACKING_URI", "LABTRACK_STORE_URI"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LABTRACK_HOME", str(tmp_path / "default-home"))
    chosen = f"sqlite:///{tmp_path / 'chosen.db'}"
    try:
        lt.set_tracking_uri(chosen)
        client = lt.MlflowClient()
        assert client.tracking_uri == chosen
        exp_id = client.create_experiment("picked")
        assert lt.TrackingClient(chosen).get_experiment(exp_id).name == "picked"
        assert not (tmp_path / "default-home").exists()
    finally:
        config.set_process_tracking_uri(None)


@pytest.mark.parametrize(
    ("tail", "status", "exit_code"),
    [
        ("pass", "FINISHED", 0),
        ("import sys; sys.exit(0)", "FINISHED", 0),
        ("raise ValueError('boom')", "FAILED", 1),
    ],
)
def test_an_implicit_run_ends_when_the_script_exits(tmp_path, tail, status, exit_code):
    """``lt.log_param`` with no ``start_run`` starts a run; the script's exit ends it."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    import labtrack as lt

    uri = f"sqlite:///{tmp_path / 'db.sqlite'}"
    script = textwrap.dedent(
        f"""
        import labtrack as lt
        lt.set_tracking_uri({uri!r})
        lt.log_param("lr", 0.1)
        lt.log_metric("loss", 0.5, step=1)
        print(lt.active_run().info.run_id, flush=True)
        {tail}
        """
    )
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src"), "PATH": "/usr/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == exit_code, proc.stderr
    run_id = proc.stdout.split()[0]
    run = lt.TrackingClient(uri).get_run(run_id)
    assert run.info.status == status
    assert run.info.end_time is not None
    assert run.data.metrics == {"loss": 0.5}


def test_store_uris_with_a_driver_name_open(pg_database):
    """SQLAlchemy's driver forms (postgresql+psycopg://...) are what users paste."""
    import labtrack as lt

    bare = pg_database.split("://", 1)[1]
    for scheme in ("postgresql+psycopg", "postgresql", "postgres"):
        client = lt.TrackingClient(f"{scheme}://{bare}")
        assert client.get_experiment("0").name == "Default"


@pytest.mark.parametrize("uri", ["mysql+pymysql://u:secret@h/db", "mssql://u@h/db", "ftp://h/x.db"])
def test_unsupported_store_uris_are_refused_clearly(uri):
    from labtrack.errors import LabtrackException
    from labtrack.store.engine import create_store_engine

    with pytest.raises(LabtrackException) as info:
        create_store_engine(uri)
    message = str(info.value)
    assert "secret" not in message
    assert "sqlite:///" in message
    assert "postgresql://" in message


def test_a_point_logged_by_the_fluent_api_is_read_by_a_new_client(fluent):
    """``lt.log_metric`` queues; ``MlflowClient()`` (another client of the same URI) reads it at
    once: the queue is one per backend per process, and reads flush it."""
    lt = fluent
    with lt.start_run() as run:
        lt.log_metric("loss", 0.25, step=7)
        client = lt.MlflowClient()
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [(m.value, m.step) for m in history] == [(0.25, 7)]
        lt.log_metric("acc", 0.5)
        assert client.get_run(run.info.run_id).data.metrics == {"loss": 0.25, "acc": 0.5}
        assert client.metric_queue is lt.client.fluent.current_client().metric_queue


def test_one_backend_per_uri_and_the_transport_is_chosen_once(tmp_path):
    import labtrack as lt
    from labtrack.client.backends import open_backend

    uri = f"sqlite:///{tmp_path / 'db.sqlite'}"
    first, second = lt.TrackingClient(uri), lt.MlflowClient(uri)
    assert first.backend is second.backend is open_backend(uri)
    assert lt.TrackingClient(f"sqlite:///{tmp_path / 'other.sqlite'}").backend is not first.backend


def test_labtrack_client_is_the_subpackage():
    import labtrack

    assert labtrack.client.fluent.start_run is labtrack.start_run
    assert labtrack.client.MlflowClient is labtrack.MlflowClient is labtrack.TrackingClient


def test_downloading_a_whole_run_puts_its_files_in_dst(tmp_path):
    """``download_artifacts(run_id, "", dst)`` fills dst itself, as MLflow's client does."""
    import labtrack as lt

    client = lt.TrackingClient(f"sqlite:///{tmp_path / 'db.sqlite'}")
    run_id = client.create_run("0").info.run_id
    client.log_text(run_id, "hello", "a.txt")
    client.log_text(run_id, "flavors: {}", "model/MLmodel")
    dst = tmp_path / "out"
    assert client.download_artifacts(run_id, "", str(dst)) == str(dst)
    files = sorted(str(p.relative_to(dst)) for p in dst.rglob("*") if p.is_file())
    assert files == ["a.txt", "model/MLmodel"]
    one = client.download_artifacts(run_id, "model", str(tmp_path / "one"))
    assert one == str(tmp_path / "one" / "model")
