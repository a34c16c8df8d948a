"""SparseDropout: nn.Dropout's mask distribution, drawn as gaps between dropped positions."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from worker.engine.adapters import apply_adapter
from worker.engine.config import AdapterConfig, PlacementConfig
from worker.engine.dropout import SparseDropout, dropped_positions, use_sparse_dropout
from worker.engine.tiny import build_tiny_model


@pytest.mark.parametrize("n, p", [(10, 0.5), (1000, 0.05), (250_000, 0.05), (40_000, 0.9)])
def test_positions_are_sorted_distinct_and_in_range(n, p):
    pos = dropped_positions(n, p)
    assert pos.dtype == torch.long
    assert bool((pos[1:] > pos[:-1]).all())
    assert pos.numel() == 0 or (int(pos[0]) >= 0 and int(pos[-1]) < n)


def test_drop_rate_matches_p_overall_and_per_position():
    torch.manual_seed(0)
    n, p, trials = 2000, 0.05, 400
    counts = torch.zeros(n)
    for _ in range(trials):
        counts[dropped_positions(n, p)] += 1
    rate = counts / trials
    # Overall rate within 4 standard errors of p; every position within 6.
    assert abs(float(rate.mean()) - p) < 4 * (p * (1 - p) / (n * trials)) ** 0.5
    assert float((rate - p).abs().max()) < 6 * (p * (1 - p) / trials) ** 0.5
    # Neighbours are independent: the rate of a pair both dropped is p², not p.
    pairs = torch.zeros(())
    torch.manual_seed(1)
    for _ in range(trials):
        mask = torch.zeros(n, dtype=torch.bool)
        mask[dropped_positions(n, p)] = True
        pairs += (mask[1:] & mask[:-1]).sum()
    assert abs(float(pairs) / ((n - 1) * trials) - p * p) < 0.001


def test_empty_and_zero_rate():
    assert dropped_positions(0, 0.3).numel() == 0
    assert dropped_positions(100, 0.0).numel() == 0


def test_forward_and_backward_share_one_mask_with_the_dropout_scale():
    torch.manual_seed(0)
    layer = SparseDropout(0.2).train()
    x = torch.randn(256, 160, requires_grad=True)  # above the small-tensor cut-off
    y = layer(x)
    dropped = y == 0
    assert 0.1 < float(dropped.float().mean()) < 0.3
    assert torch.allclose(y[~dropped], x[~dropped] / 0.8)
    y.backward(torch.ones_like(y))
    assert bool((x.grad[dropped] == 0).all())
    assert torch.allclose(x.grad[~dropped], torch.full_like(x.grad[~dropped], 1 / 0.8))


def test_non_contiguous_input_and_gradient():
    torch.manual_seed(0)
    x = torch.randn(192, 256, requires_grad=True)
    y = SparseDropout(0.3).train()(x.t())
    assert y.shape == (256, 192)
    grad = torch.randn(192, 256).t()  # a non-contiguous incoming gradient
    y.backward(grad)
    dropped = (y == 0).t()
    assert bool((x.grad[dropped] == 0).all())
    assert torch.allclose(x.grad[~dropped], grad.t()[~dropped] / 0.7)


def test_eval_mode_is_identity_and_seed_repeats():
    x = torch.randn(200, 200)
    assert SparseDropout(0.5).eval()(x) is x
    layer = SparseDropout(0.5).train()
    torch.manual_seed(3)
    a = layer(x)
    torch.manual_seed(3)
    assert torch.equal(a, layer(x))


def test_the_sparse_path_is_the_one_taken(monkeypatch):
    import worker.engine.dropout as dropout

    calls = []
    real = dropout.dropped_positions
    monkeypatch.setattr(dropout, "dropped_positions", lambda n, p: calls.append(n) or real(n, p))
    layer = SparseDropout(0.1).train()
    layer(torch.randn(300, 200))
    layer(torch.randn(10, 10))  # small: nn.Dropout's own draw is cheaper
    assert calls == [60_000]


def test_use_sparse_dropout_swaps_lora_dropout_and_keeps_p():
    model = build_tiny_model("llama")
    model = apply_adapter(
        model,
        AdapterConfig(
            method="lora",
            placement=PlacementConfig(modules=["q", "v"]),
            params={"r": 4, "alpha": 8, "dropout": 0.1},
        ),
    )
    before = [m for m in model.modules() if type(m) is nn.Dropout]
    assert before and all(m.p == 0.1 for m in before)
    assert use_sparse_dropout(model) == len(before)
    assert not [m for m in model.modules() if type(m) is nn.Dropout]
    swapped = [m for m in model.modules() if isinstance(m, SparseDropout)]
    assert len(swapped) == len(before) and all(m.p == 0.1 for m in swapped)
    model.train()
    ids = torch.randint(3, 259, (2, 8))
    model(input_ids=ids, labels=ids).loss.backward()  # peft calls it like nn.Dropout
