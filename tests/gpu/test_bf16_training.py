"""A bf16 training step on CUDA for every adapter method family on tiny models of several
families: the engine's whole training path (train_adapter: Trainer with bf16 autocast, fused
AdamW, the fused head loss where it applies) as a job runs it on a GPU worker."""

from __future__ import annotations

import math

import pytest
import torch

from tests.gpu.cuda import needs_cuda
from worker.engine.adapters import apply_adapter, default_learning_rate
from worker.engine.adapters.registry import REGISTRY
from worker.engine.config import AdapterConfig, PlacementConfig, TrainingConfig
from worker.engine.models import load_model
from worker.engine.training import train_adapter

pytestmark = [
    *needs_cuda,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

# One row per method family of the registry: bottleneck (series and parallel), LoRA-style,
# prompt learning (prefix, prompt tuning, P-tuning) and IA3.
METHODS = {
    "lora": {"r": 8, "alpha": 16, "dropout": 0.05},
    "dora": {"r": 8, "alpha": 16},
    "series": {"bottleneck_size": 32},
    "parallel": {"bottleneck_size": 32},
    "prefix": {"num_virtual_tokens": 4},
    "prompt": {"num_virtual_tokens": 4},
    "ptuning": {"num_virtual_tokens": 4},
    "ia3": {},
}
FAMILIES = ["llama", "bloom", "gpt2", "gpt_neox", "falcon"]

RECORDS = [
    {"instruction": f"Add {a} and {b}.", "input": "", "output": f"{a + b}", "answer": str(a + b)}
    for a in range(5)
    for b in range(5)
]


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("family", FAMILIES)
def test_bf16_training_step_on_cuda(family, method, tmp_path):
    reason = REGISTRY.get(method).refuse(family)
    if reason:
        pytest.skip(f"{method} refuses {family}: {reason}")
    check_bf16_step(family, method, "cuda", tmp_path)


def check_bf16_step(family: str, method: str, device: str, tmp_path) -> None:
    loaded = load_model(f"tiny:{family}", "bf16", device=device)
    assert loaded.dtype == torch.bfloat16 and loaded.device.type == device
    model = apply_adapter(
        loaded.model,
        AdapterConfig(method=method, placement=PlacementConfig(), params=METHODS[method]),
    )
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    before = {n: p.detach().float().clone() for n, p in model.named_parameters() if p.requires_grad}
    cfg = TrainingConfig(
        epochs=1,
        max_steps=2,
        batch_size=4,
        micro_batch_size=2,
        warmup_steps=0,
        val_set_size=0,
        cutoff_len=64,
        seed=3,
    )
    result = train_adapter(
        model,
        loaded.tokenizer,
        RECORDS,
        [],
        cfg,
        tmp_path,
        learning_rate=default_learning_rate(method),
    )
    assert result.steps == 2
    assert result.train_loss is not None and math.isfinite(result.train_loss)
    if device == "cuda":
        assert 0 < result.peak_memory_bytes == torch.cuda.max_memory_allocated()
    trained = dict(model.named_parameters())
    # Trainable weights live in fp32 on the GPU (stable updates); the base stays bf16.
    assert all(trained[n].dtype == torch.float32 for n in before)
    assert all(trained[n].device.type == device for n in before)
    assert any(not torch.equal(trained[n].detach().float(), before[n]) for n in before), (
        "no adapter weight moved in two bf16 steps"
    )
    for name, value in frozen.items():
        assert torch.equal(trained[name].detach(), value), f"frozen {name} changed"
    assert any(v.dtype == torch.bfloat16 for v in frozen.values())
