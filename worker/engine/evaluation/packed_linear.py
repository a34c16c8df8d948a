"""bf16 linear layers on a CPU with their weights packed once for oneDNN while an evaluation decodes.

torch runs a bf16 linear on a CPU through oneDNN, which reorders the plain (out, in) weight into
its blocked layout at every call. At decoding's 8-64 rows that reorder is a large share of the
product: on an AVX-512 BF16 EPYC (2 threads) a 576 -> 1536 product of 64 rows took 0.33 ms plain
and 0.28 packed, 576 -> 576 0.18 and 0.12, the 49,152-token head 11.9 and 9.9 ms; at 8 rows
about 40 % less; at 1,024 rows 1-12 % less. The packed product gives the same values as the
plain one on contiguous input (torch's own freezing path for CPU inference packs the same way).

Only bf16 weights on a CPU whose oneDNN has bf16 kernels are packed, and only while the packed
copies fit in a small share of free memory; a layer called with gradients on runs as it was.
The layers' own forwards are back afterwards, even after an error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn as nn

from ..cpu_features import torch_bf16_kernels
from .continuous import free_memory_bytes

log = logging.getLogger(__name__)

# The row count oneDNN picks its blocking for: the CPU's evaluation batch (continuous.py caps
# it at 64); prefill's larger products ran as fast or faster with it.
_ROWS_HINT = 64
# Packed copies of the weights may take up to this share of free memory.
_MEMORY_SHARE = 0.25


def _packs() -> bool:
    """Whether this torch has oneDNN's bf16 kernels (cpu_features' check) and its linear-packing
    ops."""
    return (
        torch_bf16_kernels()
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    )


class _PackedForward:
    """A linear layer's forward on its packed weight; the layer's own forward under autograd."""

    def __init__(self, layer: nn.Linear) -> None:
        self.layer = layer
        self.packed = torch.ops.mkldnn._reorder_linear_weight(layer.weight.detach(), _ROWS_HINT)
        self.bias = None if layer.bias is None else layer.bias.detach()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or x.dtype != torch.bfloat16:
            return nn.Linear.forward(self.layer, x)
        return torch.ops.mkldnn._linear_pointwise(
            x.contiguous(), self.packed, self.bias, "none", [], ""
        )


@contextmanager
def linears_packed(model: Any) -> Iterator[int]:
    """Within: every bf16 nn.Linear of `model` on a CPU runs on a packed copy of its weight;
    yields how many layers did (0: the model runs as it was)."""
    plan = [
        m
        for m in model.modules()
        if type(m) is nn.Linear
        and m.weight.dtype == torch.bfloat16
        and m.weight.device.type == "cpu"
        and not m.weight.requires_grad
        and "forward" not in vars(m)
    ]
    if not plan or not _packs():
        yield 0
        return
    needed = sum(m.weight.nbytes for m in plan)
    if needed > _MEMORY_SHARE * free_memory_bytes(plan[0].weight.device):
        log.info("bf16 weights not packed for evaluation: %d MiB of copies", needed >> 20)
        yield 0
        return
    patched: list[nn.Linear] = []
    try:
        for layer in plan:
            layer.forward = _PackedForward(layer)  # type: ignore[method-assign,assignment]
            patched.append(layer)
        yield len(patched)
    finally:
        for layer in patched:
            del layer.forward
