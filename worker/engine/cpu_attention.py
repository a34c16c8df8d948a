"""Attention for bf16 training steps on a CPU: two bf16 products and a float32 softmax.

torch's CPU flash-attention kernel walks keys in small blocks, which at training's short
sequences (a few hundred tokens) leaves its bf16 products far from the matmul peak: on a Zen 5
EPYC one layer's forward and backward (micro-batch 4, 9 query and 3 key heads, 200 tokens, 64
dims) took 10.6-11.6 ms, against 4.9 ms as whole-matrix products (scores, then probabilities
times values) with the softmax in float32. So here the scores are one batched product per key
head (its query heads side by side: no keys or values repeated), masked, soft-maxed in float32
and rounded to bf16 probabilities, which are all the backward keeps besides q, k, v and the
output. The cost is memory: those probabilities, batch x heads x length x length bf16 per layer,
which flash attention never stores; calls beyond MAX_KEPT_BYTES (long sequences) keep
transformers' sdpa path, as do dropout, position biases, soft caps, float masks and anything
outside a CPU bf16 training step.

In-process A/B through train_adapter on a Zen 5 EPYC (demo LoRA, 64 examples, three alternating
runs each): 536.8 -> 654.0 tokens/s median. Swapped in by training.py for each CPU bf16 step and
restored after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import torch

# Probabilities one call may keep for its backward (bf16 bytes); beyond it flash attention.
MAX_KEPT_BYTES = 32 * 2**20


def keeps_probabilities(batch: int, heads: int, length: int) -> bool:
    """Whether a call of this size runs as products (and keeps its probabilities)."""
    return batch * heads * length * length * 2 <= MAX_KEPT_BYTES


class _ProductAttention(torch.autograd.Function):
    """softmax(q k^T * scale, masked) v for q (B, G*L, D) grouped per key head, k, v (B, S, D)."""

    @staticmethod
    def forward(
        ctx: Any,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        mask: torch.Tensor | None,
        groups: int,
        scale: float,
    ) -> torch.Tensor:
        count, rows, _ = q.shape
        keys = k.shape[1]
        scores = torch.bmm(q, k.transpose(1, 2)).float().mul_(scale)
        if mask is not None:
            # A finite floor, not -inf: a fully masked row (a padding query) gets an even spread
            # instead of NaNs that would reach the gradients through 0 * NaN.
            scores.view(count, groups, rows // groups, keys).masked_fill_(
                mask.logical_not(), torch.finfo(torch.float32).min
            )
        scores = torch.softmax(scores, dim=-1)
        probs = scores.to(q.dtype)
        out = torch.bmm(probs, v)
        ctx.save_for_backward(q, k, v, probs, out)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        q, k, v, probs, out = ctx.saved_tensors
        grad_out = grad_out.contiguous()
        grad_v = torch.bmm(probs.transpose(1, 2), grad_out)
        grad_probs = torch.bmm(grad_out, v.transpose(1, 2)).float()
        # Softmax backward: p * (dp - sum(dp * p)), the sum taken as sum(grad_out * out) per row.
        row = (grad_out.float() * out.float()).sum(-1, keepdim=True)
        grad_scores = grad_probs.sub_(row).mul_(probs).mul_(ctx.scale).to(q.dtype)
        grad_q = torch.bmm(grad_scores, k)
        grad_k = torch.bmm(grad_scores.transpose(1, 2), q)
        return grad_q, grad_k, grad_v, None, None, None


def _applies(query: torch.Tensor, mask: torch.Tensor | None, dropout: float, kwargs: dict) -> bool:
    if query.device.type != "cpu" or query.dtype != torch.bfloat16:
        return False
    if not torch.is_grad_enabled() or dropout:
        return False
    if mask is not None and mask.dtype != torch.bool:
        return False
    if kwargs.get("position_bias") is not None or kwargs.get("softcap") is not None:
        return False
    if kwargs.get("s_aux") is not None:  # attention sinks
        return False
    batch, heads, length, _ = query.shape
    return keeps_probabilities(batch, heads, length)


def product_attention(
    fallback: Callable[..., tuple[torch.Tensor, Any]],
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, Any]:
    """transformers' attention-function signature after `fallback` (the sdpa function it
    replaces, called wherever this one does not apply)."""
    if not _applies(query, attention_mask, dropout, kwargs) or key.shape[2] != query.shape[2]:
        return fallback(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
            is_causal=is_causal, **kwargs,
        )  # fmt: skip
    batch, heads, length, dim = query.shape
    kv_heads = key.shape[1]
    groups = heads // kv_heads
    scale = scaling if scaling is not None else dim**-0.5
    mask = attention_mask
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    if mask is None and causal and length > 1:
        mask = torch.ones(length, length, dtype=torch.bool, device=query.device).tril()
    if mask is not None:
        # (B or 1, 1, L, S) -> (B*kv_heads, 1, L, S): shared by a key head's query heads.
        mask = mask.expand(batch, kv_heads, length, length).reshape(
            batch * kv_heads, 1, length, length
        )
    q = query.reshape(batch * kv_heads, groups * length, dim)
    k = key.reshape(batch * kv_heads, length, dim)
    v = value.reshape(batch * kv_heads, length, dim)
    out = _ProductAttention.apply(q, k, v, mask, groups, scale)
    out = out.view(batch, heads, length, dim).transpose(1, 2).contiguous()
    return out, None


@contextmanager
def product_attention_in_steps(enabled: bool = True) -> Iterator[None]:
    """Within the `with`, models that ask transformers for "sdpa" attention get product_attention
    (which hands back to that sdpa function wherever it does not apply); restored after."""
    if not enabled:
        yield
        return
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    local = ALL_ATTENTION_FUNCTIONS._local_mapping
    had = "sdpa" in local
    sdpa = ALL_ATTENTION_FUNCTIONS["sdpa"]
    ALL_ATTENTION_FUNCTIONS["sdpa"] = partial(product_attention, sdpa)
    try:
        yield
    finally:
        if had:
            local["sdpa"] = sdpa
        else:
            local.pop("sdpa", None)
