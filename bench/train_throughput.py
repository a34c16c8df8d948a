"""Training throughput: the seed's recipe against the engine, same model, data and machine.

The seed's recipe is the LLM-Adapters fine-tuning script's setup: transformers' Trainer with a
peft LoRA, micro-batch 4, gradient accumulation to batch 16, examples in random order, padded
per micro-batch to a multiple of 8. The engine runs the same LoRA, data, batch and steps through
`train_adapter` (length-grouped batches or padding-free packing with --packing, the fused
LM-head loss, dropout that draws only the dropped positions: docs/training.md). Both count only
real (non-pad) tokens, so the ratio is useful work per second.

    .venv/bin/python bench/train_throughput.py                      # demo model, 96 examples
    .venv/bin/python bench/train_throughput.py --model tiny:llama --examples 256
    .venv/bin/python bench/train_throughput.py --examples 64 --rounds 4   # median of 4, alternating
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.engine.config import AdapterConfig, PlacementConfig, TrainingConfig  # noqa: E402
from worker.engine.data import load_records, tokenize_example  # noqa: E402

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2] / "shared/datasets/llm-adapters/train/math_data.json"
)
LORA = {"r": 32, "alpha": 64, "dropout": 0.05}
MODULES = ["q", "k", "v", "up", "down"]


def _fresh_model(reference: str) -> tuple[Any, Any]:
    from worker.engine.models import load_model

    loaded = load_model(reference, "fp32", device="cpu")
    return loaded.model, loaded.tokenizer


def seed_recipe(
    reference: str, records: list[dict], cutoff: int, lr: float, seed: int
) -> tuple[float, int]:
    """HF Trainer + peft, as the LLM-Adapters script sets them up."""
    from peft import LoraConfig, get_peft_model
    from transformers import (
        DataCollatorForSeq2Seq,
        PrinterCallback,
        Trainer,
        TrainingArguments,
    )

    from worker.engine.placement import resolve_lora_targets

    model, tok = _fresh_model(reference)
    targets = resolve_lora_targets(model, MODULES)
    torch.manual_seed(seed)
    model = get_peft_model(
        model,
        LoraConfig(
            r=LORA["r"],
            lora_alpha=LORA["alpha"],
            lora_dropout=LORA["dropout"],
            target_modules=targets,
            task_type="CAUSAL_LM",
        ),
    )
    rows = [tokenize_example(r, tok, cutoff_len=cutoff, train_on_inputs=True) for r in records]
    tok.padding_side = "right"
    tokens = sum(len(r["input_ids"]) for r in rows)
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(),
        per_device_train_batch_size=4,
        gradient_accumulation_steps=4,
        num_train_epochs=1,
        learning_rate=lr,
        warmup_steps=0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        seed=seed,
        remove_unused_columns=False,
        optim="adamw_torch",
    )
    collator = DataCollatorForSeq2Seq(tok, pad_to_multiple_of=8, return_tensors="pt", padding=True)
    trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collator)
    trainer.remove_callback(PrinterCallback)  # its per-step dicts would clutter the table
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start, tokens


def engine_recipe(
    reference: str,
    records: list[dict],
    cutoff: int,
    lr: float,
    seed: int,
    packing: bool,
    micro_batch: int = 4,
) -> tuple[float, int, float]:
    from transformers import set_seed

    from worker.engine.adapters import apply_adapter
    from worker.engine.training import train_adapter

    model, tok = _fresh_model(reference)
    set_seed(seed)
    model = apply_adapter(
        model,
        AdapterConfig(method="lora", placement=PlacementConfig(modules=MODULES), params=dict(LORA)),
    )
    cfg = TrainingConfig(
        epochs=1,
        batch_size=16,
        micro_batch_size=micro_batch,
        cutoff_len=cutoff,
        val_set_size=0,
        warmup_steps=0,
        seed=seed,
        packing=packing,
    )
    start = time.perf_counter()
    result = train_adapter(model, tok, records, [], cfg, tempfile.mkdtemp(), learning_rate=lr)
    return time.perf_counter() - start, result.tokens, result.train_loss or float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="demo:smollm2-135m")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--examples", type=int, default=96, help="a multiple of 16 (one step each)")
    parser.add_argument("--cutoff", type=int, default=256)
    parser.add_argument("--packing", action="store_true", help="engine: padding-free packing")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--engine-micro-batch", type=int, default=4, help="the engine's micro-batch (same batch 16)"
    )
    parser.add_argument(
        "--engine-first", action="store_true", help="run the engine first (checks warm-up bias)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat both recipes, alternating which goes first; prints the median ratio "
        "(a shared machine's load drifts between runs)",
    )
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up step")
    args = parser.parse_args()
    import transformers

    transformers.logging.set_verbosity_error()
    records = load_records(args.data)[: args.examples]
    print(
        f"model {args.model}, {len(records)} examples, cutoff {args.cutoff}, "
        f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f}"
    )
    label = "engine (packing)" if args.packing else "engine (length-grouped)"
    if args.engine_micro_batch != 4:
        label = f"{label[:-1]}, mb {args.engine_micro_batch})"

    def seed() -> tuple[float, int]:
        return seed_recipe(args.model, records, args.cutoff, 3e-4, args.seed)

    def engine() -> tuple[float, int]:
        seconds, tokens, _ = engine_recipe(
            args.model,
            records,
            args.cutoff,
            3e-4,
            args.seed,
            args.packing,
            args.engine_micro_batch,
        )
        return seconds, tokens

    if not args.no_warmup:
        # One untimed step of each first: the first Trainer run in a process pays one-time
        # set-up (seconds), which would otherwise count against whichever recipe goes first.
        seed_recipe(args.model, records[:16], args.cutoff, 3e-4, args.seed)
        engine_recipe(args.model, records[:16], args.cutoff, 3e-4, args.seed, args.packing)
    ratios = []
    for round_ in range(args.rounds):
        engine_first = args.engine_first != (round_ % 2 == 1)
        if engine_first:
            eng_s, eng_tokens = engine()
        base_s, base_tokens = seed()
        if not engine_first:
            eng_s, eng_tokens = engine()
        base_tps, eng_tps = base_tokens / base_s, eng_tokens / eng_s
        ratios.append(eng_tps / base_tps)
        first = "engine" if engine_first else "seed"
        print(f"\nround {round_ + 1} ({first} first)")
        print(f"{'recipe':<40}{'seconds':>10}{'tokens':>10}{'tokens/s':>12}")
        print(
            f"{'seed (HF Trainer + peft, mb 4, pad x8)':<40}"
            f"{base_s:>10.1f}{base_tokens:>10}{base_tps:>12.1f}"
        )
        print(f"{label:<40}{eng_s:>10.1f}{eng_tokens:>10}{eng_tps:>12.1f}")
        print(
            f"ratio engine / seed: {ratios[-1]:.2f}x  (load average now {os.getloadavg()[0]:.2f})"
        )
    if len(ratios) > 1:
        print(
            f"\nratios {', '.join(f'{r:.2f}' for r in ratios)}; "
            f"median {statistics.median(ratios):.2f}x"
        )


if __name__ == "__main__":
    main()
