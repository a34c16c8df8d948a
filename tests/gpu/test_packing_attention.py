"""Packing (padding-free: one row per micro-batch, position ids restarting per example) gives
the same loss as the padded batch of the same examples, on the CPU and on CUDA through the
model's attention implementation (SDPA; flash-attention 2 where the package is installed), which
must keep each example from attending across its neighbours' boundaries.

Tolerances: fp32 runs differ only by the order of summation in attention over rows of different
shape (1e-5 relative); bf16 runs round every matmul to an 8-bit mantissa, in different shapes on
the two sides, so the mean loss agrees to ~1e-3 (1e-2 allowed). A leak across boundaries moves a
random model's loss by far more (checked: two examples packed with positions 0..n-1 differ)."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from tests.gpu.cuda import DEVICES, needs_cuda
from worker.engine.config import TrainingConfig
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model
from worker.engine.training import _RightPaddingCollator, tokenize_records

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

RECORDS = [
    {
        "instruction": f"What is {a} times {b}?" + " Think." * (a % 3),
        "input": "",
        "output": f"{a * b}",
    }
    for a in range(1, 5)
    for b in range(7, 9)
]
# Every family whose attention takes positions from position ids (BLOOM and OPT do not:
# train_adapter refuses packing for them).
FAMILIES = ["llama", "qwen2", "mistral", "gpt2", "gpt_neox", "gptj", "falcon"]


def _losses(family, device, dtype, attn=None):
    tok = build_byte_tokenizer()
    rows = tokenize_records(RECORDS, tok, TrainingConfig(cutoff_len=512))
    assert len({len(r["input_ids"]) for r in rows}) > 1  # lengths differ: padding is real
    model = build_tiny_model(family).to(device, dtype)
    if attn is not None:
        model.set_attn_implementation(attn)
    padded = _RightPaddingCollator(tok, packing=False)(rows)
    packed = _RightPaddingCollator(tok, packing=True)(rows)
    assert packed["input_ids"].shape[0] == 1 and "position_ids" in packed
    assert int((padded["attention_mask"] == 0).sum()) > 0
    out = {}
    with torch.no_grad():
        for name, batch in (("padded", padded), ("packed", packed)):
            batch = {k: v.to(device) for k, v in batch.items()}
            # As in training (train_adapter turns the KV cache off): transformers separates
            # packed examples only when no cache is passed.
            out[name] = float(model(**batch, use_cache=False).loss)
        # Two examples packed with positions 0..n-1 (within the tiny models' 512 positions):
        # attention then crosses the boundary, and the loss is not the padded pair's.
        pair_padded = _RightPaddingCollator(tok, packing=False)(rows[:2])
        pair = _RightPaddingCollator(tok, packing=True)(rows[:2])
        leak = {k: v.to(device) for k, v in pair.items() if k != "position_ids"}
        out["pair_padded"] = float(
            model(**{k: v.to(device) for k, v in pair_padded.items()}, use_cache=False).loss
        )
        out["pair_leaking"] = float(model(**leak, use_cache=False).loss)
    return out


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("family", FAMILIES)
def test_packed_loss_equals_padded_loss_fp32(family, device):
    loss = _losses(family, device, torch.float32)
    assert loss["packed"] == pytest.approx(loss["padded"], rel=1e-5)
    assert abs(loss["pair_leaking"] - loss["pair_padded"]) > 1e-4


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "attn",
    [
        "sdpa",
        pytest.param(
            "flash_attention_2",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("flash_attn") is None, reason="flash_attn not installed"
            ),
        ),
    ],
)
@pytest.mark.parametrize("_", [pytest.param(None, id="cuda-bf16", marks=needs_cuda)])
def test_packed_loss_equals_padded_loss_bf16_cuda(family, attn, _):
    loss = _losses(family, "cuda", torch.bfloat16, attn)
    assert loss["packed"] == pytest.approx(loss["padded"], rel=1e-2)


class _Hook:
    """Records config.use_cache each time the decoder body runs."""

    def __init__(self, body):
        self.seen = []
        body.register_forward_pre_hook(
            lambda module, args: self.seen.append(module.config.use_cache)
        )


def _train(family, packing, tmp_path):
    from worker.engine.adapters import apply_adapter
    from worker.engine.config import AdapterConfig, PlacementConfig
    from worker.engine.training import train_adapter

    model = apply_adapter(
        build_tiny_model(family),
        AdapterConfig(
            method="lora", placement=PlacementConfig(modules=["q", "v"]), params={"r": 4}
        ),
    )
    base = model.get_base_model()
    hook = _Hook(getattr(base, base.base_model_prefix))
    cfg = TrainingConfig(
        epochs=1,
        max_steps=2,
        batch_size=4,
        micro_batch_size=2,
        warmup_steps=0,
        val_set_size=0,
        cutoff_len=512,
        packing=packing,
    )
    train_adapter(model, build_byte_tokenizer(), RECORDS, [], cfg, tmp_path, learning_rate=1e-3)
    return base, hook


@pytest.mark.parametrize("packing", [False, True])
def test_training_runs_without_kv_cache_and_restores_it(packing, tmp_path):
    base, hook = _train("llama", packing, tmp_path)
    assert hook.seen and not any(hook.seen)  # every training forward: no cache
    assert base.config.use_cache is True  # generation afterwards gets its cache back


@pytest.mark.parametrize("family", ["bloom", "opt"])
def test_packing_refused_where_positions_come_from_the_mask(family, tmp_path):
    from worker.engine.errors import ConfigError

    with pytest.raises(ConfigError, match=f"training.packing does not work with {family} models"):
        _train(family, True, tmp_path)
