"""Marks for the GPU tests: `gpu` (select them with `-m gpu`), skipped where CUDA is absent.

A test that also means something on a CPU runs on every device in `DEVICES` (the CPU always,
CUDA when present); only the CUDA case carries the `gpu` mark.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

HAS_CUDA = torch.cuda.is_available()
HAS_BNB = importlib.util.find_spec("bitsandbytes") is not None

needs_cuda = [
    pytest.mark.gpu,
    pytest.mark.skipif(not HAS_CUDA, reason="skipped: no CUDA"),
]
needs_bitsandbytes = pytest.mark.skipif(
    not HAS_BNB, reason="skipped: bitsandbytes is not installed (bench/gpu_wheels.sh carries it)"
)

# The CPU case runs everywhere; the CUDA case is a GPU test.
DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("cuda", id="cuda", marks=needs_cuda),
]
