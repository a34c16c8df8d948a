"""Evaluation throughput: the seed's recipe against the engine, same model, data and machine.

The seed's recipe is the LLM-Adapters evaluation script's setup: one prompt at a time, beam
search with 4 beams, no KV cache, up to 256 new tokens. The engine generates in length-sorted,
left-padded batches with the KV cache, greedy, stopping each row at EOS. The seed recipe is
slow, so it runs on the first --baseline-examples of the engine's examples; accuracy is
compared on exactly those, and the engine's throughput is also shown on its whole set.

    .venv/bin/python bench/eval_throughput.py                          # demo model, svamp
    .venv/bin/python bench/eval_throughput.py --adapter runs/demo/adapter --benchmark svamp
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.engine.config import DecodingConfig  # noqa: E402
from worker.engine.evaluation import (  # noqa: E402
    Benchmark,
    evaluate_records,
    get_benchmark,
    load_benchmark,
)
from worker.engine.prompts import build_prompt  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/datasets/llm-adapters"


def seed_recipe(
    model: Any, tokenizer: Any, records: list[dict], bench: Benchmark, max_new_tokens: int
) -> tuple[float, int]:
    """One prompt at a time, 4 beams, no KV cache: returns (seconds, correct)."""
    correct = 0
    start = time.perf_counter()
    for rec in records:
        prompt = build_prompt(rec["instruction"], rec.get("input", ""))
        ids = tokenizer(prompt, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(
                **ids,
                num_beams=4,
                do_sample=False,
                use_cache=False,
                max_new_tokens=max_new_tokens,
                pad_token_id=tokenizer.pad_token_id,
            )
        text = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        correct += bench.score(text, rec["answer"], rule="paper")[1]
    return time.perf_counter() - start, correct


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="demo:smollm2-135m")
    parser.add_argument(
        "--adapter", help="adapter folder to evaluate with (default: the base model)"
    )
    parser.add_argument("--benchmark", default="svamp")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--examples", type=int, default=64, help="engine examples")
    parser.add_argument(
        "--baseline-examples", type=int, default=4, help="seed-recipe examples (slow)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    args = parser.parse_args()
    import transformers

    from worker.engine.adapters import load_adapter
    from worker.engine.models import load_model

    transformers.logging.set_verbosity_error()
    loaded = load_model(args.model, "fp32")
    model = load_adapter(loaded.model, args.adapter) if args.adapter else loaded.model
    tok = loaded.tokenizer
    bench = get_benchmark(args.benchmark)
    records = load_benchmark(args.benchmark, args.data_dir, args.examples)
    subset = records[: args.baseline_examples]
    print(
        f"model {args.model}{' + ' + args.adapter if args.adapter else ''}, {args.benchmark}, "
        f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}"
    )

    dec = DecodingConfig(strategy="greedy", max_new_tokens=args.max_new_tokens)
    on_subset = evaluate_records(
        model, tok, subset, bench, batch_size=args.batch_size, decoding=dec
    )
    whole = evaluate_records(model, tok, records, bench, batch_size=args.batch_size, decoding=dec)
    base_s, base_correct = seed_recipe(model, tok, subset, bench, args.max_new_tokens)

    n = len(subset)
    base_eps = n / base_s
    print(f"{'recipe':<44}{'examples':>9}{'seconds':>9}{'ex/s':>9}{'accuracy':>10}")
    print(
        f"{'seed (batch 1, 4 beams, no KV cache)':<44}{n:>9}{base_s:>9.1f}{base_eps:>9.3f}"
        f"{100 * base_correct / n:>9.1f}%"
    )
    print(
        f"{'engine (batched greedy, KV cache)':<44}{n:>9}{on_subset.seconds:>9.1f}"
        f"{on_subset.examples_per_second:>9.3f}{100 * on_subset.accuracy:>9.1f}%"
    )
    print(
        f"{'engine, whole set':<44}{whole.total:>9}{whole.seconds:>9.1f}"
        f"{whole.examples_per_second:>9.3f}{100 * whole.accuracy:>9.1f}%"
    )
    print(
        f"ratio engine / seed: {whole.examples_per_second / base_eps:.1f}x (whole set), "
        f"{on_subset.examples_per_second / base_eps:.1f}x (same {n} examples); "
        f"load average now {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
