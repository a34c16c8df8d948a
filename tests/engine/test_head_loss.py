"""The fused head loss equals each family's own causal-LM loss, value and adapter gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from worker.engine.adapters import apply_adapter
from worker.engine.config import AdapterConfig, PlacementConfig
from worker.engine.head_loss import fused_causal_loss, head_cross_entropy
from worker.engine.tiny import TINY_FAMILIES, build_tiny_model

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*past_key_values. is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*gradient_checkpointing.* is deprecated:FutureWarning"),
]

ADAPTERS = {
    "lora": AdapterConfig(
        method="lora",
        placement=PlacementConfig(modules=["q", "v", "down"]),
        params={"r": 4, "alpha": 8, "dropout": 0.0},
    ),
    "series": AdapterConfig(method="series", placement=PlacementConfig(), params={}),
    "ia3": AdapterConfig(method="ia3", placement=PlacementConfig(), params={}),
}


def _batch():
    torch.manual_seed(1)
    ids = torch.randint(3, 259, (3, 12))
    mask = torch.ones_like(ids)
    mask[0, 9:] = 0  # right padding
    labels = ids.clone()
    labels[mask == 0] = -100
    labels[1, :5] = -100  # a masked prompt (train_on_inputs=false)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def _adapter_grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("method", list(ADAPTERS))
@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_fused_loss_equals_the_models_loss(family, method):
    model = apply_adapter(build_tiny_model(family), ADAPTERS[method])
    # Start the adapter away from identity so its gradients are not all alike.
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.05)
    model.train()
    fused = fused_causal_loss(model)
    assert fused is not None
    batch = _batch()
    for items in (None, 17):
        extra = {} if items is None else {"num_items_in_batch": items}
        torch.manual_seed(5)  # GPT-2 and OPT keep dropout in their configs
        expected = model(**batch, **extra).loss
        expected.backward()
        want = _adapter_grads(model)
        model.zero_grad()
        torch.manual_seed(5)
        got = fused(batch, items)
        got.backward()
        have = _adapter_grads(model)
        model.zero_grad()
        assert torch.allclose(got, expected, rtol=1e-5, atol=1e-6), (float(got), float(expected))
        for name, grad in want.items():
            assert torch.allclose(have[name], grad, rtol=1e-4, atol=1e-6), name


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_head_cross_entropy_in_chunks(monkeypatch, chunk, bias):
    import worker.engine.head_loss as head_loss

    torch.manual_seed(0)
    head = torch.nn.Linear(16, 50, bias=bias).requires_grad_(False)
    hidden = torch.randn(7, 16, requires_grad=True)
    targets = torch.randint(0, 50, (7,))
    want = F.cross_entropy(head(hidden), targets, reduction="sum")
    (want_grad,) = torch.autograd.grad(want * 2.5, hidden)
    monkeypatch.setattr(head_loss, "_CHUNK_BYTES", chunk * 4 * 50)
    got = head_cross_entropy(hidden, head, targets)
    (got_grad,) = torch.autograd.grad(got * 2.5, hidden)
    assert torch.allclose(got, want, rtol=1e-6)
    assert torch.allclose(got_grad, want_grad, atol=1e-6)


def test_head_scratch_is_reused_across_calls_of_any_size(monkeypatch):
    import worker.engine.head_loss as head_loss

    # Softmax blocks of 2 rows: the float32 block buffer is reused within a chunk too.
    monkeypatch.setattr(head_loss, "_SOFTMAX_ROWS", 2)
    torch.manual_seed(1)
    head = torch.nn.Linear(16, 50, bias=False).to(torch.bfloat16).requires_grad_(False)
    scratch = head_loss.HeadScratch()
    for rows in (9, 4, 12, 9):  # grows, shrinks, grows past the first buffer
        hidden = torch.randn(rows, 16, dtype=torch.bfloat16, requires_grad=True)
        targets = torch.randint(0, 50, (rows,))
        want = F.cross_entropy(head(hidden).float(), targets, reduction="sum")
        (want_grad,) = torch.autograd.grad(want, hidden)
        got = head_cross_entropy(hidden, head, targets, scratch)
        (got_grad,) = torch.autograd.grad(got, hidden)
        assert torch.allclose(got, want, rtol=1e-5)
        assert torch.allclose(got_grad.float(), want_grad.float(), atol=1e-2)
    sizes = {key[0]: buf.numel() for key, buf in scratch._buffers.items()}
    assert sizes == {"logits": 12 * 50, "softmax": 2 * 50}


@pytest.mark.parametrize(
    "adapter",
    [
        AdapterConfig(method="prefix", placement=PlacementConfig(), params={}),
        AdapterConfig(method="prompt", placement=PlacementConfig(), params={}),
    ],
    ids=["prefix", "prompt"],
)
def test_methods_that_change_the_forward_keep_the_models_loss(adapter):
    model = apply_adapter(build_tiny_model("llama"), adapter)
    assert fused_causal_loss(model) is None


def test_an_adapted_or_trainable_head_keeps_the_models_loss():
    from peft import LoraConfig, get_peft_model

    # The engine's placements stay inside the layers; a peft model built by hand can reach the head.
    model = get_peft_model(build_tiny_model("llama"), LoraConfig(r=2, target_modules=["lm_head"]))
    assert fused_causal_loss(model) is None
    model = apply_adapter(build_tiny_model("llama"), ADAPTERS["series"])
    model.get_base_model().lm_head.weight.requires_grad_(True)
    assert fused_causal_loss(model) is None


def test_fused_loss_matches_under_bf16_autocast():
    # The GPU recipe: bf16 base weights, fp32 adapter weights, the Trainer's autocast.
    model = apply_adapter(build_tiny_model("llama").to(torch.bfloat16), ADAPTERS["lora"])
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.float()
            p.data.add_(torch.randn_like(p) * 0.05)
    model.train()
    fused = fused_causal_loss(model)
    batch = _batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = model(**batch).loss
        got = fused(batch, None)
    assert got.dtype == torch.float32
    assert torch.allclose(got, expected, rtol=1e-3), (float(got), float(expected))
    expected.backward()
    want = _adapter_grads(model)
    model.zero_grad()
    got.backward()
    have = _adapter_grads(model)
    for name, grad in want.items():
        assert have[name].dtype == torch.float32
        cos = F.cosine_similarity(have[name].flatten(), grad.flatten(), dim=0)
        assert float(cos) > 0.99, name
