"""GPU benchmarks on a 1B-class LLaMA-shaped model with random weights, bf16 (docs/gpu.md).

Training: real (non-pad) tokens per second of the paper's recipe (transformers' Trainer + a peft
LoRA, micro-batch 4, accumulation to 16, random order, padded to a multiple of 8, as in
bench/train_throughput.py) against the engine (`train_adapter`: length-grouped micro-batches of
4, and padding-free packing of whole batches of 16), same LoRA (r 32 on q, k, v, up, down), data
and optimizer steps; model FLOP utilisation against the H200's bf16 peak; peak GPU memory.
Evaluation: examples per second of the engine's batched generation (`generate_batch`) against
plain transformers batched generation, and the paper's evaluation recipe (one prompt at a time,
4 beams, no KV cache) on a few prompts.

Nothing is downloaded: the model is built from a LlamaConfig with random weights, the text is
synthetic arithmetic of varied length, the tokenizer the byte-level one of worker/engine/tiny.py
(so every id is a real token of the 32k vocabulary; the head still costs the full 32k).

    python bench/gpu_bench.py --json out.json      # on a CUDA machine (~2-3 minutes on an H200)
    python bench/gpu_bench.py --small              # CPU rehearsal: a small model, fp32, ~1 min
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.engine.config import AdapterConfig, PlacementConfig, TrainingConfig  # noqa: E402
from worker.engine.data import tokenize_example  # noqa: E402
from worker.engine.tiny import build_byte_tokenizer  # noqa: E402

H200_BF16_PEAK = 790e12  # FLOP/s, 8192^3 bf16 matmuls measured on the device machine (KINDS.md)
LORA = {"r": 32, "alpha": 64, "dropout": 0.05}
LORA_MODULES = ["q", "k", "v", "up", "down"]
LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "up_proj", "down_proj"]


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int


FULL = Shape(hidden=2048, layers=16, intermediate=5632, heads=32, kv_heads=4, vocab=32000)
SMALL = Shape(hidden=128, layers=2, intermediate=344, heads=4, kv_heads=2, vocab=2048)


def build_model(shape: Shape, device: torch.device, dtype: torch.dtype, seed: int = 0) -> Any:
    """A LlamaForCausalLM with random weights, initialised directly on `device`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=shape.vocab,
        hidden_size=shape.hidden,
        intermediate_size=shape.intermediate,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        max_position_embeddings=2048,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    torch.manual_seed(seed)
    with device:
        model = LlamaForCausalLM(config).to(dtype)
    model.eval()
    return model


def linear_parameters(shape: Shape) -> int:
    """Weights that take part in a matmul per token (every linear layer and the head)."""
    h, kv = shape.hidden, shape.hidden * shape.kv_heads // shape.heads
    per_layer = h * h * 2 + h * kv * 2 + 3 * h * shape.intermediate
    return shape.layers * per_layer + h * shape.vocab


def train_flops_per_token(shape: Shape, mean_context: float) -> float:
    """Model FLOPs of one LoRA training token: the frozen base's matmuls forward (2N) and the
    input gradients backward (2N; frozen weights need no weight gradient), plus causal attention
    (QK^T and AV, 4·h·context per layer forward, twice that backward). LoRA's own FLOPs are
    <1 % at r 32 and left out, which understates the utilisation slightly."""
    attention_forward = 4 * shape.layers * shape.hidden * mean_context
    return 4 * linear_parameters(shape) + 3 * attention_forward


def synthetic_records(count: int, seed: int) -> list[dict[str, str]]:
    """Arithmetic word problems of varied length: about 60 to 250 byte tokens of their own, 245
    to 462 with the training template's text (mean 343 for seed 1), so the default cutoff of
    512 cuts none and micro-batches pad as real data does (at 256 nearly all were cut to 256:
    the first H200 run's batches had no padding at all)."""
    rng = random.Random(seed)
    names = ["Ava", "Ben", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana"]
    things = ["apples", "marbles", "books", "coins", "stamps", "shells"]
    records = []
    for _ in range(count):
        steps = rng.randint(1, 5)
        total = rng.randint(2, 40)
        who, what = rng.choice(names), rng.choice(things)
        story = [f"{who} has {total} {what}."]
        work = []
        for _ in range(steps):
            n = rng.randint(1, 20)
            if rng.random() < 0.5:
                story.append(f"Then {who} finds {n} more.")
                work.append(f"{total} + {n} = {total + n}.")
                total += n
            else:
                story.append(f"Then {who} gives {n} away to a friend.")
                work.append(f"{total} - {n} = {total - n}.")
                total -= n
        records.append(
            {
                "instruction": " ".join(story) + f" How many {what} does {who} have now?",
                "input": "",
                "output": " ".join(work) + f" The answer is {total}.",
                "answer": str(total),
            }
        )
    return records


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _reset_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_memory(device: torch.device) -> int | None:
    return int(torch.cuda.max_memory_allocated()) if device.type == "cuda" else None


def paper_recipe(
    shape: Shape,
    device: torch.device,
    dtype: torch.dtype,
    records: list[dict],
    cutoff: int,
    batch: int = 16,
) -> dict[str, Any]:
    """transformers' Trainer + peft LoRA, as the LLM-Adapters fine-tuning script sets them up
    (weights in bf16 here rather than its 8-bit, so both recipes train the same model)."""
    from peft import LoraConfig, get_peft_model
    from transformers import DataCollatorForSeq2Seq, PrinterCallback, Trainer, TrainingArguments

    tok = build_byte_tokenizer()
    model = build_model(shape, device, dtype)
    torch.manual_seed(42)
    model = get_peft_model(
        model,
        LoraConfig(
            r=LORA["r"],
            lora_alpha=LORA["alpha"],
            lora_dropout=LORA["dropout"],
            target_modules=LORA_TARGETS,
            task_type="CAUSAL_LM",
        ),
    )
    rows = [tokenize_example(r, tok, cutoff_len=cutoff, train_on_inputs=True) for r in records]
    tok.padding_side = "right"
    on_gpu = device.type == "cuda"
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(),
        per_device_train_batch_size=4,
        gradient_accumulation_steps=batch // 4,
        num_train_epochs=1,
        learning_rate=3e-4,
        warmup_steps=0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=not on_gpu,
        bf16=on_gpu and dtype == torch.bfloat16,
        seed=42,
        remove_unused_columns=False,
        optim="adamw_torch",
    )
    collator = DataCollatorForSeq2Seq(tok, pad_to_multiple_of=8, return_tensors="pt", padding=True)
    trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collator)
    trainer.remove_callback(PrinterCallback)
    _reset_memory(device)
    _sync(device)
    start = time.perf_counter()
    output = trainer.train()
    _sync(device)
    seconds = time.perf_counter() - start
    tokens = sum(len(r["input_ids"]) for r in rows)
    return {
        "seconds": seconds,
        "tokens": tokens,
        "steps": trainer.state.global_step,
        "train_loss": output.training_loss,
        "peak_memory_bytes": _peak_memory(device),
        "mean_length": tokens / len(rows),
    }


def engine_recipe(
    shape: Shape,
    device: torch.device,
    dtype: torch.dtype,
    records: list[dict],
    cutoff: int,
    *,
    packing: bool,
    micro_batch: int,
    batch: int = 16,
    max_steps: int | None = None,
    auto: bool = False,
) -> dict[str, Any]:
    from transformers import set_seed

    from worker.engine.adapters import apply_adapter
    from worker.engine.training import train_adapter

    tok = build_byte_tokenizer()
    model = build_model(shape, device, dtype)
    set_seed(42)
    model = apply_adapter(
        model,
        AdapterConfig(
            method="lora", placement=PlacementConfig(modules=LORA_MODULES), params=dict(LORA)
        ),
    )
    cfg = TrainingConfig(
        epochs=1,
        batch_size=batch,
        micro_batch_size=micro_batch,
        max_steps=max_steps,
        auto_micro_batch=auto,
        cutoff_len=cutoff,
        val_set_size=0,
        warmup_steps=0,
        seed=42,
        packing=packing,
    )
    _reset_memory(device)
    result = train_adapter(model, tok, records, [], cfg, tempfile.mkdtemp(), learning_rate=3e-4)
    return {
        "seconds": result.seconds,
        "tokens": result.tokens,
        "steps": result.steps,
        "micro_batch_size": result.micro_batch_size,
        "train_loss": result.train_loss,
        "peak_memory_bytes": _peak_memory(device),
    }


def _prompts(records: list[dict]) -> list[str]:
    from worker.engine.prompts import build_prompt

    return [build_prompt(r["instruction"], r.get("input", ""), form="evaluation") for r in records]


def plain_generation(
    model: Any, tok: Any, prompts: list[str], batch_size: int, max_new_tokens: int
) -> float:
    """transformers' batched generate as a script would call it: batches in the given order,
    left padding, greedy, KV cache."""
    tok.padding_side = "left"
    device = next(model.parameters()).device
    _sync(device)
    start = time.perf_counter()
    for i in range(0, len(prompts), batch_size):
        enc = tok(prompts[i : i + batch_size], return_tensors="pt", padding=True).to(device)
        with torch.no_grad():
            model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=1,
                pad_token_id=tok.pad_token_id,
            )
    _sync(device)
    return time.perf_counter() - start


def paper_generation(model: Any, tok: Any, prompts: list[str], max_new_tokens: int) -> float:
    """The LLM-Adapters evaluation script: one prompt at a time, 4 beams, no KV cache."""
    device = next(model.parameters()).device
    _sync(device)
    start = time.perf_counter()
    for prompt in prompts:
        enc = tok(prompt, return_tensors="pt").to(device)
        with torch.no_grad():
            model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                num_beams=4,
                use_cache=False,
                pad_token_id=tok.pad_token_id,
            )
    _sync(device)
    return time.perf_counter() - start


def evaluation(
    shape: Shape,
    device: torch.device,
    dtype: torch.dtype,
    records: list[dict],
    *,
    batch_size: int,
    max_new_tokens: int,
    paper_examples: int,
    paper_tokens: int,
) -> dict[str, Any]:
    from worker.engine.config import DecodingConfig
    from worker.engine.evaluation.generation import generate_batch

    tok = build_byte_tokenizer()
    model = build_model(shape, device, dtype)
    prompts = _prompts(records)
    from worker.engine.evaluation.continuous import attention_backends, pick_batch_size

    decoding = DecodingConfig(strategy="greedy", max_new_tokens=max_new_tokens)
    generate_batch(model, tok, prompts[:batch_size], decoding, batch_size=batch_size)  # warm-up

    def engine(rows: int | None) -> tuple[float, int | None]:
        _reset_memory(device)
        _sync(device)
        start = time.perf_counter()
        generate_batch(model, tok, prompts, decoding, batch_size=rows)
        _sync(device)
        return time.perf_counter() - start, _peak_memory(device)

    # Each side twice, the same prompts: the second run meets no new shape (cuDNN's attention
    # plans, cuBLAS heuristics), the first shows what new shapes cost.
    first_engine_s, _ = engine(batch_size)
    engine_s, engine_peak = engine(batch_size)
    # The engine's own choice (batch_size None: from the model and free memory).
    picked = pick_batch_size(model, max(len(tok(p)["input_ids"]) for p in prompts) + max_new_tokens)
    auto_s, auto_peak = engine(None)
    first_plain_s = plain_generation(model, tok, prompts, batch_size, max_new_tokens)
    plain_s = plain_generation(model, tok, prompts, batch_size, max_new_tokens)
    with attention_backends(device):  # the engine's attention backends, for plain generate too
        plain_no_cudnn_s = plain_generation(model, tok, prompts, batch_size, max_new_tokens)
    plain_wide_s = plain_generation(model, tok, prompts, picked, max_new_tokens)
    paper_s = paper_generation(model, tok, prompts[:paper_examples], paper_tokens)
    n = len(prompts)
    return {
        "examples": n,
        "batch_size": batch_size,
        "max_new_tokens": max_new_tokens,
        "first_runs_seconds": {"engine": first_engine_s, "plain": first_plain_s},
        "plain_without_cudnn_attention": {
            "seconds": plain_no_cudnn_s,
            "examples_per_second": n / plain_no_cudnn_s,
        },
        "engine": {
            "seconds": engine_s,
            "examples_per_second": n / engine_s,
            "peak_memory_bytes": engine_peak,
        },
        "engine_own_batch": {
            "batch_size": picked,
            "seconds": auto_s,
            "examples_per_second": n / auto_s,
            "peak_memory_bytes": auto_peak,
        },
        "plain_transformers_batched": {"seconds": plain_s, "examples_per_second": n / plain_s},
        "plain_transformers_same_batch_as_engine_own": {
            "batch_size": picked,
            "seconds": plain_wide_s,
            "examples_per_second": n / plain_wide_s,
        },
        "ratio_engine_own_vs_plain_same_batch": plain_wide_s / auto_s,
        "paper_recipe": {
            "examples": paper_examples,
            "max_new_tokens": paper_tokens,
            "seconds": paper_s,
            "examples_per_second": paper_examples / paper_s,
        },
        "ratio_engine_vs_plain": plain_s / engine_s,
        # Per example, with the paper recipe's shorter token budget (it is that slow).
        "ratio_engine_vs_paper_per_example_per_token": (paper_s / paper_examples / paper_tokens)
        / (engine_s / n / max_new_tokens),
    }


def profile_runs(
    shape: Shape,
    device: torch.device,
    dtype: torch.dtype,
    records: list[dict],
    cutoff: int,
    path: str,
) -> dict[str, Any]:
    """torch.profiler tables of two engine training steps (micro-batches of 4) and of a batched
    evaluation (64 prompts, 16 tokens): where the time goes, and what share of the wall time
    the device computes (a low share means the run waits on Python and kernel launches)."""
    from torch.profiler import ProfilerActivity, profile

    from worker.engine.config import DecodingConfig
    from worker.engine.evaluation.generation import generate_batch

    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    tok = build_byte_tokenizer()
    model = build_model(shape, device, dtype)
    prompts = _prompts(records[:64])
    decoding = DecodingConfig(strategy="greedy", max_new_tokens=16)
    jobs = {
        "training (2 steps of 16, micro-batches of 4)": lambda: engine_recipe(
            shape, device, dtype, records[:32], cutoff, packing=False, micro_batch=4, max_steps=2
        ),
        "evaluation (64 prompts, batch 64, 16 new tokens)": lambda: generate_batch(
            model, tok, prompts, decoding, batch_size=64
        ),
    }
    summary: dict[str, Any] = {}
    with open(path, "w") as out:
        for title, job in jobs.items():
            job()  # warm
            _sync(device)
            with profile(activities=activities) as prof:
                start = time.perf_counter()
                job()
                _sync(device)
                wall = time.perf_counter() - start
            events = prof.key_averages()
            busy = sum(getattr(e, "self_device_time_total", 0) for e in events) / 1e6
            summary[title] = {"wall_seconds": wall, "device_busy_seconds": busy}
            out.write(f"== {title}: wall {wall:.3f} s, device kernels {busy:.3f} s\n")
            for key in (("self_device_time_total",) if cuda else ()) + ("self_cpu_time_total",):
                out.write(f"-- by {key}\n{events.table(sort_by=key, row_limit=25)}\n")
    return summary


def training_runs(
    shape: Shape,
    device: torch.device,
    dtype: torch.dtype,
    records: list[dict],
    cutoff: int,
    *,
    small: bool,
) -> dict[str, Any]:
    """The paper's recipe and the engine's set-ups on the same data; tokens/s, MFU, ratios."""
    cuda = device.type == "cuda"
    t0 = time.perf_counter()
    # Untimed warm-up of each path: CUDA context, cuBLAS heuristics, the Trainer's first set-up
    # (left out of the CPU rehearsal, which only shows that the script runs).
    if not small:
        warm = records[:16]
        paper_recipe(shape, device, dtype, warm, cutoff)
        engine_recipe(shape, device, dtype, warm, cutoff, packing=False, micro_batch=4)

    print(f"warm-up done at {time.perf_counter() - t0:.0f} s", flush=True)
    # Micro-batches of 4 as the paper's recipe has them; of 16 (a whole step, one forward); the
    # same packed; and 64 examples in one forward (batch 64), where the GPU's fixed cost per
    # forward is spread over ~22k tokens: the utilisation figure.
    big = 16 if small else 64
    runs: dict[str, Any] = {
        "paper_trainer_peft": lambda: paper_recipe(shape, device, dtype, records, cutoff),
        "engine_grouped_mb4": lambda: engine_recipe(
            shape, device, dtype, records, cutoff, packing=False, micro_batch=4
        ),
        # The engine's defaults (micro_batch_size 4, auto_micro_batch on): what a job runs.
        "engine_default": lambda: engine_recipe(
            shape, device, dtype, records, cutoff, packing=False, micro_batch=4, auto=True
        ),
        "engine_grouped_mb16": lambda: engine_recipe(
            shape, device, dtype, records, cutoff, packing=False, micro_batch=16
        ),
        "engine_packing_mb16": lambda: engine_recipe(
            shape, device, dtype, records, cutoff, packing=True, micro_batch=16
        ),
        f"engine_grouped_mb{big}_batch{big}": lambda: engine_recipe(
            shape, device, dtype, records, cutoff, packing=False, micro_batch=big, batch=big
        ),
    }
    train: dict[str, Any] = {}
    for name, run_it in runs.items():
        train[name] = run_it()
        print(f"  {name}: {train[name]['seconds']:.2f} s", flush=True)
    mean_length = train["paper_trainer_peft"]["mean_length"]
    flops_token = train_flops_per_token(shape, mean_length / 2)
    for run in train.values():
        run["tokens_per_second"] = run["tokens"] / run["seconds"]
        run["model_tflops_per_second"] = run["tokens_per_second"] * flops_token / 1e12
        if cuda:
            run["mfu_vs_h200_bf16_peak"] = run["tokens_per_second"] * flops_token / H200_BF16_PEAK
    paper_tps = train["paper_trainer_peft"]["tokens_per_second"]
    for name in runs:
        if name.startswith("engine"):
            train[name]["ratio_vs_paper"] = train[name]["tokens_per_second"] / paper_tps
    for name, run in train.items():
        print(
            f"train {name:<26} {run['tokens']:>7} tokens {run['seconds']:>7.2f} s "
            f"{run['tokens_per_second']:>10.0f} tok/s  {run['model_tflops_per_second']:>7.1f} TFLOP/s"
            + (f"  MFU {100 * run['mfu_vs_h200_bf16_peak']:.1f} %" if cuda else "")
            + (
                f"  peak {run['peak_memory_bytes'] / 2**30:.1f} GiB"
                if run["peak_memory_bytes"]
                else ""
            )
            + (f"  x{run['ratio_vs_paper']:.2f} vs paper" if "ratio_vs_paper" in run else "")
            + (f"  (micro-batch {run['micro_batch_size']})" if "micro_batch_size" in run else "")
        )
    return {**train, "flops_per_token": flops_token}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--small", action="store_true", help="small model, few steps (CPU rehearsal)"
    )
    parser.add_argument("--json", help="write every figure to this file")
    parser.add_argument("--examples", type=int, help="training examples (16 per optimizer step)")
    parser.add_argument("--cutoff", type=int, default=512)
    parser.add_argument("--eval-only", action="store_true", help="skip the training runs")
    parser.add_argument(
        "--profile", help="write torch.profiler tables of a training and an evaluation to this file"
    )
    args = parser.parse_args()
    import transformers

    transformers.logging.set_verbosity_error()
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if not cuda and not args.small:
        report: dict[str, Any] = {"status": "skipped: no CUDA (use --small for the CPU rehearsal)"}
        print(report["status"])
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
        return
    shape = SMALL if args.small else FULL
    dtype = torch.bfloat16 if cuda else torch.float32
    examples = args.examples or (16 if args.small else 256)
    cutoff = 128 if args.small else args.cutoff
    records = synthetic_records(examples, seed=1)
    where = torch.cuda.get_device_name(0) if cuda else platform.processor() or "cpu"
    report = {
        "status": "ran on CUDA" if cuda else "CPU rehearsal (--small): figures are not GPU figures",
        "device": where,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "dtype": str(dtype).removeprefix("torch."),
        "model": {
            **shape.__dict__,
            "parameters": sum(
                p.numel() for p in build_model(shape, torch.device("meta"), dtype).parameters()
            ),
        },
        "lora": {**LORA, "modules": LORA_MODULES},
        "training_examples": examples,
        "cutoff": cutoff,
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg()[0],
    }
    print(json.dumps({k: v for k, v in report.items()}, default=str))

    t0 = time.perf_counter()
    if not args.eval_only:
        report["train"] = training_runs(shape, device, dtype, records, cutoff, small=args.small)
        print(f"training done at {time.perf_counter() - t0:.0f} s", flush=True)
    report["eval"] = evaluation(
        shape,
        device,
        dtype,
        synthetic_records(8 if args.small else 256, seed=2),
        batch_size=4 if args.small else 64,
        max_new_tokens=8 if args.small else 64,
        paper_examples=2 if args.small else 4,
        paper_tokens=4 if args.small else 32,
    )
    ev = report["eval"]
    own, wide = ev["engine_own_batch"], ev["plain_transformers_same_batch_as_engine_own"]
    print(
        f"eval batch {ev['batch_size']}: engine {ev['engine']['examples_per_second']:.2f} ex/s, "
        f"plain transformers {ev['plain_transformers_batched']['examples_per_second']:.2f} ex/s "
        f"(x{ev['ratio_engine_vs_plain']:.2f}); batch {own['batch_size']} (the engine's own "
        f"choice): engine {own['examples_per_second']:.2f}, plain "
        f"{wide['examples_per_second']:.2f} (x{ev['ratio_engine_own_vs_plain_same_batch']:.2f}); "
        f"paper recipe {ev['paper_recipe']['examples_per_second']:.3f} ex/s at "
        f"{ev['paper_recipe']['max_new_tokens']} tokens"
    )
    print(
        f"eval first runs (new shapes): engine {ev['first_runs_seconds']['engine']:.2f} s, plain "
        f"{ev['first_runs_seconds']['plain']:.2f} s; plain without cuDNN attention "
        f"{ev['plain_without_cudnn_attention']['examples_per_second']:.2f} ex/s",
        flush=True,
    )
    if args.profile:
        report["profile"] = profile_runs(shape, device, dtype, records, cutoff, args.profile)
        print(f"profiles written to {args.profile}: {report['profile']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
