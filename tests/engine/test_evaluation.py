"""Loaders on the paper's files; batched generation on tiny models."""

from pathlib import Path

import pytest
import torch

from worker.engine.adapters import apply_adapter
from worker.engine.config import AdapterConfig, DecodingConfig
from worker.engine.errors import ConfigError, DataError
from worker.engine.evaluation import (
    BENCHMARKS,
    DecodingPlan,
    evaluate_benchmark,
    evaluate_records,
    generate_batch,
    load_benchmark,
    plan_decoding,
    score_both,
    write_predictions,
)
from worker.engine.prompts import build_prompt
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
# hellaswag is missing from the shared folder; the demo's set is written by the studio itself.
@pytest.mark.parametrize("name", sorted(set(BENCHMARKS) - {"hellaswag", "demo-arithmetic"}))
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


def _preset(name: str, **fields) -> DecodingConfig:
    decoding = DecodingConfig(**fields)
    # Set after construction, so this runs before and after config.py gains the field.
    decoding.preset = name
    return decoding


def _hf_beams(model, tok, prompt: str, beams: int, new_tokens: int) -> tuple[str, int]:
    ids = torch.tensor([tok(prompt)["input_ids"]])
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=new_tokens,
        do_sample=False,
        num_beams=beams,
        early_stopping=False,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
    )
    new = out[0, ids.shape[1] :]
    return tok.decode(new, skip_special_tokens=True), len(new)


@pytest.mark.parametrize(
    "benchmark, budget", [("boolq", 32), ("piqa", 32), ("gsm8k", 256), ("aqua", 256)]
)
def test_paper_preset_decodes_with_4_beams_and_the_suites_budget(benchmark, budget):
    model, tok = _peaky(), build_byte_tokenizer()
    model.generation_config.eos_token_id = None  # no early end: every answer uses the budget
    records = [{"instruction": p, "input": "", "answer": "1"} for p in PROMPTS[:2]]
    result = evaluate_records(
        model, tok, records, benchmark, batch_size=1, decoding=_preset("paper", max_new_tokens=4)
    )
    assert result.decoding == DecodingPlan("paper", 4, budget, early_stopping=False)
    for pred in result.predictions:
        # The text transformers' own 4-beam search gives for the budget, which it fills.
        text, generated = _hf_beams(model, tok, pred["prompt"], 4, budget)
        assert pred["output"] == text and generated == budget
    # Greedy decoding with the same budget reads differently: the beams were searched.
    greedy = generate_batch(
        model, tok, [p["prompt"] for p in result.predictions], DecodingConfig(max_new_tokens=budget)
    )
    assert greedy != [p["output"] for p in result.predictions]


def test_fast_and_custom_presets():
    assert plan_decoding(_preset("fast"), "commonsense") == DecodingPlan("fast", 1, 32, False)
    assert plan_decoding(_preset("fast"), "arithmetic") == DecodingPlan("fast", 1, 256, False)
    custom = _preset("custom", strategy="beam", num_beams=3, max_new_tokens=7)
    assert plan_decoding(custom, "commonsense") == DecodingPlan("custom", 3, 7, True)
    # A config without a preset (before config.py has the field) decodes as it always did.
    assert plan_decoding(DecodingConfig(max_new_tokens=5), "arithmetic").preset == "custom"
    with pytest.raises(ValueError, match="unknown decoding preset 'slow'; choose one of paper"):
        plan_decoding(_preset("slow"), "arithmetic")
    model, tok = _peaky(), build_byte_tokenizer()
    records = [{"instruction": p, "input": "", "answer": "true"} for p in PROMPTS]
    fast = evaluate_records(model, tok, records, "boolq", decoding=_preset("fast"))
    greedy = generate_batch(
        model, tok, [p["prompt"] for p in fast.predictions], DecodingConfig(max_new_tokens=32)
    )
    assert [p["output"] for p in fast.predictions] == greedy


@pytest.mark.parametrize("rule", ["paper", "strict"])
def test_predictions_keep_both_rules_and_the_accuracy_says_its_rule(rule):
    model, tok = _peaky(), build_byte_tokenizer()
    records = [
        {"instruction": p, "input": "", "answer": a} for p, a in zip(PROMPTS, "ABCD", strict=True)
    ]
    result = evaluate_records(
        model, tok, records, "aqua", decoding=DecodingConfig(max_new_tokens=12), rule=rule
    )
    assert result.rule == rule
    for pred in result.predictions:
        both = score_both("aqua", pred["output"], pred["gold"])
        assert (pred["extracted_paper"], pred["correct_paper"]) == both["paper"]
        assert (pred["extracted_strict"], pred["correct_strict"]) == both["strict"]
        assert (pred["extracted"], pred["correct"]) == both[rule] and pred["rule"] == rule
    assert result.correct == sum(p[f"correct_{rule}"] for p in result.predictions)
    assert result.correct_by_rule == {
        r: sum(p[f"correct_{r}"] for p in result.predictions) for r in ("paper", "strict")
    }
    assert result.accuracy == result.accuracy_by_rule()[rule]
    with pytest.raises(ConfigError, match="unknown scoring rule 'loose'"):
        evaluate_records(model, tok, records, "aqua", rule="loose")


def test_evaluation_asks_in_the_templates_evaluation_form():
    model, tok = _peaky(), build_byte_tokenizer()
    records = [{"instruction": "Q?", "input": "", "answer": "1"}]
    result = evaluate_records(
        model,
        tok,
        records,
        "gsm8k",
        decoding=DecodingConfig(max_new_tokens=2),
        template="llm-adapters",
    )
    assert result.predictions[0]["prompt"] == build_prompt(
        "Q?", "", "llm-adapters", form="evaluation"
    )
    assert result.predictions[0]["prompt"] != build_prompt(
        "Q?", "", "llm-adapters", form="training"
    )
