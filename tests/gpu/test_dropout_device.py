"""Dropout on a GPU is plain nn.Dropout (worker/engine/dropout.py draws only the dropped
positions on a CPU, where per-element Bernoulli draws are slow; on CUDA they are cheap)."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from tests.gpu.cuda import DEVICES
from worker.engine.dropout import SparseDropout, use_sparse_dropout
from worker.engine.tiny import build_tiny_model

SIZE = (64, 4096)  # above the sparse path's minimum size


def _run(module, x, seed):
    torch.manual_seed(seed)
    y = module(x)
    y.sum().backward()
    return y, x.grad


@pytest.mark.parametrize("device", DEVICES)
def test_sparse_dropout_path_depends_on_the_device(device):
    x = torch.randn(SIZE, device=device, requires_grad=True)
    sparse = SparseDropout(0.1).train()
    y, grad = _run(sparse, x, seed=3)
    name = type(y.grad_fn).__name__
    if device == "cuda":
        # The fallback: nn.Dropout's own kernel, the same mask from the same seed.
        x2 = x.detach().clone().requires_grad_()
        y2, grad2 = _run(nn.Dropout(0.1).train(), x2, seed=3)
        assert "SparseDropout" not in name
        assert torch.equal(y, y2) and torch.equal(grad, grad2)
    else:
        assert "SparseDropout" in name  # the CPU path draws positions
    # Either way: inverted dropout, about 10 % dropped, gradient masked like the output.
    dropped = (y == 0).float().mean().item()
    assert 0.09 < dropped < 0.11
    kept = y != 0
    torch.testing.assert_close(y[kept], x.detach()[kept] / 0.9)
    assert torch.equal(grad == 0, ~kept)


@pytest.mark.parametrize("device", DEVICES)
def test_swapped_model_trains_on_the_device(device):
    model = build_tiny_model("gpt2").to(device).train()  # GPT-2 keeps dropout in its config
    assert use_sparse_dropout(model) > 0
    assert not any(type(m) is nn.Dropout and m.p > 0 for m in model.modules())
    ids = torch.randint(3, 259, (4, 32), device=device)
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
