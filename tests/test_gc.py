"""``labtrack gc`` (MLflow's ``mlflow gc``): permanent deletion of deleted runs, logged models and
experiments, on SQLite and PostgreSQL (store and service), and the command as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from labtrack.entities import Dataset, DatasetInput, Metric, RunTag
from labtrack.errors import LabtrackException
from labtrack.service.gc import collect_garbage, parse_older_than, split_ids
from labtrack.store import schema as s

SRC = str(Path(__file__).resolve().parents[1] / "src")
DAY_MS = 86_400_000

RUN_TABLES = (
    s.params,
    s.tags,
    s.latest_metrics,
    s.metric_chunks,
    s.run_inputs,
    s.run_input_tags,
    s.run_outputs,
    s.run_model_inputs,
    s.logged_model_metrics,
    s.runs,
)


def _rows(store: Any, table: Any, **where: Any) -> int:
    with store.db.read() as conn:
        stmt = select(func.count()).select_from(table)
        for column, value in where.items():
            stmt = stmt.where(table.c[column] == value)
        return int(conn.execute(stmt).scalar_one())


def _run_rows(store: Any, run_id: str) -> dict[str, int]:
    return {t.name: _rows(store, t, run_uuid=run_id) for t in RUN_TABLES}


def _full_run(service: Any, experiment_id: str = "0", name: str = "r") -> str:
    """A run with params, tags, metrics, a dataset input, a model output and an artifact."""
    run = service.create_run(experiment_id, "ana", 1000, {"t": "1"}, name)
    run_id = run.info.run_id
    service.log_batch(
        run_id,
        metrics=[Metric("loss", 0.5, 1000, 0), Metric("loss", 0.25, 1001, 1)],
        params=[("alpha", "0.1")],
        tags=[("team", "x")],
    )
    service.log_inputs(
        run_id,
        [DatasetInput(Dataset("d", "abc", "local", "{}"), (RunTag("mlflow.data.context", "t"),))],
    )
    model = service.logged_models.create_logged_model(experiment_id, name="m")
    service.logged_models.log_outputs(run_id, [(model.model_id, 0)])
    service.logged_models.log_model_inputs(run_id, [model.model_id])
    service.log_batch(run_id, metrics=[Metric("acc", 0.9, 1002, 0, model.model_id, "ev", "d")])
    return run_id


def _write_artifact(service: Any, run_id: str, name: str = "f.txt") -> Path:
    from labtrack.artifact_store.uris import uri_to_relpath

    rel = uri_to_relpath(service.get_run(run_id).info.artifact_uri)
    path = Path(service.artifact_root) / rel / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("data")
    return path


def _age_run(store: Any, run_id: str, days: float) -> None:
    with store.db.write() as conn:
        conn.execute(
            update(s.runs)
            .where(s.runs.c.run_uuid == run_id)
            .values(deleted_time=s_now() - int(days * DAY_MS))
        )


def _age_experiment(store: Any, experiment_id: str, days: float) -> None:
    with store.db.write() as conn:
        conn.execute(
            update(s.experiments)
            .where(s.experiments.c.experiment_id == int(experiment_id))
            .values(last_update_time=s_now() - int(days * DAY_MS))
        )


def s_now() -> int:
    from labtrack.store.database import now_ms

    return now_ms()


def _code(exc: pytest.ExceptionInfo[LabtrackException]) -> str:
    return exc.value.error_code


# ---- store ---------------------------------------------------------------------------------


def test_store_deletes_every_row_of_a_deleted_run_only(service: Any) -> None:
    store = service.store
    gone, kept = _full_run(service, name="gone"), _full_run(service, name="kept")
    assert all(_run_rows(store, gone).values())
    before_kept = _run_rows(store, kept)
    service.delete_run(gone)

    store.hard_deletes.delete_run(gone)

    assert _run_rows(store, gone) == dict.fromkeys(before_kept, 0)
    assert _run_rows(store, kept) == before_kept
    kept_run = service.get_run(kept)
    assert kept_run.data.params == {"alpha": "0.1"}
    assert kept_run.data.metrics == {"loss": 0.25, "acc": 0.9}
    with pytest.raises(LabtrackException) as exc:
        service.get_run(gone)
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"


def test_store_refuses_to_hard_delete_an_active_run(service: Any) -> None:
    run_id = _full_run(service)
    before = _run_rows(service.store, run_id)
    with pytest.raises(LabtrackException) as exc:
        service.store.hard_deletes.delete_run(run_id)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    assert "not in the deleted lifecycle stage" in exc.value.message
    assert _run_rows(service.store, run_id) == before
    with pytest.raises(LabtrackException) as exc:
        service.store.hard_deletes.delete_run("f" * 32)
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"


def test_store_lists_deleted_runs_by_deletion_time(service: Any) -> None:
    store = service.store
    old, recent, active = (service.create_run("0", "u", 1, {}, n).info.run_id for n in "abc")
    service.delete_run(old)
    service.delete_run(recent)
    _age_run(store, old, 2)
    assert set(store.hard_deletes.deleted_run_ids()) == {old, recent}
    assert store.hard_deletes.deleted_run_ids(DAY_MS) == [old]
    assert active not in store.hard_deletes.deleted_run_ids()


def test_store_deletes_an_experiment_once_its_runs_are_gone(service: Any) -> None:
    store = service.store
    eid = service.create_experiment("doomed", tags={"k": "v"})
    store.permissions.put("experiment", eid, "user", "bob", "EDIT")
    run_id = _full_run(service, eid)
    model_ids = [m for m in _model_ids(store) if _model_experiment(store, m) == eid]
    service.delete_experiment(eid)
    with pytest.raises(LabtrackException) as exc:
        store.hard_deletes.delete_experiment(eid)
    assert "still has 1 runs" in exc.value.message
    store.hard_deletes.delete_run(run_id)

    assert store.hard_deletes.delete_experiment(eid) == model_ids
    for table in (s.experiments, s.experiment_tags, s.datasets, s.logged_models):
        assert _rows(store, table, experiment_id=int(eid)) == 0
    assert _rows(store, s.logged_model_tags) == _rows(store, s.logged_model_params) == 0
    assert _rows(store, s.permissions, resource_id=eid) == 0  # no grant outlives it
    with pytest.raises(LabtrackException) as exc:
        store.hard_deletes.delete_experiment("0")
    assert "not in the deleted lifecycle stage" in exc.value.message


def _model_ids(store: Any) -> list[str]:
    with store.db.read() as conn:
        return list(conn.execute(select(s.logged_models.c.model_id)).scalars())


def _model_experiment(store: Any, model_id: str) -> str:
    with store.db.read() as conn:
        return str(
            conn.execute(
                select(s.logged_models.c.experiment_id).where(
                    s.logged_models.c.model_id == model_id
                )
            ).scalar_one()
        )


# ---- service rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1d2h3m4s", ((24 + 2) * 60 * 60 + 3 * 60 + 4) * 1000),
        ("1.5d", 36 * 3600 * 1000),
        ("30m", 1_800_000),
        ("10s", 10_000),
        (None, 0),
    ],
)
def test_parse_older_than(text: str | None, ms: int) -> None:
    assert parse_older_than(text) == ms


@pytest.mark.parametrize("text", ["1x", "3600", "", "d", "1d-2h", "h1", "1..2d"])
def test_parse_older_than_refuses(text: str) -> None:
    with pytest.raises(LabtrackException) as exc:
        parse_older_than(text)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    assert "--older-than" in exc.value.message


def test_split_ids() -> None:
    assert split_ids(None) is None
    assert split_ids(" a, b ,,a") == ["a", "b"]


def test_gc_deletes_deleted_runs_with_their_files(service: Any) -> None:
    gone, kept = _full_run(service, name="gone"), _full_run(service, name="kept")
    gone_file, kept_file = _write_artifact(service, gone), _write_artifact(service, kept)
    service.delete_run(gone)
    lines: list[str] = []

    result = collect_garbage(service, report=lines.append)

    assert result.runs == [gone]
    assert lines == [f"Run with ID {gone} has been permanently deleted."]
    assert not gone_file.exists()
    assert not gone_file.parent.parent.exists()  # the <run id> folder too
    assert kept_file.read_text() == "data"
    assert service.get_run(kept).info.lifecycle_stage == "active"


def test_gc_older_than_keeps_recently_deleted_runs(service: Any) -> None:
    old, recent = (service.create_run("0", "u", 1, {}, n).info.run_id for n in "ab")
    for run_id in (old, recent):
        service.delete_run(run_id)
    _age_run(service.store, old, 3)

    assert collect_garbage(service, older_than="2d").runs == [old]
    assert service.get_run(recent).info.lifecycle_stage == "deleted"
    with pytest.raises(LabtrackException) as exc:
        collect_garbage(service, older_than="2d", run_ids=[recent])
    assert "deleted too recently" in exc.value.message


def test_gc_refuses_named_active_runs_and_deletes_nothing(service: Any) -> None:
    deleted, active = (service.create_run("0", "u", 1, {}, n).info.run_id for n in "ab")
    service.delete_run(deleted)
    for names in ([deleted, active], [deleted, "0" * 32]):
        with pytest.raises(LabtrackException) as exc:
            collect_garbage(service, run_ids=names)
        assert "\n" not in exc.value.message
    assert service.get_run(deleted).info.lifecycle_stage == "deleted"
    with pytest.raises(LabtrackException) as exc:
        collect_garbage(service, run_ids=[active])
    assert exc.value.message.startswith(f"Run {active} is not in the deleted lifecycle stage")
    assert "RUNNING" in exc.value.message


def test_gc_deletes_deleted_experiments_and_keeps_ones_still_holding_a_run(service: Any) -> None:
    store = service.store
    gone = service.create_experiment("gone")
    held = service.create_experiment("held")
    gone_run, held_run = _full_run(service, gone), _full_run(service, held)
    gone_file = _write_artifact(service, gone_run)
    service.delete_experiment(gone)
    service.delete_experiment(held)
    service.restore_run(held_run)  # restored on its own: its experiment stays deleted

    lines: list[str] = []
    result = collect_garbage(service, report=lines.append)

    assert result.runs == [gone_run]
    assert result.experiments == [gone]
    assert result.kept_experiments == {held: f"its run {held_run} is active"}
    assert lines[-2:] == [
        f"Experiment with ID {gone} has been permanently deleted.",
        f"Experiment with ID {held} is kept: its run {held_run} is active.",
    ]
    assert not gone_file.exists()
    assert _rows(store, s.experiments, experiment_id=int(gone)) == 0
    assert service.get_run(held_run).info.lifecycle_stage == "active"
    with pytest.raises(LabtrackException) as exc:
        collect_garbage(service, experiment_ids=[held])
    assert "its run" in exc.value.message
    with pytest.raises(LabtrackException) as exc:
        collect_garbage(service, experiment_ids=["0"])
    assert "not in the deleted lifecycle stage" in exc.value.message


def test_gc_keeps_what_is_restored_while_it_runs(service: Any) -> None:
    eid = service.create_experiment("racing")
    first, second = (service.create_run(eid, "u", 1, {}, n).info.run_id for n in "ab")
    files = {r: _write_artifact(service, r) for r in (first, second)}
    service.delete_experiment(eid)
    restored: list[str] = []

    def restore_the_other(line: str) -> None:
        # Another user restores a run while gc works through the plan.
        if not restored:
            other = second if first in line else first
            service.restore_run(other)
            restored.append(other)

    result = collect_garbage(service, report=restore_the_other)

    (other,) = restored
    assert result.runs == [r for r in (first, second) if r != other]
    assert files[other].read_text() == "data"
    assert service.get_run(other).info.lifecycle_stage == "active"
    assert result.experiments == []
    assert "still has 1 runs" in result.kept_experiments[eid]


def test_gc_older_than_for_experiments(service: Any) -> None:
    eid = service.create_experiment("old-enough")
    service.delete_experiment(eid)
    assert collect_garbage(service, older_than="1h").experiments == []
    with pytest.raises(LabtrackException):
        collect_garbage(service, older_than="1h", experiment_ids=[eid])
    _age_experiment(service.store, eid, 1)
    assert collect_garbage(service, older_than="1h", experiment_ids=[eid]).experiments == [eid]


def test_gc_deletes_deleted_logged_models_with_their_files(service: Any) -> None:
    lm = service.logged_models
    gone, kept = lm.create_logged_model("0", name="a"), lm.create_logged_model("0", name="b")
    files = {}
    for model in (gone, kept):
        path = Path(service.artifact_root) / "0" / "models" / model.model_id / "artifacts" / "x"
        path.parent.mkdir(parents=True)
        path.write_text("w")
        files[model.model_id] = path
    lm.delete_logged_model(gone.model_id)
    with pytest.raises(LabtrackException) as exc:
        collect_garbage(service, logged_model_ids=[kept.model_id])
    assert "not in the deleted lifecycle stage" in exc.value.message

    assert collect_garbage(service).logged_models == [gone.model_id]
    assert not files[gone.model_id].exists()
    assert files[kept.model_id].exists()
    assert lm.get_logged_model(kept.model_id).name == "b"


# ---- the command -------------------------------------------------------------------------


def _labtrack(*args: str, ok: bool = True) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABTRACK_", "MLFLOW_"))}
    env["PYTHONPATH"] = SRC
    proc = subprocess.run(
        [sys.executable, "-m", "labtrack.cli", "gc", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Any:
    from labtrack.service.tracking import TrackingService

    service = TrackingService.open(f"sqlite:///{tmp_path / 'labtrack.db'}", str(tmp_path / "art"))
    yield service
    service.store.dispose()


def test_cli_gc_deletes_rows_and_files_and_keeps_active_runs(sqlite_service: Any) -> None:
    service, uri = sqlite_service, sqlite_service.store.uri
    old, recent, active = (_full_run(service, name=n) for n in ("old", "recent", "active"))
    files = {r: _write_artifact(service, r) for r in (old, recent, active)}
    for run_id in (old, recent):
        service.delete_run(run_id)
    _age_run(service.store, old, 2)

    _, out, _ = _labtrack("--backend-store-uri", uri, "--older-than", "1d")
    assert f"Run with ID {old} has been permanently deleted." in out
    assert recent not in out
    assert not any(_run_rows(service.store, old).values())
    assert not files[old].exists()
    assert files[recent].exists()
    assert files[active].exists()
    assert all(_run_rows(service.store, active).values())

    _, out, _ = _labtrack("--tracking-uri", uri, "--run-ids", recent)
    assert out.splitlines()[0] == f"Run with ID {recent} has been permanently deleted."
    assert "removed 0 upload temp files" in out
    assert not files[recent].exists()
    assert service.get_run(active).info.lifecycle_stage == "active"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "3days"], "--older-than: could not parse '3days'"),
        (["--run-ids", "ACTIVE"], "is not in the deleted lifecycle stage"),
        (["--run-ids", "0" * 32], "not found"),
        (["--experiment-ids", "x"], "must be an integer"),
        (["--experiment-ids", "0"], "Experiment 0 is not in the deleted lifecycle stage"),
        (["--logged-model-ids", "m-" + "0" * 32], "not found"),
        (["--tracking-uri", "http://127.0.0.1:9/labtrack"], "gc needs the store itself"),
    ],
)
def test_cli_gc_bad_values_are_one_line_and_exit_1(
    sqlite_service: Any, args: list[str], message: str
) -> None:
    service = sqlite_service
    active = service.create_run("0", "u", 1, {}, "a").info.run_id
    args = [a.replace("ACTIVE", active) for a in args]
    store_args = [] if "--tracking-uri" in args else ["--backend-store-uri", service.store.uri]
    code, out, err = _labtrack(*store_args, *args, ok=False)
    assert code == 1
    assert message in err
    assert err.startswith("labtrack: error: ")
    assert err.count("\n") == 1
    assert out == ""
    assert service.get_run(active).info.lifecycle_stage == "active"


def test_cli_gc_removes_crashed_upload_temp_files(sqlite_service: Any) -> None:
    from labtrack.artifact_store.store import TMP_PREFIX

    left = Path(sqlite_service.artifact_root) / "0" / "r" / "artifacts" / f"{TMP_PREFIX}abc"
    left.parent.mkdir(parents=True)
    left.write_bytes(b"z" * 10)
    os.utime(left, (1_000_000_000,) * 2)
    _, out, _ = _labtrack("--backend-store-uri", sqlite_service.store.uri)
    assert not left.exists()
    assert "removed 1 upload temp files (10 bytes)" in out


def test_server_answers_searches_after_gc(tmp_path: Path) -> None:
    """gc against the store of a running server: searches, counts and run summaries agree."""
    from labtrack.service.tracking import TrackingService
    from live_server import post_json, start_live_server

    servers = start_live_server(tmp_path)
    server = next(servers)
    service = TrackingService.open(server.store_uri, server.artifact_root)
    try:
        eid = service.create_experiment("after-gc")
        runs = [_full_run(service, eid, name=f"r{i}") for i in range(4)]
        for run_id in runs[:2]:
            service.delete_run(run_id)

        def search(view: str) -> list[dict]:
            code, body = post_json(
                server,
                "api/2.0/mlflow/runs/search",
                {"experiment_ids": [eid], "run_view_type": view, "max_results": 100},
            )
            assert code == 200, body
            return list(body.get("runs", []))

        assert len(search("ALL")) == 4
        _labtrack("--backend-store-uri", server.store_uri)

        assert sorted(r["info"]["run_id"] for r in search("ALL")) == sorted(runs[2:])
        assert search("DELETED_ONLY") == []
        active = search("ACTIVE_ONLY")
        assert {r["info"]["run_id"] for r in active} == set(runs[2:])
        for run in active:
            assert run["data"]["params"] == [{"key": "alpha", "value": "0.1"}]
            assert {m["key"]: m["value"] for m in run["data"]["metrics"]} == {
                "loss": 0.25,
                "acc": 0.9,
            }
        req = urllib.request.Request(
            f"{server.url}/api/labtrack/runs/count?experiment_ids={eid}&run_view_type=ALL",
            headers={"Authorization": f"Bearer {server.token}"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            counts = json.loads(resp.read())
        assert counts["total"] == 2
        req = urllib.request.Request(
            f"{server.url}/api/2.0/mlflow/runs/get?run_id={runs[0]}",
            headers={"Authorization": f"Bearer {server.token}"},
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=30)
        assert err.value.code == 404
        assert json.loads(err.value.read())["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    finally:
        service.store.dispose()
        for _ in servers:
            pass
