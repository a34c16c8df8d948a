"""Interactive generation (worker/engine/text_generation.py) and the model pool, on tiny random
models: streaming equals the whole answer and evaluation's greedy decoding; stops (the caller's,
the template's, EOS, length); sampling settings; adapters attached on demand, the base answering
with them disabled, the least recently used base evicted."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from worker.engine.adapters import apply_adapter, save_adapter
from worker.engine.config import AdapterConfig, DecodingConfig
from worker.engine.errors import ConfigError
from worker.engine.evaluation import generate_batch
from worker.engine.model_pool import ModelPool
from worker.engine.models import load_model
from worker.engine.text_generation import (
    SamplingParams,
    TextStream,
    generate_text,
    template_stops,
)

PROMPT = "What is 12 + 30? "


@pytest.fixture(scope="module")
def tiny():
    loaded = load_model("tiny:llama", "fp32", device="cpu")
    return loaded.model, loaded.tokenizer


def _greedy(tiny, n: int = 24, **kwargs) -> TextStream:
    model, tok = tiny
    return generate_text(model, tok, PROMPT, SamplingParams(max_tokens=n), **kwargs)


def test_streamed_pieces_join_to_the_whole_answer_and_to_evaluations_greedy(tiny):
    model, tok = tiny
    stream = TextStream(model, tok, PROMPT, SamplingParams(max_tokens=24))
    pieces = list(stream)
    assert len(pieces) > 1  # it streamed, not one block at the end
    whole = _greedy(tiny)
    assert "".join(pieces) == whole.text == stream.text
    [reference] = generate_batch(
        model, tok, [PROMPT], DecodingConfig(preset="custom", strategy="greedy", max_new_tokens=24)
    )
    assert whole.text == reference
    assert stream.prompt_tokens == len(tok(PROMPT)["input_ids"])
    assert stream.completion_tokens == 24 and stream.finish_reason == "length"


def test_a_stop_string_ends_the_answer_before_it(tiny):
    full = _greedy(tiny, 24).text
    stop = full[6:9]
    expected = full[: full.index(stop)]
    model, tok = tiny
    stream = TextStream(model, tok, PROMPT, SamplingParams(max_tokens=24, stop=(stop,)))
    pieces = list(stream)
    assert "".join(pieces) == expected
    assert stream.finish_reason == "stop" and stream.completion_tokens < 24
    assert all(stop not in p for p in pieces)


def test_a_template_header_ends_the_answer_with_the_blank_lines_before_it(tiny):
    """As the base model running on into a second "### Response:": the header and the
    whitespace before it are cut (a header made up here from the tiny model's own output)."""
    full = _greedy(tiny, 24).text
    stop = full[8:11]
    before = full[: full.index(stop)]
    answer = _greedy(tiny, 24, stops=(stop,))
    assert answer.text == before.rstrip() and answer.finish_reason == "stop"
    assert template_stops("alpaca") == ("### Instruction", "### Response", "### Input", "\n### ")
    assert template_stops("llm-adapters") == template_stops("alpaca")
    assert template_stops("chat") == ()


def test_eos_ends_the_answer(tiny):
    model, tok = tiny
    eos_only = SamplingParams(max_tokens=10)
    saved = model.generation_config.eos_token_id
    with torch.no_grad():
        ids = torch.tensor([tok(PROMPT)["input_ids"]])
        first_token = int(model(ids).logits[0, -1].argmax())
    model.generation_config.eos_token_id = first_token  # the model's first answer token is EOS
    try:
        stream = generate_text(model, tok, PROMPT, eos_only)
    finally:
        model.generation_config.eos_token_id = saved
    assert stream.text == "" and stream.finish_reason == "stop" and stream.completion_tokens == 0


def test_sampling_follows_temperature_top_p_and_seed(tiny):
    model, tok = tiny
    hot = [
        generate_text(model, tok, PROMPT, SamplingParams(max_tokens=24, temperature=1.5, seed=s))
        for s in (1, 1, 2)
    ]
    assert hot[0].text == hot[1].text  # a seed makes sampling repeatable
    assert hot[0].text != hot[2].text
    assert hot[0].text != _greedy(tiny).text
    # top_p this small keeps only the most likely token: greedy again.
    narrow = generate_text(
        model, tok, PROMPT, SamplingParams(max_tokens=24, temperature=1.0, top_p=1e-6, seed=3)
    )
    assert narrow.text == _greedy(tiny).text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"stop": ("a", "b", "c", "d", "e")}, "stop"),
        ({"stop": ("",)}, "stop"),
    ],
)
def test_bad_sampling_settings_are_refused_by_name(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SamplingParams(**kwargs)


def _adapter(tmp_path: Path, name: str, seed: int, method: str = "lora") -> Path:
    loaded = load_model("tiny:llama", "fp32", device="cpu")
    torch.manual_seed(seed)
    model = apply_adapter(loaded.model, AdapterConfig(method=method))
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.add_(0.5 * torch.randn_like(param))
    return save_adapter(model, tmp_path / name)


def _answer(pool: ModelPool, adapter: Path | None, reference: str = "tiny:llama") -> str:
    with pool.model(reference, "fp32", adapter) as (model, tok):
        return generate_text(model, tok, PROMPT, SamplingParams(max_tokens=16)).text


def test_the_pool_attaches_adapters_on_demand_and_the_base_answers_without_them(tmp_path, tiny):
    base_text = _greedy(tiny, 16).text
    one, two = _adapter(tmp_path, "one", 1), _adapter(tmp_path, "two", 2)
    bottleneck = _adapter(tmp_path, "bn", 3, method="parallel")
    pool = ModelPool(max_bases=1, device="cpu")
    assert _answer(pool, None) == base_text
    first = _answer(pool, one)
    second = _answer(pool, two)
    assert first != base_text and second != base_text and first != second
    assert _answer(pool, None) == base_text  # adapters attached, disabled for the base
    assert _answer(pool, one) == first  # switched back, not reloaded
    assert pool.loaded() == [("tiny:llama", "fp32")]
    third = _answer(pool, bottleneck)  # cannot join the LoRA wrapper: a fresh base of its own
    assert third not in (base_text, first)
    assert _answer(pool, None) == base_text
    assert _answer(pool, one) == first
    # A second base evicts the first (room for one).
    _answer(pool, None, "tiny:gpt2")
    assert pool.loaded() == [("tiny:gpt2", "fp32")]
