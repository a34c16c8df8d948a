"""Does bf16 evaluation hold the fp32 accuracy? The same adapter, examples and decoding, once in
fp32 and once in bf16 (the base model in bf16, the adapter as a bf16 job keeps it), side by side.

The target (issue 13): on 200 SVAMP examples the bf16 accuracy is within 1 point of fp32. On a
CPU without bf16 units (no AMX, no AVX-512 BF16) the bf16 run is slow, as torch falls back to
reference kernels, but its numbers are still bf16's: this checks accuracy, not speed.

    .venv/bin/python bench/bf16_accuracy.py                     # demo LoRA, svamp, 200 examples
    .venv/bin/python bench/bf16_accuracy.py --examples 50 --max-new-tokens 128
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from eval_throughput import DEFAULT_DATA, adapter_folder  # noqa: E402

from worker.engine.config import DecodingConfig  # noqa: E402
from worker.engine.cpu_features import describe_cpu  # noqa: E402
from worker.engine.evaluation import evaluate_records, get_benchmark, load_benchmark  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="demo:smollm2-135m")
    parser.add_argument("--adapter", help="adapter folder (default: the demo's quick LoRA)")
    parser.add_argument("--benchmark", default="svamp")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    args = parser.parse_args()
    import transformers

    from worker.engine.adapters import load_adapter
    from worker.engine.models import load_model

    transformers.logging.set_verbosity_error()
    adapter = adapter_folder(args.adapter)
    bench = get_benchmark(args.benchmark)
    records = load_benchmark(args.benchmark, args.data_dir, args.examples)
    dec = DecodingConfig(strategy="greedy", max_new_tokens=args.max_new_tokens)
    load_before = os.getloadavg()[0]
    runs = {}
    for precision in ("fp32", "bf16"):
        loaded = load_model(args.model, precision)
        model = load_adapter(loaded.model, str(adapter)).eval() if adapter else loaded.model
        runs[precision] = evaluate_records(model, loaded.tokenizer, records, bench, decoding=dec)
        del model, loaded
    fp32, bf16 = runs["fp32"], runs["bf16"]
    same = sum(
        a["output"] == b["output"] for a, b in zip(fp32.predictions, bf16.predictions, strict=True)
    )
    agree = sum(
        a["correct"] == b["correct"]
        for a, b in zip(fp32.predictions, bf16.predictions, strict=True)
    )
    n = len(records)
    print(f"CPU: {describe_cpu()}")
    print(
        f"model {args.model} + {adapter}, {args.benchmark}, {n} examples, greedy, "
        f"{args.max_new_tokens} new tokens, {torch.get_num_threads()} threads; load average "
        f"before {load_before:.2f}, after {os.getloadavg()[0]:.2f}"
    )
    print(f"{'precision':<12}{'accuracy':>10}{'correct':>9}{'seconds':>9}")
    for name, r in runs.items():
        print(f"{name:<12}{100 * r.correct / n:>9.1f}%{r.correct:>9}{r.seconds:>9.1f}")
    diff = 100 * (bf16.correct - fp32.correct) / n
    print(
        f"bf16 - fp32: {diff:+.1f} points (target: within 1); identical outputs {same}/{n}; "
        f"same verdict {agree}/{n}"
    )


if __name__ == "__main__":
    main()
