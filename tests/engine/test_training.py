"""The Trainer bridge on a tiny LLaMA with a LoRA adapter: what a job relies on."""

import pytest
import torch
from peft import LoraConfig, get_peft_model

from worker.engine.config import TrainingConfig
from worker.engine.head_loss import fused_causal_loss
from worker.engine.progress import EvalInfo, ProgressCallback
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model
from worker.engine.training import train_adapter

RECORDS = [
    {
        "instruction": f"What is {a} plus {b}?",
        "input": "",
        "output": f"The answer is {a + b}.",
        "answer": str(a + b),
    }
    for a in range(6)
    for b in range(6)
]


class Recorder(ProgressCallback):
    def __init__(self, stop_at: int | None = None):
        self.steps, self.evals, self.phases, self.validation = [], [], [], []
        self.stop_at = stop_at

    def on_step(self, info):
        self.steps.append(info)

    def on_eval(self, info):
        self.evals.append(info)

    def on_phase(self, phase):
        self.phases.append(phase)

    def on_validation(self, info):
        self.validation.append(info)

    def should_stop(self):
        return self.stop_at is not None and bool(self.steps) and self.steps[-1].step >= self.stop_at


def _model():
    torch.manual_seed(0)
    return get_peft_model(
        build_tiny_model("llama"),
        LoraConfig(r=4, target_modules=["q_proj", "v_proj", "up_proj", "down_proj"]),
    )


def _train(tmp_path, progress=None, model=None, learning_rate=5e-3, **overrides):
    cfg = TrainingConfig(
        **{
            "epochs": 1,
            "max_steps": 6,
            "batch_size": 4,
            "micro_batch_size": 2,
            "warmup_steps": 0,
            "val_set_size": 0,
            "seed": 7,
            **overrides,
        }
    )
    model = model or _model()
    result = train_adapter(
        model,
        build_byte_tokenizer(),
        RECORDS[:30],
        RECORDS[30:],
        cfg,
        tmp_path,
        learning_rate=learning_rate,
        progress=progress,
    )
    return model, result


def _adapter_state(model):
    return {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}


def test_every_step_is_reported_with_loss_and_lr(tmp_path):
    rec = Recorder()
    _, result = _train(tmp_path, rec)
    assert [s.step for s in rec.steps] == [1, 2, 3, 4, 5, 6]
    assert all(s.loss is not None and s.learning_rate is not None for s in rec.steps)
    assert all(s.total_steps == 6 for s in rec.steps)
    assert rec.steps[-1].fraction == 1.0 and rec.steps[-1].eta_seconds == 0
    assert result.tokens > 0 and result.tokens_per_second > 0 and result.steps == 6
    assert "training" in rec.phases


def test_loss_falls(tmp_path):
    rec = Recorder()
    _train(tmp_path, rec, max_steps=30, learning_rate=3e-2)
    first = sum(s.loss for s in rec.steps[:3]) / 3
    last = sum(s.loss for s in rec.steps[-3:]) / 3
    # A random tiny model starts near ln(vocab); a LoRA on it moves the loss slowly but surely.
    assert last < first - 0.1


@pytest.mark.parametrize("train_on_inputs", [True, False])
def test_fused_head_loss_trains_like_the_models_own_loss(tmp_path, monkeypatch, train_on_inputs):
    import worker.engine.training as training

    rec = Recorder()
    fused_model, fused = _train(tmp_path / "a", rec, train_on_inputs=train_on_inputs)
    assert fused_causal_loss(fused_model) is not None  # the fused path was the one taken
    monkeypatch.setattr(training, "fused_causal_loss", lambda model: None)
    plain_rec = Recorder()
    plain_model, plain = _train(tmp_path / "b", plain_rec, train_on_inputs=train_on_inputs)
    # Same losses step by step (gradient accumulation normalised the same way), same weights.
    assert [s.loss for s in rec.steps] == pytest.approx([s.loss for s in plain_rec.steps], rel=1e-4)
    assert fused.train_loss == pytest.approx(plain.train_loss, rel=1e-4)
    a, b = _adapter_state(fused_model), _adapter_state(plain_model)
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_same_seed_same_run(tmp_path):
    a, b = Recorder(), Recorder()
    _train(tmp_path / "a", a)
    _train(tmp_path / "b", b)
    assert [s.loss for s in a.steps] == [s.loss for s in b.steps]


def test_stop_request_ends_training_at_next_step(tmp_path):
    rec = Recorder(stop_at=2)
    _, result = _train(tmp_path, rec)
    assert result.stopped_early and result.steps == 2


def test_resume_from_checkpoint_matches_uninterrupted_run(tmp_path):
    whole, _ = _train(tmp_path / "whole", save_steps=2)
    _, first = _train(tmp_path / "split", Recorder(stop_at=4), save_steps=2)
    assert first.steps == 4 and (tmp_path / "split" / "checkpoints" / "checkpoint-4").is_dir()
    rec = Recorder()
    resumed, second = _train(tmp_path / "split", rec, save_steps=2, resume=True)
    assert [s.step for s in rec.steps] == [5, 6] and second.steps == 6
    expected, got = _adapter_state(whole), _adapter_state(resumed)
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-4, atol=1e-6)


def test_packing_trains_like_padding(tmp_path):
    padded, packed = Recorder(), Recorder()
    _train(tmp_path / "pad", padded)
    _train(tmp_path / "pack", packed, packing=True)
    # Same examples, different batch order; the first step sees similar data in both.
    assert abs(padded.steps[-1].loss - packed.steps[-1].loss) < 0.5
    assert all(s.loss is not None for s in packed.steps)


def test_evaluate_hook_runs_before_and_every_n_steps(tmp_path):
    calls = []

    def evaluate(model, step):
        assert not model.training  # the hook gets the model; it restores the mode itself
        calls.append(step)
        return [EvalInfo(step=step, benchmark="toy", accuracy=step / 10, correct=step, total=10)]

    def evaluate_in_eval_mode(model, step):
        was = model.training
        model.eval()
        try:
            return evaluate(model, step)
        finally:
            model.train(was)

    rec = Recorder()
    model = _model()
    cfg = TrainingConfig(
        epochs=1, max_steps=6, batch_size=4, micro_batch_size=2, warmup_steps=0, val_set_size=0
    )
    result = train_adapter(
        model,
        build_byte_tokenizer(),
        RECORDS,
        [],
        cfg,
        tmp_path,
        learning_rate=1e-3,
        progress=rec,
        evaluate=evaluate_in_eval_mode,
        eval_every=2,
    )
    assert calls == [0, 2, 4]  # the final step is evaluated by the runner, not twice
    assert [e.step for e in rec.evals] == [0, 2, 4] and len(result.evals) == 3
    assert "evaluating" in rec.phases


def test_validation_loss_reported(tmp_path):
    rec = Recorder()
    model = _model()
    cfg = TrainingConfig(epochs=1, max_steps=4, batch_size=4, micro_batch_size=2, warmup_steps=0)
    train_adapter(
        model,
        build_byte_tokenizer(),
        RECORDS[:30],
        RECORDS[30:],
        cfg,
        tmp_path,
        learning_rate=1e-3,
        progress=rec,
    )
    assert len(rec.validation) == 1 and rec.validation[0].step == 4 and rec.validation[0].loss > 0


def test_gradient_checkpointing_runs(tmp_path):
    rec = Recorder()
    model, result = _train(tmp_path, rec, gradient_checkpointing=True, max_steps=2)
    assert result.steps == 2 and all(s.loss for s in rec.steps)
    assert not model.get_base_model().is_activation_checkpointing


def test_batch_must_be_multiple_of_micro_batch(tmp_path):
    from worker.engine.errors import ConfigError

    with pytest.raises(ConfigError, match="multiple of training.micro_batch_size"):
        _train(tmp_path, batch_size=6, micro_batch_size=4)


def test_cancelled_before_training_skips_the_first_evaluation(tmp_path):
    class Cancelled(Recorder):
        def should_stop(self):
            return True  # cancelled while the model loaded

    calls = []

    def evaluate(model, step):
        calls.append(step)
        return []

    rec = Cancelled()
    cfg = TrainingConfig(
        epochs=1, max_steps=6, batch_size=4, micro_batch_size=2, warmup_steps=0, val_set_size=0
    )
    result = train_adapter(
        _model(), build_byte_tokenizer(), RECORDS, [], cfg, tmp_path,
        learning_rate=1e-3, progress=rec, evaluate=evaluate, eval_every=2,
    )  # fmt: skip
    assert calls == [] and result.stopped_early and result.steps <= 1


@pytest.mark.parametrize("fused", [False, True], ids=["peft-branch", "fused-branch"])
def test_bf16_steps_feed_adapters_bf16_inputs_and_restore_the_cast(tmp_path, monkeypatch, fused):
    """Under autocast an adapter layer's input stays bf16 (no copy to fp32 and back), through
    peft's branch (layers the fused branch does not take, any GPU) and through the fused one
    (lora_branch.py); outside a training step peft's cast is back, so the bf16 model with its
    fp32 adapter still runs."""
    import worker.engine.lora_branch as lora_branch
    import worker.engine.training as training

    fused_inputs = []
    if fused:
        real = lora_branch.lora_branch
        monkeypatch.setattr(
            lora_branch,
            "lora_branch",
            lambda x, *rest: fused_inputs.append(x.dtype) or real(x, *rest),
        )
    else:
        monkeypatch.setattr(training, "fusable_layers", lambda model: ())
    torch.manual_seed(0)
    model = get_peft_model(
        build_tiny_model("llama").to(torch.bfloat16),
        LoraConfig(r=4, target_modules=["q_proj", "v_proj", "up_proj", "down_proj"]),
    )
    layer = model.base_model.model.model.layers[0].mlp.down_proj
    seen = []
    layer.lora_A["default"].register_forward_pre_hook(lambda m, args: seen.append(args[0].dtype))
    cfg = TrainingConfig(epochs=1, max_steps=2, batch_size=4, micro_batch_size=2, val_set_size=0)
    result = train_adapter(
        model, build_byte_tokenizer(), RECORDS, [], cfg, tmp_path, learning_rate=1e-3
    )
    assert result.train_loss is not None and result.train_loss == result.train_loss
    if fused:
        assert seen == [] and fused_inputs and set(fused_inputs) == {torch.bfloat16}
    else:
        assert seen and set(seen) == {torch.bfloat16}
    assert layer.lora_A["default"].weight.dtype == torch.float32  # the optimizer's copy
    assert layer.cast_input_dtype_enabled is True
    seen.clear()
    with torch.no_grad():
        model(input_ids=torch.tensor([[5, 6, 7]]))
    assert seen == [torch.float32]  # peft's own cast, outside autocast
