"""Training throughput: the engine against the paper's recipe and TRL, same model, data, machine.

Three recipes train the same LoRA (r 32, alpha 64, dropout 0.05 on q,k,v,up,down) on the same
examples at batch 16, cutoff 256, each in its own fresh process (so each one's peak resident
memory is its own), after one untimed warm-up run of 16 examples in that process:
- engine: `train_adapter` as a job runs it, at the default precision (`auto`: bf16 on a CPU with
  bf16 units, fp32 elsewhere); length-grouped batches (padding-free packing with --packing), the
  fused LM-head loss, dropout that draws only the dropped positions (docs/training.md);
- the paper's recipe: the LLM-Adapters fine-tuning script's setup, transformers' Trainer with a
  peft LoRA, micro-batch 4 accumulated to 16, random order, padded per micro-batch to ×8; fp32;
- TRL's SFTTrainer (a real, maintained peer) with padding-free batches and gradient checkpointing
  off, in the engine's dtype (TRL's own default is bf16 autocast on any CPU), run in the
  benchmarks' own venv `bench/.venv-peers` (`bash bench/peers.sh`; skipped with a note where
  that venv is missing).
All count only real (non-pad) tokens. Besides tokens/s: the peak resident memory, and the useful
FLOP/s (4 per frozen weight per real token, forward and input gradient, plus 6 per trainable
weight; attention's products left out) as a share of this CPU's measured matmul peak in the
recipe's dtype.

    .venv/bin/python bench/train_throughput.py                      # demo model, 64 examples
    .venv/bin/python bench/train_throughput.py --rounds 3           # medians, alternating order
    .venv/bin/python bench/train_throughput.py --model tiny:llama --examples 256
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
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


PEERS_PYTHON = Path(__file__).resolve().parent / ".venv-peers/bin/python"
RECIPES = ("engine", "paper", "trl")


def _fresh_model(reference: str, precision: str = "fp32") -> tuple[Any, Any]:
    from worker.engine.models import load_model

    loaded = load_model(reference, precision, device="cpu")
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
    precision: str = "auto",
) -> tuple[float, int, float]:
    from transformers import set_seed

    from worker.engine.adapters import apply_adapter
    from worker.engine.training import train_adapter

    model, tok = _fresh_model(reference, precision)
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


def useful_flops_per_token(reference: str) -> tuple[float, int]:
    """(FLOPs per real token, trainable weights) of this LoRA on this model: 4 per frozen weight
    of the decoder's linear layers and the LM head (forward and the input gradient; a frozen base
    needs no weight gradients) plus 6 per trainable weight (forward, both backward products)."""
    from worker.engine.adapters import apply_adapter

    model, _ = _fresh_model(reference)
    frozen = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    model = apply_adapter(
        model,
        AdapterConfig(method="lora", placement=PlacementConfig(modules=MODULES), params=dict(LORA)),
    )
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return 4.0 * frozen + 6.0 * trainable, trainable


def _child(args: argparse.Namespace, records: list[dict]) -> dict[str, Any]:
    """One recipe in this (fresh) process: an untimed warm-up run, then the timed one."""
    if args.child == "paper":

        def go(rows: list[dict]) -> tuple[float, int]:
            return seed_recipe(args.model, rows, args.cutoff, 3e-4, args.seed)

        dtype = "float32"
    else:

        def go(rows: list[dict]) -> tuple[float, int]:
            seconds, tokens, _ = engine_recipe(
                args.model,
                rows,
                args.cutoff,
                3e-4,
                args.seed,
                args.packing,
                args.engine_micro_batch,
                args.precision,
            )
            return seconds, tokens

        from worker.engine.models import resolve_dtype

        dtype = str(resolve_dtype(args.precision, torch.device("cpu"))).removeprefix("torch.")
    if not args.no_warmup:
        go(records[:16])  # the first Trainer run in a process pays one-time set-up (seconds)
    seconds, tokens = go(records)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": seconds, "tokens": tokens, "peak_rss_bytes": peak, "dtype": dtype}


def _trl_command(args: argparse.Namespace, records: list[dict]) -> list[str] | None:
    """The TRL recipe's command line, its rows tokenized once for every round (None: no peer venv,
    or a studio-only model)."""
    if not PEERS_PYTHON.exists():
        return None
    from worker.engine.models import demo_model_folder, parse_reference
    from worker.engine.placement import resolve_lora_targets

    kind, value = parse_reference(args.model)
    if kind not in ("demo", "hf", "path"):
        return None  # TRL loads a folder or a hub id; tiny models exist only in the studio
    folder = str(demo_model_folder(value)) if kind == "demo" else value
    model, tok = _fresh_model(args.model)
    targets = sorted({n.rsplit(".", 1)[-1] for n in resolve_lora_targets(model, MODULES)})
    rows = [
        {
            "input_ids": tokenize_example(r, tok, cutoff_len=args.cutoff, train_on_inputs=True)[
                "input_ids"
            ]
        }
        for r in records
    ]
    rows_file = Path(tempfile.mkdtemp()) / "rows.json"
    rows_file.write_text(json.dumps(rows))
    command = [
        str(PEERS_PYTHON),
        str(Path(__file__).resolve().parent / "peer_trl_train.py"),
        "--model-dir",
        folder,
        "--rows",
        str(rows_file),
        "--targets",
        ",".join(targets),
        "--r",
        str(LORA["r"]),
        "--alpha",
        str(LORA["alpha"]),
        "--dropout",
        str(LORA["dropout"]),
        "--seed",
        str(args.seed),
    ]
    if args.no_warmup:
        command += ["--warmup-rows", "0"]
    from worker.engine.models import resolve_dtype

    if resolve_dtype(args.precision, torch.device("cpu")) == torch.bfloat16:
        command.append("--bf16")
    return command


def _run_recipe(name: str, args: argparse.Namespace) -> dict[str, Any] | None:
    """Runs one recipe in a fresh process and returns what it printed (None: TRL not at hand)."""
    if name == "trl":
        command = args.trl_command
        if command is None:
            return None
    else:
        command = [sys.executable, __file__, "--child", name, *args.passthrough]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        sys.exit(f"{name} recipe failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="demo:smollm2-135m")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--examples", type=int, default=64, help="a multiple of 16 (one step each)")
    parser.add_argument("--cutoff", type=int, default=256)
    parser.add_argument("--packing", action="store_true", help="engine: padding-free packing")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--precision", default="auto", help="the engine's precision (default auto, as a job's)"
    )
    parser.add_argument(
        "--engine-micro-batch", type=int, default=4, help="the engine's micro-batch (same batch 16)"
    )
    parser.add_argument(
        "--recipes", default=",".join(RECIPES), help=f"which to run, of {','.join(RECIPES)}"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat the recipes, rotating which goes first; prints medians "
        "(a shared machine's load drifts between runs)",
    )
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    parser.add_argument("--child", choices=("engine", "paper"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    import transformers

    transformers.logging.set_verbosity_error()
    records = load_records(args.data)[: args.examples]
    if args.child:
        print(json.dumps(_child(args, records)))
        return
    args.passthrough = _strip_options(sys.argv[1:], ("--rounds", "--recipes"))
    recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    unknown = sorted(set(recipes) - set(RECIPES))
    if unknown:
        parser.error(f"unknown recipe {', '.join(unknown)}; choose from {', '.join(RECIPES)}")

    from worker.engine.cpu_features import describe_cpu
    from worker.engine.estimate import matmul_flops
    from worker.engine.models import resolve_dtype

    per_token, trainable = useful_flops_per_token(args.model)
    engine_dtype = resolve_dtype(args.precision, torch.device("cpu"))
    peaks = {"float32": matmul_flops(torch.device("cpu"), torch.float32, 2048)}
    if engine_dtype != torch.float32:
        name = str(engine_dtype).removeprefix("torch.")
        peaks[name] = matmul_flops(torch.device("cpu"), engine_dtype, 2048)
    print(f"CPU: {describe_cpu()}")
    print(
        f"model {args.model}, {len(records)} examples, cutoff {args.cutoff}, batch 16, "
        f"LoRA r {LORA['r']} on {','.join(MODULES)} ({trainable:,} trainable), "
        f"{torch.get_num_threads()} threads, engine precision {args.precision} -> "
        f"{str(engine_dtype).removeprefix('torch.')}; matmul peak (2048^3) "
        + ", ".join(f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in peaks.items())
        + f"; load average {os.getloadavg()[0]:.2f}"
    )
    args.trl_command = _trl_command(args, records) if "trl" in recipes else None
    results: dict[str, list[dict[str, Any]]] = {r: [] for r in recipes}
    for round_ in range(args.rounds):
        order = recipes[round_ % len(recipes) :] + recipes[: round_ % len(recipes)]
        for name in order:
            out = _run_recipe(name, args)
            if out is None:
                print(f"  {name}: skipped (no {PEERS_PYTHON} with trl, or a studio-only model)")
                recipes.remove(name)
                results.pop(name)
                continue
            out["load"] = os.getloadavg()[0]
            results[name].append(out)
            tps = out["tokens"] / out["seconds"]
            print(
                f"  round {round_ + 1}: {name:<7} {tps:8.1f} tokens/s  "
                f"({out['seconds']:.1f} s, load average {out['load']:.2f})",
                flush=True,
            )
    labels = {
        "engine": "engine (`train_adapter`"
        + (", packing" if args.packing else "")
        + (f", mb {args.engine_micro_batch}" if args.engine_micro_batch != 4 else "")
        + ")",
        "paper": "the paper's recipe (Trainer + peft, mb 4, pad x8)",
        "trl": "TRL SFTTrainer, padding-free, checkpointing off",
    }
    if "trl" in results and results["trl"]:
        v = results["trl"][0].get("versions", {})
        labels["trl"] = labels["trl"].replace("TRL", f"TRL {v.get('trl', '')}".strip())
    median_tps = {
        r: statistics.median(o["tokens"] / o["seconds"] for o in outs)
        for r, outs in results.items()
    }
    print(f"\nmedians over {args.rounds} round(s), real tokens/s:")
    print(
        f"{'recipe':<52}{'dtype':>9}{'tokens/s':>10}{'engine ÷':>10}{'peak RSS':>11}"
        f"{'share of peak':>15}"
    )
    for name, outs in results.items():
        tps = median_tps[name]
        dtype = outs[0]["dtype"]
        ratio = median_tps["engine"] / tps if "engine" in median_tps else float("nan")
        rss = max(o["peak_rss_bytes"] for o in outs) / 2**20
        share = tps * per_token / peaks.get(dtype, peaks["float32"])
        print(
            f"{labels[name]:<52}{dtype:>9}{tps:>10.1f}{ratio:>9.2f}x{rss:>8.0f} MiB"
            f"{100 * share:>14.0f}%"
        )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


def _strip_options(argv: list[str], names: tuple[str, ...]) -> list[str]:
    """argv without the given options and their values (the parent's, not a child's)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in names:
            skip = True
            continue
        if any(a.startswith(n + "=") for n in names):
            continue
        out.append(a)
    return out


if __name__ == "__main__":
    main()
