"""Each integration's ``autolog()`` without its library: one warning naming the library, at
the user's line, nothing enabled; ``silent=True`` stays quiet; ``disable=True`` still works.

The libraries are installed here and cannot be uninstalled inside the test process, so each
module's ``available()`` (its one import check) is patched to answer False."""

from __future__ import annotations

import importlib
import warnings

import pytest

from labtrack.autologging import core

LIBRARIES = {
    "lightgbm": "LightGBM",
    "xgboost": "XGBoost",
    "keras": "Keras 3",
    "transformers": "Hugging Face transformers",
}


@pytest.mark.parametrize("flavor", sorted(LIBRARIES))
def test_autolog_without_its_library_warns_once_and_enables_nothing(
    flavor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = importlib.import_module(f"labtrack.autologging.{flavor}")
    monkeypatch.setattr(module, "available", lambda: False)
    with pytest.warns(UserWarning, match="which is not installed") as caught:
        module.autolog()
    assert [str(w.message) for w in caught] == [
        f"lt.{flavor}.autolog() needs {LIBRARIES[flavor]}, which is not installed: nothing is "
        "logged automatically."
    ]
    assert caught[0].filename == __file__
    assert core.get_config(flavor) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module.autolog(silent=True)
        module.autolog(disable=True)
    assert core.get_config(flavor) is None


def test_pytorch_autolog_disable_does_not_need_lightning(monkeypatch: pytest.MonkeyPatch) -> None:
    from labtrack.autologging import pytorch

    monkeypatch.setattr(pytorch, "lightning_module", lambda: None)
    with pytest.warns(UserWarning, match=r"needs PyTorch Lightning .* with lt\.log_metric\.$"):
        pytorch.autolog()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pytorch.autolog(disable=True)
    assert core.get_config("pytorch") is None


def test_autolog_options_reach_the_config(fluent) -> None:
    """The common options an ``autolog()`` call gives are its flavor's config; the flavor's
    own go to ``options``; ``extra_tags`` is copied."""
    tags = {"team": "a"}
    fluent.lightgbm.autolog(log_input_examples=True, silent=True, extra_tags=tags)
    try:
        config = core.get_config("lightgbm")
        assert config is not None
        assert (config.log_input_examples, config.silent, config.log_models) == (True, True, True)
        assert config.extra_tags == tags
        assert config.extra_tags is not tags
        assert config.options == {"registered_model_name": None}
    finally:
        fluent.lightgbm.autolog(disable=True)
