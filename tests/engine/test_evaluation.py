"""Loaders on the paper's files; batched generation on tiny models."""

from pathlib import Path

import pytest
import torch

from worker.engine.adapters import apply_adapter
from worker.engine.config import AdapterConfig, DecodingConfig
from worker.engine.errors import DataError
from worker.engine.evaluation import (
    BENCHMARKS,
    evaluate_benchmark,
    evaluate_records,
    generate_batch,
    load_benchmark,
    write_predictions,
)
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "llm-adapters"
needs_data = pytest.mark.skipif(not SHARED.is_dir(), reason="shared LLM-Adapters data not present")
PROMPTS = [
    "What is 2 + 2?",
    "Name a colour.",
    "x",
    "A much longer prompt about arithmetic and sums",
]


def _peaky(family="llama"):
    """A tiny model whose next-token logits are far apart, so greedy choices are not ties
    that float rounding could flip between batch shapes."""
    model = build_tiny_model(family, seed=3)
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(200)
    return model


@needs_data
@pytest.mark.parametrize("name", sorted(set(BENCHMARKS) - {"hellaswag"}))
def test_every_shared_benchmark_loads(name):
    records = load_benchmark(name, SHARED, max_examples=5)
    assert len(records) == 5 and all(r["instruction"] and r["answer"] for r in records)


def test_missing_benchmark_names_expected_path(tmp_path):
    with pytest.raises(DataError, match=r"hellaswag.*expected .*hellaswag/test\.json"):
        load_benchmark("hellaswag", tmp_path)


@pytest.mark.parametrize("family", ["llama", "gpt2", "bloom"])
def test_batched_greedy_equals_one_at_a_time(family):
    model, tok = _peaky(family), build_byte_tokenizer()
    dec = DecodingConfig(max_new_tokens=6)
    batched = generate_batch(model, tok, PROMPTS, dec, batch_size=4)
    single = [generate_batch(model, tok, [p], dec, batch_size=1)[0] for p in PROMPTS]
    assert batched == single
    assert any(batched)


def test_beam_search_runs_and_may_differ():
    model, tok = _peaky(), build_byte_tokenizer()
    beams = generate_batch(
        model, tok, PROMPTS, DecodingConfig(strategy="beam", num_beams=3, max_new_tokens=5)
    )
    assert len(beams) == len(PROMPTS) and all(isinstance(b, str) for b in beams)


def test_rows_stop_at_eos():
    model, tok = _peaky(), build_byte_tokenizer()
    dec = DecodingConfig(max_new_tokens=8)
    free = generate_batch(model, tok, PROMPTS[:1], dec)[0]
    ids = torch.tensor([tok(PROMPTS[0])["input_ids"]])
    first = int(model.generate(input_ids=ids, max_new_tokens=1, do_sample=False)[0, -1])
    model.generation_config.eos_token_id = first  # the first token it would write now ends it
    stopped = generate_batch(model, tok, PROMPTS[:1], dec)[0]
    assert len(free) >= 4 and len(stopped) <= 1


def test_mode_is_restored():
    model, tok = _peaky(), build_byte_tokenizer()
    model.train()
    generate_batch(model, tok, PROMPTS[:1], DecodingConfig(max_new_tokens=2))
    assert model.training


@pytest.mark.parametrize("method", ["lora", "series", "parallel", "prefix", "prompt"])
def test_adapted_models_generate_in_batches(method):
    tok = build_byte_tokenizer()
    model = apply_adapter(
        _peaky(),
        AdapterConfig(
            method=method, params={"init": "random"} if method in ("series", "parallel") else {}
        ),
    )
    dec = DecodingConfig(max_new_tokens=4)
    batched = generate_batch(model, tok, PROMPTS, dec, batch_size=4)
    single = [generate_batch(model, tok, [p], dec)[0] for p in PROMPTS]
    assert batched == single


def test_evaluate_records_scores_and_writes(tmp_path):
    model, tok = _peaky(), build_byte_tokenizer()
    records = [{"instruction": f"{a} + {a}?", "input": "", "answer": str(2 * a)} for a in range(5)]
    result = evaluate_records(
        model, tok, records, "gsm8k", decoding=DecodingConfig(max_new_tokens=4)
    )
    assert result.total == 5 and result.correct == sum(p["correct"] for p in result.predictions)
    assert {"prompt", "output", "extracted", "gold", "correct"} <= set(result.predictions[0])
    path = write_predictions(result, tmp_path / "p.jsonl")
    assert len(path.read_text().splitlines()) == 5


@needs_data
def test_evaluate_benchmark_on_shared_file():
    model, tok = _peaky(), build_byte_tokenizer()
    result = evaluate_benchmark(
        model,
        tok,
        "boolq",
        data_dir=SHARED,
        max_examples=4,
        batch_size=2,
        decoding=DecodingConfig(max_new_tokens=3),
    )
    assert result.total == 4 and 0.0 <= result.accuracy <= 1.0 and result.examples_per_second > 0
