"""The rows a continuous greedy batch decodes, and their key/value cache, kept in slots.

transformers' DynamicCache concatenates each new column onto every layer's keys and values, so a
decoding step copies the whole cache, and dropping a finished row copies it again. Here each
layer's keys and values live in one zeroed buffer of (slots, heads, columns, head dim): a step
writes its column in place; a finished row's slot is refilled by a waiting prompt; the live window
of columns [start, end) moves right as rows finish and tokens are added. Copies are rare: the
window goes back to the buffer's left edge once it reaches the right one (at most every
`HEADROOM` steps), the buffer grows when rows outgrow it, and live rows are packed together only
once no prompt is waiting and they fill at most half the slots in use.

Rows are right-aligned as in a left-padded batch: a row's mask is 0 on the columns before its
first token. A buffer is zeroed when made, so the masked columns attention skips hold finite
numbers (0 weight times garbage could be NaN)."""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

HEADROOM = 64  # columns kept free to the right of the window
# The model gets the used slots rounded up to a multiple of this: a CPU's matmul library builds a
# kernel per new shape (~0.8 ms each, ~6 shapes a step), and a batch shrinking one row at a time
# would build them at every step.
ROW_STEP = 8


def cache_layers(cache: Any) -> list[Any]:
    """The layers of a cache a forward returned, which must be DynamicCache's plain layers."""
    layers = list(getattr(cache, "layers", []))
    if not layers or any(type(layer) is not DynamicLayer for layer in layers):
        raise TypeError(f"continuous decoding needs plain DynamicCache layers, got {type(cache)}")
    return layers


class SlotLayer(DynamicLayer):
    """One layer of the batch's cache: the model's `update` writes into the batch's buffers."""

    def __init__(self, batch: SlotBatch, index: int) -> None:
        super().__init__()
        self.batch, self.index = batch, index
        self.is_initialized = True

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        self.keys, self.values = self.batch.write(self.index, key_states, value_states)
        return self.keys, self.values

    def get_seq_length(self) -> int:
        return self.batch.end - self.batch.start


class SlotBatch:
    """Up to `slots` rows decoded together: their cache (`cache`, for the model's forward), mask,
    example index and generated tokens. Slots [0, rows) go through the model; a free slot among
    them decodes a dummy token whose output is never read."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.used = 0
        self.start = self.end = 0
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []
        self.mask = torch.zeros((slots, 0), dtype=torch.long)  # (slots, columns); 1 = real token
        self.example: list[int | None] = [None] * slots  # example index per slot; None = free
        self.tokens: list[list[int]] = [[] for _ in range(slots)]
        self.next_token = [0] * slots
        self.cache = DynamicCache()

    # --- what the loop reads
    @property
    def live(self) -> list[int]:
        return [s for s in range(self.used) if self.example[s] is not None]

    def __len__(self) -> int:
        return sum(e is not None for e in self.example[: self.used])

    @property
    def rows(self) -> int:
        """The slots the model gets: those used, rounded up to a multiple of ROW_STEP."""
        return min(self.slots, -(-self.used // ROW_STEP) * ROW_STEP)

    @property
    def columns(self) -> int:
        return self.mask.shape[1]

    # --- the model's side
    def write(
        self, layer: int, keys: torch.Tensor, values: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Stores a forward's new columns (all used slots) at `end`; returns the window with them."""
        stop = self.end + keys.shape[-2]
        rows = self.rows
        self.keys[layer][:rows, :, self.end : stop] = keys
        self.values[layer][:rows, :, self.end : stop] = values
        return (
            self.keys[layer][:rows, :, self.start : stop],
            self.values[layer][:rows, :, self.start : stop],
        )

    def step_inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The next token, the mask and the position of each used slot for one decoding step."""
        if self.end == self.columns:
            self._place(0, max(self.columns, self.end - self.start + HEADROOM))
        rows = self.rows
        self.mask[:rows, self.end] = 1
        mask = self.mask[:rows, self.start : self.end + 1]
        ids = torch.tensor(self.next_token[:rows])[:, None]
        return ids, mask, mask.sum(1, keepdim=True) - 1

    def stepped(self) -> None:
        self.end += 1

    # --- rows joining and leaving
    def join(
        self,
        indices: list[int],
        cache: Any,
        mask: torch.Tensor,
        first: list[int],
        group_rows: list[int],
    ) -> None:
        """Rows `group_rows` of a prefilled group (its cache and (group, length) mask) join as
        the examples `indices`, whose first generated tokens are `first`."""
        layers = cache_layers(cache)
        length = mask.shape[1]
        if not self.keys:
            self._allocate(layers, length + HEADROOM)
        if not len(self):
            self.used, self.start, self.end = 0, 0, 0
        width = self.end - self.start
        if length > width:  # the window widens to the left
            if self.end < length:
                self._place(length - width, max(length + HEADROOM, self.columns))
            self.mask[: self.rows, self.end - length : self.start] = 0
            self.start = self.end - length
        free = [s for s in range(self.used) if self.example[s] is None]
        slots = (free + list(range(self.used, self.slots)))[: len(indices)]
        self.used = max(self.used, max(slots) + 1)
        where, pick = torch.tensor(slots), torch.tensor(group_rows)
        on = self.keys[0].device
        where_on, pick_on = where.to(on), pick.to(on)  # once, not per layer
        left = self.end - length
        for mine_k, mine_v, theirs in zip(self.keys, self.values, layers, strict=True):
            mine_k[where_on, :, left : self.end] = theirs.keys[pick_on]
            mine_v[where_on, :, left : self.end] = theirs.values[pick_on]
        self.mask[where] = 0
        self.mask[where, left : self.end] = mask[pick]
        for slot, index, token in zip(slots, indices, first, strict=True):
            self.example[slot] = index
            self.tokens[slot] = [token]
            self.next_token[slot] = token

    def finish(self, slots: list[int], *, pack: bool) -> None:
        """Frees `slots`; drops the columns no live row uses; packs the live rows into the first
        slots when `pack` (no prompt waiting to refill them) and they fill at most half."""
        for slot in slots:
            self.example[slot] = None
        while self.used and self.example[self.used - 1] is None:
            self.used -= 1
        live = self.live
        if not live:
            self.used = 0
            self.start = self.end
            return
        real = self.mask[live, self.start : self.end].amax(0)
        self.start += int(real.argmax())  # the first column some live row uses
        if pack and len(live) <= self.used // 2:
            where = torch.tensor(live)
            on = where.to(self.keys[0].device)
            for buffer in (*self.keys, *self.values):
                buffer[: len(live), :, self.start : self.end] = buffer[on, :, self.start : self.end]
            self.mask[: len(live)] = self.mask[where]
            for new, old in enumerate(live):
                self.example[new] = self.example[old]
                self.tokens[new] = self.tokens[old]
                self.next_token[new] = self.next_token[old]
            for slot in range(len(live), self.used):
                self.example[slot] = None
            self.used = len(live)

    # --- the buffers
    def _allocate(self, layers: list[Any], columns: int) -> None:
        for layer in layers:
            _, heads, _, key_dim = layer.keys.shape
            value_dim = layer.values.shape[-1]
            like = layer.keys
            self.keys.append(like.new_zeros((self.slots, heads, columns, key_dim)))
            self.values.append(like.new_zeros((self.slots, heads, columns, value_dim)))
        self.mask = torch.zeros((self.slots, columns), dtype=torch.long)
        self.cache.layers = [SlotLayer(self, i) for i in range(len(layers))]

    def _place(self, left: int, columns: int) -> None:
        """Moves the window to start at column `left` of buffers `columns` wide (new ones when
        the width changes)."""
        width = self.end - self.start
        if columns != self.columns:
            for buffers in (self.keys, self.values):
                for i, old in enumerate(buffers):
                    new = old.new_zeros((*old.shape[:2], columns, old.shape[-1]))
                    new[:, :, left : left + width] = old[:, :, self.start : self.end]
                    buffers[i] = new
            mask = torch.zeros((self.slots, columns), dtype=torch.long)
            mask[:, left : left + width] = self.mask[:, self.start : self.end]
            self.mask = mask
        else:
            rows = self.rows
            for buffer in (*self.keys, *self.values):
                buffer[:rows, :, left : left + width] = buffer[
                    :rows, :, self.start : self.end
                ].clone()
            self.mask[:rows, left : left + width] = self.mask[:rows, self.start : self.end].clone()
            self.mask[:rows, left + width :] = 0
        self.start, self.end = left, left + width
