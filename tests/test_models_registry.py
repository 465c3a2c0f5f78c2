"""log_model, model URIs and the registry methods of the client, in-process and over REST."""

from __future__ import annotations

from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from sklearn.linear_model import LogisticRegression  # noqa: E402

from labtrack.errors import LabtrackException  # noqa: E402
from live_server import LiveServer, start_live_server  # noqa: E402

X = pd.DataFrame({"a": [0.0, 1, 0, 1, 2, -1], "b": [0.0, 1, 1, 0, 2, -1]})
Y = [0, 1, 0, 1, 1, 0]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    yield from start_live_server(tmp_path_factory.mktemp("models-rest"))


@pytest.fixture(params=["in-process", "rest"])
def lt(request: pytest.FixtureRequest, fluent, monkeypatch: pytest.MonkeyPatch):
    """The fluent API on a fresh in-process store, or on a live server over HTTP."""
    if request.param == "rest":
        srv: LiveServer = request.getfixturevalue("server")
        monkeypatch.setenv("LABTRACK_TRACKING_TOKEN", srv.token)
        fluent.set_tracking_uri(srv.url)
    return fluent


@pytest.fixture(scope="module")
def clf() -> LogisticRegression:
    return LogisticRegression().fit(X, Y)


def _unique(name: str) -> str:
    import uuid

    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_log_model_is_a_logged_model_of_the_run(lt, clf) -> None:
    lt.set_experiment(_unique("models"))
    with lt.start_run() as run:
        info = lt.sklearn.log_model(clf, name="model", input_example=X.head(2))
    client = lt.MlflowClient()
    assert info.model_uri == f"models:/{info.model_id}"
    assert info.run_id == run.info.run_id
    assert info.signature is not None
    logged = client.get_logged_model(info.model_id)
    assert logged.status == "LOGGED_MODEL_READY"
    assert logged.source_run_id == run.info.run_id
    assert logged.name == "model"
    assert logged.artifact_location.endswith(f"/models/{info.model_id}/artifacts")
    names = {e.path for e in client.list_artifact_uri(logged.artifact_location)}
    assert {"MLmodel", "model.pkl", "requirements.txt", "input_example.json"} <= names
    got = client.get_run(run.info.run_id)
    assert [o.model_id for o in got.outputs.model_outputs] == [info.model_id]
    assert '"artifact_path": "model"' in got.data.tags["mlflow.log-model.history"]
    expected = clf.predict(X).tolist()
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/model"):
        assert lt.pyfunc.load_model(uri).predict(X).tolist() == expected
        assert lt.sklearn.load_model(uri).predict(X).tolist() == expected
    assert lt.models.get_model_info(info.model_uri).model_id == info.model_id


def test_registry_uris_versions_aliases_and_stages(lt, clf) -> None:
    name = _unique("clf")
    lt.set_experiment(_unique("reg"))
    with lt.start_run() as run:
        info = lt.sklearn.log_model(clf, name="model", registered_model_name=name)
        lt.sklearn.log_model(clf, name="model2")
    assert info.registered_model_version == 1
    client = lt.MlflowClient()
    v1 = client.get_model_version(name, 1)
    assert v1.source == info.model_uri
    assert v1.model_id == info.model_id
    assert v1.run_id == run.info.run_id
    assert v1.status == "READY"
    # register again from the run's URI: the same logged model, a new version
    v2 = lt.register_model(f"runs:/{run.info.run_id}/model2", name)
    assert v2.version == "2"
    assert v2.run_id == run.info.run_id
    assert v2.source.startswith("models:/m-")
    client.set_registered_model_alias(name, "champion", 1)
    client.transition_model_version_stage(name, 1, "Production")
    client.transition_model_version_stage(name, 2, "Staging")
    expected = clf.predict(X).tolist()
    for uri in (
        f"models:/{name}/1",
        f"models:/{name}/2",
        f"models:/{name}@champion",
        f"models:/{name}/Production",
        f"models:/{name}/staging",
        f"models:/{name}/latest",
    ):
        assert lt.pyfunc.load_model(uri).predict(X).tolist() == expected, uri
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    # archiving the previous holder of a stage
    moved = client.transition_model_version_stage(name, 2, "Production", True)
    assert moved.current_stage == "Production"
    assert client.get_model_version(name, 1).current_stage == "Archived"
    assert [v.version for v in client.get_latest_versions(name, ["Production"])] == ["2"]
    with pytest.raises(LabtrackException) as err:
        lt.pyfunc.load_model(f"models:/{name}/Staging")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(LabtrackException):
        lt.pyfunc.load_model(f"models:/{name}@nobody")
    with pytest.raises(LabtrackException, match="not a version number"):
        lt.pyfunc.load_model(f"models:/{name}/Prod")
    assert client.get_model_version_download_uri(name, 1).endswith(
        f"/models/{info.model_id}/artifacts"
    )


def test_registry_client_methods(lt) -> None:
    client = lt.MlflowClient()
    name = _unique("reg")
    source = "mlflow-artifacts:/0/abc/artifacts/model"
    rm = client.create_registered_model(name, tags={"team": "ml"}, description="first")
    assert rm.name == name
    assert rm.tags == {"team": "ml"}
    assert rm.description == "first"
    with pytest.raises(LabtrackException) as err:
        client.create_registered_model(name)
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"
    assert client.update_registered_model(name, "**markdown**").description == "**markdown**"
    client.set_registered_model_tag(name, "k", 1)
    client.delete_registered_model_tag(name, "team")
    assert client.get_registered_model(name).tags == {"k": "1"}
    v1 = client.create_model_version(name, source, tags={"t": "v"}, description="d1")
    v2 = client.create_model_version(name, source)
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.tags == {"t": "v"}
    assert client.update_model_version(name, 2, "d2").description == "d2"
    client.set_model_version_tag(name, 2, "ok", True)
    assert client.get_model_version(name, 2).tags == {"ok": "True"}
    client.delete_model_version_tag(name, 2, "ok")
    assert client.get_model_version(name, "2").tags == {}
    client.set_registered_model_alias(name, "champion", 2)
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    client.delete_registered_model_alias(name, "champion")
    assert client.get_registered_model(name).aliases == {}
    found = client.search_registered_models(filter_string=f"name = '{name}'")
    assert [m.name for m in found] == [name]
    versions = client.search_model_versions(f"name = '{name}'")
    assert sorted(v.version for v in versions) == ["1", "2"]
    assert client.get_model_version_download_uri(name, 1) == source
    client.delete_model_version(name, 1)
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == ["2"]
    new = _unique("renamed")
    assert client.rename_registered_model(name, new).name == new
    assert client.get_model_version(new, 2).name == new
    client.delete_registered_model(new)
    with pytest.raises(LabtrackException) as err:
        client.get_registered_model(new)
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_plain_paths_and_artifact_uris(lt, clf, tmp_path: Path) -> None:
    path = tmp_path / "pkg"
    lt.sklearn.save_model(clf, path)
    expected = clf.predict(X).tolist()
    assert lt.pyfunc.load_model(str(path)).predict(X).tolist() == expected
    assert lt.pyfunc.load_model(path.as_uri()).predict(X).tolist() == expected
    lt.set_experiment(_unique("paths"))
    with lt.start_run() as run:
        lt.log_artifacts(str(path), "packaged")  # a 2.x-style model under the run's artifacts
    uri = f"runs:/{run.info.run_id}/packaged"
    assert lt.pyfunc.load_model(uri).predict(X).tolist() == expected
    art = lt.MlflowClient().get_run(run.info.run_id).info.artifact_uri + "/packaged"
    assert art.startswith("mlflow-artifacts:/")
    assert lt.pyfunc.load_model(art).predict(X).tolist() == expected
    name = _unique("from-run")
    mv = lt.register_model(uri, name)
    assert mv.source == uri
    assert lt.pyfunc.load_model(f"models:/{name}/1").predict(X).tolist() == expected
    with pytest.raises(LabtrackException):
        lt.pyfunc.load_model(f"runs:/{run.info.run_id}/nothing-here")
    with pytest.raises(LabtrackException):
        lt.pyfunc.load_model("ftp://example.com/model")


def test_custom_model_logged_with_artifacts(lt, tmp_path: Path) -> None:
    (tmp_path / "offset.txt").write_text("5")

    class Offset(lt.pyfunc.PythonModel):
        def load_context(self, context):
            self.offset = float(Path(context.artifacts["offset"]).read_text())

        def predict(self, context, model_input, params=None):
            return model_input["a"] + self.offset

    lt.set_experiment(_unique("custom"))
    with lt.start_run():
        info = lt.pyfunc.log_model(
            name="custom",
            python_model=Offset(),
            artifacts={"offset": str(tmp_path / "offset.txt")},
            input_example=X.head(2),
        )
    assert lt.pyfunc.load_model(info.model_uri).predict(X).tolist() == (X["a"] + 5).tolist()


def test_concurrent_versions_are_unique_and_gap_free(lt) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = lt.MlflowClient()
    name = _unique("busy")
    client.create_registered_model(name)
    source = "mlflow-artifacts:/0/abc/artifacts/model"
    with ThreadPoolExecutor(max_workers=6) as pool:
        made = list(pool.map(lambda _: client.create_model_version(name, source), range(24)))
    assert sorted(int(v.version) for v in made) == list(range(1, 25))


def test_pytorch_log_and_load_by_registry_uri(lt) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    x = np.asarray(X.values, dtype=np.float32)
    name = _unique("torch")
    with lt.start_run():
        info = lt.pytorch.log_model(
            net, name="net", input_example=x[:2], registered_model_name=name
        )
    expected = net(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(lt.pyfunc.load_model(f"models:/{name}/1").predict(x), expected)
    back = lt.pytorch.load_model(info.model_uri)
    np.testing.assert_allclose(back(torch.as_tensor(x)).detach().numpy(), expected)
