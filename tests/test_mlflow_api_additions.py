"""MLflow 3.17 names added for ``import labtrack as mlflow``: each does what MLflow's does,
in-process and (where the transport matters) through a live server's REST API."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest

from live_server import LiveServer, start_live_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    yield from start_live_server(tmp_path_factory.mktemp("api-additions"))


@pytest.fixture(params=["in-process", "rest"])
def client(request: pytest.FixtureRequest, tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A ``MlflowClient`` on a fresh SQLite store, or on the live server over HTTP."""
    import labtrack as lt

    if request.param == "rest":
        server: LiveServer = request.getfixturevalue("server")
        monkeypatch.setenv("LABTRACK_TRACKING_TOKEN", server.token)
        return lt.MlflowClient(server.url)
    return lt.MlflowClient(f"sqlite:///{tmp_path / 'db.sqlite'}", str(tmp_path / "artifacts"))


def _new_run(client, name: str = "r") -> str:
    exp = client.create_experiment(f"{name}-{time.time_ns()}")
    return str(client.create_run(exp, run_name=name).info.run_id)


# ---- MlflowClient methods -------------------------------------------------------------------


def test_log_table_then_load_table_concatenates_the_runs_tables(client) -> None:
    exp = client.create_experiment(f"tables-{time.time_ns()}")
    first = client.create_run(exp).info.run_id
    second = client.create_run(exp).info.run_id
    other = client.create_run(exp).info.run_id
    client.log_table(first, {"q": ["a", "b"], "score": [1, 2]}, "eval/table.json")
    client.log_table(second, {"q": ["c"], "score": [3]}, "eval/table.json")
    client.log_text(other, "{}", "eval/other.json")

    # The file is MLflow's: {"columns": [...], "data": [[...]]}, and the run says it logged it.
    run = client.get_run(first)
    assert json.loads(run.data.tags["mlflow.loggedArtifacts"]) == [
        {"path": "eval/table.json", "type": "table"}
    ]
    local = client.download_artifacts(first, "eval/table.json")
    with open(local) as f:
        assert json.load(f) == {"columns": ["q", "score"], "data": [["a", 1], ["b", 2]]}

    table = client.load_table(exp, "eval/table.json", extra_columns=["run_id"])
    rows = sorted(zip(table["q"], table["score"], table["run_id"], strict=True))
    assert rows == [("a", 1, first), ("b", 2, first), ("c", 3, second)]
    only = client.load_table(exp, "eval/table.json", run_ids=[second])
    assert list(only["q"]) == ["c"]
    with pytest.raises(lt_exception()) as err:
        client.load_table(exp, "missing.json")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def lt_exception() -> type[Exception]:
    from labtrack import MlflowException

    return MlflowException


def test_log_image_as_a_file_and_as_steps_of_a_series(client) -> None:
    import numpy as np
    from PIL import Image

    run_id = _new_run(client)
    pixels = np.zeros((8, 6, 3), dtype=np.uint8)
    pixels[2, 3] = [255, 0, 0]
    client.log_image(run_id, pixels, "plots/img.png")
    back = Image.open(client.download_artifacts(run_id, "plots/img.png"))
    assert back.size == (6, 8)
    assert back.getpixel((3, 2)) == (255, 0, 0)

    client.log_image(run_id, pixels, key="sample/input", step=3, timestamp=1000)
    names = sorted(os.path.basename(e.path) for e in client.list_artifacts(run_id, "images"))
    assert len(names) == 3
    assert all(n.startswith("sample#input+step+3+timestamp+1000+") for n in names)
    assert sorted(n.rsplit(".", 1)[1] for n in names) == ["json", "png", "webp"]
    assert client.get_run(run_id).data.tags["mlflow.loggedImages"] == "true"
    with pytest.raises(TypeError):
        client.log_image(run_id, pixels, "x.png", key="k")
    with pytest.raises(lt_exception()):
        client.log_image(run_id, pixels, key="bad:key")
    with pytest.raises(lt_exception()):
        client.log_image(run_id, np.full((2, 2), 1.5), "too-bright.png")


def test_log_stream_and_log_figure(client) -> None:
    import altair as alt
    import pandas as pd

    run_id = _new_run(client)
    client.log_stream(run_id, io.BytesIO(b"\x00binary\xff" * 1000), "raw/blob.bin")
    with open(client.download_artifacts(run_id, "raw/blob.bin"), "rb") as f:
        assert f.read() == b"\x00binary\xff" * 1000
    with pytest.raises(lt_exception()):
        client.log_stream(run_id, io.StringIO("text"), "raw/text.txt")

    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x", y="y")
    client.log_figure(run_id, chart, "charts/curve.json")
    with open(client.download_artifacts(run_id, "charts/curve.json")) as f:
        assert json.load(f)["mark"]["type"] == "line"
    with pytest.raises(lt_exception()):
        client.log_figure(run_id, object(), "x.png")


def test_copy_model_version_and_stages(client) -> None:
    run_id = _new_run(client)
    name = f"src-{time.time_ns()}"
    client.create_registered_model(name)
    src = client.create_model_version(
        name, f"runs:/{run_id}/model", run_id=run_id, tags={"team": "a"}, description="d"
    )
    client.set_registered_model_alias(name, "champion", src.version)
    dst_name = f"dst-{time.time_ns()}"

    copied = client.copy_model_version(f"models:/{name}@champion", dst_name)
    assert (copied.name, copied.version) == (dst_name, "1")
    assert copied.source == f"models:/{name}/{src.version}"
    assert copied.run_id == run_id
    assert copied.tags["team"] == "a"
    again = client.copy_model_version(f"models:/{name}/{src.version}", dst_name)
    assert again.version == "2"
    with pytest.raises(lt_exception()):
        client.copy_model_version("runs:/x/y", dst_name)
    assert client.get_model_version_stages(name, src.version) == [
        "None",
        "Staging",
        "Production",
        "Archived",
    ]


def test_logged_model_params_tags_artifacts_outputs_and_delete(client, tmp_path) -> None:
    from labtrack.entities import LoggedModelOutput

    run_id = _new_run(client)
    exp = client.get_run(run_id).info.experiment_id
    model = client.create_logged_model(exp, name="net", tags={"a": "1", "b": "2"})
    client.log_model_params(model.model_id, {f"p{i}": i for i in range(150)})
    client.delete_logged_model_tag(model.model_id, "a")
    (tmp_path / "weights.bin").write_bytes(b"w")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "MLmodel").write_text("flavors: {}\n")
    client.log_model_artifact(model.model_id, str(tmp_path / "weights.bin"))
    client.log_model_artifacts(model.model_id, str(tmp_path / "extra"))
    client.log_outputs(run_id, [LoggedModelOutput(model.model_id, step=4)])

    got = client.get_logged_model(model.model_id)
    assert got.tags == {"b": "2"}
    assert got.params["p149"] == "149"
    assert len(got.params) == 150
    listed = {(e.path, e.is_dir) for e in client.list_logged_model_artifacts(model.model_id)}
    assert listed == {("weights.bin", False), ("MLmodel", False)}
    outputs = client.get_run(run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(model.model_id, 4)]

    client.delete_logged_model(model.model_id)
    with pytest.raises(lt_exception()) as err:
        client.get_logged_model(model.model_id)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_model_inputs_and_the_datasets_filter_of_logged_model_search(client) -> None:
    """MLflow 3: a run records the logged models it used (``log_inputs(models=)``), and the
    logged-model search keeps models with metrics on a given dataset (name, digest)."""
    from labtrack.entities import LoggedModelInput, Metric

    run_id = _new_run(client)
    exp = client.get_run(run_id).info.experiment_id
    scored = client.create_logged_model(exp, name="scored")
    other = client.create_logged_model(exp, name="other")
    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[
            Metric("acc", 0.9, now, 0, scored.model_id, "eval", "d1"),
            Metric("acc", 0.5, now, 0, other.model_id, "train", "d2"),
        ],
    )
    client.log_inputs(run_id, models=[LoggedModelInput(scored.model_id)])
    assert [m.model_id for m in client.get_run(run_id).inputs.model_inputs] == [scored.model_id]

    def names(datasets):
        page = client.search_logged_models([exp], datasets=datasets)
        return sorted(m.name for m in page)

    assert names(None) == ["other", "scored"]
    assert names([{"dataset_name": "eval"}]) == ["scored"]
    assert names([{"dataset_name": "eval", "dataset_digest": "d2"}]) == []
    assert names([{"dataset_name": "train", "dataset_digest": "d2"}]) == ["other"]


# ---- mlflow.artifacts ------------------------------------------------------------------------


def test_artifacts_module_reads_by_run_and_by_uri(fluent, tmp_path) -> None:
    import numpy as np

    from labtrack import artifacts

    with fluent.start_run() as run:
        fluent.log_dict({"a": 1}, "cfg/params.json")
        fluent.log_dict({"b": [1, 2]}, "cfg/params.yaml")
        fluent.log_text("héllo", "notes.txt")
        fluent.log_image(np.full((3, 4), 200, dtype=np.uint8), "img.png")
    rid = run.info.run_id

    assert artifacts.load_text(f"runs:/{rid}/notes.txt") == "héllo"
    assert artifacts.load_dict(f"runs:/{rid}/cfg/params.json") == {"a": 1}
    assert artifacts.load_dict(f"runs:/{rid}/cfg/params.yaml") == {"b": [1, 2]}
    image = artifacts.load_image(f"runs:/{rid}/img.png")
    assert image.size == (4, 3)
    assert image.getpixel((0, 0)) == 200
    with pytest.raises(fluent.MlflowException):
        artifacts.load_dict(f"runs:/{rid}/notes.txt")
    with pytest.raises(fluent.MlflowException):
        artifacts.load_image(f"runs:/{rid}/notes.txt")

    listed = {(e.path, e.is_dir) for e in artifacts.list_artifacts(run_id=rid)}
    assert ("cfg", True) in listed
    assert ("notes.txt", False) in listed
    nested = [e.path for e in artifacts.list_artifacts(run_id=rid, artifact_path="cfg")]
    assert sorted(nested) == ["cfg/params.json", "cfg/params.yaml"]
    assert sorted(e.path for e in artifacts.list_artifacts(f"runs:/{rid}/cfg")) == nested

    dst = tmp_path / "out" / "deeper"
    folder = artifacts.download_artifacts(run_id=rid, artifact_path="cfg", dst_path=str(dst))
    assert sorted(os.listdir(folder)) == ["params.json", "params.yaml"]
    one = artifacts.download_artifacts(f"runs:/{rid}/notes.txt")
    with open(one, encoding="utf-8") as f:
        assert f.read() == "héllo"
    # A local path is returned as it is.
    assert artifacts.download_artifacts(one) == one
    with pytest.raises(fluent.MlflowException):
        artifacts.download_artifacts()
    with pytest.raises(fluent.MlflowException):
        artifacts.download_artifacts(f"runs:/{rid}", run_id=rid)
    with pytest.raises(fluent.MlflowException):
        artifacts.download_artifacts(f"runs:/{rid}", artifact_path="x")


def test_artifacts_module_over_rest(
    server: LiveServer, fluent, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from labtrack import artifacts

    monkeypatch.setenv("LABTRACK_TRACKING_TOKEN", server.token)
    c = fluent.MlflowClient(server.url)
    rid = _new_run(c)
    c.log_dict(rid, {"lr": 0.1}, "conf/params.json")
    # tracking_uri= picks the server for a run id.
    listed = artifacts.list_artifacts(run_id=rid, artifact_path="conf", tracking_uri=server.url)
    assert [e.path for e in listed] == ["conf/params.json"]
    got = artifacts.download_artifacts(
        run_id=rid, artifact_path="conf", dst_path=str(tmp_path), tracking_uri=server.url
    )
    assert os.listdir(got) == ["params.json"]
    fluent.set_tracking_uri(server.url)
    assert artifacts.load_dict(f"runs:/{rid}/conf/params.json") == {"lr": 0.1}
    artifact_uri = c.get_run(rid).info.artifact_uri
    assert artifacts.load_text(f"{artifact_uri}/conf/params.json").startswith("{")
    assert [e.path for e in artifacts.list_artifacts(f"{artifact_uri}/conf")] == ["params.json"]


# ---- mlflow.tracking and the registry URI ---------------------------------------------------


def test_tracking_module_and_registry_uri(fluent, tmp_path) -> None:
    import labtrack.tracking as tracking

    assert tracking.MlflowClient is fluent.MlflowClient
    assert tracking.is_tracking_uri_set()
    tracking.set_tracking_uri(str(tmp_path / "other"))
    assert tracking.get_tracking_uri() == f"sqlite:///{tmp_path / 'other' / 'labtrack.db'}"
    # No registry URI set: the registry is the tracking store.
    assert tracking.get_registry_uri() == tracking.get_tracking_uri()

    registry_uri = f"sqlite:///{tmp_path / 'registry.db'}"
    try:
        fluent.set_registry_uri(registry_uri)
        assert fluent.get_registry_uri() == registry_uri
        c = fluent.MlflowClient()
        assert c.registry_uri == registry_uri
        c.create_registered_model("only-in-registry")
        assert fluent.MlflowClient(registry_uri).get_registered_model("only-in-registry")
        # The tracking store's own registry has no such model.
        tracking_uri = tracking.get_tracking_uri()
        own = fluent.MlflowClient(tracking_uri, registry_uri=tracking_uri)
        assert own.search_registered_models("name = 'only-in-registry'").items == []
    finally:
        from labtrack import config

        config.set_process_registry_uri(None)


# ---- fluent functions ------------------------------------------------------------------------


def test_fluent_run_and_experiment_functions(fluent) -> None:
    fluent.set_experiment("fl")
    fluent.set_experiment_tags({"a": "1", "b": "2"})
    fluent.delete_experiment_tag("a")
    assert fluent.get_experiment_by_name("fl").tags == {"b": "2"}

    with fluent.start_run() as parent, fluent.start_run(nested=True) as child:
        pass
    assert fluent.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id
    assert fluent.get_parent_run(parent.info.run_id) is None

    fluent.delete_run(child.info.run_id)
    fluent.restore_run(child.info.run_id)
    assert fluent.get_run(child.info.run_id).info.lifecycle_stage == "active"
    exp_id = fluent.create_experiment("gone")
    fluent.delete_experiment(exp_id)
    fluent.restore_experiment(exp_id)
    assert fluent.get_experiment(exp_id).lifecycle_stage == "active"

    import pandas as pd

    with fluent.start_run():
        fluent.log_table(pd.DataFrame({"x": [1, 2]}), "t.json")
        fluent.log_stream(io.BytesIO(b"abc"), "s.bin")
        fluent.log_metric("m", 1.0)
        fluent.flush_async_logging()
        fluent.flush_artifact_async_logging()
    assert list(fluent.load_table("t.json")["x"]) == [1, 2]


def test_fluent_log_inputs(fluent) -> None:
    import pandas as pd

    train = fluent.data.from_pandas(pd.DataFrame({"x": [1]}), name="train")
    test = fluent.data.from_pandas(pd.DataFrame({"x": [2]}), name="test")
    with fluent.start_run() as run:
        fluent.log_inputs([train, test], ["training", "testing"], [{"k": "v"}, None])
    inputs = fluent.get_run(run.info.run_id).inputs.dataset_inputs
    got = {i.dataset.name: {t.key: t.value for t in i.tags} for i in inputs}
    assert got == {
        "train": {"mlflow.data.context": "training", "k": "v"},
        "test": {"mlflow.data.context": "testing"},
    }
    with fluent.start_run(), pytest.raises(fluent.MlflowException):
        fluent.log_inputs([train], ["a", "b"])


def test_fluent_logged_models_and_active_model(fluent, monkeypatch) -> None:
    from labtrack.entities import LoggedModelOutput

    monkeypatch.delenv("MLFLOW_ACTIVE_MODEL_ID", raising=False)
    fluent.set_experiment("lm")
    with fluent.start_run() as run:
        model = fluent.initialize_logged_model("agent", params={"k": 1}, model_type="agent")
        assert model.status == "LOGGED_MODEL_PENDING"
        assert model.source_run_id == run.info.run_id
        assert fluent.last_logged_model().model_id == model.model_id
        done = fluent.finalize_logged_model(model.model_id, "READY")
        assert done.status == "LOGGED_MODEL_READY"
        fluent.log_outputs([LoggedModelOutput(model.model_id, 1)])
    fluent.set_logged_model_tags(model.model_id, {"t": "1", "u": "2"})
    fluent.delete_logged_model_tag(model.model_id, "t")
    fluent.log_model_params({"extra": "x"}, model_id=model.model_id)
    got = fluent.get_logged_model(model.model_id)
    assert got.tags == {"u": "2"}
    assert got.params == {"k": "1", "extra": "x"}
    assert [o.model_id for o in fluent.get_run(run.info.run_id).outputs.model_outputs] == [
        model.model_id
    ]

    external = fluent.create_external_model("from-git")
    assert external.status == "LOGGED_MODEL_READY"
    assert external.tags["mlflow.model.isExternal"] == "true"
    frame = fluent.search_logged_models()
    assert set(frame["name"]) == {"agent", "from-git"}
    listed = fluent.search_logged_models(filter_string="name = 'agent'", output_format="list")
    assert [m.model_id for m in listed] == [model.model_id]

    assert fluent.get_active_model_id() is None
    with fluent.set_active_model(name="agent") as active:
        assert active.model_id == model.model_id
        assert fluent.get_active_model_id() == model.model_id
        fluent.log_model_params({"active": "yes"})
    assert fluent.get_active_model_id() is None
    created = fluent.set_active_model(name="brand-new")
    assert fluent.get_active_model_id() == created.model_id != model.model_id
    fluent.clear_active_model()
    assert fluent.get_active_model_id() is None
    monkeypatch.setenv("MLFLOW_ACTIVE_MODEL_ID", model.model_id)
    assert fluent.get_active_model_id() == model.model_id
    assert fluent.get_logged_model(model.model_id).params["active"] == "yes"


def test_fluent_registry_searches_and_version_tags(fluent) -> None:
    c = fluent.MlflowClient()
    for name in ("alpha", "beta"):
        c.create_registered_model(name)
        for _ in range(2):
            c.create_model_version(name, "s3://bucket/m")
    c.transition_model_version_stage("alpha", "1", "Production")
    assert sorted(m.name for m in fluent.search_registered_models()) == ["alpha", "beta"]
    assert [m.name for m in fluent.search_registered_models(filter_string="name = 'beta'")] == [
        "beta"
    ]
    versions = fluent.search_model_versions(filter_string="name = 'alpha'")
    assert sorted(v.version for v in versions) == ["1", "2"]
    assert len(fluent.search_model_versions(max_results=3)) == 3

    fluent.set_model_version_tag("alpha", "2", "k", "v")
    fluent.set_model_version_tag("alpha", key="stage-tag", value=1, stage="Production")
    assert c.get_model_version("alpha", "2").tags == {"k": "v"}
    assert c.get_model_version("alpha", "1").tags == {"stage-tag": "1"}
    with pytest.raises(fluent.MlflowException):
        fluent.set_model_version_tag("alpha", "1", key="k", stage="Production")


def test_system_metrics_are_sampled_while_the_run_is_active(fluent) -> None:
    fluent.set_system_metrics_sampling_interval(0.05)
    fluent.set_system_metrics_samples_before_logging(2)
    fluent.set_system_metrics_node_id("node-a")
    try:
        with fluent.start_run(log_system_metrics=True) as run:
            time.sleep(0.6)
        with fluent.start_run() as quiet:  # not enabled globally: nothing sampled
            time.sleep(0.2)
    finally:
        fluent.set_system_metrics_sampling_interval(None)
        fluent.set_system_metrics_samples_before_logging(None)
        fluent.set_system_metrics_node_id(None)
    metrics = fluent.get_run(run.info.run_id).data.metrics
    assert "system/node-a/cpu_utilization_percentage" in metrics
    assert 0 <= metrics["system/node-a/system_memory_usage_percentage"] <= 100
    history = fluent.MlflowClient().get_metric_history(
        run.info.run_id, "system/node-a/cpu_utilization_percentage"
    )
    assert [m.step for m in history] == list(range(len(history)))
    assert len(history) >= 2
    assert not fluent.get_run(quiet.info.run_id).data.metrics

    fluent.enable_system_metrics_logging()
    fluent.set_system_metrics_sampling_interval(0.05)
    try:
        with fluent.start_run() as sampled:
            time.sleep(0.3)
    finally:
        fluent.disable_system_metrics_logging()
        fluent.set_system_metrics_sampling_interval(None)
    assert "system/cpu_utilization_percentage" in fluent.get_run(sampled.info.run_id).data.metrics


def test_doctor_reports_versions_uri_and_reachability(fluent, capsys, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "secret-value")
    fluent.doctor()
    out = capsys.readouterr().out
    assert "labtrack version:" in out
    assert "Tracking URI:" in out
    assert fluent.get_tracking_uri() in out
    assert "Store reachable:" in out
    assert "yes" in out
    assert "secret-value" not in out


def test_image_class(tmp_path) -> None:
    import numpy as np

    import labtrack as lt

    image = lt.Image(np.zeros((4, 5, 3), dtype=np.uint8))
    assert image.size == (5, 4)
    assert image.to_array().shape == (4, 5, 3)
    assert image.resize((2, 2)).size == (2, 2)
    image.save(tmp_path / "i.png")
    assert lt.Image(str(tmp_path / "i.png")).to_list() == image.to_list()


def test_run_is_mlflows_project_runner() -> None:
    import labtrack as lt
    from labtrack.projects import run

    assert lt.run is run


# ---- mlflow.models serving helpers ----------------------------------------------------------


def _saved_regressor(tmp_path) -> str:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    import labtrack as lt

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0], "b": [1.0, 1.0, 1.0]})
    model = LinearRegression().fit(X, 2 * X["a"] + 1)
    path = str(tmp_path / "model")
    lt.sklearn.save_model(model, path, input_example=X.head(2))
    return path


def test_serving_input_round_trip_and_schema_checks(tmp_path, capsys) -> None:
    import numpy as np
    import pandas as pd

    from labtrack import models

    path = _saved_regressor(tmp_path)
    frame = pd.DataFrame({"a": [3.0], "b": [1.0]})
    serving = models.convert_input_example_to_serving_input(frame)
    assert json.loads(serving) == {"dataframe_split": {"columns": ["a", "b"], "data": [[3.0, 1.0]]}}
    assert models.validate_serving_input(path, serving) == pytest.approx([7.0])
    assert models.convert_input_example_to_serving_input(None) is None
    assert json.loads(models.convert_input_example_to_serving_input(np.array([[1, 2]]))) == {
        "inputs": [[1, 2]]
    }
    assert json.loads(
        models.convert_input_example_to_serving_input(({"x": [1]}, {"temperature": 0.5}))
    ) == {"inputs": {"x": [1]}, "params": {"temperature": 0.5}}
    with pytest.raises(lt_exception()):
        models.validate_serving_input(
            path, '{"dataframe_split": {"columns": ["zz"], "data": [[1]]}}'
        )

    schema = models.Model.load(path).get_input_schema()
    models.validate_schema(frame, schema)
    with pytest.raises(lt_exception()) as err:
        models.validate_schema(pd.DataFrame({"a": [1.0]}), schema)
    assert "b" in err.value.message

    models.predict(path, input_data=frame, env_manager="local")
    assert json.loads(capsys.readouterr().out) == {"predictions": pytest.approx([7.0])}
    out = tmp_path / "pred.json"
    models.predict(path, input_data=serving, output_path=str(out))
    assert json.loads(out.read_text())["predictions"] == pytest.approx([7.0])
    with pytest.raises(lt_exception()):
        models.predict(path, input_data=frame, env_manager="conda")


# ---- package edits and flavor helpers ------------------------------------------------------


def test_set_signature_and_update_requirements_of_local_and_logged_packages(fluent, tmp_path):
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from labtrack import models

    path = _saved_regressor(tmp_path)
    signature = models.infer_signature(pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]}))
    models.set_signature(path, signature)
    assert models.Model.load(path).get_input_schema().names() == ["a", "b", "c"]
    with pytest.raises(lt_exception()):
        models.set_signature(path, {"inputs": "nope"})

    models.update_model_requirements(path, "add", ["requests==2.0", "scikit-learn>=1"])
    reqs = (tmp_path / "model" / "requirements.txt").read_text().split()
    assert "requests==2.0" in reqs
    assert [r for r in reqs if r.startswith("scikit-learn")] == ["scikit-learn>=1"]
    models.update_model_requirements(path, "remove", ["requests"])
    assert "requests==2.0" not in (tmp_path / "model" / "requirements.txt").read_text()
    assert "requests" not in (tmp_path / "model" / "conda.yaml").read_text()
    with pytest.raises(lt_exception()):
        models.update_model_requirements(path, "replace", ["x"])

    # A logged model: the package in the artifact store is rewritten.
    X = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 1.0]})
    with fluent.start_run() as run:
        fluent.sklearn.log_model(LinearRegression().fit(X, [1.0, 2.0]), name="reg")
    uri = f"runs:/{run.info.run_id}/reg"
    # log_model's model is the one last_logged_model() names, as in MLflow.
    assert fluent.last_logged_model().name == "reg"
    assert fluent.last_logged_model().source_run_id == run.info.run_id
    models.set_signature(uri, signature)
    models.update_model_requirements(uri, "add", ["requests==2.0"])
    reloaded = fluent.pyfunc.load_model(uri)
    assert reloaded.metadata.get_input_schema().names() == ["a", "b", "c"]
    assert "requests==2.0" in (Path(reloaded.path) / "requirements.txt").read_text()

    fluent.MlflowClient().create_registered_model("reg")
    version = fluent.MlflowClient().create_model_version("reg", uri, run_id=run.info.run_id)
    with pytest.raises(lt_exception()):
        models.set_signature(f"models:/reg/{version.version}", signature)


def test_infer_pip_requirements_loads_the_model_in_a_fresh_interpreter(tmp_path) -> None:
    from labtrack import models

    path = _saved_regressor(tmp_path)
    reqs = models.infer_pip_requirements(path, "sklearn")
    names = [r.split("==")[0] for r in reqs]
    assert "scikit-learn" in names
    # numpy is required by scikit-learn, so it is not listed on its own; neither is labtrack.
    assert "numpy" not in names
    assert "labtrack" not in names
    assert all("==" in r for r in reqs)
    assert models.infer_pip_requirements(str(tmp_path / "none"), "x", fallback=["a"]) == ["a"]
    with pytest.raises(lt_exception()):
        models.infer_pip_requirements(str(tmp_path / "none"), "x")


def test_model_config_set_model_and_evaluators(tmp_path) -> None:
    from labtrack import models

    (tmp_path / "cfg.yaml").write_text("temperature: 0.2\nname: x\n")
    config = models.ModelConfig(development_config=str(tmp_path / "cfg.yaml"))
    assert config.get("temperature") == 0.2
    assert config.to_dict() == {"temperature": 0.2, "name": "x"}
    with pytest.raises(KeyError):
        config.get("missing")
    assert models.ModelConfig(development_config={"k": 1}).get("k") == 1
    with pytest.raises(FileNotFoundError):
        models.ModelConfig(development_config=str(tmp_path / "nope.yaml")).get("k")

    def model(x):
        return x

    models.set_model(model)
    from labtrack.models.code_models import get_set_model

    assert get_set_model() is model
    with pytest.raises(lt_exception()):
        models.set_model(42)
    assert models.list_evaluators() == ["default"]


def test_flavor_default_requirements_and_pyfunc_helpers(tmp_path) -> None:
    from importlib import metadata

    import labtrack as lt

    assert lt.sklearn.get_default_pip_requirements() == [
        f"scikit-learn=={metadata.version('scikit-learn')}"
    ]
    assert lt.sklearn.get_default_pip_requirements(include_cloudpickle=True)[1].startswith(
        "cloudpickle=="
    )
    assert [r.split("==")[0] for r in lt.pytorch.get_default_pip_requirements()] == [
        "torch",
        "cloudpickle",
    ]
    assert lt.pyfunc.get_default_pip_requirements() == [
        f"cloudpickle=={metadata.version('cloudpickle')}"
    ]
    conda = lt.sklearn.get_default_conda_env()
    assert conda["dependencies"][-1] == {"pip": lt.sklearn.get_default_pip_requirements()}
    assert lt.pytorch.get_default_conda_env()["name"] == "mlflow-env"
    assert lt.pyfunc.get_default_conda_env()["channels"] == ["conda-forge"]

    path = _saved_regressor(tmp_path)
    assert lt.pyfunc.load_pyfunc(path).predict(
        __import__("pandas").DataFrame({"a": [1.0], "b": [1.0]})
    ) == pytest.approx([3.0])

    archive = lt.pyfunc.archive_directory(path)
    out = lt.pyfunc.extract_archive_to_dir(archive, str(tmp_path / "unpacked"))
    assert sorted(os.listdir(out)) == sorted(os.listdir(path))
    import tarfile

    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(lt_exception()):
        lt.pyfunc.extract_archive_to_dir(str(evil), str(tmp_path / "safe"))
    assert not (tmp_path / "escape.txt").exists()

    model = lt.models.Model()
    lt.pyfunc.add_to_model(model, "my.loader", data="data", code="code", python_env="env.yaml")
    conf = model.flavors["python_function"]
    assert conf["loader_module"] == "my.loader"
    assert conf["data"] == "data"
    assert conf["env"] == {"virtualenv": "env.yaml"}
    assert lt.pyfunc.EnvType.VIRTUALENV == "virtualenv"

    assert lt.pyfunc.get_prediction_context() is None
    with lt.pyfunc.set_prediction_context(lt.pyfunc.Context(request_id="r1")):
        assert lt.pyfunc.get_prediction_context().request_id == "r1"
    assert lt.pyfunc.get_prediction_context() is None


def test_torchscript_modules_save_and_load(tmp_path) -> None:
    import torch

    import labtrack as lt

    torch.manual_seed(0)
    scripted = torch.jit.script(torch.nn.Linear(2, 1))
    lt.pytorch.save_model(scripted, str(tmp_path / "ts"))
    loaded = lt.pytorch.load_model(str(tmp_path / "ts"))
    assert isinstance(loaded, torch.jit.ScriptModule)
    x = torch.ones(3, 2)
    assert torch.equal(loaded(x), scripted(x))
    pyfunc = lt.pyfunc.load_model(str(tmp_path / "ts"))
    assert pyfunc.predict(x.numpy()) == pytest.approx(scripted(x).detach().numpy())


def test_package_edits_of_a_finalized_model_over_rest(
    server: LiveServer, fluent, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server keeps a finalized model's files unless asked to replace them: editing the
    package is such a request."""
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from labtrack import models

    monkeypatch.setenv("LABTRACK_TRACKING_TOKEN", server.token)
    fluent.set_tracking_uri(server.url)
    X = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 1.0]})
    with fluent.start_run() as run:
        fluent.sklearn.log_model(LinearRegression().fit(X, [1.0, 2.0]), name="reg")
    uri = f"runs:/{run.info.run_id}/reg"
    signature = models.infer_signature(pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]}))
    models.set_signature(uri, signature)
    models.update_model_requirements(uri, "add", ["requests==2.0"])
    reloaded = fluent.pyfunc.load_model(uri)
    assert reloaded.metadata.get_input_schema().names() == ["a", "b", "c"]
    assert "requests==2.0" in (Path(reloaded.path) / "requirements.txt").read_text()


def test_load_checkpoint_reads_mlflows_checkpoint_layout(fluent, tmp_path) -> None:
    """Checkpoints as MLflow's Lightning autolog logs them (``checkpoints/epoch_<n>/...`` and
    the ``mlflow.latest_checkpoint_artifact`` tag), restored by Lightning itself."""
    import torch

    lightning = pytest.importorskip("lightning")

    class Net(lightning.LightningModule):
        def __init__(self, scale: float = 1.0) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.linear = torch.nn.Linear(1, 1)
            self.scale = scale

    weights = {}
    with fluent.start_run() as run:
        for epoch in (0, 1):
            net = Net()
            torch.nn.init.constant_(net.linear.weight, float(epoch + 1))
            weights[epoch] = float(epoch + 1)
            checkpoint = {
                "state_dict": net.state_dict(),
                "pytorch-lightning_version": lightning.__version__,
                "hyper_parameters": dict(net.hparams),
            }
            torch.save(checkpoint, tmp_path / "checkpoint.pth")
            fluent.log_artifact(str(tmp_path / "checkpoint.pth"), f"checkpoints/epoch_{epoch}")
            fluent.set_tag(
                "mlflow.latest_checkpoint_artifact", f"checkpoints/epoch_{epoch}/checkpoint.pth"
            )
        latest = fluent.pytorch.load_checkpoint(Net, kwargs={"scale": 2.0})
    assert latest.linear.weight.item() == weights[1]
    assert latest.scale == 2.0
    first = fluent.pytorch.load_checkpoint(Net, run.info.run_id, epoch=0)
    assert first.linear.weight.item() == weights[0]
    with pytest.raises(fluent.MlflowException):
        fluent.pytorch.load_checkpoint(Net, run.info.run_id, epoch=0, global_step=3)
    with pytest.raises(fluent.MlflowException):
        fluent.pytorch.load_checkpoint(Net)  # no active run
    with fluent.start_run() as bare:
        pass
    with pytest.raises(fluent.MlflowException):
        fluent.pytorch.load_checkpoint(Net, bare.info.run_id)


def test_flavor_backend_scores_and_prepares_the_local_environment(tmp_path, monkeypatch) -> None:
    from importlib import metadata

    from labtrack import models
    from labtrack.models.flavor_backend import get_flavor_backend

    path = _saved_regressor(tmp_path)
    backend = get_flavor_backend(path)
    assert isinstance(backend, models.FlavorBackend)
    assert backend.can_score_model()
    assert not backend.can_build_image()
    (tmp_path / "in.json").write_text('{"inputs": [[1.0, 1.0]]}')
    backend.predict(path, str(tmp_path / "in.json"), str(tmp_path / "out.json"), "json")
    assert json.loads((tmp_path / "out.json").read_text())["predictions"] == pytest.approx([3.0])

    # pip without an index: what is installed satisfies the package, a missing one fails.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    (tmp_path / "model" / "requirements.txt").write_text(f"pyyaml=={metadata.version('pyyaml')}\n")
    assert backend.prepare_env(path, capture_output=True) == 0
    assert (
        backend.prepare_env(
            path, capture_output=True, pip_requirements_override=["surely-not-installed-pkg==1.0"]
        )
        != 0
    )
    with pytest.raises(lt_exception()):
        get_flavor_backend(path, env_manager="conda")


def test_a_databricks_registry_uri_is_refused_not_opened_as_a_path(fluent, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "databricks-uc")
    with pytest.raises(fluent.MlflowException) as err:
        fluent.MlflowClient()
    assert "Databricks" in err.value.message
    assert not os.path.exists("databricks-uc")


def test_get_model_info_is_a_model_info(fluent, tmp_path) -> None:
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": [0.0, 1.0], "b": [1.0, 1.0]})
    with fluent.start_run() as run:
        logged = fluent.sklearn.log_model(
            LinearRegression().fit(X, [1.0, 2.0]), name="reg", input_example=X
        )
    info = fluent.models.get_model_info(logged.model_uri)
    assert isinstance(info, fluent.models.ModelInfo)
    assert info.model_uri == logged.model_uri
    assert info.model_id == logged.model_id
    assert info.run_id == run.info.run_id
    assert set(info.flavors) == {"python_function", "sklearn"}
    assert info.signature.inputs.names() == ["a", "b"]
    assert info.model_uuid == logged.model_uuid
