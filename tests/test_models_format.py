"""The MLmodel package format and the flavors' save/load roundtrips (no tracking store)."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

import labtrack as lt  # noqa: E402
from labtrack.errors import LabtrackException  # noqa: E402
from labtrack.models import Model  # noqa: E402

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def data() -> tuple[object, object]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    y = (X["a"] + X["b"] > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def clf(data):
    sklearn_lm = pytest.importorskip("sklearn.linear_model")
    X, y = data
    return sklearn_lm.LogisticRegression().fit(X, y)


def test_sklearn_package_layout(tmp_path: Path, clf, data) -> None:
    X, _ = data
    path = tmp_path / "m"
    lt.sklearn.save_model(clf, path, input_example=X.head(3), metadata={"owner": "me"})
    files = {p.name for p in path.iterdir()}
    assert files == {
        "MLmodel",
        "model.pkl",
        "requirements.txt",
        "conda.yaml",
        "python_env.yaml",
        "input_example.json",
        "serving_input_example.json",
    }
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    pyfunc = mlmodel["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.sklearn"
    assert pyfunc["model_path"] == "model.pkl"
    assert pyfunc["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert pyfunc["python_version"] == platform.python_version()
    sk = mlmodel["flavors"]["sklearn"]
    assert sk["pickled_model"] == "model.pkl"
    assert sk["serialization_format"] == "cloudpickle"
    assert len(mlmodel["model_uuid"]) == 32
    assert "utc_time_created" in mlmodel
    assert mlmodel["metadata"] == {"owner": "me"}
    # signature values are JSON strings, as MLflow writes them
    inputs = json.loads(mlmodel["signature"]["inputs"])
    assert [c["name"] for c in inputs] == ["a", "b", "c"]
    assert json.loads(mlmodel["signature"]["outputs"]) == [{"type": "long", "required": True}]
    assert mlmodel["saved_input_example_info"] == {
        "artifact_path": "input_example.json",
        "serving_input_path": "serving_input_example.json",
        "type": "dataframe",
        "pandas_orient": "split",
    }
    example = json.loads((path / "input_example.json").read_text())
    assert example["columns"] == ["a", "b", "c"]
    assert len(example["data"]) == 3
    serving = json.loads((path / "serving_input_example.json").read_text())
    assert serving == {"dataframe_split": example}
    reqs = (path / "requirements.txt").read_text().splitlines()
    assert any(r.startswith("scikit-learn==") for r in reqs)
    conda = yaml.safe_load((path / "conda.yaml").read_text())
    assert conda["dependencies"][0] == f"python={platform.python_version()}"
    assert yaml.safe_load((path / "python_env.yaml").read_text())["dependencies"] == [
        "-r requirements.txt"
    ]
    loaded_example = Model.load(path).load_input_example(str(path))
    pd.testing.assert_frame_equal(loaded_example, X.head(3).reset_index(drop=True))


def test_save_refuses_a_non_empty_directory(tmp_path: Path, clf) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "x").write_text("x")
    with pytest.raises(LabtrackException) as err:
        lt.sklearn.save_model(clf, tmp_path / "m")
    assert err.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_model_yaml_roundtrip(tmp_path: Path) -> None:
    m = Model(artifact_path="model", run_id="r1", model_id="m-1")
    m.add_flavor("python_function", loader_module="x")
    m.save(str(tmp_path))
    back = Model.load(tmp_path)
    assert back.to_dict() == m.to_dict()
    with pytest.raises(LabtrackException, match="MLmodel"):
        Model.load(tmp_path / "missing")


@pytest.mark.parametrize("fmt", ["cloudpickle", "pickle", "skops"])
def test_sklearn_roundtrip(tmp_path: Path, clf, data, fmt: str) -> None:
    if fmt == "skops":
        pytest.importorskip("skops")
    X, _ = data
    path = tmp_path / fmt
    lt.sklearn.save_model(clf, path, serialization_format=fmt, input_example=X.head(2))
    assert (path / ("model.skops" if fmt == "skops" else "model.pkl")).exists()
    raw = lt.sklearn.load_model(path)
    assert raw.predict(X).tolist() == clf.predict(X).tolist()
    model = lt.pyfunc.load_model(str(path))
    assert model.predict(X).tolist() == clf.predict(X).tolist()
    assert type(model.get_raw_model()).__name__ == "LogisticRegression"
    # signature enforcement on predict
    with pytest.raises(LabtrackException, match=r"missing inputs \['c'\]"):
        model.predict(X[["a", "b"]])


def test_sklearn_predict_fn(tmp_path: Path, clf, data) -> None:
    X, _ = data
    lt.sklearn.save_model(clf, tmp_path / "p", pyfunc_predict_fn="predict_proba")
    probs = lt.pyfunc.load_model(tmp_path / "p").predict(X)
    assert probs.shape == (len(X), 2)


class AddN(lt.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["n"]) as f:
            self.n = float(f.read())
        self.scale = context.model_config.get("scale", 1)

    def predict(self, context, model_input, params=None):
        bonus = (params or {}).get("bonus", 0)
        return (model_input["x"] + self.n + bonus) * self.scale


def test_custom_python_model_with_artifacts_and_params(tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("10")
    df = pd.DataFrame({"x": [1.0, 2.0]})
    sig = lt.models.infer_signature(df, params={"bonus": 0.0})
    lt.pyfunc.save_model(
        tmp_path / "m",
        python_model=AddN(),
        artifacts={"n": str(tmp_path / "n.txt")},
        signature=sig,
        model_config={"scale": 2},
    )
    conf = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())["flavors"]["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.model"
    assert conf["python_model"] == "python_model.pkl"
    assert conf["artifacts"]["n"]["path"] == "artifacts/n.txt"
    model = lt.pyfunc.load_model(tmp_path / "m")
    assert model.predict(df).tolist() == [22.0, 24.0]
    assert model.predict(df, params={"bonus": 1}).tolist() == [24.0, 26.0]
    assert isinstance(model.unwrap_python_model(), AddN)
    # the model is independent of the files it was built from
    os.remove(tmp_path / "n.txt")
    assert lt.pyfunc.load_model(tmp_path / "m").predict(df).tolist() == [22.0, 24.0]


def test_function_model_and_context_free_predict(tmp_path: Path) -> None:
    lt.pyfunc.save_model(tmp_path / "f", python_model=lambda df: df["x"] * 3)
    assert lt.pyfunc.load_model(tmp_path / "f").predict(pd.DataFrame({"x": [1, 2]})).tolist() == [
        3,
        6,
    ]

    class NoContext(lt.pyfunc.PythonModel):
        def predict(self, model_input, params=None):
            return [len(model_input)]

    lt.pyfunc.save_model(tmp_path / "n", python_model=NoContext(), input_example=["a", "b"])
    model = lt.pyfunc.load_model(tmp_path / "n")
    assert model.predict(["a", "b", "c"]) == [3]


def test_unknown_loader_is_a_clear_error(tmp_path: Path) -> None:
    m = Model()
    m.add_flavor("python_function", loader_module="mlflow.some_flavor")
    m.save(str(tmp_path))
    with pytest.raises(LabtrackException, match=r"mlflow\.some_flavor"):
        lt.pyfunc.load_model(tmp_path)


def test_pytorch_roundtrip(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(3, 1)

        def forward(self, x):
            return self.lin(x) * 2

    torch.manual_seed(0)
    net = Net()
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    lt.pytorch.save_model(net, tmp_path / "t", input_example=x[:2])
    mlmodel = yaml.safe_load((tmp_path / "t" / "MLmodel").read_text())
    assert mlmodel["flavors"]["pytorch"]["model_data"] == "data"
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.pytorch"
    assert (tmp_path / "t" / "data" / "model.pth").exists()
    expected = net(torch.as_tensor(x)).detach().numpy()
    back = lt.pytorch.load_model(tmp_path / "t")
    np.testing.assert_allclose(back(torch.as_tensor(x)).detach().numpy(), expected, rtol=1e-6)
    pyf = lt.pyfunc.load_model(tmp_path / "t")
    np.testing.assert_allclose(pyf.predict(x), expected, rtol=1e-6)
    with pytest.raises(LabtrackException, match="Shape of input"):
        pyf.predict(np.zeros((2, 4), dtype=np.float32))


def test_import_labtrack_stays_cheap_and_flavors_are_lazy() -> None:
    code = textwrap.dedent(
        """
        import sys
        import labtrack as lt
        heavy = [m for m in ("numpy", "pandas", "sqlalchemy", "sklearn", "torch",
                             "labtrack.models", "labtrack.pyfunc") if m in sys.modules]
        assert heavy == [], heavy
        assert callable(lt.pyfunc.load_model) and callable(lt.sklearn.save_model)
        assert callable(lt.pytorch.save_model) and callable(lt.register_model)
        assert callable(lt.models.infer_signature)
        assert "torch" not in sys.modules
        for name in ("pyfunc", "sklearn", "pytorch", "models", "register_model"):
            assert name in lt.__all__
        print("ok")
        """
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": SRC},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


# ---- code_paths: a model's own code travels with it ---------------------------------------

CODE_MODULE = '''
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin


class Doubler(BaseEstimator, TransformerMixin):
    """A custom step: its class must be importable wherever the pipeline is unpickled."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) * 2
'''


@contextlib.contextmanager
def custom_step_module(src: Path):
    """``src/lt_codepath_demo.py`` importable, as a user's own module is while they fit and
    save (so pickles refer to it by name), and forgotten afterwards."""
    pytest.importorskip("sklearn")
    src.mkdir(parents=True, exist_ok=True)
    (src / "lt_codepath_demo.py").write_text(CODE_MODULE)
    sys.path.insert(0, str(src))
    try:
        import lt_codepath_demo

        yield lt_codepath_demo
    finally:
        sys.path.remove(str(src))
        sys.modules.pop("lt_codepath_demo", None)


def _predict_elsewhere(
    tmp_path: Path, package: Path, loader: str, X
) -> subprocess.CompletedProcess:
    """Load and predict in a fresh interpreter that has never seen the custom step's module."""
    X.to_csv(tmp_path / "X.csv", index=False)
    code = textwrap.dedent(
        f"""
        import json, sys
        import pandas as pd
        import labtrack.{loader} as flavor
        X = pd.read_csv({str(tmp_path / "X.csv")!r})
        print(json.dumps(flavor.load_model({str(package)!r}).predict(X).tolist()))
        """
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("loader", ["pyfunc", "sklearn"])
def test_code_paths_travel_with_the_model(tmp_path: Path, data, loader: str) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X, y = data
    with_code, without = tmp_path / "with-code", tmp_path / "without-code"
    with custom_step_module(tmp_path / "src") as module:
        pipe = make_pipeline(module.Doubler(), LogisticRegression()).fit(X, y)
        expected = pipe.predict(X).tolist()
        code = [str(tmp_path / "src" / "lt_codepath_demo.py")]
        lt.sklearn.save_model(pipe, with_code, code_paths=code)
        lt.sklearn.save_model(pipe, without)
    meta = Model.load(str(with_code))
    assert meta.flavors["sklearn"]["code"] == "code"
    assert meta.flavors["python_function"]["code"] == "code"
    assert (with_code / "code" / "lt_codepath_demo.py").read_text() == CODE_MODULE
    done = _predict_elsewhere(tmp_path, with_code, loader, X)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == expected
    # Without its code the package cannot load anywhere else, and the error says why.
    failed = _predict_elsewhere(tmp_path, without, "pyfunc", X)
    assert failed.returncode != 0
    assert "lt_codepath_demo" in failed.stderr


def test_code_paths_must_exist(tmp_path: Path, clf) -> None:
    with pytest.raises(LabtrackException, match="does not exist"):
        lt.sklearn.save_model(clf, tmp_path / "m", code_paths=[str(tmp_path / "missing.py")])
