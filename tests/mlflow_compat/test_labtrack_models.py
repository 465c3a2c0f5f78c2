"""Model packages between labtrack and the real mlflow client, both ways:

- a scikit-learn model saved by MLflow (its default skops format, and cloudpickle) loads with
  ``lt.pyfunc.load_model``;
- a model logged by the mlflow client to labtrack's server loads with labtrack (in-process on
  the server's store and over REST), by ``runs:/``, ``models:/<id>``, version and alias;
- a model logged by labtrack loads with ``mlflow.pyfunc.load_model`` / ``mlflow.sklearn``;
- and the Jupyter server process never loaded scikit-learn while serving all of it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mlflow_compat.conftest import MARKER, Server, _clean_env
from mlflow_compat.envs import ensure_env

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

X = pd.DataFrame({"a": [0.0, 1, 0, 1, 2, -1], "b": [0.0, 1, 1, 0, 2, -1]})
Y = [0, 1, 0, 1, 1, 0]
PRELUDE = """
import json, sys, warnings
warnings.filterwarnings("ignore")
import mlflow
import pandas as pd
from sklearn.linear_model import LogisticRegression
X = pd.DataFrame({"a": [0.0, 1, 0, 1, 2, -1], "b": [0.0, 1, 1, 0, 2, -1]})
Y = [0, 1, 0, 1, 1, 0]
ARGS = json.loads(sys.argv[1])
def emit(out):
    print("\\n" + MARKER + json.dumps(out, default=str))
""".replace("MARKER", repr(MARKER))


@pytest.fixture(scope="module")
def mlflow3() -> Path:
    return ensure_env("mlflow3", lambda _msg: None)


def run_mlflow(python: Path, code: str, workdir: Path, server: Server | None = None,
               **arguments: Any) -> dict[str, Any]:  # fmt: skip
    env = _clean_env()
    env.update(
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        GIT_PYTHON_REFRESH="quiet",
        PYTHONDONTWRITEBYTECODE="1",
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="1",
        MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR="0",
    )
    if server is not None:
        env.update(MLFLOW_TRACKING_URI=server.url, MLFLOW_TRACKING_TOKEN=server.token)
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / f"script-{secrets.token_hex(4)}.py"
    script.write_text(PRELUDE + textwrap.dedent(code))
    proc = subprocess.run(
        [str(python), str(script), json.dumps(arguments)],
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=600,
        check=False,
    )
    results = [line[len(MARKER) :] for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if proc.returncode != 0 or not results:
        tail = server.log_tail() if server is not None else ""
        pytest.fail(
            f"mlflow script failed ({proc.returncode}):\n{proc.stderr[-6000:]}\n{tail}",
            pytrace=False,
        )
    return json.loads(results[-1])


@pytest.fixture
def lt(fluent, monkeypatch: pytest.MonkeyPatch):
    return fluent


def _use(lt: Any, server: Server, transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if transport == "rest":
        monkeypatch.setenv("LABTRACK_TRACKING_TOKEN", server.token)
        lt.set_tracking_uri(server.url)
    else:
        lt.set_tracking_uri(server.store_uri)


# ---- MLflow saves, labtrack loads ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["skops", "cloudpickle"])
def test_sklearn_model_saved_by_mlflow_loads_in_labtrack(
    lt, mlflow3: Path, tmp_path: Path, fmt: str
) -> None:
    if fmt == "skops":
        pytest.importorskip("skops")
    out = run_mlflow(
        mlflow3,
        """
        clf = LogisticRegression().fit(X, Y)
        mlflow.sklearn.save_model(clf, ARGS["path"], serialization_format=ARGS["fmt"],
                                  input_example=X.head(2))
        emit({"expected": clf.predict(X).tolist(),
              "proba": clf.predict_proba(X).tolist()})
        """,
        tmp_path,
        path=str(tmp_path / "model"),
        fmt=fmt,
    )
    model = lt.pyfunc.load_model(str(tmp_path / "model"))
    assert model.predict(X).tolist() == out["expected"]
    assert model.metadata.flavors["sklearn"]["serialization_format"] == fmt
    assert [c.name for c in model.metadata.signature.inputs.inputs] == ["a", "b"]
    raw = lt.sklearn.load_model(str(tmp_path / "model"))
    np.testing.assert_allclose(raw.predict_proba(X), out["proba"])
    with pytest.raises(lt.LabtrackException, match=r"missing inputs \['b'\]"):
        model.predict(X[["a"]])


# ---- the mlflow client logs to labtrack's server, labtrack loads ---------------------------


@pytest.fixture(scope="module")
def mlflow_logged(mlflow3: Path, labtrack_server: Server) -> dict[str, Any]:
    return run_mlflow(
        mlflow3,
        """
        from mlflow import MlflowClient
        mlflow.set_experiment(ARGS["name"])
        clf = LogisticRegression().fit(X, Y)
        with mlflow.start_run() as run:
            info = mlflow.sklearn.log_model(clf, name="model", input_example=X.head(2),
                                            registered_model_name=ARGS["name"])
        MlflowClient().set_registered_model_alias(ARGS["name"], "champion", 1)
        emit({"run_id": run.info.run_id, "model_id": info.model_id,
              "expected": clf.predict(X).tolist()})
        """,
        labtrack_server.workdir / "lt-models-client",
        labtrack_server,
        name=f"mlflow-logged-{secrets.token_hex(3)}",
    )


@pytest.mark.parametrize("transport", ["in-process", "rest"])
def test_model_logged_by_mlflow_loads_in_labtrack(
    lt, labtrack_server: Server, mlflow_logged: dict[str, Any], transport: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    _use(lt, labtrack_server, transport, monkeypatch)
    run_id, model_id = mlflow_logged["run_id"], mlflow_logged["model_id"]
    versions = lt.MlflowClient().search_model_versions(f"run_id = '{run_id}'")
    assert len(versions) == 1
    name = versions[0].name
    assert versions[0].model_id == model_id
    for uri in (
        f"runs:/{run_id}/model",
        f"models:/{model_id}",
        f"models:/{name}/1",
        f"models:/{name}@champion",
        f"models:/{name}/latest",
    ):
        model = lt.pyfunc.load_model(uri)
        assert model.predict(X).tolist() == mlflow_logged["expected"], uri
    assert (
        lt.sklearn.load_model(f"models:/{name}@champion").predict(X).tolist()
        == (mlflow_logged["expected"])
    )


# ---- labtrack logs, the mlflow client loads --------------------------------------------------


@pytest.mark.parametrize("transport", ["rest", "in-process"])
def test_model_logged_by_labtrack_loads_in_mlflow(
    lt, mlflow3: Path, labtrack_server: Server, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.linear_model import LogisticRegression

    _use(lt, labtrack_server, transport, monkeypatch)
    name = f"lt-logged-{transport}-{secrets.token_hex(3)}"
    lt.set_experiment(name)
    clf = LogisticRegression().fit(X, Y)
    with lt.start_run() as run:
        info = lt.sklearn.log_model(
            clf, name="model", input_example=X.head(2), registered_model_name=name
        )
    lt.MlflowClient().set_registered_model_alias(name, "champion", 1)
    out = run_mlflow(
        mlflow3,
        """
        from mlflow import MlflowClient
        out = {}
        for uri in ARGS["uris"]:
            out[uri] = mlflow.pyfunc.load_model(uri).predict(X).tolist()
        out["sklearn"] = mlflow.sklearn.load_model(ARGS["uris"][0]).predict(X).tolist()
        m = mlflow.pyfunc.load_model(ARGS["uris"][0])
        out["inputs"] = [c.name for c in m.metadata.get_input_schema().inputs]
        try:
            m.predict(X[["a"]])
            out["enforced"] = False
        except Exception as exc:
            out["enforced"] = "b" in str(exc)
        lm = mlflow.get_logged_model(ARGS["model_id"])
        out["logged"] = [lm.name, lm.source_run_id, str(lm.status)]
        emit(out)
        """,
        labtrack_server.workdir / "lt-models-client",
        labtrack_server,
        uris=[
            f"runs:/{run.info.run_id}/model",
            info.model_uri,
            f"models:/{name}/1",
            f"models:/{name}@champion",
        ],
        model_id=info.model_id,
    )
    expected = clf.predict(X).tolist()
    assert out.pop("sklearn") == expected
    assert out.pop("inputs") == ["a", "b"]
    assert out.pop("enforced") is True
    logged = out.pop("logged")
    assert logged[:2] == ["model", run.info.run_id]
    assert logged[2].endswith("READY")
    assert out == {uri: expected for uri in out}
    assert len(out) == 4


def test_model_logged_by_labtrack_loads_in_mlflow2_through_the_registry(
    lt, labtrack_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow 2 knows no logged models: ``runs:/<run>/model`` reads the run's artifact folder
    ``model/``, where the server shows the run's logged model of that name (labtrack writes
    the 3.x layout); registered versions resolve through ``get-download-uri``."""
    from sklearn.linear_model import LogisticRegression

    mlflow2 = ensure_env("mlflow2", lambda _msg: None)
    _use(lt, labtrack_server, "rest", monkeypatch)
    name = f"lt-for-mlflow2-{secrets.token_hex(3)}"
    clf = LogisticRegression().fit(X, Y)
    with lt.start_run() as run:
        lt.sklearn.log_model(clf, name="model", registered_model_name=name)
    lt.MlflowClient().set_registered_model_alias(name, "champion", 1)
    uris = [f"models:/{name}/1", f"models:/{name}@champion", f"runs:/{run.info.run_id}/model"]
    out = run_mlflow(
        mlflow2,
        """
        emit({uri: mlflow.pyfunc.load_model(uri).predict(X).tolist() for uri in ARGS["uris"]})
        """,
        labtrack_server.workdir / "lt-models-client2",
        labtrack_server,
        uris=uris,
    )
    assert out == {uri: clf.predict(X).tolist() for uri in uris}


def test_jupyter_server_never_loaded_model_code(
    labtrack_server: Server, mlflow_logged: dict[str, Any]
) -> None:
    """After the traffic above (logging, registering, downloading models), the server process
    has no scikit-learn, torch or skops extension module mapped."""
    maps = Path(f"/proc/{labtrack_server.proc.pid}/maps")
    if not maps.exists():
        pytest.skip("needs /proc")
    text = maps.read_text()
    for marker in ("/sklearn/", "/torch/", "/skops/"):
        assert marker not in text, marker
    assert os.getpid() != labtrack_server.proc.pid


def test_code_paths_work_both_ways(lt, mlflow3: Path, tmp_path: Path) -> None:
    """A pipeline with a custom step, saved with ``code_paths`` by either library, loads in
    the other in a process that never had the step's module."""
    from sklearn.pipeline import make_pipeline

    from test_models_format import CODE_MODULE, _predict_elsewhere, custom_step_module

    src = tmp_path / "src"
    src.mkdir()
    (src / "lt_codepath_demo.py").write_text(CODE_MODULE)
    by_mlflow = tmp_path / "by-mlflow"
    out = run_mlflow(
        mlflow3,
        """
        sys.path.insert(0, ARGS["src"])
        import lt_codepath_demo
        from sklearn.pipeline import make_pipeline
        pipe = make_pipeline(lt_codepath_demo.Doubler(), LogisticRegression()).fit(X, Y)
        mlflow.sklearn.save_model(pipe, ARGS["path"], code_paths=[ARGS["module"]],
                                  serialization_format="cloudpickle")
        emit({"expected": pipe.predict(X).tolist()})
        """,
        tmp_path / "mlflow-saves",
        path=str(by_mlflow),
        src=str(src),
        module=str(src / "lt_codepath_demo.py"),
    )
    done = _predict_elsewhere(tmp_path, by_mlflow, "pyfunc", X)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == out["expected"]

    by_labtrack = tmp_path / "by-labtrack"
    with custom_step_module(tmp_path / "src2") as module:
        from sklearn.linear_model import LogisticRegression

        pipe = make_pipeline(module.Doubler(), LogisticRegression()).fit(X, Y)
        code = [str(tmp_path / "src2" / "lt_codepath_demo.py")]
        lt.sklearn.save_model(pipe, by_labtrack, code_paths=code)
    loaded = run_mlflow(
        mlflow3,
        """
        emit({"pred": mlflow.pyfunc.load_model(ARGS["path"]).predict(X).tolist()})
        """,
        tmp_path / "mlflow-loads",
        path=str(by_labtrack),
    )
    assert loaded["pred"] == pipe.predict(X).tolist()
