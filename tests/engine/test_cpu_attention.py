"""bf16 training attention as two products (cpu_attention.py) against transformers' sdpa: values
and gradients, grouped and plain heads, padding and causal masks; sdpa wherever it does not apply."""

from __future__ import annotations

import pytest
import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

import worker.engine.cpu_attention as cpu_attention
from worker.engine.cpu_attention import product_attention, product_attention_in_steps
from worker.engine.tiny import TINY_FAMILIES, build_tiny_model

pytestmark = pytest.mark.filterwarnings("ignore:.*past_key_values. is deprecated:FutureWarning")


class _Module(torch.nn.Module):
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.num_key_value_groups = groups
        self.is_causal = True


def _inputs(batch: int, heads: int, kv_heads: int, length: int, dtype: torch.dtype):
    torch.manual_seed(0)
    q = torch.randn(batch, heads, length, 16, dtype=dtype, requires_grad=True)
    k = torch.randn(batch, kv_heads, length, 16, dtype=dtype, requires_grad=True)
    v = torch.randn(batch, kv_heads, length, 16, dtype=dtype, requires_grad=True)
    return q, k, v


def _padding_mask(batch: int, length: int) -> torch.Tensor:
    mask = torch.ones(batch, 1, length, length, dtype=torch.bool).tril()
    mask[0, :, :, length - 3 :] = False  # the first example right-padded by 3
    return mask


def _run(fn, q, k, v, mask, groups):
    out, _ = fn(_Module(groups), q, k, v, mask, scaling=0.25)
    torch.manual_seed(1)
    grad = torch.randn_like(out)
    if mask is not None:  # padding queries carry no loss, so no gradient
        grad[0, -3:] = 0
    grads = torch.autograd.grad(out, (q, k, v), grad)
    return out, grads


@pytest.mark.parametrize("heads, kv_heads", [(6, 2), (4, 4)], ids=["grouped", "plain"])
@pytest.mark.parametrize("masked", [True, False], ids=["padding-mask", "causal-no-mask"])
def test_products_match_sdpa_in_bf16(heads, kv_heads, masked):
    batch, length = 2, 11
    mask = _padding_mask(batch, length) if masked else None
    q, k, v = _inputs(batch, heads, kv_heads, length, torch.bfloat16)
    want, want_grads = _run(sdpa_attention_forward, q, k, v, mask, heads // kv_heads)
    calls = []
    fallback = lambda *a, **kw: calls.append(1) or sdpa_attention_forward(*a, **kw)  # noqa: E731
    got, got_grads = _run(
        lambda *a, **kw: product_attention(fallback, *a, **kw), q, k, v, mask, heads // kv_heads
    )
    assert calls == []  # the products ran, not sdpa
    assert got.shape == want.shape == (batch, length, heads, 16)
    # Compared where a query has keys to attend to (padding queries differ and carry no loss).
    rows = slice(None, length - 3) if masked else slice(None)
    assert torch.allclose(got[0, rows].float(), want[0, rows].float(), atol=2e-2)
    assert torch.allclose(got[1].float(), want[1].float(), atol=2e-2)
    for have, expected in zip(got_grads, want_grads, strict=True):
        assert torch.isfinite(have.float()).all()
        assert torch.allclose(have.float(), expected.float(), atol=3e-2, rtol=3e-2)


def test_sdpa_runs_outside_bf16_training_or_past_the_memory_cap(monkeypatch):
    calls = []

    def fallback(*a, **kw):
        calls.append(1)
        return sdpa_attention_forward(*a, **kw)

    q32, k32, v32 = _inputs(1, 2, 2, 5, torch.float32)
    product_attention(fallback, _Module(1), q32, k32, v32, None)  # fp32
    q, k, v = _inputs(1, 2, 2, 5, torch.bfloat16)
    with torch.no_grad():  # evaluation
        product_attention(fallback, _Module(1), q, k, v, None)
    product_attention(fallback, _Module(1), q, k, v, None, dropout=0.1)
    product_attention(fallback, _Module(1), q, k, v, torch.zeros(1, 1, 5, 5))  # float mask
    assert len(calls) == 4
    monkeypatch.setattr(cpu_attention, "MAX_KEPT_BYTES", 2 * 5 * 5 * 2 - 1)
    product_attention(fallback, _Module(1), q, k, v, None)
    assert len(calls) == 5


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_a_bf16_models_loss_and_gradients_match_and_the_mapping_is_restored(monkeypatch, family):
    model = build_tiny_model(family).to(torch.bfloat16).train()
    calls = []
    real = cpu_attention._ProductAttention.apply
    monkeypatch.setattr(
        cpu_attention._ProductAttention, "apply", lambda *a: calls.append(1) or real(*a)
    )
    ids = torch.randint(3, 259, (2, 12))
    mask = torch.ones_like(ids)
    mask[0, 9:] = 0
    labels = ids.masked_fill(mask == 0, -100)
    before = ALL_ATTENTION_FUNCTIONS["sdpa"]

    def loss_and_grads():
        model.zero_grad()
        torch.manual_seed(5)  # GPT-2 and OPT keep dropout in their configs
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        return float(loss), [p.grad.float().clone() for p in model.parameters()]

    want, want_grads = loss_and_grads()
    with product_attention_in_steps():
        assert ALL_ATTENTION_FUNCTIONS["sdpa"] is not before
        got, got_grads = loss_and_grads()
    assert ALL_ATTENTION_FUNCTIONS["sdpa"] is before
    # Families whose attention goes through transformers' "sdpa" entry use the products.
    assert len(calls) in (0, model.config.num_hidden_layers)
    if family == "llama":  # grouped heads
        assert calls
    assert abs(got - want) < 1e-2 * abs(want)
    for have, expected in zip(got_grads, want_grads, strict=True):
        cos = torch.nn.functional.cosine_similarity(have.flatten(), expected.flatten(), dim=0)
        # Or both near zero: a key bias's gradient is zero in exact arithmetic (softmax ignores
        # a shift shared by a query's scores), so only rounding is left to compare.
        assert cos > 0.99 or (have - expected).abs().max() < 1e-4
    with pytest.raises(RuntimeError), product_attention_in_steps():
        raise RuntimeError
    assert ALL_ATTENTION_FUNCTIONS["sdpa"] is before
