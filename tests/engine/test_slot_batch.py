"""The continuous batch's slotted cache: columns written in place, slots refilled, the window moved,
widened and packed without changing any row's keys, values or mask."""

import torch
from transformers import DynamicCache

from worker.engine.evaluation.slot_batch import SlotBatch

LAYERS, HEADS, DIM = 2, 2, 4


def _group(rows: int, length: int, seed: int) -> tuple[DynamicCache, torch.Tensor]:
    """A prefilled group's cache (distinct numbers per row) and its left-padded mask."""
    cache = DynamicCache()
    gen = torch.Generator().manual_seed(seed)
    for layer in range(LAYERS):
        keys = torch.randn(rows, HEADS, length, DIM, generator=gen)
        cache.update(keys, keys + 100, layer)
    mask = torch.ones(rows, length, dtype=torch.long)
    mask[0, :1] = 0  # the first row is one token shorter
    return cache, mask


def _window(batch: SlotBatch, slot: int) -> torch.Tensor:
    return batch.keys[0][slot, :, batch.start : batch.end]


def _step(batch: SlotBatch, value: float) -> None:
    """One decoding step as the model makes it: every layer writes one column for all rows."""
    ids, mask, positions = batch.step_inputs()
    assert ids.shape == (batch.rows, 1) and mask.shape[1] == batch.end - batch.start + 1
    assert int(mask[:, -1].min()) == 1  # no row is all masked
    for layer in range(LAYERS):
        new = torch.full((batch.rows, HEADS, 1, DIM), value)
        keys, values = batch.write(layer, new, new + 100)
        assert keys.shape[2] == mask.shape[1]
    batch.stepped()


def test_joins_widen_the_window_and_packing_keeps_each_rows_cache():
    batch = SlotBatch(4)
    a_cache, a_mask = _group(2, 3, seed=1)
    batch.join([10, 11], a_cache, a_mask, first=[5, 6], group_rows=[0, 1])
    assert batch.example[:2] == [10, 11] and batch.end - batch.start == 3
    assert torch.equal(_window(batch, 1), a_cache.layers[0].keys[1])
    batch.finish([0], pack=False)  # example 10 is done: its slot is free
    assert batch.live == [1]

    b_cache, b_mask = _group(1, 5, seed=2)  # longer than the window: it widens to the left
    batch.join([12], b_cache, b_mask, first=[7], group_rows=[0])
    assert batch.example[:2] == [12, 11] and batch.end - batch.start == 5
    assert torch.equal(_window(batch, 0), b_cache.layers[0].keys[0])
    assert torch.equal(_window(batch, 1)[:, 2:], a_cache.layers[0].keys[1])
    assert batch.mask[1, batch.start : batch.end].tolist() == [0, 0, 1, 1, 1]
    assert batch.mask[0, batch.start : batch.end].tolist() == b_mask[0].tolist()

    _step(batch, 7.0)
    assert torch.equal(_window(batch, 1)[:, -1], torch.full((HEADS, DIM), 7.0))
    batch.finish([0], pack=True)  # one live row of two used: packed into slot 0
    assert batch.live == [0] and batch.example[0] == 11 and batch.tokens[0] == [6]
    # The columns only example 12 used are dropped; example 11's cache is intact.
    assert batch.mask[0, batch.start : batch.end].tolist() == [1, 1, 1, 1]
    expected = torch.cat([a_cache.layers[0].keys[1], torch.full((HEADS, 1, DIM), 7.0)], dim=1)
    assert torch.equal(_window(batch, 0), expected)
    assert torch.equal(
        batch.values[1][0, :, batch.start : batch.end][:, :3], a_cache.layers[1].values[1]
    )


def test_the_window_moves_back_left_when_it_reaches_the_buffers_end():
    batch = SlotBatch(2)
    cache, mask = _group(2, 3, seed=3)
    batch.join([0, 1], cache, mask, first=[1, 1], group_rows=[0, 1])
    columns = batch.columns
    for step in range(columns + 5):
        _step(batch, float(step))
    assert batch.columns >= columns and batch.start < columns  # moved, not grown without bound
    window = _window(batch, 1)
    assert torch.equal(window[:, :3], cache.layers[0].keys[1])
    assert window[:, 3:, 0].tolist()[0] == [float(s) for s in range(columns + 5)]
