"""Hugging Face ``Trainer``: ``lt.transformers.autolog()`` logs the training arguments, the
model configuration and every ``Trainer.log`` event, and never breaks training."""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")
import torch  # noqa: E402


@pytest.fixture
def autolog(fluent):
    yield fluent
    fluent.transformers.autolog(disable=True)


class _Pairs(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 16

    def __getitem__(self, i: int) -> dict:
        return {
            "input_ids": torch.tensor([1, (i % 40) + 2, 3]),
            "attention_mask": torch.ones(3, dtype=torch.long),
            "labels": torch.tensor(i % 2),
        }


def _trainer(tmp_path, **extra):
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=8,
        num_labels=2,
    )
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        max_steps=4,
        logging_steps=1,
        per_device_train_batch_size=4,
        learning_rate=1e-3,
        eval_strategy="steps",
        eval_steps=2,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        **extra,
    )
    model = transformers.BertForSequenceClassification(config)
    return transformers.Trainer(
        model=model, args=args, train_dataset=_Pairs(), eval_dataset=_Pairs()
    )


def test_trainer_train_is_logged(autolog, tmp_path) -> None:
    lt = autolog
    lt.transformers.autolog()
    trainer = _trainer(tmp_path)
    trainer.train()
    (run,) = lt.search_runs(output_format="list")
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.autologging"] == "transformers"
    params = run.data.params
    assert params["learning_rate"] == "0.001"  # TrainingArguments
    assert params["max_steps"] == "4"
    assert params["hidden_size"] == "8"  # the model's configuration
    client = lt.MlflowClient()
    loss = sorted(client.get_metric_history(run.info.run_id, "loss"), key=lambda m: m.step)
    expected = [e for e in trainer.state.log_history if "loss" in e]
    assert [m.step for m in loss] == [e["step"] for e in expected]
    assert [m.value for m in loss] == pytest.approx([e["loss"] for e in expected])
    assert [m.step for m in client.get_metric_history(run.info.run_id, "eval_loss")] == [2, 4]
    assert "train_runtime" in run.data.metrics
    # the callback is gone after training: a second train() in a fresh run logs once
    names = [type(c).__name__ for c in trainer.callback_handler.callbacks]
    assert "_LabtrackTrainerAutolog" not in names


def test_inside_an_active_run_and_disable(autolog, tmp_path) -> None:
    lt = autolog
    lt.transformers.autolog()
    with lt.start_run() as run:
        _trainer(tmp_path).train()
    assert "loss" in lt.get_run(run.info.run_id).data.metrics
    lt.transformers.autolog(disable=True)
    _trainer(tmp_path).train()
    assert len(lt.search_runs(output_format="list")) == 1


def test_autolog_never_breaks_training(autolog, tmp_path, monkeypatch) -> None:
    lt = autolog
    lt.transformers.autolog()
    from labtrack.autologging import transformers as autolog_transformers

    def broken(trainer):
        raise RuntimeError("odd config")

    monkeypatch.setattr(autolog_transformers, "_params", broken)
    with pytest.warns(UserWarning, match="logging params failed: RuntimeError: odd config"):
        output = _trainer(tmp_path).train()
    assert output.global_step == 4
    (run,) = lt.search_runs(output_format="list")
    assert run.info.status == "FINISHED"
    assert "loss" in run.data.metrics
