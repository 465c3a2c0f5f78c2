"""XGBoost: ``lt.xgboost`` packages load in labtrack (MLflow's flavor layout, no pickle), and
``lt.xgboost.autolog()`` logs what MLflow's does for both of XGBoost's APIs, never breaking
training."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

xgboost = pytest.importorskip("xgboost")

from sklearn.datasets import load_breast_cancer  # noqa: E402

from labtrack.autologging import core  # noqa: E402

QUIET = {"nthread": 1}


@pytest.fixture
def autolog(fluent):
    yield fluent
    fluent.xgboost.autolog(disable=True)
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
    lt.xgboost.autolog()
    train = xgboost.DMatrix(X, y)
    valid = xgboost.DMatrix(Xv, yv)
    params = {"objective": "binary:logistic", "eta": 0.3, "eval_metric": "logloss", **QUIET}
    booster = xgboost.train(
        params,
        train,
        num_boost_round=50,
        evals=[(train, "train"), (valid, "valid")],
        early_stopping_rounds=3,
        verbose_eval=False,
    )
    run = _only_run(lt)
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.autologging"] == "xgboost"
    assert run.data.params["objective"] == "binary:logistic"
    assert run.data.params["eta"] == "0.3"
    assert run.data.params["num_boost_round"] == "50"
    assert run.data.params["early_stopping_rounds"] == "3"
    client = lt.MlflowClient()
    history = client.get_metric_history(run.info.run_id, "valid-logloss")
    assert [m.step for m in history] == list(range(len(history)))
    assert len(client.get_metric_history(run.info.run_id, "train-logloss")) == len(history)
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    assert run.data.metrics["stopped_iteration"] == len(history)
    path = client.download_artifacts(run.info.run_id, "feature_importance_weight.json")
    with open(path) as f:
        weight = json.load(f)
    assert weight == pytest.approx(booster.get_score(importance_type="weight"))
    (output,) = run.outputs.model_outputs
    loaded = lt.xgboost.load_model(f"models:/{output.model_id}")
    np.testing.assert_allclose(loaded.predict(valid), booster.predict(valid))
    pyfunc = lt.pyfunc.load_model(f"models:/{output.model_id}")
    np.testing.assert_allclose(pyfunc.predict(Xv), booster.predict(valid))


def test_sklearn_api_fit_is_logged_once(autolog, cancer) -> None:
    """``XGBClassifier.fit`` calls ``train`` inside: one run, the estimator's params, the
    eval history, datasets, and the estimator (no pickle) as the model."""
    lt = autolog
    X, y, Xv, yv = cancer
    lt.xgboost.autolog(importance_types=["weight", "gain"])
    clf = xgboost.XGBClassifier(n_estimators=12, max_depth=3, **QUIET)
    clf.fit(X, y, eval_set=[(Xv, yv)], verbose=False)
    run = _only_run(lt)
    assert run.data.params["n_estimators"] == "12"
    assert run.data.params["max_depth"] == "3"
    assert run.data.tags["estimator_name"] == "XGBClassifier"
    history = lt.MlflowClient().get_metric_history(run.info.run_id, "validation_0-logloss")
    expected = clf.evals_result()["validation_0"]["logloss"]
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx(expected)
    names = {f.path for f in lt.MlflowClient().list_artifacts(run.info.run_id)}
    assert {"feature_importance_weight.json", "feature_importance_gain.json"} <= names
    contexts = sorted(
        t.value for d in run.inputs.dataset_inputs for t in d.tags if t.key == "mlflow.data.context"
    )
    assert contexts == ["eval", "train"]
    (output,) = run.outputs.model_outputs
    loaded = lt.xgboost.load_model(f"models:/{output.model_id}")
    assert isinstance(loaded, xgboost.XGBClassifier)
    np.testing.assert_array_equal(loaded.predict(Xv), clf.predict(Xv))


def test_inside_an_active_run_and_disable(autolog, cancer) -> None:
    lt = autolog
    X, y, _, _ = cancer
    lt.xgboost.autolog(log_models=False)
    with lt.start_run() as run:
        xgboost.train({"objective": "binary:logistic", **QUIET}, xgboost.DMatrix(X, y), 3)
    logged = lt.get_run(run.info.run_id)
    assert logged.data.params["objective"] == "binary:logistic"
    assert logged.outputs.model_outputs == []
    lt.xgboost.autolog(disable=True)
    assert core.get_config("xgboost") is None
    xgboost.train({"objective": "binary:logistic", **QUIET}, xgboost.DMatrix(X, y), 2)
    assert len(lt.search_runs(output_format="list")) == 1
    assert not hasattr(xgboost.train, "__labtrack_autolog_original__")


def test_autolog_never_breaks_training(autolog, cancer, monkeypatch) -> None:
    lt = autolog
    X, y, _, _ = cancer
    lt.xgboost.autolog()
    from labtrack import xgboost as labtrack_xgboost

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(labtrack_xgboost, "log_model", broken)
    with pytest.warns(UserWarning, match="logging the model failed: OSError: disk full"):
        booster = xgboost.train({"objective": "binary:logistic", **QUIET}, xgboost.DMatrix(X, y), 4)
    assert booster.num_boosted_rounds() == 4
    assert _only_run(lt).info.status == "FINISHED"


def test_lt_autolog_enables_xgboost(autolog, cancer) -> None:
    lt = autolog
    X, y, _, _ = cancer
    lt.autolog()
    xgboost.XGBRegressor(n_estimators=3, **QUIET).fit(X, y.astype(float))
    assert _only_run(lt).data.tags["mlflow.autologging"] == "xgboost"


def test_save_and_load_packages(tmp_path, cancer) -> None:
    """MLflow's xgboost layout: the model file in XGBoost's own format, the class to rebuild
    named in MLmodel (only XGBoost's own classes are rebuilt)."""
    from labtrack import xgboost as labtrack_xgboost
    from labtrack.models.model import Model

    X, y, Xv, _ = cancer
    booster = xgboost.train({"objective": "binary:logistic", **QUIET}, xgboost.DMatrix(X, y), 4)
    labtrack_xgboost.save_model(booster, tmp_path / "pkg", model_format="json")
    meta = Model.load(str(tmp_path / "pkg"))
    assert meta.flavors["xgboost"]["data"] == "model.json"
    assert meta.flavors["xgboost"]["model_class"] == "xgboost.core.Booster"
    assert meta.flavors["python_function"]["loader_module"] == "mlflow.xgboost"
    assert "learner" in json.loads((tmp_path / "pkg" / "model.json").read_text())
    loaded = labtrack_xgboost.load_model(str(tmp_path / "pkg"))
    valid = xgboost.DMatrix(Xv)
    np.testing.assert_allclose(loaded.predict(valid), booster.predict(valid))
    meta.flavors["xgboost"]["model_class"] = "os.system"
    meta.save(str(tmp_path / "pkg" / "MLmodel"))
    with pytest.raises(Exception, match="Unsupported XGBoost model class"):
        labtrack_xgboost.load_model(str(tmp_path / "pkg"))
    with pytest.raises(Exception, match="Not an XGBoost model"):
        labtrack_xgboost.save_model(pd.DataFrame(), tmp_path / "bad")
