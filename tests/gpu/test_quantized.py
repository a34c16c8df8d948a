"""4-bit and 8-bit loading with bitsandbytes (CUDA only): a LoRA and a series adapter train a
bf16 step on the quantized base, save, and load again onto a freshly quantized base with the
same outputs. The base is a tiny LLaMA saved as a transformers folder (`path:` reference), so
the real loading path (from_pretrained with a BitsAndBytesConfig) runs."""

from __future__ import annotations

import math

import pytest
import torch

from tests.gpu.cuda import needs_bitsandbytes, needs_cuda
from worker.engine.adapters import apply_adapter, load_adapter, save_adapter
from worker.engine.config import AdapterConfig, PlacementConfig, TrainingConfig
from worker.engine.models import load_model
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model
from worker.engine.training import train_adapter

pytestmark = [
    *needs_cuda,
    needs_bitsandbytes,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

ADAPTERS = {
    "lora": AdapterConfig(
        method="lora",
        placement=PlacementConfig(modules=["q", "k", "v", "up", "down"]),
        params={"r": 8, "alpha": 16, "dropout": 0.05},
    ),
    "series": AdapterConfig(
        method="series", placement=PlacementConfig(), params={"bottleneck_size": 32}
    ),
}
RECORDS = [
    {"instruction": f"Add {a} and {b}.", "input": "", "output": f"{a + b}", "answer": str(a + b)}
    for a in range(5)
    for b in range(5)
]


@pytest.fixture(scope="module")
def base_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-llama")
    build_tiny_model("llama").save_pretrained(folder)
    build_byte_tokenizer().save_pretrained(folder)
    return folder


def _quantized_linears(model):
    import bitsandbytes as bnb

    return [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit | bnb.nn.Linear8bitLt)]


@pytest.mark.parametrize("method", list(ADAPTERS))
@pytest.mark.parametrize("quantization", ["4bit", "8bit"])
def test_quantized_train_save_reload(base_folder, quantization, method, tmp_path):
    reference = f"path:{base_folder}"
    loaded = load_model(reference, "bf16", quantization)
    assert _quantized_linears(loaded.model), "no bitsandbytes layer in the loaded model"
    model = apply_adapter(loaded.model, ADAPTERS[method])
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    cfg = TrainingConfig(
        epochs=1,
        max_steps=2,
        batch_size=4,
        micro_batch_size=2,
        warmup_steps=0,
        val_set_size=0,
        cutoff_len=64,
        seed=5,
        quantization=quantization,
        precision="bf16",
    )
    result = train_adapter(
        model, loaded.tokenizer, RECORDS, [], cfg, tmp_path / "run", learning_rate=1e-2
    )
    assert result.steps == 2 and result.train_loss is not None and math.isfinite(result.train_loss)
    after = dict(model.named_parameters())
    assert any(not torch.equal(after[n].detach(), v) for n, v in before.items())

    ids = loaded.tokenizer(
        ["Add 2 and 3.", "Add 14 and 1, then 7."], padding=True, return_tensors="pt"
    )
    ids = {k: v.to("cuda") for k, v in ids.items()}
    model.eval()
    with torch.no_grad():
        expected = model(**ids).logits.float()
    save_adapter(model, tmp_path / "adapter")

    fresh = load_model(reference, "bf16", quantization)
    with torch.no_grad():
        base_only = fresh.model(**ids).logits.float()
    reloaded = load_adapter(fresh.model, tmp_path / "adapter")
    reloaded.eval()
    with torch.no_grad():
        got = reloaded(**ids).logits.float()
    # Same quantized base (quantization is deterministic), same adapter weights: same logits,
    # up to bf16 kernel noise; and the adapter does change them.
    torch.testing.assert_close(got, expected, rtol=2e-2, atol=2e-2)
    assert (got - base_only).abs().max() > 1e-2, "the reloaded adapter changes nothing"
