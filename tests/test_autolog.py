"""Autologging: ``lt.autolog()`` / ``lt.sklearn.autolog()`` log what MLflow's do (params,
training metrics, tags, the model, datasets, a parameter search's child runs, post-training
metrics), and never break the user's training."""

from __future__ import annotations

import importlib.util
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics
from sklearn import metrics as sk
from sklearn.datasets import load_diabetes, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from labtrack.autologging import core
from labtrack.errors import LabtrackException


@pytest.fixture
def autolog(fluent):
    """Autologging on, over a fresh store; off (originals restored) afterwards."""
    yield fluent
    fluent.sklearn.autolog(disable=True)
    fluent.pytorch.autolog(disable=True)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, random_state=0)


def _only_run(lt):
    runs = lt.search_runs(output_format="list")
    assert len(runs) == 1, [r.data.tags.get("estimator_name") for r in runs]
    return runs[0]


def test_classifier_fit_logs_params_metrics_tags_model_and_dataset(autolog, iris) -> None:
    lt = autolog
    X_train, _, y_train, _ = iris
    lt.sklearn.autolog()
    model = LogisticRegression(max_iter=300, C=0.5)
    assert model.fit(X_train, y_train) is model  # fit's own result, untouched
    run = _only_run(lt)
    assert run.info.status == "FINISHED"  # autolog started the run and ended it
    assert run.data.tags["mlflow.autologging"] == "sklearn"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert run.data.params == {k: str(v) for k, v in model.get_params(deep=True).items()}
    pred, proba = model.predict(X_train), model.predict_proba(X_train)
    assert run.data.metrics == pytest.approx(
        {
            "training_accuracy_score": sk.accuracy_score(y_train, pred),
            "training_precision_score": sk.precision_score(y_train, pred, average="weighted"),
            "training_recall_score": sk.recall_score(y_train, pred, average="weighted"),
            "training_f1_score": sk.f1_score(y_train, pred, average="weighted"),
            "training_log_loss": sk.log_loss(y_train, proba),
            "training_roc_auc": sk.roc_auc_score(
                y_train, proba, average="weighted", multi_class="ovo"
            ),
            "training_score": model.score(X_train, y_train),
        },
        rel=1e-12,
    )
    (inp,) = run.inputs.dataset_inputs
    assert inp.dataset.digest == lt.data.from_numpy(X_train, targets=y_train).digest
    assert [(t.key, t.value) for t in inp.tags] == [("mlflow.data.context", "train")]
    loaded = lt.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert loaded.metadata.signature.inputs.to_json()  # a signature was inferred
    np.testing.assert_array_equal(loaded.predict(X_train[:7]), pred[:7])


def test_regressor_in_an_active_run_and_pipeline_params(autolog) -> None:
    lt = autolog
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X, y = X[:100], y[:100]
    lt.autolog()
    pipe = Pipeline([("scale", StandardScaler()), ("reg", LinearRegression())])
    with lt.start_run() as active:
        pipe.fit(X, y)
    run = _only_run(lt)  # the pipeline's steps are not runs of their own
    assert run.info.run_id == active.info.run_id
    assert run.data.params["reg__fit_intercept"] == "True"  # deep params of the pipeline
    pred = pipe.predict(X)
    mse = sk.mean_squared_error(y, pred)
    assert run.data.metrics == pytest.approx(
        {
            "training_mean_squared_error": mse,
            "training_root_mean_squared_error": np.sqrt(mse),
            "training_mean_absolute_error": sk.mean_absolute_error(y, pred),
            "training_r2_score": sk.r2_score(y, pred),
            "training_score": pipe.score(X, y),
        },
        rel=1e-12,
    )
    assert run.inputs.dataset_inputs[0].dataset.digest == lt.data.from_pandas(X).digest


def test_grid_search_has_a_parent_and_capped_child_runs_best_first(autolog, iris) -> None:
    lt = autolog
    X_train, _, y_train, _ = iris
    lt.sklearn.autolog(max_tuning_runs=3)
    grid = {"C": [0.01, 0.1, 1.0, 10.0], "fit_intercept": [True, False]}
    search = GridSearchCV(LogisticRegression(max_iter=300), grid, cv=3).fit(X_train, y_train)
    runs = lt.search_runs(output_format="list")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1  # the candidates' fits are not runs of their own
    parent = parents[0]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 3
    ranks = sorted(c.data.metrics["rank_test_score"] for c in children)
    assert ranks == sorted(search.cv_results_["rank_test_score"])[:3]
    best = min(children, key=lambda c: c.data.metrics["rank_test_score"])
    assert best.data.metrics["mean_test_score"] == pytest.approx(search.best_score_)
    assert best.data.params["max_iter"] == "300"  # the seed estimator's other params
    assert {"mean_test_score", "std_test_score", "mean_fit_time"} <= set(best.data.metrics)
    assert not any(k.startswith("split") for k in best.data.metrics)
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.params["estimator"] == str(LogisticRegression(max_iter=300))
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    files = {a.path for a in lt.MlflowClient().list_artifacts(parent.info.run_id)}
    assert "cv_results.csv" in files
    for name in ("model", "best_estimator"):
        loaded = lt.pyfunc.load_model(f"runs:/{parent.info.run_id}/{name}")
        np.testing.assert_array_equal(loaded.predict(X_train[:5]), search.predict(X_train[:5]))


def test_post_training_metrics_are_named_after_the_dataset_variable(autolog, iris) -> None:
    lt = autolog
    X_train, X_test, y_train, y_test = iris
    lt.sklearn.autolog()
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    run_id = lt.last_active_run().info.run_id
    y_pred = model.predict(X_test)
    acc = sklearn.metrics.accuracy_score(y_test, y_pred)
    sklearn.metrics.accuracy_score(y_test, y_pred, normalize=False)
    score = model.score(X_test, y_test)
    sklearn.metrics.accuracy_score(y_test, y_test)  # not a prediction: nothing logged
    lt.flush()
    metrics = lt.get_run(run_id).data.metrics
    assert metrics["accuracy_score_X_test"] == acc
    assert metrics["accuracy_score-2_X_test"] == sk.accuracy_score(y_test, y_pred, normalize=False)
    assert metrics["LogisticRegression_score_X_test"] == score
    assert len([k for k in metrics if not k.startswith("training_")]) == 3


def test_a_failing_logger_never_breaks_the_fit(autolog, iris, monkeypatch) -> None:
    lt = autolog
    X_train, _, y_train, _ = iris
    lt.sklearn.autolog()

    def broken(*args, **kwargs):
        raise RuntimeError("the tracking store is down")

    from labtrack.client import fluent  # what the integration logs through

    monkeypatch.setattr(fluent, "log_params", broken)
    monkeypatch.setattr(fluent, "log_metrics", broken)
    with pytest.warns(UserWarning, match="the tracking store is down"):
        model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    assert model.predict(X_train[:3]).shape == (3,)  # trained, and returned as usual
    run = _only_run(lt)
    assert run.info.status == "FINISHED"
    assert run.data.params == {}  # what failed is missing; the rest was logged
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    lt.pyfunc.load_model(f"runs:/{run.info.run_id}/model")


def test_a_failure_before_training_still_trains_and_silent_stays_quiet(
    autolog, iris, monkeypatch
) -> None:
    from labtrack.autologging import sklearn as integration

    X_train, _, y_train, _ = iris

    def explode(self) -> None:
        raise ValueError("cannot prepare")

    monkeypatch.setattr(integration.FitSession, "before", explode)
    autolog.sklearn.autolog(silent=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # silent: not one warning
        model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    assert hasattr(model, "coef_")
    autolog.sklearn.autolog()
    with pytest.warns(UserWarning, match="preparing the run failed: ValueError: cannot prepare"):
        LogisticRegression(max_iter=300).fit(X_train, y_train)


def test_the_users_own_error_propagates_and_the_run_fails(autolog) -> None:
    lt = autolog
    lt.sklearn.autolog()
    with pytest.raises(ValueError, match="Found input variables with inconsistent numbers"):
        LogisticRegression().fit(np.zeros((5, 2)), np.zeros(3))
    assert _only_run(lt).info.status == "FAILED"


def test_disable_restores_the_originals(autolog, iris) -> None:
    lt = autolog
    original = LogisticRegression.fit
    lt.sklearn.autolog()
    assert LogisticRegression.fit is not original
    lt.sklearn.autolog(disable=True)
    assert LogisticRegression.fit is original
    assert "predict" not in LogisticRegression.__dict__  # the inherited one is back
    X_train, _, y_train, _ = iris
    LogisticRegression(max_iter=50).fit(X_train, y_train)
    assert lt.search_runs(output_format="list") == []


def test_bad_option_is_a_clear_error(autolog) -> None:
    with pytest.raises(LabtrackException, match="max_tuning_runs must be non-negative"):
        autolog.sklearn.autolog(max_tuning_runs=-1)


def test_log_models_false_and_pandas_input_example(autolog) -> None:
    lt = autolog
    X, y = load_iris(return_X_y=True, as_frame=True)
    lt.sklearn.autolog(log_models=False, log_datasets=False)
    LogisticRegression(max_iter=300).fit(X, y)
    run = _only_run(lt)
    assert run.inputs.dataset_inputs == []
    assert lt.MlflowClient().list_artifacts(run.info.run_id) == []


@pytest.mark.skipif(
    importlib.util.find_spec("lightning") is not None
    or importlib.util.find_spec("pytorch_lightning") is not None,
    reason="PyTorch Lightning is installed: the no-op path does not apply",
)
def test_pytorch_autolog_without_lightning_is_a_warned_no_op(autolog) -> None:
    with pytest.warns(UserWarning, match="needs PyTorch Lightning"):
        autolog.pytorch.autolog()
    assert core.get_config("pytorch") is None


needs_lightning = pytest.mark.skipif(
    importlib.util.find_spec("lightning") is None
    and importlib.util.find_spec("pytorch_lightning") is None,
    reason="PyTorch Lightning is not installed (tests/run_all.sh installs it)",
)


def _lightning_setup():
    """A tiny Lightning regression module (with validation, so ``val_loss`` exists) and its
    data loaders."""
    import torch

    from labtrack.autologging.pytorch import lightning_module

    pl = lightning_module()

    class Tiny(pl.LightningModule):
        def __init__(self, hidden: int = 3, lr: float = 0.1) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.Linear(hidden, 1))

        def _loss(self, batch):
            x, y = batch
            return torch.nn.functional.mse_loss(self.net(x), y)

        def training_step(self, batch, _):
            loss = self._loss(batch)
            self.log("train_loss", loss)
            return loss

        def validation_step(self, batch, _):
            self.log("val_loss", self._loss(batch))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.5)

    torch.manual_seed(0)
    x = torch.randn(32, 2)
    data = torch.utils.data.TensorDataset(x, x.sum(dim=1, keepdim=True))
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    return pl, Tiny, loader


def _trainer(pl, **kwargs):
    return pl.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **kwargs,
    )


@needs_lightning
def test_pytorch_lightning_fit_is_logged(autolog) -> None:
    """As MLflow's: epochs, hyperparameters, the optimizer and its defaults, early stopping
    settings; epoch metrics at step = epoch, step metrics every N steps; the model summary,
    the best checkpoint with its metrics, and the model."""
    lt = autolog
    pl, Tiny, loader = _lightning_setup()
    autolog.pytorch.autolog(log_every_n_step=2)
    stop = pl.callbacks.EarlyStopping(monitor="val_loss", patience=5)
    trainer = _trainer(pl, max_epochs=3, callbacks=[stop])
    trainer.fit(Tiny(hidden=4), loader, loader)
    run = _only_run(lt)
    params = run.data.params
    assert params["epochs"] == "3"
    assert params["hidden"] == "4"
    assert params["lr"] == "0.1"
    assert params["optimizer_name"] == "SGD"
    assert params["momentum"] == "0.5"
    assert params["monitor"] == "val_loss"
    assert params["patience"] == "5"
    assert run.info.status == "FINISHED"
    client = lt.MlflowClient()
    epochs = client.get_metric_history(run.info.run_id, "val_loss")
    assert sorted(m.step for m in epochs) == [0, 1, 2]
    steps = {m.step for m in client.get_metric_history(run.info.run_id, "train_loss")}
    assert {2, 4, 6, 8, 10} <= steps  # 4 batches x 3 epochs, every 2nd global step
    assert "stopped_epoch" in run.data.metrics
    names = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"model_summary.txt", "checkpoints"} <= names
    summary = client.download_artifacts(run.info.run_id, "model_summary.txt")
    with open(summary) as f:
        assert "Sequential" in f.read()
    ckpt = {f.path for f in client.list_artifacts(run.info.run_id, "checkpoints")}
    assert ckpt == {
        "checkpoints/latest_checkpoint.pth",
        "checkpoints/latest_checkpoint_metrics.json",
    }
    metrics_file = "checkpoints/latest_checkpoint_metrics.json"
    with open(client.download_artifacts(run.info.run_id, metrics_file)) as f:
        saved = json.load(f)
    # save_best_only: the checkpoint is the epoch with the lowest val_loss
    assert saved["val_loss"] == pytest.approx(min(m.value for m in epochs))
    assert run.data.tags["mlflow.latest_checkpoint_artifact"] == "checkpoints/latest_checkpoint.pth"
    restored = lt.pytorch.load_checkpoint(Tiny, run.info.run_id)
    assert restored.hparams.hidden == 4
    assert len(lt.get_run(run.info.run_id).outputs.model_outputs) == 1


@needs_lightning
def test_pytorch_lightning_checkpoints_per_epoch(autolog) -> None:
    """``checkpoint_save_best_only=False`` keeps one checkpoint per epoch, each loadable by
    epoch; ``checkpoint=False`` and ``log_models=False`` log neither."""
    lt = autolog
    pl, Tiny, loader = _lightning_setup()
    autolog.pytorch.autolog(checkpoint_save_best_only=False, log_models=False)
    _trainer(pl, max_epochs=2).fit(Tiny(hidden=5), loader, loader)
    run = _only_run(lt)
    client = lt.MlflowClient()
    epochs = {f.path for f in client.list_artifacts(run.info.run_id, "checkpoints")}
    assert epochs == {"checkpoints/epoch_0", "checkpoints/epoch_1"}
    assert lt.pytorch.load_checkpoint(Tiny, run.info.run_id, epoch=1).hparams.hidden == 5
    assert lt.get_run(run.info.run_id).outputs.model_outputs == []
    lt.pytorch.autolog(checkpoint=False, log_models=False)
    with lt.start_run() as second:
        _trainer(pl, max_epochs=1).fit(Tiny(), loader, loader)
    names = {f.path for f in client.list_artifacts(second.info.run_id)}
    assert names == {"model_summary.txt"}


@needs_lightning
def test_pytorch_lightning_autolog_never_breaks_training(autolog, monkeypatch) -> None:
    """A failing checkpoint upload is a warning; the fit completes and the run FINISHES."""
    lt = autolog
    pl, Tiny, loader = _lightning_setup()
    autolog.pytorch.autolog(log_models=False)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pl.Trainer, "save_checkpoint", broken)
    with pytest.warns(UserWarning, match="checkpoint failed: OSError: disk full"):
        _trainer(pl, max_epochs=1).fit(Tiny(), loader, loader)
    run = _only_run(lt)
    assert run.info.status == "FINISHED"
    assert "val_loss" in run.data.metrics


def test_autolog_of_unrelated_frame_data(autolog) -> None:
    """A DataFrame with string labels still trains and logs."""
    lt = autolog
    lt.sklearn.autolog()
    X = pd.DataFrame({"a": [0.0, 1.0, 0.1, 0.9], "b": [1.0, 0.0, 0.8, 0.2]})
    y = np.array(["no", "yes", "no", "yes"])
    LogisticRegression().fit(X, y)
    assert "training_accuracy_score" in _only_run(lt).data.metrics
