"""The fused head loss equals the model's own causal-LM loss under CUDA autocast (bf16), as the
Trainer runs it on a GPU (`StudioTrainer.compute_loss` enters the accelerator's autocast).

Tolerances: under bf16 autocast both sides compute the logits as bf16 matmuls (8-bit mantissa,
~0.4 % per element), but in different shapes (the fused head a chunk of labelled rows, the model
every position), so the kernels round differently; the loss, a mean over ~30 tokens of float32
log-softmaxes of those logits, then agrees to ~1e-3 relative, and gradients element-wise to a
few percent. So: loss within 1e-2 relative, gradients by cosine similarity > 0.99 (a wrong
gradient, e.g. a missing softmax term or a wrong scale, is far outside either)."""

from __future__ import annotations

import pytest
import torch

from tests.gpu.cuda import needs_cuda
from worker.engine.adapters import apply_adapter
from worker.engine.config import AdapterConfig, PlacementConfig
from worker.engine.head_loss import fused_causal_loss
from worker.engine.tiny import build_tiny_model

pytestmark = [*needs_cuda, pytest.mark.filterwarnings("ignore::FutureWarning")]

ADAPTERS = {
    "lora": AdapterConfig(
        method="lora",
        placement=PlacementConfig(modules=["q", "v", "down"]),
        params={"r": 4, "alpha": 8, "dropout": 0.0},
    ),
    "series": AdapterConfig(method="series", placement=PlacementConfig(), params={}),
}


def _batch(device):
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 259, (3, 16), generator=gen)
    mask = torch.ones_like(ids)
    mask[0, 11:] = 0  # right padding
    labels = ids.clone()
    labels[mask == 0] = -100
    labels[1, :6] = -100  # a masked prompt (train_on_inputs=false)
    return {
        k: v.to(device)
        for k, v in {"input_ids": ids, "attention_mask": mask, "labels": labels}.items()
    }


def _grads(model):
    return torch.cat([p.grad.flatten().float() for p in model.parameters() if p.requires_grad])


@pytest.mark.parametrize(
    "weights", [torch.float32, torch.bfloat16], ids=["fp32-weights", "bf16-weights"]
)
@pytest.mark.parametrize("method", list(ADAPTERS))
@pytest.mark.parametrize("family", ["llama", "gpt2", "bloom", "qwen2"])
def test_fused_loss_equals_models_loss_under_cuda_autocast(family, method, weights):
    model = apply_adapter(build_tiny_model(family).to("cuda", weights), ADAPTERS[method])
    with torch.no_grad():  # away from identity, so the adapter's gradients are not trivial
        for p in model.parameters():
            if p.requires_grad:
                p.data = (p.data + torch.randn_like(p) * 0.05).float()
    model.eval()  # no dropout: both sides see the same function
    fused = fused_causal_loss(model)
    assert fused is not None
    batch = _batch("cuda")
    for items in (None, 29):
        extra = {} if items is None else {"num_items_in_batch": items}
        with torch.autocast("cuda", dtype=torch.bfloat16):
            expected = model(**batch, **extra).loss
        expected.backward()
        want = _grads(model)
        model.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            got = fused(batch, items)
        got.backward()
        have = _grads(model)
        model.zero_grad()
        assert got.dtype == torch.float32 and torch.isfinite(got)
        assert float(got) == pytest.approx(float(expected), rel=1e-2)
        cosine = torch.nn.functional.cosine_similarity(have, want, dim=0)
        assert cosine > 0.99, float(cosine)
        assert float(have.norm()) == pytest.approx(float(want.norm()), rel=5e-2)
