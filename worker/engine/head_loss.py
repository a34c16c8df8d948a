"""The language-model head and its cross-entropy in one pass, for training.

The model's own loss computes logits for every position, then a log-softmax, then the
backward of both: a float32 (tokens × vocabulary) tensor and its gradient, walked several times
— the largest tensors of a LoRA step (49k–152k vocabularies). Here the head runs only on the
positions that have a label, a chunk of rows at a time, and each chunk's gradient with respect to
the hidden states is computed in the forward pass (the loss is a sum, so its gradient with respect
to the logits, softmax − one-hot, is known there). No logits outlive their chunk and the backward
is one multiplication by the incoming scale.

It replaces the model's loss only where it is exactly that loss: a family whose causal-LM forward
is `head(body(x))` with a plain, frozen linear head, and an adapter that lives inside the body
(LoRA-style or bottleneck; prompt-learning methods change the forward and keep the model's loss).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn

from .data import IGNORE_INDEX
from .families import FAMILIES

# Families whose causal-LM forward is exactly lm_head(body(...)[0]) (no logit scaling or caps).
_PLAIN_HEAD_MODEL_TYPES = frozenset(t for f in FAMILIES.values() for t in f.model_types)
# peft methods that only inject layers, so the base model's forward is the whole forward.
_INJECTING_PEFT_TYPES = frozenset({"LORA", "IA3", "LOHA", "LOKR", "VERA"})
# Rows per chunk: a chunk's float32 logits stay under this many bytes.
_CHUNK_BYTES = 256 * 1024 * 1024
# Rows of a chunk whose softmax is taken at a time: their float32 copy stays small enough to sit
# in cache-friendly, reused memory instead of a fresh mapping per chunk.
_SOFTMAX_ROWS = 64


class HeadScratch:
    """Buffers a training run's head loss reuses from one micro-batch to the next.

    A chunk's logits (up to a few hundred MiB) allocated afresh each time are a fresh mapping on a
    CPU, whose pages the kernel faults in and zeroes again: on the demo model that was ~11 % of a
    bf16 LoRA step. Kept here, they are faulted in once."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, torch.dtype, torch.device], torch.Tensor] = {}

    def take(
        self, name: str, rows: int, cols: int, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        key = (name, dtype, device)
        have = self._buffers.get(key)
        if have is None or have.numel() < rows * cols:
            self._buffers.pop(key, None)  # the old one goes before the new one is allocated
            have = self._buffers[key] = torch.empty(rows * cols, dtype=dtype, device=device)
        return have[: rows * cols].view(rows, cols)


def product_dtype(hidden: torch.Tensor, weight: torch.Tensor) -> torch.dtype:
    """The dtype `hidden @ weight.T` has here: autocast's where it is on (out= products skip
    autocast, so the casts are made by hand), else the inputs' common one."""
    kind = hidden.device.type
    if torch.is_autocast_enabled(kind):
        return torch.get_autocast_dtype(kind)
    return torch.promote_types(hidden.dtype, weight.dtype)


class _HeadCrossEntropy(torch.autograd.Function):
    """Sum over rows of cross_entropy(hidden @ weight.T + bias, targets)."""

    @staticmethod
    def forward(
        ctx: Any,
        hidden: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor | None,
        targets: torch.Tensor,
        chunk_rows: int,
        scratch: HeadScratch | None,
    ) -> torch.Tensor:
        device = hidden.device
        dtype = product_dtype(hidden, weight)
        w = weight.to(dtype)
        b = bias.to(dtype) if bias is not None else None
        store = scratch or HeadScratch()
        vocab = w.shape[0]
        total = torch.zeros((), dtype=torch.float32, device=device)
        grad = torch.empty_like(hidden) if ctx.needs_input_grad[0] else None
        for start in range(0, hidden.shape[0], chunk_rows):
            rows = hidden[start : start + chunk_rows].to(dtype)
            target = targets[start : start + chunk_rows]
            logits = store.take("logits", len(rows), vocab, dtype, device)
            torch.mm(rows, w.T, out=logits)
            if b is not None:
                logits.add_(b)
            # The softmax in float32, a few rows at a time; its gradient (softmax - one-hot) goes
            # back into the logits' buffer, rounded to their dtype as the product needs it.
            for first in range(0, len(rows), _SOFTMAX_ROWS):
                block = logits[first : first + _SOFTMAX_ROWS]
                aim = target[first : first + _SOFTMAX_ROWS]
                if block.dtype == torch.float32:
                    work = block
                else:
                    work = store.take("softmax", len(block), vocab, torch.float32, device)
                    work.copy_(block)
                picked = work.gather(1, aim[:, None]).squeeze(1)
                top = work.amax(1, keepdim=True)
                norm = work.sub_(top).exp_().sum(1, keepdim=True)
                total += (top.squeeze(1) + norm.squeeze(1).log() - picked).sum()
                if grad is not None:
                    work.div_(norm)
                    work[torch.arange(len(aim), device=device), aim] -= 1.0
                    if work is not block:
                        block.copy_(work)
            if grad is not None:
                part = grad[start : start + chunk_rows]
                if part.dtype == dtype:
                    torch.mm(logits, w, out=part)
                else:
                    part.copy_(logits @ w)
        ctx.save_for_backward(grad)
        return total

    @staticmethod
    def backward(ctx: Any, grad_total: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (grad,) = ctx.saved_tensors
        grad_hidden = grad * grad_total.to(grad.dtype) if grad is not None else None
        return grad_hidden, None, None, None, None, None


def head_cross_entropy(
    hidden: torch.Tensor,
    head: nn.Linear,
    targets: torch.Tensor,
    scratch: HeadScratch | None = None,
) -> torch.Tensor:
    """Summed cross-entropy of `head` applied to `hidden` (rows × hidden) against `targets`;
    `scratch` keeps the logits' buffers for the next call (a training run passes one)."""
    chunk = max(1, _CHUNK_BYTES // (4 * head.out_features))
    return _HeadCrossEntropy.apply(hidden, head.weight, head.bias, targets, chunk, scratch)


@dataclass
class FusedCausalLoss:
    body: nn.Module  # the decoder without its head (LlamaModel, GPT2Model, ...)
    head: nn.Linear
    scratch: HeadScratch = field(default_factory=HeadScratch)

    def __call__(
        self, inputs: dict[str, Any], num_items_in_batch: torch.Tensor | int | None
    ) -> torch.Tensor:
        """The causal-LM loss transformers computes: next-token cross-entropy over labelled
        positions, summed and divided by num_items_in_batch when given, else averaged."""
        labels = inputs["labels"]
        kwargs = {k: v for k, v in inputs.items() if k != "labels"}
        hidden = self.body(**kwargs, use_cache=False)[0]
        following = labels[..., 1:]
        keep = following != IGNORE_INDEX
        total = head_cross_entropy(
            hidden[..., :-1, :][keep], self.head, following[keep], self.scratch
        )
        if num_items_in_batch is None:
            return total / keep.sum().clamp(min=1)
        return total / num_items_in_batch


def fused_causal_loss(model: nn.Module) -> FusedCausalLoss | None:
    """The fused loss for `model` (as apply_adapter returned it), or None where the model's
    own loss must be used."""
    from peft import PeftModel

    causal: Any  # the transformers model under the adapter (nn.Module types no methods)
    if isinstance(model, PeftModel):
        config = model.peft_config.get(model.active_adapter)
        peft_type = str(getattr(getattr(config, "peft_type", None), "value", ""))
        if peft_type not in _INJECTING_PEFT_TYPES or getattr(
            config, "alora_invocation_tokens", None
        ):
            return None
        causal = model.get_base_model()
    elif hasattr(model, "get_base_model"):  # BottleneckModel
        wrapper: Any = model
        causal = wrapper.get_base_model()
    else:
        causal = model
    config = getattr(causal, "config", None)
    if getattr(config, "model_type", None) not in _PLAIN_HEAD_MODEL_TYPES:
        return None
    head = causal.get_output_embeddings()
    if type(head) is not nn.Linear or any(p.requires_grad for p in head.parameters()):
        return None
    body = getattr(causal, getattr(causal, "base_model_prefix", ""), None)
    if not isinstance(body, nn.Module) or body is causal:
        return None
    return FusedCausalLoss(body, head)
