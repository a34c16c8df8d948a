"""The micro-batch a GPU job trains with (worker/engine/micro_batch.py): the choice from
measured step memory, a CPU keeping its own, and the estimate saying so. The measurement itself
needs CUDA: tests/gpu/test_auto_micro_batch.py."""

from __future__ import annotations

import pytest

from worker.engine.adapters import apply_adapter
from worker.engine.config import AdapterConfig, JobSettings, PlacementConfig, TrainingConfig
from worker.engine.estimate import DeviceProfile, estimate_job
from worker.engine.micro_batch import largest_fitting
from worker.engine.models import load_model, load_model_config
from worker.engine.training import train_adapter

GPU = DeviceProfile(
    kind="cuda", name="test gpu", dtype="bfloat16", matmul_flops=5e14, memory_bytes=80 * 2**30
)
RECORDS = [
    {"instruction": f"Add {a} and {b}.", "input": "", "output": f"{a + b}", "answer": str(a + b)}
    for a in range(4)
    for b in range(4)
]


@pytest.mark.parametrize(
    ("batch", "floor", "fits_examples", "chosen"),
    [
        (16, 4, 16, 16),  # the whole batch fits: one forward per step
        (16, 4, 15, 8),  # 16 does not: the next divisor
        (16, 4, 3, 4),  # not even the floor fits: the floor stays (the user's own choice)
        (12, 4, 7, 6),  # divisors only: 7 is not one
        (12, 5, 100, 12),  # the floor need not divide; what is chosen does
        (4, 4, 100, 4),
    ],
)
def test_the_largest_divisor_that_fits_wins(batch, floor, fits_examples, chosen):
    fixed, per_example = 1000, 10
    budget = fixed + fits_examples * per_example
    assert largest_fitting(batch, floor, fixed, per_example, budget) == chosen


def test_a_cpu_trains_with_its_own_micro_batch(tmp_path):
    loaded = load_model("tiny:llama", "fp32")
    model = apply_adapter(
        loaded.model,
        AdapterConfig(method="lora", placement=PlacementConfig(), params={"r": 4, "alpha": 8}),
    )
    cfg = TrainingConfig(
        max_steps=1, batch_size=8, micro_batch_size=2, warmup_steps=0, val_set_size=0, cutoff_len=32
    )
    assert cfg.auto_micro_batch  # the default: it applies on GPUs only
    result = train_adapter(model, loaded.tokenizer, RECORDS, [], cfg, tmp_path, learning_rate=1e-3)
    assert result.micro_batch_size == 2 and result.steps == 1


@pytest.mark.parametrize("auto", [True, False])
def test_the_estimate_says_when_a_gpu_will_raise_it(auto):
    settings = JobSettings.model_validate(
        {
            "base_model": "tiny:llama",
            "adapter": {"method": "lora"},
            "training": {"batch_size": 16, "micro_batch_size": 4, "auto_micro_batch": auto},
        }
    )
    estimate = estimate_job(settings, load_model_config("tiny:llama").to_dict(), GPU)
    said = [n for n in estimate.notes if "auto_micro_batch" in n]
    assert bool(said) == auto
