"""The fused LoRA branch of CPU training steps equals peft's: values and gradients, dropout's mask
applied where it should be, and peft's own path wherever the branch does not apply."""

from __future__ import annotations

import pytest
import torch

import worker.engine.lora_branch as lora_branch
from worker.engine.adapters import apply_adapter
from worker.engine.config import AdapterConfig, PlacementConfig
from worker.engine.lora_branch import fusable_layers, fused_branches
from worker.engine.tiny import TINY_FAMILIES, build_tiny_model

pytestmark = pytest.mark.filterwarnings("ignore:.*past_key_values. is deprecated:FutureWarning")


def _lora(dropout: float = 0.0, **params: object) -> AdapterConfig:
    return AdapterConfig(
        method="lora",
        placement=PlacementConfig(modules=["q", "k", "v", "up", "down"]),
        params={"r": 4, "alpha": 8, "dropout": dropout, **params},
    )


def _batch() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    ids = torch.randint(3, 259, (2, 10))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone()}


def _away_from_identity(model: torch.nn.Module) -> None:
    torch.manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.1)


def _loss_and_grads(model: torch.nn.Module) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    model.zero_grad()
    loss = model(**_batch()).loss
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}
    return loss.detach(), grads


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_fused_branch_equals_pefts_forward_and_gradients(family):
    model = apply_adapter(build_tiny_model(family), _lora())
    _away_from_identity(model)
    model.train()
    layers = fusable_layers(model)
    if family == "gpt2":  # Conv1D-shaped layers (fan-in-fan-out) keep peft's path
        assert layers == ()
        return
    assert len(layers) >= 5
    want, want_grads = _loss_and_grads(model)
    with fused_branches(layers):
        got, got_grads = _loss_and_grads(model)
    assert torch.allclose(got, want, rtol=1e-5), (float(got), float(want))
    for name, grad in want_grads.items():
        assert torch.allclose(got_grads[name], grad, rtol=1e-4, atol=1e-6), name


def test_dropout_zeroes_the_drawn_positions_and_rescales(monkeypatch):
    p, scaling = 0.25, 2.0
    torch.manual_seed(0)
    x = torch.randn(3, 5, 8, requires_grad=True)
    a = torch.nn.Linear(8, 4, bias=False)
    b = torch.nn.Linear(4, 6, bias=False)
    positions = torch.tensor([0, 7, 8, 30, 119])
    monkeypatch.setattr(lora_branch, "dropped_positions", lambda n, prob: positions)
    got = lora_branch.lora_branch(x, a, b, p, scaling)
    grad_out = torch.randn_like(got)
    got_grads = torch.autograd.grad(got, (x, a.weight, b.weight), grad_out)

    keep = torch.ones(x.numel())
    keep[positions] = 0
    dropped = x * keep.view_as(x) / (1 - p)
    want = b(a(dropped)) * scaling
    want_grads = torch.autograd.grad(want, (x, a.weight, b.weight), grad_out)
    assert torch.allclose(got, want, atol=1e-6)
    for have, expected in zip(got_grads, want_grads, strict=True):
        assert torch.allclose(have, expected, atol=1e-5)
    assert torch.all(got_grads[0].flatten()[positions] == 0)


def test_under_bf16_autocast_the_adapter_gradients_stay_float32():
    model = apply_adapter(build_tiny_model("llama").to(torch.bfloat16), _lora())
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    _away_from_identity(model)
    model.train()
    layers = fusable_layers(model)
    for layer in layers:  # as a bf16 training step runs them (training.py)
        layer.cast_input_dtype_enabled = False
    with torch.autocast("cpu", dtype=torch.bfloat16):
        want, want_grads = _loss_and_grads(model)
        with fused_branches(layers):
            got, got_grads = _loss_and_grads(model)
    assert abs(float(got) - float(want)) < 2e-2 * abs(float(want))
    for name, grad in want_grads.items():
        assert got_grads[name].dtype == torch.float32
        cos = torch.nn.functional.cosine_similarity(
            got_grads[name].flatten(), grad.flatten(), dim=0
        )
        assert cos > 0.99, (name, float(cos))


def test_outside_a_training_step_and_for_variants_peft_runs_its_own_path():
    model = apply_adapter(build_tiny_model("llama"), _lora(dropout=0.3))
    _away_from_identity(model)
    layers = fusable_layers(model)
    calls = []
    real = lora_branch._LoraBranch.apply
    lora_branch._LoraBranch.apply = lambda *a: calls.append(1) or real(*a)  # type: ignore[method-assign]
    try:
        with fused_branches(layers):
            model.eval()  # evaluation hooks: dropout off, the merged-free peft path
            with torch.no_grad():
                model(**_batch())
            model.train()
            with torch.no_grad():  # no gradients wanted
                model(**_batch())
            assert calls == []
            model(**_batch())
            assert len(calls) == len(layers)
    finally:
        lora_branch._LoraBranch.apply = real  # type: ignore[method-assign]
    dora = apply_adapter(build_tiny_model("llama"), _lora(use_dora=True))
    _away_from_identity(dora)
    dora.train()
    want, _ = _loss_and_grads(dora)
    with fused_branches(fusable_layers(dora)):
        got, _ = _loss_and_grads(dora)
    assert torch.equal(got, want)  # DoRA is a variant: peft's forward, unchanged


def test_the_layers_own_forward_is_back_after_the_step_even_after_an_error():
    model = apply_adapter(build_tiny_model("llama"), _lora())
    layers = fusable_layers(model)
    with pytest.raises(RuntimeError, match="boom"), fused_branches(layers):
        assert all("forward" in vars(layer) for layer in layers)
        raise RuntimeError("boom")
    assert not any("forward" in vars(layer) for layer in layers)
