"""MLflow 3 logged models, run outputs, the 2.x log-model record and the run artifact listing:
the service on both backends, then the REST routes on a real Jupyter server."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from labtrack.errors import LabtrackException
from labtrack.service.logged_models import parse_filter, parse_order_by, status_name
from server_fixtures import *  # noqa: F403
from server_fixtures import Fetch, assert_error, json_of

M = "api/2.0/mlflow"
MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")


def _code(exc: pytest.ExceptionInfo[LabtrackException]) -> str:
    return exc.value.error_code


# ---- the filter language ----------------------------------------------------------------


def test_parse_filter_shapes() -> None:
    conds = parse_filter(
        "name = 'm1' AND source_run_id='abc' and tags.`my key` LIKE 'x%' "
        "AND params.lr != \"0.1\" AND creation_timestamp >= 5 AND status IN ('READY')"
    )
    assert [(c.kind, c.key, c.op, c.value) for c in conds] == [
        ("attribute", "name", "=", "m1"),
        ("attribute", "source_run_id", "=", "abc"),
        ("tag", "my key", "LIKE", "x%"),
        ("param", "lr", "!=", "0.1"),
        ("attribute", "creation_timestamp", ">=", 5),
        ("attribute", "status", "IN", ("LOGGED_MODEL_READY",)),
    ]
    assert parse_filter("") == []
    assert parse_filter(None) == []
    assert parse_filter("name = 'it''s'")[0].value == "it's"


@pytest.mark.parametrize(
    "text",
    [
        "metrics.acc > 'high'",
        "name = 'a' OR name = 'b'",
        "color = 'red'",
        "name = 5",
        "creation_timestamp = 'yesterday'",
        "tags.a > 'x'",
        "name =",
        "name 'x'",
        "name = 'x' AND",
        "name IN ('a', 'b'",
        "name = 'unterminated",
    ],
)
def test_parse_filter_rejects(text: str) -> None:
    with pytest.raises(LabtrackException) as exc:
        parse_filter(text)
    assert _code(exc) == "INVALID_PARAMETER_VALUE"


def test_order_by_and_status_names() -> None:
    orders = parse_order_by(
        [{"field_name": "creation_time", "ascending": False}, "name ASC", "model_id"]
    )
    assert [(o.key, o.ascending) for o in orders] == [
        ("creation_time", False),
        ("name", True),
        ("model_id", True),
    ]
    metric = parse_order_by([{"field_name": "metrics.acc", "ascending": False,
                              "dataset_name": "eval"}])[0]  # fmt: skip
    assert (metric.key, metric.ascending, metric.metric, metric.dataset_name) == (
        "acc", False, True, "eval")  # fmt: skip
    for bad in (["metrics."], [{"field_name": "nope"}], ["name sideways"], [{}]):
        with pytest.raises(LabtrackException):
            parse_order_by(bad)
    assert status_name("READY") == "LOGGED_MODEL_READY"
    assert status_name(2) == "LOGGED_MODEL_READY"
    assert status_name("LOGGED_MODEL_UPLOAD_FAILED") == "LOGGED_MODEL_UPLOAD_FAILED"
    with pytest.raises(LabtrackException):
        status_name("DONE")


# ---- the service (SQLite and PostgreSQL) --------------------------------------------------


def test_create_get_finalize_tags_params_delete(service: Any) -> None:
    lm = service.logged_models
    run = service.create_run("0", "ana", 1000, {}, "r")
    model = lm.create_logged_model(
        "0",
        name="clf",
        model_type="sklearn",
        source_run_id=run.info.run_id,
        tags={"t": "1"},
        params={"alpha": 0.5},
    )
    assert MODEL_ID.match(model.model_id)
    assert model.artifact_location == f"mlflow-artifacts:/0/models/{model.model_id}/artifacts"
    assert model.status == "LOGGED_MODEL_PENDING"
    assert (model.tags, model.params) == ({"t": "1"}, {"alpha": "0.5"})
    assert model.source_run_id == run.info.run_id

    ready = lm.finalize_logged_model(model.model_id, "LOGGED_MODEL_READY")
    assert ready.status == "LOGGED_MODEL_READY"
    assert ready.last_updated_timestamp >= model.last_updated_timestamp

    assert lm.set_logged_model_tags(model.model_id, {"t": "2", "u": "x"}).tags == {
        "t": "2",
        "u": "x",
    }
    lm.delete_logged_model_tag(model.model_id, "u")
    assert lm.get_logged_model(model.model_id).tags == {"t": "2"}
    with pytest.raises(LabtrackException) as exc:
        lm.delete_logged_model_tag(model.model_id, "u")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"

    lm.log_logged_model_params(model.model_id, {"alpha": "0.5", "beta": "2"})  # same value: ok
    assert lm.get_logged_model(model.model_id).params == {"alpha": "0.5", "beta": "2"}
    with pytest.raises(LabtrackException) as exc:
        lm.log_logged_model_params(model.model_id, {"alpha": "0.7"})
    assert _code(exc) == "INVALID_PARAMETER_VALUE"

    lm.delete_logged_model(model.model_id)
    with pytest.raises(LabtrackException) as exc:
        lm.get_logged_model(model.model_id)
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    assert lm.get_logged_model(model.model_id, allow_deleted=True).lifecycle_stage == "deleted"
    with pytest.raises(LabtrackException):
        lm.finalize_logged_model(model.model_id, "READY")


def test_create_rules(service: Any) -> None:
    lm = service.logged_models
    unnamed = lm.create_logged_model("0")
    assert unnamed.name  # a random name, like a run's
    for bad in ("a/b", "a.b", "a:b", "it's"):
        with pytest.raises(LabtrackException) as exc:
            lm.create_logged_model("0", name=bad)
        assert _code(exc) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException) as exc:
        lm.create_logged_model("12345", name="x")
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"
    # MLflow does not check that the source run exists; neither does labtrack.
    assert lm.create_logged_model("0", name="x", source_run_id="0" * 32).source_run_id == "0" * 32
    exp = service.create_experiment("gone")
    service.delete_experiment(exp)
    with pytest.raises(LabtrackException) as exc:
        lm.create_logged_model(exp, name="x")
    assert _code(exc) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(LabtrackException):
        lm.get_logged_model("../etc")


def test_search(service: Any) -> None:
    lm = service.logged_models
    exp = service.create_experiment("models")
    run_a = service.create_run(exp, "ana", 1000, {}, "a").info.run_id
    run_b = service.create_run(exp, "ana", 1000, {}, "b").info.run_id
    ids = []
    for i, (name, run) in enumerate([("m", run_a), ("m", run_b), ("other", run_a)]):
        ids.append(
            lm.create_logged_model(exp, name=name, source_run_id=run, tags={"i": str(i)}).model_id
        )
    lm.create_logged_model("0", name="m")  # another experiment
    lm.finalize_logged_model(ids[0], "READY")

    def names(**kw: Any) -> list[str]:
        return [m.model_id for m in lm.search_logged_models([exp], **kw)]

    assert set(names()) == set(ids)
    assert set(names(filter_string="name = 'm'")) == {ids[0], ids[1]}
    assert names(filter_string=f"name = 'm' AND source_run_id = '{run_b}'") == [ids[1]]
    assert names(filter_string="status = 'LOGGED_MODEL_READY'") == [ids[0]]
    assert names(filter_string="tags.i = '2'") == [ids[2]]
    assert set(names(filter_string="name LIKE 'o%'")) == {ids[2]}
    assert names(filter_string="name LIKE 'O%'") == []
    assert names(filter_string="name ILIKE 'O%'") == [ids[2]]
    by_name = names(order_by=[{"field_name": "name", "ascending": False}])
    assert by_name[0] == ids[2]

    seen, token = [], None
    while True:
        page = lm.search_logged_models([exp], max_results=2, page_token=token)
        seen += [m.model_id for m in page]
        token = page.token
        if not token:
            break
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 3

    lm.delete_logged_model(ids[2])
    assert set(names()) == {ids[0], ids[1]}
    with pytest.raises(LabtrackException):
        lm.search_logged_models([])
    with pytest.raises(LabtrackException):
        lm.search_logged_models([exp], max_results=0)


def test_run_outputs(service: Any) -> None:
    run = service.create_run("0", "ana", 1000, {}, "r").info.run_id
    model = service.logged_models.create_logged_model("0", name="m", source_run_id=run)
    service.logged_models.log_outputs(run, [(model.model_id, 3)])
    service.logged_models.log_outputs(run, [(model.model_id, 4)])  # repeat: step updated
    outputs = service.get_run(run).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(model.model_id, 4)]
    with pytest.raises(LabtrackException) as exc:
        service.logged_models.log_outputs(run, [("m-" + "0" * 32, 0)])
    assert _code(exc) == "RESOURCE_DOES_NOT_EXIST"


def test_metrics_logged_with_a_model_id_are_the_models(service: Any) -> None:
    """MLflow 3: a run's metric point with a model_id (and dataset) is the model's metric too,
    what get/search logged models return and what ``metrics.`` and ``datasets`` filter on."""
    import math

    from labtrack.entities import Metric
    from labtrack.entities.points import Points

    lm = service.logged_models
    run = service.create_run("0", "ana", 1000, {}, "r").info.run_id
    model = lm.create_logged_model("0", name="m", source_run_id=run).model_id
    other = lm.create_logged_model("0", name="other").model_id
    points = [
        Metric("acc", 0.9, 6, 1, model, "d1", "abc"),
        Metric("acc", 0.8, 7, 2, model),
        Metric("acc", math.nan, 8, 3, model),
        Metric("loss", 1.0, 9, 0),
        Metric("acc", 0.1, 9, 0, "m-" + "0" * 32),  # a model this store does not have
    ]
    service.log_batch(run, points)
    service.log_batch(run, points[:1])  # a retry adds nothing
    # The batching client's path (columns per series).
    service.log_series(run, {("f1", other, "d2", None): Points.from_tuples([(0, 10, 0.5)])})
    got = lm.get_logged_model(model).metrics
    assert [(m.key, m.step, m.timestamp, m.dataset_name, m.dataset_digest) for m in got] == [
        ("acc", 1, 6, "d1", "abc"),
        ("acc", 2, 7, None, None),
        ("acc", 3, 8, None, None),
    ]
    assert [m.value for m in got[:2]] == [0.9, 0.8]
    assert math.isnan(got[2].value)
    assert {(m.run_id, m.model_id) for m in got} == {(run, model)}
    assert [(m.key, m.value, m.dataset_name) for m in lm.get_logged_model(other).metrics] == [
        ("f1", 0.5, "d2")
    ]
    # The run keeps every point, the unknown model's too.
    assert len(service.get_metric_history(run, "acc")) == 4

    def found(flt: str | None = None, datasets: Any = None) -> list[str]:
        return [m.model_id for m in lm.search_logged_models(["0"], flt, datasets=datasets)]

    assert found(datasets=[{"dataset_name": "d1"}]) == [model]
    assert found(datasets=[{"dataset_name": "d1", "dataset_digest": "abc"}]) == [model]
    assert found(datasets=[{"dataset_name": "d1", "dataset_digest": "zzz"}]) == []
    assert sorted(found(datasets=[{"dataset_name": "d1"}, {"dataset_name": "d2"}])) == sorted(
        [model, other]
    )
    assert found("metrics.acc > 0.85") == [model]
    assert found("metrics.acc > 0.95") == []
    assert found("metrics.acc < 0.85 AND name = 'm'") == [model]
    # With datasets, metric clauses look at points on those datasets only.
    assert found("metrics.acc < 0.85", [{"dataset_name": "d1"}]) == []
    assert found("metrics.acc >= 0.9", [{"dataset_name": "d1"}]) == [model]
    with pytest.raises(LabtrackException) as exc:
        found(datasets=[{"dataset_digest": "abc"}])
    assert _code(exc) == "INVALID_PARAMETER_VALUE"

    # Ordering by a metric: each model's latest point (timestamp, then step), missing last.
    third = lm.create_logged_model("0", name="third").model_id
    service.log_batch(run, [Metric("acc", 0.85, 100, 0, third, "d1", "abc")])

    def ordered(**order: Any) -> list[str]:
        order = {"field_name": "metrics.acc", **order}
        return [m.model_id for m in lm.search_logged_models(["0"], order_by=[order])]

    # model's latest acc is NaN (timestamp 8): sorts with the missing, after third.
    assert ordered(ascending=False)[:1] == [third]
    assert set(ordered()[1:]) == {model, other}
    # On dataset d1: model's latest there is 0.9 (timestamp 6), third's 0.85.
    assert ordered(ascending=False, dataset_name="d1")[:2] == [model, third]
    assert ordered(dataset_name="d1")[:2] == [third, model]


def test_model_inputs_are_kept_on_the_run(service: Any) -> None:
    lm = service.logged_models
    run = service.create_run("0", "ana", 1000, {}, "r").info.run_id
    model = lm.create_logged_model("0", name="m").model_id
    ghost = "m-" + "1" * 32  # not looked up, as MLflow does not look it up
    lm.log_model_inputs(run, [model, ghost])
    lm.log_model_inputs(run, [model])  # a repeat is a no-op
    as_ids = lambda r: [m.model_id for m in r.inputs.model_inputs]  # noqa: E731
    assert as_ids(service.get_run(run)) == sorted([model, ghost])
    found = service.search_runs(["0"], f"attributes.run_id = '{run}'")
    assert as_ids(found[0]) == sorted([model, ghost])
    with pytest.raises(LabtrackException) as exc:
        lm.log_model_inputs(run, ["m/../x"])
    assert _code(exc) == "INVALID_PARAMETER_VALUE"


def test_registering_a_logged_model_records_the_version_on_it(service: Any) -> None:
    lm, reg = service.logged_models, service.registry
    model = lm.create_logged_model("0", name="m").model_id
    reg.create_registered_model("rm")
    reg.create_model_version("rm", f"models:/{model}", model_id=model)
    tags = lm.get_logged_model(model).tags
    assert json.loads(tags["mlflow.modelVersions"]) == [{"name": "rm", "version": 1}]
    location = lm.get_logged_model(model).artifact_location
    reg.create_model_version("rm", f"models:/{model}")  # the source alone names it
    reg.create_registered_model("copy")
    reg.create_model_version("copy", "models:/rm/1")  # a copy is made from it too
    assert json.loads(lm.get_logged_model(model).tags["mlflow.modelVersions"]) == [
        {"name": "rm", "version": 1},
        {"name": "rm", "version": 2},
        {"name": "copy", "version": 1},
    ]
    assert reg.get_model_version_download_uri("copy", 1) == location
    # Registered from the model's location: the version belongs to the model too.
    at_location = reg.create_model_version("copy", f"{location}/")
    assert at_location.model_id == model
    assert {"name": "copy", "version": 2} in json.loads(
        lm.get_logged_model(model).tags["mlflow.modelVersions"]
    )
    assert reg.create_model_version("copy", "mlflow-artifacts:/0/elsewhere").model_id is None
    # MLflow 3's register_model then appends the same version itself: kept once.
    appended = '[{"name": "rm", "version": 1}, {"name": "rm", "version": "1"}]'
    lm.set_logged_model_tags(model, {"mlflow.modelVersions": appended})
    assert json.loads(lm.get_logged_model(model).tags["mlflow.modelVersions"]) == [
        {"name": "rm", "version": 1}
    ]


def _model_json(run_id: str, path: str = "model") -> str:
    return json.dumps(
        {
            "run_id": run_id,
            "artifact_path": path,
            "utc_time_created": "2025-01-01 00:00:00.000000",
            "flavors": {"python_function": {"loader_module": "mlflow.sklearn"}},
        }
    )


def test_record_logged_model_history(service: Any) -> None:
    lm = service.logged_models
    run = service.create_run("0", "ana", 1000, {}, "r").info.run_id
    lm.record_logged_model(run, _model_json(run, "a"))
    lm.record_logged_model(run, _model_json(run, "b"))
    history = json.loads(service.get_run(run).data.tags["mlflow.log-model.history"])
    assert [h["artifact_path"] for h in history] == ["a", "b"]
    for bad in ("not json", "[1]", json.dumps({"artifact_path": "x"})):
        with pytest.raises(LabtrackException) as exc:
            lm.record_logged_model(run, bad)
        assert _code(exc) == "INVALID_PARAMETER_VALUE"
    # The tag stays within the tag limit: the oldest entries make room.
    big = json.loads(_model_json(run, "big"))
    big["pad"] = "x" * 3000
    for _ in range(4):
        lm.record_logged_model(run, json.dumps(big))
    value = service.get_run(run).data.tags["mlflow.log-model.history"]
    assert len(value) <= 8000
    assert json.loads(value)[-1]["artifact_path"] == "big"
    service.delete_run(run)
    with pytest.raises(LabtrackException):
        lm.record_logged_model(run, _model_json(run))


def test_list_run_artifacts(service: Any) -> None:
    from labtrack.artifact_store.store import ArtifactStore

    run = service.create_run("0", "ana", 1000, {}, "r")
    store = ArtifactStore(service.artifact_root)
    base = store.relpath(run.info.artifact_uri)
    store.put_bytes(f"{base}/model/MLmodel", b"flavors: {}\n")
    store.put_bytes(f"{base}/notes.txt", b"hello")
    root, files = service.logged_models.list_run_artifacts(run.info.run_id)
    assert root == run.info.artifact_uri
    assert [(f.path, f.is_dir, f.file_size) for f in files] == [
        ("model", True, None),
        ("notes.txt", False, 5),
    ]
    _, files = service.logged_models.list_run_artifacts(run.info.run_id, "model")
    assert [f.path for f in files] == ["model/MLmodel"]
    assert service.logged_models.list_run_artifacts(run.info.run_id, "missing")[1] == []
    with pytest.raises(LabtrackException):
        service.logged_models.list_run_artifacts(run.info.run_id, "../x")


# ---- REST routes on a real server ---------------------------------------------------------


def _post(fetch: Fetch, rpc: str, body: dict[str, Any], method: str = "POST") -> Any:
    r = fetch(f"{M}/{rpc}", method, json_body=body)
    assert r.code == 200, (r.code, r.body[:300])
    return json_of(r)


def _run(fetch: Fetch) -> dict[str, Any]:
    return _post(fetch, "runs/create", {"experiment_id": "0", "run_name": "r"})["run"]["info"]


def test_logged_model_routes(fetch: Fetch) -> None:
    run_id = _run(fetch)["run_id"]
    created = _post(
        fetch,
        "logged-models",
        {
            "experiment_id": "0",
            "name": "clf",
            "source_run_id": run_id,
            "tags": [{"key": "t", "value": "1"}],
            "params": [{"key": "alpha", "value": "0.5"}],
        },
    )["model"]
    model_id = created["info"]["model_id"]
    assert MODEL_ID.match(model_id)
    assert created["info"]["artifact_uri"] == f"mlflow-artifacts:/0/models/{model_id}/artifacts"
    assert created["info"]["status"] == "LOGGED_MODEL_PENDING"
    assert created["info"]["tags"] == [{"key": "t", "value": "1"}]
    assert created["data"]["params"] == [{"key": "alpha", "value": "0.5"}]
    assert isinstance(created["info"]["creation_timestamp_ms"], int)

    got = json_of(fetch(f"{M}/logged-models/{model_id}"))["model"]
    assert got["info"]["name"] == "clf"
    done = _post(
        fetch, f"logged-models/{model_id}", {"status": "LOGGED_MODEL_READY"}, method="PATCH"
    )
    assert done["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    tagged = _post(
        fetch,
        f"logged-models/{model_id}/tags",
        {"tags": [{"key": "u", "value": "2"}]},
        method="PATCH",
    )
    assert {t["key"] for t in tagged["model"]["info"]["tags"]} == {"t", "u"}
    # The client sends this DELETE with no body and no Content-Type.
    r = fetch(f"{M}/logged-models/{model_id}/tags/u", "DELETE")
    assert r.code == 200, r.body
    assert_error(fetch(f"{M}/logged-models/{model_id}/tags/u", "DELETE"), 404)
    _post(fetch, f"logged-models/{model_id}/params", {"params": [{"key": "b", "value": "1"}]})

    found = _post(
        fetch,
        "logged-models/search",
        {"experiment_ids": ["0"], "filter": "name = 'clf'", "max_results": 10},
    )
    assert [m["info"]["model_id"] for m in found["models"]] == [model_id]
    assert "next_page_token" not in found
    assert_error(
        fetch(
            f"{M}/logged-models/search",
            "POST",
            json_body={"experiment_ids": ["0"], "filter": "metrics.x > 'one'"},
        ),
        400,
        "INVALID_PARAMETER_VALUE",
    )

    _post(fetch, "runs/outputs", {"run_id": run_id, "models": [{"model_id": model_id, "step": 1}]})
    run = json_of(fetch(f"{M}/runs/get?run_id={run_id}"))["run"]
    assert run["outputs"]["model_outputs"] == [{"model_id": model_id, "step": 1}]

    r = fetch(f"{M}/logged-models/{model_id}", "DELETE", json_body={"model_id": model_id})
    assert r.code == 200
    assert_error(fetch(f"{M}/logged-models/{model_id}"), 404, "RESOURCE_DOES_NOT_EXIST")
    deleted = json_of(fetch(f"{M}/logged-models/{model_id}?allow_deleted=true"))
    assert deleted["model"]["info"]["model_id"] == model_id
    assert_error(
        fetch(f"{M}/logged-models", "POST", json_body={"name": "x"}), 400, "INVALID_PARAMETER_VALUE"
    )
    assert_error(fetch(f"{M}/logged-models/{model_id}/tags/u", "DELETE", body="x"), 400)


@pytest.mark.parametrize("params", [[], [{"key": "a", "value": "1"}]])
def test_params_of_a_missing_logged_model_are_404_even_when_empty(fetch: Fetch, params) -> None:
    """An empty list used to be answered 200 for any model id (nothing to write, no lookup)."""
    missing = "m-" + "0" * 32
    r = fetch(f"{M}/logged-models/{missing}/params", "POST", json_body={"params": params})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_log_model_and_artifact_list_routes(fetch: Fetch, labtrack_app: Any) -> None:
    info = _run(fetch)
    run_id = info["run_id"]
    _post(fetch, "runs/log-model", {"run_id": run_id, "model_json": _model_json(run_id)})
    _post(fetch, "runs/log-model", {"run_uuid": run_id, "model_json": _model_json(run_id, "b")})
    run = json_of(fetch(f"{M}/runs/get?run_id={run_id}"))["run"]
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert [h["artifact_path"] for h in json.loads(tags["mlflow.log-model.history"])] == [
        "model",
        "b",
    ]
    assert_error(
        fetch(f"{M}/runs/log-model", "POST", json_body={"run_id": run_id, "model_json": "{}"}),
        400,
        "INVALID_PARAMETER_VALUE",
    )

    base = info["artifact_uri"].removeprefix("mlflow-artifacts:/")
    r = fetch(
        f"api/2.0/mlflow-artifacts/artifacts/{base}/model/MLmodel",
        "PUT",
        body=b"flavors: {}\n",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.code == 200, r.body
    listing = json_of(fetch(f"{M}/artifacts/list?run_id={run_id}"))
    assert listing == {
        "root_uri": info["artifact_uri"],
        "files": [{"path": "model", "is_dir": True}],
    }
    listing = json_of(fetch(f"{M}/artifacts/list?run_id={run_id}&path=model"))
    assert listing["files"] == [{"path": "model/MLmodel", "is_dir": False, "file_size": 12}]
    assert json_of(fetch(f"{M}/artifacts/list?run_id={run_id}&path=nope"))["files"] == []
    assert_error(fetch(f"{M}/artifacts/list?run_id={run_id}&path=../x"), 400)
    assert_error(fetch(f"{M}/artifacts/list?run_id={'0' * 32}"), 404)


def test_model_metrics_inputs_and_dataset_search_routes(fetch: Fetch) -> None:
    """What the 3.x client sends: log-batch points with model_id/dataset, log-inputs with
    models, logged-models/search with datasets; the model and the run answer with them."""
    run_id = _run(fetch)["run_id"]
    model_id = _post(fetch, "logged-models", {"experiment_id": "0", "name": "clf"})["model"][
        "info"
    ]["model_id"]
    labels = {"model_id": model_id, "dataset_name": "eval", "dataset_digest": "d1"}
    _post(
        fetch,
        "runs/log-batch",
        {"run_id": run_id, "metrics": [{"key": "acc", "value": 0.75, "timestamp": 5, **labels}]},
    )
    _post(
        fetch,
        "runs/log-metric",
        {"run_id": run_id, "key": "f1", "value": "NaN", "timestamp": 6, "model_id": model_id},
    )
    metrics = _post(fetch, f"logged-models/{model_id}", {}, "GET")["model"]["data"]["metrics"]
    assert metrics == [
        {"key": "acc", "value": 0.75, "timestamp": 5, "step": 0, **labels, "run_id": run_id},
        {"key": "f1", "value": "NaN", "timestamp": 6, "step": 0, "model_id": model_id,
         "run_id": run_id},
    ]  # fmt: skip
    _post(fetch, "runs/log-inputs", {"run_id": run_id, "models": [{"model_id": model_id}]})
    run = _post(fetch, f"runs/get?run_id={run_id}", {}, "GET")["run"]
    assert run["inputs"]["model_inputs"] == [{"model_id": model_id}]
    searched = _post(fetch, "runs/search", {"experiment_ids": ["0"]})["runs"]
    assert [r["inputs"].get("model_inputs") for r in searched] == [[{"model_id": model_id}]]
    for datasets, expected in (
        ([{"dataset_name": "eval"}], [model_id]),
        ([{"dataset_name": "eval", "dataset_digest": "d1"}], [model_id]),
        ([{"dataset_name": "train"}], []),
    ):
        body = {"experiment_ids": ["0"], "datasets": datasets, "filter": "metrics.acc > 0.5"}
        models = _post(fetch, "logged-models/search", body).get("models", [])
        assert [m["info"]["model_id"] for m in models] == expected, datasets
    r = fetch(
        f"{M}/logged-models/search",
        "POST",
        json_body={"experiment_ids": ["0"], "datasets": [{"dataset_digest": "d1"}]},
    )
    assert "dataset_name" in assert_error(r, 400, "INVALID_PARAMETER_VALUE")["message"]
    r = fetch(f"{M}/runs/log-inputs", "POST", json_body={"run_id": run_id, "models": [{}]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")


def test_a_runs_logged_model_reads_under_the_run_folder(fetch: Fetch) -> None:
    """MLflow 2 loads ``runs:/<run>/model`` from ``<exp>/<run>/artifacts/model``: the proxy
    answers reads there from the run's ready logged model ``model`` (its own folder), while
    the run's own files win and nothing is written twice."""
    art = "api/2.0/mlflow-artifacts/artifacts"
    run_id = _run(fetch)["run_id"]
    model_id = _post(
        fetch, "logged-models", {"experiment_id": "0", "name": "model", "source_run_id": run_id}
    )["model"]["info"]["model_id"]
    model_dir = f"0/models/{model_id}/artifacts"
    run_dir = f"0/{run_id}/artifacts"
    assert fetch(f"{art}/{model_dir}/MLmodel", "PUT", b"flavors: {}\n").code == 200
    assert fetch(f"{art}/{model_dir}/data/model.pkl", "PUT", b"pickle").code == 200

    def listing(path: str) -> Any:
        return json_of(fetch(f"{art}?path={path}"))

    assert listing(f"{run_dir}/model") == {}  # not ready yet
    _post(fetch, f"logged-models/{model_id}", {"status": "LOGGED_MODEL_READY"}, "PATCH")
    files = listing(f"{run_dir}/model")["files"]
    assert sorted((f["path"], f["is_dir"]) for f in files) == [("MLmodel", False), ("data", True)]
    assert [f["path"] for f in listing(f"{run_dir}/model/data")["files"]] == ["model.pkl"]
    r = fetch(f"{art}/{run_dir}/model/data/model.pkl")
    assert (r.code, r.body) == (200, b"pickle")
    assert listing(f"{run_dir}/other") == {}
    assert_error(fetch(f"{art}/{run_dir}/other/MLmodel"), 404, "RESOURCE_DOES_NOT_EXIST")
    # A file the run itself has at that path wins.
    assert fetch(f"{art}/{run_dir}/model/MLmodel", "PUT", b"the run's own").code == 200
    assert fetch(f"{art}/{run_dir}/model/MLmodel").body == b"the run's own"
    # Another run's folder does not show this run's model.
    other_run = _run(fetch)["run_id"]
    assert listing(f"0/{other_run}/artifacts/model") == {}


def test_references_to_unknown_runs_are_kept_as_mlflow_keeps_them(service: Any) -> None:
    """MLflow 3.17's server (checked against 3.17.2) accepts a parent-run tag, a logged model's
    source run and a model version's run that name no run: clients create runs in any order,
    and these are references, not ownership. labtrack does the same on every path."""
    ghost = "f" * 32
    parent = "mlflow.parentRunId"
    child = service.create_run("0", "ana", 1000, {parent: ghost}, "child").info.run_id
    assert service.get_run(child).data.tags[parent] == ghost
    other = service.create_run("0", "ana", 1000, {}, "other").info.run_id
    service.set_tag(other, parent, ghost)
    service.log_batch(other, tags=[(parent, ghost)])
    assert service.get_run(other).data.tags[parent] == ghost
    model = service.logged_models.create_logged_model("0", name="m", source_run_id=ghost)
    assert model.source_run_id == ghost
    reg = service.registry
    reg.create_registered_model("rm")
    assert reg.create_model_version("rm", f"runs:/{ghost}/model", run_id=ghost).run_id == ghost
    source = "mlflow-artifacts:/0/abc/artifacts/model"
    assert reg.create_model_version("rm", source, run_id=ghost).run_id == ghost
