"""Evaluation throughput: the engine against plain transformers and the paper's recipe.

Same model, adapter, examples and machine, 256 new tokens, one run, side by side:
- engine: `evaluate_records` as a job runs it (continuous greedy batching, the template's
  shared prefix computed once, rows stopped once their answer is final, batch size picked from
  the model and memory), in --dtype;
- plain transformers: what a user writes in ten lines: batches of 32 in the set's order, left
  padded, `generate(do_sample=False)` with the KV cache, fp32;
- the paper's recipe (LLM-Adapters evaluate.py): one prompt at a time, 4 beams, no KV cache;
  slow, so it runs on the first --paper-examples only, and its ratio is on those.

The adapter makes outputs end naturally (EOS), as a trained job's do: --adapter FOLDER, or by
default the demo's quick LoRA (trained once with `studio demo`'s quick recipe, ~3 min on 2 cores,
and cached under ~/.cache/adapter-studio/bench/).

    .venv/bin/python bench/eval_throughput.py                          # demo model, svamp, fp32
    .venv/bin/python bench/eval_throughput.py --dtype bf16 --examples 64
    .venv/bin/python bench/eval_throughput.py --rounds 3    # medians of alternating rounds

On a shared 2-core machine one run moves by ±15 %: with --rounds N the engine and plain
transformers run N times each, the order alternating round by round, and the table gives each
round's seconds, the medians and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.engine.config import DecodingConfig  # noqa: E402
from worker.engine.cpu_features import describe_cpu  # noqa: E402
from worker.engine.evaluation import (  # noqa: E402
    Benchmark,
    evaluate_records,
    get_benchmark,
    load_benchmark,
)
from worker.engine.prompts import build_prompt  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/datasets/llm-adapters"
CACHED_ADAPTER = Path.home() / ".cache/adapter-studio/bench/demo-quick"


def prompts_of(records: list[dict], tokenizer: Any) -> list[str]:
    return [
        build_prompt(r["instruction"], r.get("input", ""), "alpaca", tokenizer, form="evaluation")
        for r in records
    ]


def plain_transformers(
    model: Any, tok: Any, records: list[dict], bench: Benchmark, new_tokens: int, batch: int
) -> tuple[float, int]:
    """Batches in the set's order, left padding, greedy generate with the KV cache."""
    tok.padding_side = "left"
    prompts, correct = prompts_of(records, tok), 0
    start = time.perf_counter()
    for i in range(0, len(prompts), batch):
        enc = tok(prompts[i : i + batch], return_tensors="pt", padding=True)
        with torch.no_grad():
            out = model.generate(
                **enc, max_new_tokens=new_tokens, do_sample=False, pad_token_id=tok.pad_token_id
            )
        for j, row in enumerate(out[:, enc["input_ids"].shape[1] :]):
            text = tok.decode(row, skip_special_tokens=True)
            correct += bench.score(text, records[i + j]["answer"], rule="paper")[1]
    return time.perf_counter() - start, correct


def paper_recipe(
    model: Any, tok: Any, records: list[dict], bench: Benchmark, new_tokens: int
) -> tuple[float, int]:
    """One prompt at a time, 4 beams, no KV cache: returns (seconds, correct)."""
    correct = 0
    start = time.perf_counter()
    for rec, prompt in zip(records, prompts_of(records, tok), strict=True):
        ids = tok(prompt, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(
                **ids,
                num_beams=4,
                do_sample=False,
                use_cache=False,
                max_new_tokens=new_tokens,
                pad_token_id=tok.pad_token_id,
            )
        text = tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        correct += bench.score(text, rec["answer"], rule="paper")[1]
    return time.perf_counter() - start, correct


def adapter_folder(given: str | None) -> Path | None:
    if given == "none":
        return None  # the base model: outputs run to the budget, as a step-0 evaluation's do
    if given:
        return Path(given)
    folder = CACHED_ADAPTER / "adapter"
    if not (folder / "adapter_config.json").is_file():
        from worker.engine.demo import run_demo

        print(f"training the demo's quick LoRA once into {CACHED_ADAPTER} ...", flush=True)
        run_demo(CACHED_ADAPTER, quick=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="demo:smollm2-135m")
    parser.add_argument(
        "--adapter", help="adapter folder, or 'none' for the base model (default: the demo LoRA)"
    )
    parser.add_argument("--benchmark", default="svamp")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--paper-examples", type=int, default=2, help="the slow recipe's share")
    parser.add_argument(
        "--dtype", default="auto", help="the engine's precision: auto (a job's default), fp32, bf16"
    )
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--peer-batch-size", type=int, default=32)
    parser.add_argument(
        "--rounds", type=int, default=1, help="timed runs of the engine and plain transformers"
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    import transformers

    from worker.engine.adapters import load_adapter
    from worker.engine.models import load_model, resolve_dtype

    transformers.logging.set_verbosity_error()
    adapter = adapter_folder(args.adapter)
    load_before = os.getloadavg()
    fp32 = load_model(args.model, "fp32")
    fp32_model = load_adapter(fp32.model, str(adapter)).eval() if adapter else fp32.model
    if resolve_dtype(args.dtype, torch.device("cpu")) == torch.float32:
        engine_model, engine_tok = fp32_model, fp32.tokenizer
    else:
        other = load_model(args.model, args.dtype)
        engine_tok = other.tokenizer
        engine_model = load_adapter(other.model, str(adapter)).eval() if adapter else other.model
    dtype = next(engine_model.parameters()).dtype
    shown = f"{args.dtype}: {str(dtype).removeprefix('torch.')}"
    bench = get_benchmark(args.benchmark)
    records = load_benchmark(args.benchmark, args.data_dir, args.examples)
    dec = DecodingConfig(strategy="greedy", max_new_tokens=args.max_new_tokens)

    # Untimed warm-up of both: a process's first forwards pay one-time kernel set-up.
    evaluate_records(engine_model, engine_tok, records[:2], bench, decoding=dec)
    plain_transformers(fp32_model, fp32.tokenizer, records[:2], bench, 8, args.peer_batch_size)
    engine_runs: list[float] = []
    plain_runs: list[float] = []

    def run_engine() -> int:
        result = evaluate_records(engine_model, engine_tok, records, bench, decoding=dec)
        engine_runs.append(result.seconds)
        return result.correct

    def run_plain() -> int:
        seconds, correct = plain_transformers(
            fp32_model,
            fp32.tokenizer,
            records,
            bench,
            args.max_new_tokens,
            args.peer_batch_size,
        )
        plain_runs.append(seconds)
        return correct

    for round_ in range(args.rounds):
        # Alternating order: neither recipe always runs in the other's wake.
        if round_ % 2:
            plain_ok, engine_ok = run_plain(), run_engine()
        else:
            engine_ok, plain_ok = run_engine(), run_plain()
    engine_s, plain_s = statistics.median(engine_runs), statistics.median(plain_runs)
    subset = records[: args.paper_examples]
    engine_sub = evaluate_records(engine_model, engine_tok, subset, bench, decoding=dec)
    paper_s, paper_ok = paper_recipe(fp32_model, fp32.tokenizer, subset, bench, args.max_new_tokens)

    n, m = len(records), len(subset)
    print(f"CPU: {describe_cpu()}")
    print(
        f"model {args.model} + {adapter}, {args.benchmark}, {n} examples, "
        f"{args.max_new_tokens} new tokens, {torch.get_num_threads()} threads, engine dtype "
        f"{str(dtype).removeprefix('torch.')}; load average before {load_before[0]:.2f}, "
        f"after {os.getloadavg()[0]:.2f}"
    )
    rows = [
        (f"engine ({shown})", n, engine_s, engine_ok),
        (f"plain transformers generate, fp32, batch {args.peer_batch_size}", n, plain_s, plain_ok),
        (f"engine ({shown}), same {m} examples", m, engine_sub.seconds, engine_sub.correct),
        ("paper's recipe (batch 1, 4 beams, no KV cache), fp32", m, paper_s, paper_ok),
    ]
    print(f"{'recipe':<58}{'examples':>9}{'seconds':>9}{'ex/s':>9}{'accuracy':>10}")
    for label, count, seconds, correct in rows:
        print(
            f"{label:<58}{count:>9}{seconds:>9.1f}{count / seconds:>9.3f}"
            f"{100 * correct / count:>9.1f}%"
        )
    if args.rounds > 1:
        shown_runs = ", ".join(
            f"{e:.1f} vs {p:.1f} ({p / e:.2f}x)"
            for e, p in zip(engine_runs, plain_runs, strict=True)
        )
        print(f"rounds (engine vs plain transformers, seconds): {shown_runs}; table: medians")
    print(
        f"engine ÷ plain transformers: {plain_s / engine_s:.2f}x; "
        f"engine ÷ paper's recipe: {paper_s / engine_sub.seconds:.1f}x (same {m} examples)"
    )


if __name__ == "__main__":
    main()
