"""``lt.evaluate``: MLflow's default-evaluator metrics (values from scikit-learn's own
functions), artifacts and dataset logged to the run, custom metrics, thresholds, bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk
from sklearn.datasets import load_diabetes, load_iris, make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression

import labtrack as lt
from labtrack.errors import LabtrackException

BINARY_METRICS = {
    "true_negatives",
    "false_positives",
    "false_negatives",
    "true_positives",
    "example_count",
    "accuracy_score",
    "recall_score",
    "precision_score",
    "f1_score",
    "log_loss",
    "roc_auc",
    "precision_recall_auc",
    "score",
}
REGRESSOR_METRICS = {
    "example_count",
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
    "sum_on_target",
    "mean_on_target",
    "r2_score",
    "max_error",
    "mean_absolute_percentage_error",
}


@pytest.fixture(scope="module")
def binary_data() -> tuple[pd.DataFrame, LogisticRegression]:
    X, y = make_classification(
        n_samples=120, n_features=4, n_informative=3, n_redundant=0, random_state=0
    )
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(label=y)
    model = LogisticRegression().fit(df[["a", "b", "c", "d"]], y)
    return df, model


def _artifacts(fluent, run_id: str, path: str | None = None) -> set[str]:
    return {a.path for a in fluent.MlflowClient().list_artifacts(run_id, path)}


def test_binary_classifier_from_a_run_uri(fluent, binary_data) -> None:
    df, model = binary_data
    X, y = df[["a", "b", "c", "d"]], df["label"].to_numpy()
    with fluent.start_run() as run:
        info = fluent.sklearn.log_model(model, name="model", input_example=X[:3])
    with fluent.start_run(run_id=run.info.run_id):
        result = fluent.evaluate(
            f"runs:/{run.info.run_id}/model", df, targets="label", model_type="classifier"
        )
    assert info.model_uri
    assert set(result.metrics) == BINARY_METRICS
    pred, proba = model.predict(X), model.predict_proba(X)[:, 1]
    tn, fp, fn, tp = sk.confusion_matrix(y, pred).ravel()
    expected = {
        "true_negatives": tn,
        "false_positives": fp,
        "false_negatives": fn,
        "true_positives": tp,
        "example_count": len(y),
        "accuracy_score": sk.accuracy_score(y, pred),
        "recall_score": sk.recall_score(y, pred),
        "precision_score": sk.precision_score(y, pred),
        "f1_score": sk.f1_score(y, pred),
        "log_loss": sk.log_loss(y, model.predict_proba(X)),
        "roc_auc": sk.roc_auc_score(y, proba),
        "precision_recall_auc": sk.average_precision_score(y, proba),
        "score": model.score(X, y),
    }
    assert result.metrics == pytest.approx(expected, rel=1e-12)
    assert result.run_id == run.info.run_id
    logged = fluent.get_run(run.info.run_id)
    assert logged.data.metrics == pytest.approx(expected, rel=1e-12)
    files = _artifacts(fluent, run.info.run_id)
    assert {
        "confusion_matrix.vl.json",
        "roc_curve_plot.vl.json",
        "precision_recall_curve_plot.vl.json",
        "eval_results_table.json",
    } <= files
    if lt.evaluation.artifacts.has_matplotlib():
        assert {"confusion_matrix.png", "roc_curve_plot.png"} <= files
    else:
        assert not any(f.endswith(".png") for f in files)
    client = fluent.MlflowClient()
    spec = json.loads(
        Path(client.download_artifacts(run.info.run_id, "roc_curve_plot.vl.json")).read_text()
    )
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    table = json.loads(
        Path(client.download_artifacts(run.info.run_id, "eval_results_table.json")).read_text()
    )
    assert table["columns"] == ["a", "b", "c", "d", "target", "prediction"]
    assert [row[-1] for row in table["data"]] == pred.tolist()
    assert result.tables["eval_results_table"].shape == (120, 6)
    # the evaluation data is the run's input
    (inp,) = [i for i in logged.inputs.dataset_inputs]
    assert inp.dataset.digest == lt.data.from_pandas(df).digest


def test_binary_classifier_lift_and_calibration_curves(fluent, binary_data) -> None:
    """Binary classifiers also get MLflow's lift curve and a calibration curve, whose
    points are the ones scikit-learn and a direct count give."""
    from sklearn.calibration import calibration_curve

    df, model = binary_data
    X, y = df[["a", "b", "c", "d"]], df["label"].to_numpy()
    with fluent.start_run() as run:
        result = fluent.evaluate(model, df, targets="label", model_type="classifier")
    files = _artifacts(fluent, run.info.run_id)
    assert {"lift_curve_plot.vl.json", "calibration_curve_plot.vl.json"} <= files
    assert "lift_curve_plot_vega_lite" in result.artifacts
    client = fluent.MlflowClient()

    def points(name: str) -> list[dict]:
        text = Path(client.download_artifacts(run.info.run_id, f"{name}.vl.json")).read_text()
        spec = json.loads(text)
        return next(iter(spec["datasets"].values()))

    proba = model.predict_proba(X)[:, 1]
    observed, predicted = calibration_curve(y, proba, n_bins=10)
    calibration = points("calibration_curve_plot")
    assert [p["fraction of positives"] for p in calibration] == pytest.approx(observed)
    assert [p["mean predicted probability"] for p in calibration] == pytest.approx(predicted)
    lift = points("lift_curve_plot")
    top = np.argsort(-proba, kind="stable")[:12]  # the top 10% of 120 examples
    expected_lift = y[top].mean() / y.mean()
    assert lift[11]["lift"] == pytest.approx(expected_lift)
    assert lift[-1]["lift"] == pytest.approx(1.0)  # the whole sample is the base rate


def test_multiclass_from_a_registered_model(fluent) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    with fluent.start_run():
        fluent.sklearn.log_model(model, name="iris", registered_model_name="iris-clf")
    result = fluent.evaluate(
        "models:/iris-clf/1", X.assign(species=y), targets="species", model_type="classifier"
    )
    pred, proba = model.predict(X), model.predict_proba(X)
    assert result.metrics == pytest.approx(
        {
            "example_count": 150,
            "score": model.score(X, y),
            "accuracy_score": sk.accuracy_score(y, pred),
            "recall_score": sk.recall_score(y, pred, average="weighted"),
            "precision_score": sk.precision_score(y, pred, average="weighted"),
            "f1_score": sk.f1_score(y, pred, average="weighted"),
            "log_loss": sk.log_loss(y, proba),
            "roc_auc": sk.roc_auc_score(y, proba, average="weighted", multi_class="ovr"),
        },
        rel=1e-12,
    )
    # a new run was started and ended for it, as MLflow does
    run = fluent.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert fluent.active_run() is None
    per_class = result.tables["per_class_metrics"]
    assert per_class["positive_class"].tolist() == [0, 1, 2]
    assert "per_class_metrics.csv" in _artifacts(fluent, result.run_id)


def test_regressor_with_a_plain_function_on_numpy_data(fluent) -> None:
    X, y = load_diabetes(return_X_y=True)
    X, y = X[:80], y[:80]
    reg = LinearRegression().fit(X, y)
    result = fluent.evaluate(reg.predict, X, targets=y, model_type="regressor")
    pred = reg.predict(X)
    mse = sk.mean_squared_error(y, pred)
    assert result.metrics == pytest.approx(
        {
            "example_count": 80,
            "mean_absolute_error": sk.mean_absolute_error(y, pred),
            "mean_squared_error": mse,
            "root_mean_squared_error": math.sqrt(mse),
            "sum_on_target": y.sum(),
            "mean_on_target": y.mean(),
            "r2_score": sk.r2_score(y, pred),
            "max_error": sk.max_error(y, pred),
            "mean_absolute_percentage_error": sk.mean_absolute_percentage_error(y, pred),
        },
        rel=1e-12,
    )
    assert set(result.metrics) == REGRESSOR_METRICS
    assert "residuals_plot.vl.json" in _artifacts(fluent, result.run_id)
    # numpy columns get MLflow's generated names (10 features: feature_01 ... feature_10)
    assert result.tables["eval_results_table"].columns[:2].tolist() == ["feature_01", "feature_02"]


def test_loaded_pyfunc_model_custom_metric_and_predictions_column(fluent, binary_data) -> None:
    df, model = binary_data
    with fluent.start_run():
        info = fluent.sklearn.log_model(model, name="m")
    loaded = fluent.pyfunc.load_model(info.model_uri)

    def false_rate(predictions, targets, metrics):
        return metrics["false_positives"] / len(targets) + 0 * np.sum(predictions)

    metric = lt.models.make_metric(eval_fn=false_rate, greater_is_better=False)
    result = lt.models.evaluate(
        loaded, df, targets="label", model_type="classifier", extra_metrics=[metric]
    )
    assert result.metrics["false_rate"] == result.metrics["false_positives"] / 120
    assert fluent.get_run(result.run_id).data.metrics["false_rate"] == result.metrics["false_rate"]
    # precomputed predictions: no model at all
    scored = df.assign(pred=model.predict(df[["a", "b", "c", "d"]]))
    by_column = fluent.evaluate(
        data=scored, targets="label", predictions="pred", model_type="classifier"
    )
    assert by_column.metrics["accuracy_score"] == result.metrics["accuracy_score"]
    assert "log_loss" not in by_column.metrics  # no probabilities without a model


def test_thresholds_raise_listing_the_failing_metrics(fluent, binary_data) -> None:
    df, model = binary_data
    thresholds = {
        "accuracy_score": lt.models.MetricThreshold(threshold=0.99, greater_is_better=True),
        "log_loss": lt.models.MetricThreshold(threshold=0.01, greater_is_better=False),
        "f1_score": lt.models.MetricThreshold(threshold=0.1, greater_is_better=True),
    }
    with pytest.raises(lt.models.ModelValidationFailedException) as err:
        fluent.evaluate(
            model, df, targets="label", model_type="classifier", validation_thresholds=thresholds
        )
    message = str(err.value)
    assert "'accuracy_score'" in message
    assert "'log_loss'" in message
    assert "'f1_score'" not in message
    # the metrics were logged before the validation failed
    assert "accuracy_score" in fluent.last_active_run().data.metrics
    ok = {"f1_score": lt.models.MetricThreshold(threshold=0.1, greater_is_better=True)}
    fluent.evaluate(model, df, targets="label", model_type="classifier", validation_thresholds=ok)


def test_baseline_comparison(fluent, binary_data) -> None:
    df, model = binary_data

    def always_one(frame):
        return np.ones(len(frame), dtype=int)

    need_gain = {
        "accuracy_score": lt.models.MetricThreshold(
            min_absolute_change=0.05, greater_is_better=True
        )
    }
    result = fluent.evaluate(
        model,
        df,
        targets="label",
        model_type="classifier",
        baseline_model=always_one,
        validation_thresholds=need_gain,
    )
    assert result.baseline_model_metrics["accuracy_score"] == pytest.approx(
        (df["label"] == 1).mean()
    )
    with pytest.raises(lt.models.ModelValidationFailedException, match="min_absolute_change"):
        fluent.evaluate(
            always_one,
            df,
            targets="label",
            model_type="classifier",
            baseline_model=model,
            validation_thresholds=need_gain,
        )
    # MLflow 3's form: compare two results
    weak = fluent.evaluate(always_one, df, targets="label", model_type="classifier")
    lt.validate_evaluation_results(need_gain, result, weak)
    with pytest.raises(lt.models.ModelValidationFailedException):
        lt.validate_evaluation_results(need_gain, weak, result)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model_type": "ranker"}, "Unknown model_type 'ranker'"),
        ({"targets": "missing"}, "target column 'missing' is not in the data"),
        ({"targets": np.zeros(7)}, "120 rows but there are 7 targets"),
        ({"data": "text", "model_type": "regressor"}, "targets must be numeric"),
        ({"model": lambda frame: np.zeros(3)}, "returned 3 predictions for 120 rows"),
    ],
)
def test_bad_input_is_one_clear_error(fluent, binary_data, kwargs, message) -> None:
    df, model = binary_data
    args = {"model": model, "data": df, "targets": "label", "model_type": "classifier"}
    args.update(kwargs)
    if isinstance(args["data"], str):
        args["data"] = df.assign(label=["x", "y"] * 60)
    with pytest.raises(LabtrackException, match=message) as err:
        fluent.evaluate(**args)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_import_labtrack_stays_cheap_with_the_feature_layer() -> None:
    code = textwrap.dedent(
        """
        import sys
        import labtrack as lt
        heavy = [m for m in ("pandas", "numpy", "sklearn", "sqlalchemy", "altair",
                             "labtrack.evaluation", "labtrack.data", "labtrack.autologging")
                 if m in sys.modules]
        print(heavy)
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert res.stdout.strip() == "[]", res.stderr
