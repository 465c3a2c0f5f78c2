"""Keras 3: ``lt.keras`` packages (MLflow's layout, Keras's own format, loaded in safe mode),
and ``lt.keras.autolog()`` logging what MLflow's does, never breaking training."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from labtrack.autologging import core  # noqa: E402


@pytest.fixture
def autolog(fluent):
    yield fluent
    fluent.keras.autolog(disable=True)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    return x, y


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    return model


def _only_run(lt):
    runs = lt.search_runs(output_format="list")
    assert len(runs) == 1
    return runs[0]


def test_fit_is_logged(autolog, data) -> None:
    lt = autolog
    x, y = data
    lt.keras.autolog(log_every_n_steps=2)
    model = _model()
    history = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0)
    run = _only_run(lt)
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.autologging"] == "keras"
    params = run.data.params
    assert params["epochs"] == "3"
    assert params["batch_size"] == "16"
    assert params["validation_split"] == "0.25"
    assert params["optimizer_name"] == "Adam"
    assert float(params["optimizer_learning_rate"]) == pytest.approx(0.01)
    client = lt.MlflowClient()
    val_loss = client.get_metric_history(run.info.run_id, "val_loss")
    assert [m.step for m in sorted(val_loss, key=lambda m: m.step)] == [0, 1, 2]
    assert [m.value for m in sorted(val_loss, key=lambda m: m.step)] == pytest.approx(
        history.history["val_loss"]
    )
    # 48 training rows / 16 = 3 batches an epoch, 9 in all: every 2nd batch is logged
    loss_steps = {m.step for m in client.get_metric_history(run.info.run_id, "loss")}
    assert {2, 4, 6, 8} <= loss_steps
    names = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert "model_summary.txt" in names
    (inp,) = run.inputs.dataset_inputs
    assert inp.dataset.digest == lt.data.from_numpy(x, targets=y).digest
    (output,) = run.outputs.model_outputs
    loaded = lt.keras.load_model(f"models:/{output.model_id}")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)
    pyfunc = lt.pyfunc.load_model(f"models:/{output.model_id}")
    np.testing.assert_allclose(pyfunc.predict(x), model.predict(x, verbose=0), rtol=1e-5)


def test_user_callbacks_still_run_and_disable(autolog, data) -> None:
    lt = autolog
    x, y = data
    lt.keras.autolog(log_models=False)
    seen = []
    marker = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    with lt.start_run() as run:
        _model().fit(x, y, epochs=2, verbose=0, callbacks=[marker])
    assert seen == [0, 1]
    logged = lt.get_run(run.info.run_id)
    assert "loss" in logged.data.metrics
    assert logged.outputs.model_outputs == []
    lt.keras.autolog(disable=True)
    assert core.get_config("keras") is None
    _model().fit(x, y, epochs=1, verbose=0)
    assert len(lt.search_runs(output_format="list")) == 1


def test_autolog_never_breaks_training(autolog, data, monkeypatch) -> None:
    lt = autolog
    x, y = data
    lt.keras.autolog()
    from labtrack import keras as labtrack_keras

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(labtrack_keras, "log_model", broken)
    with pytest.warns(UserWarning, match="logging the model failed: OSError: disk full"):
        history = _model().fit(x, y, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert _only_run(lt).info.status == "FINISHED"


def test_package_layout_and_safe_loading(tmp_path, data) -> None:
    """MLflow's keras layout (data/model.keras); a Lambda layer's code is refused on load."""
    from labtrack import keras as labtrack_keras
    from labtrack.models.model import Model

    x, _ = data
    labtrack_keras.save_model(_model(), tmp_path / "pkg", input_example=x[:2])
    meta = Model.load(str(tmp_path / "pkg"))
    assert meta.flavors["keras"]["data"] == "data"
    assert meta.flavors["keras"]["keras_backend"] == keras.backend.backend()
    assert meta.flavors["python_function"]["loader_module"] == "mlflow.keras"
    assert (tmp_path / "pkg" / "data" / "model.keras").is_file()
    lam = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2)])
    labtrack_keras.save_model(lam, tmp_path / "lambda")
    with pytest.raises(ValueError, match=r"(?i)unsafe|lambda"):
        labtrack_keras.load_model(str(tmp_path / "lambda"))
