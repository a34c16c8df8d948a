"""LoRA merged into the base weights while an evaluation decodes, the originals back afterwards.

Decoding runs the model once per token; unmerged, each LoRA layer adds two small matmuls, a
cast of its input to the adapter's fp32 and back, a scaling and an add (on the demo model at
bf16: 10 of 17 matmuls per layer, ~37 % of an SVAMP evaluation's time). Merged, the layer is one
matmul. The merged weight is computed in fp32 and rounded once to the base's dtype, into a new
tensor: the base's own tensor is kept and put back, so evaluations during training never drift
the frozen base (an in-place merge and unmerge in bf16 would not restore it exactly).

Only plain LoRA on dense linear layers merges (no DoRA or other variants, no LoRA bias, no
quantized base), and only while the merged copies fit in a small share of free memory; anything
else decodes unmerged, as before."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from .continuous import free_memory_bytes

log = logging.getLogger(__name__)

# Merged copies of the targeted weights may take up to this share of free memory.
_MEMORY_SHARE = 0.25


def _mergeable(layer: Any) -> list[str] | None:
    """The adapters to merge into this layer, or None where it cannot merge."""
    from peft.tuners.lora.layer import Linear

    if type(layer) is not Linear or layer.merged or layer.disable_adapters:
        return None
    weight = getattr(layer.get_base_layer(), "weight", None)
    if not isinstance(weight, torch.Tensor) or not weight.is_floating_point():
        return None
    names = [a for a in layer.active_adapters if a in layer.lora_A]
    if not names or any(a in layer.lora_variant or layer.lora_bias[a] for a in names):
        return None
    return names


def _add_delta(merged: torch.Tensor, layer: Any, name: str) -> None:
    """merged += peft's get_delta_weight(name) in fp32: scaling * (B @ A), transposed for a
    fan-in-fan-out (Conv1D) layer."""
    a = layer.lora_A[name].weight.float()
    b = layer.lora_B[name].weight.float()
    if layer.fan_in_fan_out:
        merged.addmm_(a.T, b.T, alpha=layer.scaling[name])
    else:
        merged.addmm_(b, a, alpha=layer.scaling[name])


@contextmanager
def lora_merged(model: Any) -> Iterator[int]:
    """Within: every mergeable LoRA layer of `model` computes as one merged matmul; yields how
    many layers merged (0: the model runs as it was). The base weights are back afterwards,
    even after an error."""
    plan = [(layer, names) for layer in model.modules() if (names := _mergeable(layer))]
    if not plan:
        yield 0
        return
    base = plan[0][0].get_base_layer().weight
    needed = sum(layer.get_base_layer().weight.nbytes for layer, _ in plan)
    if needed > _MEMORY_SHARE * free_memory_bytes(base.device):
        log.info("LoRA not merged for evaluation: %d MiB of merged weights", needed >> 20)
        yield 0
        return
    saved: list[tuple[Any, torch.Tensor]] = []
    try:
        with torch.no_grad():
            # One fp32 buffer for every layer's sum, the delta added in place by one addmm: a
            # fresh fp32 copy, delta, scaled delta and sum per layer made the demo model's 210
            # merges take 0.2-1.4 s (page faults on each new block) of a ~7 s evaluation.
            scratch = torch.empty(
                max(layer.get_base_layer().weight.numel() for layer, _ in plan),
                dtype=torch.float32,
                device=base.device,
            )
            for layer, names in plan:
                weight = layer.get_base_layer().weight
                merged = scratch[: weight.numel()].view(weight.shape).copy_(weight)
                for name in names:
                    _add_delta(merged, layer, name)
                saved.append((layer, weight.data))
                weight.data = merged.to(weight.dtype, copy=True)
                layer.merged_adapters.extend(names)
        yield len(saved)
    finally:
        for layer, original in saved:
            layer.get_base_layer().weight.data = original
            layer.merged_adapters.clear()
