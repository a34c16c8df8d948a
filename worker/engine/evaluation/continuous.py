"""Greedy decoding with continuous batching, a shared-prefix KV cache and per-row early stop.

What transformers' batched `generate` does, minus its waste on an evaluation set:
- a batch there runs until its longest row ends; here a row that ends (EOS, token budget, or
  an answer that `answer_stop` proves final) leaves at once and a waiting prompt takes its
  place, so the batch stays full of rows that still decode;
- every prompt of a benchmark starts with the template's same text; its keys and values are
  computed once and copied into each new row, which then runs only its own suffix;
- the prompts that join together are prefilled together, in groups of similar length, with
  logits at their last token only;
- left padding inside the cache: each row's keys sit right-aligned, the attention mask hides
  the padding and position ids count only a row's real tokens, so a row's logits are those of
  the row alone (up to float rounding) — greedy choices match per-example `generate`.

The rows and their cache live in a `slot_batch.SlotBatch`: each step writes its column in place
(no whole-cache copy per step as DynamicCache's concatenation makes), a finished row's slot takes
the next prompt, and the columns no live row uses are dropped from the window, so attention never
reads past the longest live row. It works on models whose cache is
transformers' DynamicCache of plain (non-sliding) layers; `supports_continuous` says so, and
generation falls back to `generate` otherwise.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

logger = logging.getLogger(__name__)


def _base(model: Any) -> Any:
    get = getattr(model, "get_base_model", None)
    return get() if callable(get) else model


def supports_continuous(model: Any) -> bool:
    """True where this decoder reproduces `generate`: a plain causal LM (or a peft wrapper that
    is not prompt learning) whose forward takes and returns a DynamicCache."""
    peft_config = getattr(model, "peft_config", None)
    if isinstance(peft_config, dict) and any(
        getattr(c, "is_prompt_learning", False) for c in peft_config.values()
    ):
        return False
    base = _base(model)
    config = getattr(base, "config", None)
    if config is None or getattr(config, "is_encoder_decoder", False):
        return False
    if getattr(config, "sliding_window", None) or getattr(config, "attention_types", None):
        return False  # sliding-window layers keep only a window: cutting columns differs
    params = inspect.signature(base.forward).parameters
    return ("cache" in params or "past_key_values" in params) and "attention_mask" in params


def _cache_keyword(model: Any) -> str:
    """transformers 5.2x names the forward's cache argument `cache`, earlier ones
    `past_key_values`."""
    params = inspect.signature(_base(model).forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _returned_cache(out: Any) -> Any:
    cache = out.get("cache")
    return cache if cache is not None else out.get("past_key_values")


def common_prefix_length(encoded: Sequence[Sequence[int]]) -> int:
    """Tokens every prompt starts with, leaving each prompt at least one token of its own."""
    if not encoded:
        return 0
    first = encoded[0]
    n = min(len(seq) for seq in encoded) - 1
    for seq in encoded[1:]:
        i = 0
        while i < n and seq[i] == first[i]:
            i += 1
        n = i
    return max(n, 0)


def kv_bytes_per_token(model: Any) -> int:
    """Bytes of keys and values one token keeps in the cache, from the model's config."""
    config = _base(model).config
    config = getattr(config, "get_text_config", lambda: config)()
    layers = _config_int(config, "num_hidden_layers", "n_layer", default=12)
    heads = _config_int(config, "num_attention_heads", "n_head", default=12)
    hidden = _config_int(config, "hidden_size", "n_embd", default=768)
    kv_heads = _config_int(config, "num_key_value_heads", default=heads)
    head_dim = _config_int(config, "head_dim", default=hidden // heads)
    dtype_bytes = next(_base(model).parameters()).element_size()
    return 2 * layers * kv_heads * head_dim * dtype_bytes


def _config_int(config: Any, *names: str, default: int) -> int:
    """The first of `names` the model config sets (families name these differently)."""
    for name in names:
        value = getattr(config, name, None)
        if value:
            return int(value)
    return default


def free_memory_bytes(device: torch.device) -> int:
    """Memory free on `device` now (a GPU's, or the machine's available pages on a CPU)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2 << 30


# On a CPU a decode step's fixed cost (hundreds of small module calls) still dominates at 32
# rows of a small model: 64 rows took 29 steps instead of 46 for 64 SVAMP examples, ~10 %
# faster in all. Past that the matmuls are compute-bound while each row's cache still costs.
_CPU_MAX_ROWS = 64
_GPU_MAX_ROWS = 256


def pick_batch_size(model: Any, tokens_per_row: int) -> int:
    """Rows decoded at once: what a quarter of the free memory holds of the cache (plus the
    vocabulary-wide logits a row needs per step), capped per device kind."""
    base = _base(model)
    device = next(base.parameters()).device
    vocab = getattr(base.config, "vocab_size", 32000) or 32000
    dtype_bytes = next(base.parameters()).element_size()
    per_row = kv_bytes_per_token(model) * max(tokens_per_row, 1) + 4 * vocab * dtype_bytes
    fits = max(1, int(free_memory_bytes(device) * 0.25) // per_row)
    cap = _GPU_MAX_ROWS if device.type == "cuda" else _CPU_MAX_ROWS
    return max(1, min(fits, cap))


def _copy_cache(cache: Any, rows: int) -> Any:
    """`rows` copies of a one-row cache, as one cache."""
    from transformers import DynamicCache

    from .slot_batch import cache_layers

    copy = DynamicCache()
    for source in cache_layers(cache):
        copy.update(
            source.keys.repeat(rows, 1, 1, 1), source.values.repeat(rows, 1, 1, 1), len(copy.layers)
        )
    return copy


def _prefill_groups(waiting: list[int], lengths: Sequence[int], limit: int) -> list[list[int]]:
    """`waiting` (in the order they join) cut into groups prefilled by one forward each, each of
    at most `limit` tokens once padded to its longest row (neighbours have similar lengths)."""
    groups: list[list[int]] = []
    for index in waiting:
        group = groups[-1] if groups else None
        if group and max(lengths[i] for i in (*group, index)) * (len(group) + 1) <= limit:
            group.append(index)
        else:
            groups.append([index])
    return groups


@dataclass(frozen=True)
class Pace:
    """When waiting prompts join the batch, and how many tokens one prefill forward takes.

    A CPU is compute-bound: rows join as soon as a slot frees and prefill in groups of ~1024
    padded tokens (enough for full-speed matmuls; fewer rows per group pad less: 64 SVAMP
    prompts ran 3396 tokens at 1024 against 4392 at 4096). A GPU is bound by the fixed cost of
    a forward (kernel launches, Python) at these sizes, so a forward of one joining row costs
    what a full one does: rows join in bulk, once a quarter of the batch is free, and prefill in
    one forward of up to 16384 tokens (measured on an H200: docs/gpu.md)."""

    prefill_tokens: int
    join_fraction: float  # free share of the batch that lets waiting rows in (0: any slot)

    @classmethod
    def of(cls, device: torch.device) -> Pace:
        if device.type == "cuda":
            return cls(prefill_tokens=16384, join_fraction=0.25)
        return cls(prefill_tokens=1024, join_fraction=0.0)

    def lets_in(self, live: int, batch_size: int) -> bool:
        free = batch_size - live
        return live == 0 or (free > 0 and free >= self.join_fraction * batch_size)


@dataclass(frozen=True)
class ModelCall:
    """How this model is called: its device and which arguments its forward takes."""

    model: Any
    device: torch.device
    positions: bool  # takes position_ids
    cache_arg: str
    keeps_logits: bool  # takes logits_to_keep

    @classmethod
    def of(cls, model: Any) -> ModelCall:
        base = _base(model)
        params = inspect.signature(base.forward).parameters
        return cls(
            model,
            next(base.parameters()).device,
            "position_ids" in params,
            _cache_keyword(model),
            "logits_to_keep" in params,
        )

    def __call__(self, ids: torch.Tensor, mask: torch.Tensor, cache: Any, **kwargs: Any) -> Any:
        positions = kwargs.pop("position_ids", None)
        if self.positions and positions is not None:
            kwargs["position_ids"] = positions.to(self.device)
        if not self.keeps_logits:
            kwargs.pop("logits_to_keep", None)
        kwargs[self.cache_arg] = cache
        return self.model(
            input_ids=ids.to(self.device),
            attention_mask=mask.to(self.device),
            use_cache=True,
            **kwargs,
        )


def prefill_rows(
    call: ModelCall, rows: Sequence[Sequence[int]], prefix_cache: Any, prefix_len: int
) -> tuple[Any, torch.Tensor, torch.Tensor]:
    """One forward for several prompts that share their first `prefix_len` tokens (whose cache
    is `prefix_cache`, one row; None when 0): each row's own tokens, left-padded to the longest,
    so the padding sits between the prefix and the row's text (the mask hides it, position ids
    skip it). Returns the rows' cache, its (rows, width) mask and the logits at each row's last
    token, computed there only: a vocabulary's logits for every prompt token cost more than the
    prompt itself."""
    from transformers import DynamicCache

    own = [list(seq)[prefix_len:] for seq in rows]
    width = max(len(seq) for seq in own)
    ids = torch.zeros((len(own), width), dtype=torch.long)
    mask = torch.zeros((len(own), prefix_len + width), dtype=torch.long)
    mask[:, :prefix_len] = 1
    for row, seq in enumerate(own):
        ids[row, width - len(seq) :] = torch.tensor(seq)
        mask[row, prefix_len + width - len(seq) :] = 1
    cache = DynamicCache() if prefix_cache is None else _copy_cache(prefix_cache, len(own))
    out = call(
        ids,
        mask,
        cache,
        position_ids=(mask.cumsum(1) - 1).clamp(min=0)[:, prefix_len:],
        # A position tensor, not the int 1: transformers' slice of the last position is not
        # contiguous, and its head then copies the vocabulary matrix per row (bmm).
        logits_to_keep=torch.tensor([width - 1], device=call.device),
    )
    return _returned_cache(out), mask, out.logits[:, -1]


def greedy_tokens(logits: torch.Tensor) -> list[int]:
    """Each row's highest-scoring token, the first on ties as argmax gives it: `max`'s indices
    (same rule), because on a CPU argmax over a bf16 vocabulary took 3.1 ms for 38 rows and `max`
    0.65 ms."""
    return logits.max(-1).indices.tolist()


def attention_backends(device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """On CUDA, scaled-dot-product attention without its cuDNN backend while generating: cuDNN
    builds an execution plan for each new shape, and a continuous batch's shapes (rows, cache
    width) change at nearly every step. Flash and memory-efficient attention need no plans.
    On an H200, plain `generate`'s first pass over 256 prompts took 16.5 s against 6.5 s once
    its shapes were planned (docs/gpu.md)."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel(
        [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]
    )


def greedy_continuous(
    model: Any,
    encoded: Sequence[Sequence[int]],
    *,
    max_new_tokens: int,
    eos_ids: Sequence[int],
    batch_size: int,
    is_final: Callable[[list[int]], bool] | None = None,
    on_done: Callable[[int], None] | None = None,
    pace: Pace | None = None,
) -> list[list[int]]:
    """Greedy continuation tokens of each prompt, in the prompts' order; a row's EOS stays at
    its end, as `generate` leaves it (decoding skips it when it is a special token).

    `is_final(tokens)` may end a row early; `on_done(count)` is told how many rows are done;
    `pace` defaults to the device's (Pace.of)."""
    call = ModelCall.of(model)
    pace = pace or Pace.of(call.device)
    eos = set(eos_ids)
    results: list[list[int]] = [[] for _ in encoded]
    # Longest first: long prompts start while the batch is young, short ones fill the gaps.
    waiting = sorted(range(len(encoded)), key=lambda i: len(encoded[i]), reverse=True)
    waiting.reverse()  # pop() from the end takes the longest
    prefix_len = common_prefix_length(encoded)
    prefix_cache = None
    if prefix_len:
        from transformers import DynamicCache

        prefix_cache = DynamicCache()
        prefix = torch.tensor([list(encoded[0][:prefix_len])])
        unread = torch.tensor([0], device=call.device)  # its logits are never read
        call(prefix, torch.ones_like(prefix), prefix_cache, logits_to_keep=unread)
    from .slot_batch import SlotBatch

    own_lengths = [len(seq) - prefix_len for seq in encoded]
    batch = SlotBatch(min(batch_size, len(encoded)))
    done = 0

    def finished(tokens: list[int]) -> bool:
        if tokens[-1] in eos or len(tokens) >= max_new_tokens:
            return True
        return is_final is not None and is_final(tokens)

    def record(index: int, tokens: list[int]) -> None:
        nonlocal done
        results[index] = tokens
        done += 1
        if on_done is not None:
            on_done(done)

    while waiting or len(batch):
        joining: list[int] = []
        if pace.lets_in(len(batch), batch_size):
            while waiting and len(batch) + len(joining) < batch_size:
                joining.append(waiting.pop())
        for group in _prefill_groups(joining, own_lengths, pace.prefill_tokens):
            cache, mask, logits = prefill_rows(
                call, [encoded[i] for i in group], prefix_cache, prefix_len
            )
            first = greedy_tokens(logits)
            live = []
            for row, (index, token) in enumerate(zip(group, first, strict=True)):
                if finished([token]):
                    record(index, [token])
                else:
                    live.append(row)
            if live:
                batch.join([group[r] for r in live], cache, mask, [first[r] for r in live], live)
        if not len(batch):
            continue
        ids, mask, positions = batch.step_inputs()
        out = call(ids, mask, batch.cache, position_ids=positions)
        batch.stepped()
        chosen = greedy_tokens(out.logits[:, -1])
        ended = []
        for slot in batch.live:
            tokens = batch.tokens[slot]
            tokens.append(chosen[slot])
            batch.next_token[slot] = chosen[slot]
            if finished(tokens):
                example = batch.example[slot]
                assert example is not None
                record(example, tokens)
                ended.append(slot)
        if ended:
            batch.finish(ended, pack=not waiting)
    return results
