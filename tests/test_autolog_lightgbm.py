"""LightGBM: ``lt.lightgbm`` packages load in labtrack (and carry MLflow's flavor layout), and
``lt.lightgbm.autolog()`` logs what MLflow's does for both of LightGBM's APIs, never breaking
training."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

lightgbm = pytest.importorskip("lightgbm")

from sklearn.datasets import load_breast_cancer  # noqa: E402

from labtrack.autologging import core  # noqa: E402

QUIET = {"verbose": -1, "num_threads": 1}


@pytest.fixture
def autolog(fluent):
    yield fluent
    fluent.lightgbm.autolog(disable=True)
    fluent.sklearn.autolog(disable=True)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X.columns = [c.replace(" ", "_") for c in X.columns]
    return X.iloc[:400], y.iloc[:400], X.iloc[400:], y.iloc[400:]


def _only_run(lt):
    runs = lt.search_runs(output_format="list")
    assert len(runs) == 1
    return runs[0]


def test_native_train_is_logged(autolog, cancer) -> None:
    lt = autolog
    X, y, Xv, yv = cancer
    lt.lightgbm.autolog()
    train = lightgbm.Dataset(X, y)
    valid = lightgbm.Dataset(Xv, yv, reference=train)
    params = {"objective": "binary", "metric": "binary_logloss", "learning_rate": 0.2, **QUIET}
    booster = lightgbm.train(
        params,
        train,
        num_boost_round=40,
        valid_sets=[valid],
        callbacks=[lightgbm.early_stopping(3, verbose=False)],
    )
    run = _only_run(lt)
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.autologging"] == "lightgbm"
    assert run.data.params["objective"] == "binary"
    assert run.data.params["learning_rate"] == "0.2"
    assert run.data.params["num_boost_round"] == "40"
    client = lt.MlflowClient()
    history = client.get_metric_history(run.info.run_id, "valid_0-binary_logloss")
    # one point per iteration, step = iteration, values LightGBM's own
    assert [m.step for m in history] == list(range(len(history)))
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    assert run.data.metrics["stopped_iteration"] == len(history)
    assert booster.best_iteration < len(history) <= 40
    path = client.download_artifacts(run.info.run_id, "feature_importance_gain.json")
    with open(path) as f:
        gain = json.load(f)
    assert set(gain) == set(X.columns)
    assert gain["worst_radius"] == pytest.approx(
        float(
            dict(zip(booster.feature_name(), booster.feature_importance("gain"), strict=True))[
                "worst_radius"
            ]
        )
    )
    contexts = sorted(
        t.value for d in run.inputs.dataset_inputs for t in d.tags if t.key == "mlflow.data.context"
    )
    assert contexts == ["eval", "train"]
    (output,) = run.outputs.model_outputs
    loaded = lt.lightgbm.load_model(f"models:/{output.model_id}")
    np.testing.assert_allclose(loaded.predict(Xv), booster.predict(Xv))
    pyfunc = lt.pyfunc.load_model(f"models:/{output.model_id}")
    np.testing.assert_allclose(pyfunc.predict(Xv), booster.predict(Xv))


def test_sklearn_api_fit_is_logged_once(autolog, cancer) -> None:
    """``LGBMClassifier.fit`` calls ``train`` inside: one run, the estimator's params, the
    eval metrics, and the estimator (not the bare booster) as the model."""
    lt = autolog
    X, y, Xv, yv = cancer
    lt.lightgbm.autolog()
    clf = lightgbm.LGBMClassifier(n_estimators=15, **QUIET)
    clf.fit(X, y, eval_set=[(Xv, yv)])
    run = _only_run(lt)
    assert run.data.params["n_estimators"] == "15"
    assert run.data.tags["estimator_name"] == "LGBMClassifier"
    history = lt.MlflowClient().get_metric_history(run.info.run_id, "valid_0-binary_logloss")
    assert len(history) == 15
    (output,) = run.outputs.model_outputs
    loaded = lt.lightgbm.load_model(f"models:/{output.model_id}")
    assert isinstance(loaded, lightgbm.LGBMClassifier)
    np.testing.assert_array_equal(loaded.predict(Xv), clf.predict(Xv))
    from labtrack.models.model import Model
    from labtrack.models.uris import download_model

    meta = Model.load(download_model(f"models:/{output.model_id}"))
    assert meta.signature.inputs.names()[:2] == list(X.columns[:2])


def test_inside_an_active_run_and_disable(autolog, cancer) -> None:
    lt = autolog
    X, y, _, _ = cancer
    lt.lightgbm.autolog(log_models=False, log_datasets=False)
    with lt.start_run() as run:
        lightgbm.train({"objective": "binary", **QUIET}, lightgbm.Dataset(X, y), 5)
    logged = lt.get_run(run.info.run_id)
    assert logged.data.params["objective"] == "binary"
    assert logged.outputs.model_outputs == []
    assert logged.inputs.dataset_inputs == []
    lt.lightgbm.autolog(disable=True)
    assert core.get_config("lightgbm") is None
    lightgbm.train({"objective": "binary", **QUIET}, lightgbm.Dataset(X, y), 2)
    assert len(lt.search_runs(output_format="list")) == 1
    assert not hasattr(lightgbm.train, "__labtrack_autolog_original__")


def test_autolog_never_breaks_training(autolog, cancer, monkeypatch) -> None:
    """A failure in autolog's own logging is a warning; the user's booster comes back."""
    lt = autolog
    X, y, _, _ = cancer
    lt.lightgbm.autolog()
    from labtrack import lightgbm as labtrack_lightgbm

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(labtrack_lightgbm, "log_model", broken)
    with pytest.warns(UserWarning, match="logging the model failed: OSError: disk full"):
        booster = lightgbm.train({"objective": "binary", **QUIET}, lightgbm.Dataset(X, y), 3)
    assert booster.current_iteration() == 3
    assert _only_run(lt).info.status == "FINISHED"


def test_lt_autolog_enables_lightgbm(autolog, cancer) -> None:
    lt = autolog
    X, y, _, _ = cancer
    lt.autolog()
    lightgbm.LGBMRegressor(n_estimators=3, **QUIET).fit(X, y.astype(float))
    run = _only_run(lt)
    assert run.data.tags["mlflow.autologging"] == "lightgbm"


def test_save_and_load_a_booster_package(tmp_path, cancer) -> None:
    """The package has MLflow's lightgbm layout: model.lgb in LightGBM's text format."""
    from labtrack import lightgbm as labtrack_lightgbm
    from labtrack.models.model import Model

    X, y, Xv, _ = cancer
    booster = lightgbm.train({"objective": "binary", **QUIET}, lightgbm.Dataset(X, y), 4)
    labtrack_lightgbm.save_model(booster, tmp_path / "pkg", input_example=X.head(2))
    meta = Model.load(str(tmp_path / "pkg"))
    assert meta.flavors["lightgbm"]["data"] == "model.lgb"
    assert meta.flavors["lightgbm"]["model_class"] == "lightgbm.basic.Booster"
    assert meta.flavors["python_function"]["loader_module"] == "mlflow.lightgbm"
    assert (tmp_path / "pkg" / "model.lgb").read_text().startswith("tree")
    loaded = labtrack_lightgbm.load_model(str(tmp_path / "pkg"))
    np.testing.assert_allclose(loaded.predict(Xv), booster.predict(Xv))
    with pytest.raises(Exception, match="Not a LightGBM model"):
        labtrack_lightgbm.save_model(pd.DataFrame(), tmp_path / "bad")
