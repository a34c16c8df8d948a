"""Batched generation: greedy or beam search, results in the caller's order.

Greedy decoding runs through `continuous.greedy_continuous` (continuous batching, the shared
prompt prefix computed once, rows stopped as soon as `answer_stop` proves their answer final)
wherever the model allows it; its outputs are token for token those of transformers' greedy
`generate`. Beam search, and models the continuous decoder does not support (prompt-learning
adapters, sliding-window attention), go through `generate` in length-sorted, left-padded
batches that end when every row reached EOS or max_new_tokens.

Decoding presets (`evaluation.decoding.preset`):
- `paper`: what the LLM-Adapters scripts do: beam search with 4 beams, 256 new tokens for the
  arithmetic suite (evaluate.py) and 32 for commonsense (commonsense_evaluate.py), and
  transformers' default `early_stopping=False` (its GenerationConfig sets no other);
- `fast`: batched greedy decoding with the same per-suite token budgets;
- `custom`: the config's own strategy, num_beams and max_new_tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..config import DecodingConfig

DECODING_PRESETS = ("paper", "fast", "custom")
# The paper's max_new_tokens per suite: evaluate.py 256, commonsense_evaluate.py 32.
PAPER_TOKEN_BUDGETS = {"arithmetic": 256, "commonsense": 32}
PAPER_BEAMS = 4


@dataclass(frozen=True)
class DecodingPlan:
    """What generate() is asked for, once a preset is resolved for a suite."""

    preset: str
    num_beams: int
    max_new_tokens: int
    early_stopping: bool

    @property
    def strategy(self) -> str:
        return "beam" if self.num_beams > 1 else "greedy"


def plan_decoding(decoding: DecodingConfig | None, suite: str | None = None) -> DecodingPlan:
    """Resolves `decoding` (its preset, when the config has one) for a benchmark suite.

    Without a suite the paper's presets take the arithmetic budget (evaluate.py's default)."""
    decoding = decoding or DecodingConfig()
    preset = decoding.preset
    if preset not in DECODING_PRESETS:
        raise ValueError(
            f"unknown decoding preset {preset!r}; choose one of {', '.join(DECODING_PRESETS)}"
        )
    if preset in ("paper", "fast"):
        if suite is not None and suite not in PAPER_TOKEN_BUDGETS:
            raise ValueError(f"unknown suite {suite!r} for the {preset!r} decoding preset")
        budget = PAPER_TOKEN_BUDGETS[suite or "arithmetic"]
        beams = PAPER_BEAMS if preset == "paper" else 1
        return DecodingPlan(preset, beams, budget, early_stopping=False)
    if decoding.strategy not in ("greedy", "beam"):
        raise ValueError(f"unknown decoding strategy {decoding.strategy!r}; use greedy or beam")
    beams = decoding.num_beams if decoding.strategy == "beam" else 1
    if beams < 1 or decoding.max_new_tokens < 1:
        raise ValueError("decoding needs num_beams and max_new_tokens of at least 1")
    return DecodingPlan("custom", beams, decoding.max_new_tokens, early_stopping=beams > 1)


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    ids = {tokenizer.eos_token_id}
    config = getattr(model, "generation_config", None)
    extra = getattr(config, "eos_token_id", None) if config is not None else None
    if isinstance(extra, int):
        ids.add(extra)
    elif isinstance(extra, list | tuple):
        ids.update(extra)
    return sorted(i for i in ids if i is not None)


def generate_batch(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    decoding: DecodingConfig | DecodingPlan | None = None,
    *,
    batch_size: int | None = None,
    add_special_tokens: bool = True,
    on_batch: Callable[[int, int], None] | None = None,
    answer_is_final: Callable[[str], bool] | None = None,
) -> list[str]:
    """The model's continuation of each prompt (without the prompt), in the prompts' order.

    A DecodingConfig is resolved with `plan_decoding` (no suite); evaluation passes a plan.
    `batch_size` None picks it from the model and free memory. `answer_is_final(text)` may end
    a greedy row before EOS (see `answer_stop`: only where no later text changes a reading).
    `on_batch(done, total)` is told as examples finish."""
    import torch  # here, not at import: the API names benchmarks without loading torch

    from .continuous import (
        attention_backends,
        greedy_continuous,
        pick_batch_size,
        supports_continuous,
    )

    plan = decoding if isinstance(decoding, DecodingPlan) else plan_decoding(decoding)
    beams = plan.num_beams
    device = next(model.parameters()).device
    encoded = [tokenizer(p, add_special_tokens=add_special_tokens)["input_ids"] for p in prompts]
    if batch_size is None:
        longest = max((len(e) for e in encoded), default=1)
        batch_size = pick_batch_size(model, longest + plan.max_new_tokens)
    if beams == 1 and prompts and supports_continuous(model):
        is_final = None
        if answer_is_final is not None:
            test = answer_is_final

            def is_final(tokens: list[int]) -> bool:
                return test(tokenizer.decode(tokens, skip_special_tokens=True))

        was_training = model.training
        model.eval()
        try:
            with torch.no_grad(), attention_backends(device):
                tokens = greedy_continuous(
                    model,
                    encoded,
                    max_new_tokens=plan.max_new_tokens,
                    eos_ids=_eos_ids(model, tokenizer),
                    batch_size=batch_size,
                    is_final=is_final,
                    on_done=(lambda n: on_batch(n, len(prompts))) if on_batch else None,
                )
        finally:
            model.train(was_training)
        return [tokenizer.decode(t, skip_special_tokens=True) for t in tokens]
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]), reverse=True)
    outputs: list[str] = [""] * len(prompts)
    pad_id = (
        tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    )
    eos = _eos_ids(model, tokenizer)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in chunk)
            # Left padding: every prompt ends at the same position, where generation starts.
            ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                seq = encoded[i]
                ids[row, width - len(seq) :] = torch.tensor(seq)
                mask[row, width - len(seq) :] = 1
            with torch.no_grad(), attention_backends(device):
                out = model.generate(
                    input_ids=ids.to(device),
                    attention_mask=mask.to(device),
                    max_new_tokens=plan.max_new_tokens,
                    do_sample=False,
                    num_beams=beams,
                    early_stopping=plan.early_stopping,
                    use_cache=True,
                    pad_token_id=pad_id,
                    eos_token_id=eos,
                )
            new = out[:, width:] if out.shape[1] > width else out[:, :0]
            for row, i in enumerate(chunk):
                outputs[i] = tokenizer.decode(new[row], skip_special_tokens=True)
            if on_batch is not None:
                on_batch(min(start + batch_size, len(order)), len(order))
    finally:
        model.train(was_training)
    return outputs
