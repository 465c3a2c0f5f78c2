"""Every flavor's ``log_model`` and ``save_model`` keep the same contract: the MLmodel entries
MLflow reads (``python_function`` loader and keys, the flavor's own keys, ``code``), the
environment files, the inferred signature, the logged model's tags/params/type and the run
output's step, registration as a version, and loading back through the registry.

In-process store only: both transports share ``log_packaged_model`` (test_models_registry.py
runs it over REST)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labtrack.errors import LabtrackException
from labtrack.models.uris import download_model

pd = pytest.importorskip("pandas")

X = pd.DataFrame({"a": [0.0, 1, 0, 1, 2, -1, 3, 0.5], "b": [0.0, 1, 1, 0, 2, -1, 1, 2]})
Y = np.array([0, 1, 0, 1, 1, 0, 1, 1])
COMMON_PYFUNC_KEYS = {"loader_module", "code", "env", "python_version"}


def _sklearn() -> tuple[Any, dict[str, Any], Any, Callable[[Any], Any]]:
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression().fit(X, Y)
    return clf, {"serialization_format": "pickle"}, X, clf.predict


def _pytorch() -> tuple[Any, dict[str, Any], Any, Callable[[Any], Any]]:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    x = np.asarray(X.values, dtype=np.float32)
    return net, {}, x, lambda d: net(torch.as_tensor(d)).detach().numpy()


def _lightgbm() -> tuple[Any, dict[str, Any], Any, Callable[[Any], Any]]:
    lgb = pytest.importorskip("lightgbm")
    model = lgb.LGBMClassifier(n_estimators=3, min_child_samples=1, verbose=-1).fit(X, Y)
    return model, {}, X, model.predict


def _xgboost() -> tuple[Any, dict[str, Any], Any, Callable[[Any], Any]]:
    xgb = pytest.importorskip("xgboost")
    model = xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(X, Y)
    return model, {"model_format": "json"}, X, model.predict


def _keras() -> tuple[Any, dict[str, Any], Any, Callable[[Any], Any]]:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    x = np.asarray(X.values, dtype=np.float32)
    return model, {}, x, lambda d: model.predict(d, verbose=0)


def _pyfunc() -> tuple[Any, dict[str, Any], Any, Callable[[Any], Any]]:
    import labtrack as lt

    class Scaled(lt.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input["a"] * context.model_config["k"]

    def predict(d: Any) -> Any:
        return d["a"] * 3

    return Scaled(), {"model_config": {"k": 3}}, X, predict


# flavor -> (its loader_module, python_function keys beyond the common ones, its own keys,
# the distributions requirements.txt names first)
FLAVORS: dict[str, tuple[Callable[..., Any], str, set[str], set[str] | None, list[str]]] = {
    "sklearn": (
        _sklearn,
        "mlflow.sklearn",
        {"model_path", "predict_fn"},
        {"pickled_model", "sklearn_version", "serialization_format", "code"},
        ["scikit-learn"],
    ),
    "pytorch": (
        _pytorch,
        "mlflow.pytorch",
        {"data", "pickle_module_name"},
        {"model_data", "pytorch_version", "code"},
        ["torch", "cloudpickle"],
    ),
    "lightgbm": (
        _lightgbm,
        "mlflow.lightgbm",
        {"data"},
        {"data", "lgb_version", "model_class", "code"},
        ["lightgbm", "cloudpickle"],
    ),
    "xgboost": (
        _xgboost,
        "mlflow.xgboost",
        {"data"},
        {"data", "model_class", "model_format", "xgb_version", "code"},
        ["xgboost"],
    ),
    "keras": (
        _keras,
        "mlflow.keras",
        {"data"},
        {"data", "keras_version", "keras_backend", "save_exported_model", "code"},
        ["keras", "torch"],
    ),
    "pyfunc": (
        _pyfunc,
        "mlflow.pyfunc.model",
        {"python_model", "cloudpickle_version", "artifacts", "streamable", "model_config"},
        None,
        ["cloudpickle"],
    ),
}


def _log(flavor: Any, name: str, model: Any, **kwargs: Any) -> Any:
    if flavor.__name__ == "labtrack.pyfunc":
        return flavor.log_model(name=name, python_model=model, **kwargs)
    return flavor.log_model(model, name=name, **kwargs)


def _save(flavor: Any, model: Any, path: Path, **kwargs: Any) -> Any:
    if flavor.__name__ == "labtrack.pyfunc":
        return flavor.save_model(path, python_model=model, **kwargs)
    return flavor.save_model(model, path, **kwargs)


@pytest.mark.parametrize("flavor_name", sorted(FLAVORS))
def test_log_model_packages_logs_and_registers(fluent, tmp_path: Path, flavor_name: str) -> None:
    import yaml

    lt = fluent
    build, loader, pyfunc_keys, own_keys, packages = FLAVORS[flavor_name]
    model, options, data, expected = build()
    flavor = getattr(lt, flavor_name)
    helper = tmp_path / "helper_code.py"
    helper.write_text("VALUE = 1\n")
    lt.set_experiment(f"flavors-{flavor_name}")
    with lt.start_run() as run:
        info = _log(
            flavor,
            "m",
            model,
            registered_model_name=f"reg-{flavor_name}",
            input_example=data[:2],
            tags={"t": "1"},
            params={"p": "2"},
            model_type="classifier",
            step=3,
            code_paths=[str(helper)],
            metadata={"owner": "me"},
            **options,
        )
    client = lt.MlflowClient()
    assert (info.name, info.run_id, info.registered_model_version) == ("m", run.info.run_id, 1)
    version = client.get_model_version(f"reg-{flavor_name}", "1")
    assert (version.model_id, version.run_id) == (info.model_id, run.info.run_id)
    logged = client.get_logged_model(info.model_id)
    assert logged.status == "LOGGED_MODEL_READY"
    assert (logged.tags.get("t"), logged.params, logged.model_type) == (
        "1",
        {"p": "2"},
        "classifier",
    )
    outputs = client.get_run(run.info.run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(info.model_id, 3)]
    assert info.signature is not None
    assert info.signature.outputs is not None

    local = Path(download_model(info.model_uri, str(tmp_path / "dl")))
    meta = yaml.safe_load((local / "MLmodel").read_text())
    assert meta["metadata"] == {"owner": "me"}
    assert meta["model_id"] == info.model_id
    pyfunc_conf = meta["flavors"]["python_function"]
    assert pyfunc_conf["loader_module"] == loader
    assert set(pyfunc_conf) == COMMON_PYFUNC_KEYS | pyfunc_keys
    assert pyfunc_conf["code"] == "code"
    assert (local / "code" / "helper_code.py").is_file()
    assert set(meta["flavors"]) == {"python_function"} | ({flavor_name} if own_keys else set())
    if own_keys is not None:
        assert set(meta["flavors"][flavor_name]) == own_keys
        assert meta["flavors"][flavor_name]["code"] == "code"
    for key, value in options.items():
        assert (meta["flavors"].get(flavor_name) or pyfunc_conf)[key] == value
    requirements = (local / "requirements.txt").read_text().splitlines()
    assert [r.split("==")[0] for r in requirements] == packages
    for name in ("conda.yaml", "python_env.yaml", "input_example.json"):
        assert (local / name).is_file()

    loaded = lt.pyfunc.load_model(f"models:/reg-{flavor_name}/1")
    np.testing.assert_allclose(
        np.asarray(loaded.predict(data), dtype=float).ravel(),
        np.asarray(expected(data), dtype=float).ravel(),
        rtol=1e-5,
    )


@pytest.mark.parametrize("flavor_name", sorted(FLAVORS))
def test_save_model_writes_a_package_its_flavor_loads(tmp_path: Path, flavor_name: str) -> None:
    import labtrack as lt

    build, _, _, own_keys, packages = FLAVORS[flavor_name]
    model, options, data, expected = build()
    flavor = getattr(lt, flavor_name)
    path = tmp_path / "pkg"
    meta = _save(flavor, model, path, **options)
    assert meta.signature is None
    assert meta.saved_input_example_info is None
    assert (path / "requirements.txt").read_text().splitlines()[0].split("==")[0] == packages[0]
    if own_keys is not None:
        assert meta.flavors[flavor_name]["code"] is None
    again = lt.pyfunc.load_model(str(path))
    np.testing.assert_allclose(
        np.asarray(again.predict(data), dtype=float).ravel(),
        np.asarray(expected(data), dtype=float).ravel(),
        rtol=1e-5,
    )
    with pytest.raises(LabtrackException, match="not empty"):
        _save(flavor, model, path)
