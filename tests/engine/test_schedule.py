"""The training plan (worker/engine/schedule.py): the fractions, their caps, the warnings, and
that the Trainer takes the steps and warm-up the plan says."""

import pytest
import torch
from peft import LoraConfig, get_peft_model

from worker.engine.config import VAL_SET_CAP, WARMUP_CAP, TrainingConfig
from worker.engine.progress import ProgressCallback
from worker.engine.schedule import plan_training, validation_size
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model
from worker.engine.training import train_adapter


@pytest.mark.parametrize(
    ("val_set_size", "rows", "held"),
    [
        (0.1, 64, 6),  # the default fraction
        (0.1, 100_000, VAL_SET_CAP),  # capped
        (120, 64, 32),  # a count: never half of the data or more
        (120, 1_000, 120),
        (0, 500, 0),
        (0.5, 9, 4),
        (3, 1, 0),  # one row: nothing to hold out
    ],
)
def test_validation_size(val_set_size, rows, held):
    assert validation_size(val_set_size, rows) == held


def test_defaults_fit_a_small_set():
    # The trial: 64 rows at batch 16 with the old defaults (120 held out, 100 warm-up)
    # trained 2 steps at 5 % of the peak rate; the fractional defaults train 12 at the peak.
    old = plan_training(64, TrainingConfig(val_set_size=120, warmup_steps=100))
    assert (old.training_rows, old.total_steps, old.warmup_steps) == (32, 6, 100)
    assert old.peak_fraction == pytest.approx(5 / 100)
    assert any("never reaches its peak" in w for w in old.warnings)
    assert any("only 6 optimiser steps" in w for w in old.warnings)

    new = plan_training(64, TrainingConfig())
    assert (new.validation_rows, new.training_rows, new.steps_per_epoch) == (6, 58, 4)
    assert (new.total_steps, new.warmup_steps, new.peak_fraction) == (12, 1, 1.0)
    assert new.warnings == []


def test_warmup_ratio_capped_and_steps_win():
    big = plan_training(200_000, TrainingConfig())
    assert big.warmup_steps == WARMUP_CAP < 0.05 * big.total_steps
    assert plan_training(200_000, TrainingConfig(warmup_steps=500)).warmup_steps == 500


@pytest.mark.parametrize(
    ("cfg", "warning"),
    [
        (TrainingConfig(warmup_steps=8, max_steps=10), "more than half of training"),
        (TrainingConfig(batch_size=128, micro_batch_size=4), "larger than the 90 training rows"),
    ],
)
def test_warnings(cfg, warning):
    assert any(warning in w for w in plan_training(100, cfg).warnings)


class _Steps(ProgressCallback):
    def __init__(self):
        self.steps = []

    def on_step(self, info):
        self.steps.append(info)


@pytest.mark.parametrize(
    ("rows", "overrides"),
    [
        # 13 rows in micro-batches of 2 = 7 batches; 3 per step -> 3 steps an epoch (a partial
        # last step), 2 epochs -> 6; warm-up ceil(0.4 * 6) = 3
        (13, {"epochs": 2, "batch_size": 6, "micro_batch_size": 2, "warmup_ratio": 0.4}),
        # warm-up longer than training: the rate stops below its peak, as the plan says
        (8, {"epochs": 1, "batch_size": 2, "micro_batch_size": 2, "warmup_steps": 10}),
    ],
)
def test_trainer_follows_the_plan(tmp_path, rows, overrides):
    records = [
        {"instruction": f"What is {a} plus 2?", "input": "", "output": f"{a + 2}", "answer": ""}
        for a in range(rows)
    ]
    cfg = TrainingConfig(val_set_size=0, seed=1, cutoff_len=64, **overrides)
    plan = plan_training(rows, cfg)
    torch.manual_seed(0)
    model = get_peft_model(build_tiny_model("llama"), LoraConfig(r=2, target_modules=["q_proj"]))
    seen = _Steps()
    peak = 1e-2
    result = train_adapter(
        model, build_byte_tokenizer(), records, [], cfg, tmp_path, learning_rate=peak, progress=seen
    )
    assert result.total_steps == plan.total_steps == len(seen.steps)
    # Update k (from 0) uses k / warm-up of the peak, then decays linearly to 0 at the end.
    total, warm = plan.total_steps, plan.warmup_steps
    expected = [
        peak * (k / warm if k < warm else (total - k) / max(total - warm, 1)) for k in range(total)
    ]
    assert [s.learning_rate for s in seen.steps] == pytest.approx(expected)
    assert max(expected) == pytest.approx(peak * plan.peak_fraction)
