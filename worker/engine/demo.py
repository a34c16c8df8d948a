"""`studio demo`: proof that fine-tuning works, on the built-in demo model and the CPU.

The demo makes a synthetic arithmetic data set (two-digit addition and subtraction word
problems whose answers are worked: "47 + 38 = 85. The answer is 85."), measures the demo model
(SmolLM2-135M-Instruct) on a held-out part with the Alpaca prompt and the paper's scoring rule,
trains a LoRA adapter on the rest, and measures again with the same template and decoding.

Honesty of the task:
- every answer needs the arithmetic: an answer never equals a number in its question;
- the held-out questions are never seen in training: the records are drawn without replacement
  from the (a, operation, b) triples, so no held-out triple (let alone question) is trained on;
- before and after use the same template ('alpaca', the clean Alpaca text), decoding and
  scorer (the paper rule: the last number in the output, correct within 1e-3 of the gold).

The recipe and its measured figures are documented in docs/demo.md.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import JobConfig
from .progress import EvalInfo, ProgressCallback

if TYPE_CHECKING:
    from .evaluation import EvalResult

log = logging.getLogger(__name__)

BENCHMARK_NAME = "demo-arithmetic"

# The recipe, as a job config (DESIGN.md shape, no dataset: the demo makes its own).
# Measured on the 2-core CPU (docs/demo.md): the base model scores 3-5 % on the 100 held-out
# questions; after these 60 steps of 8 examples (480 training problems, ~3.5 s a step) 55-60 %.
# Why these values, all measured: lr 2e-3 learns in 60 steps what 1e-3 needs 120+ for; LoRA on
# all seven projections did a little better than on q,k,v,up,down; micro-batch 8 = batch 8
# (larger micro-batches gave no more tokens/s on 2 cores); train_on_inputs=False puts the loss
# on the answer; packing was slower than padding on the CPU (block-diagonal masks); the 'chat'
# template and a longer worked answer (tens, then ones) did no better than this short one.
DEMO_RECIPE: dict[str, Any] = {
    "name": "demo-arithmetic-lora",
    "base_model": "demo:smollm2-135m",
    "adapter": {
        "method": "lora",
        "placement": {"modules": ["q", "k", "v", "o", "gate", "up", "down"], "layers": "all"},
        "params": {"r": 16, "alpha": 32, "dropout": 0.0},
    },
    "training": {
        "epochs": 1,
        "max_steps": 60,
        "learning_rate": 2e-3,
        "batch_size": 8,
        "micro_batch_size": 8,
        "cutoff_len": 128,
        "val_set_size": 0,
        "train_on_inputs": False,
        "warmup_steps": 5,
        "lr_scheduler": "linear",
        "seed": 0,
        # A job's default: bf16 on a CPU with bf16 units (+58 points in 167 s there), else fp32.
        "precision": "auto",
        "prompt_template": "alpaca",
        "logging_steps": 1,
    },
    "evaluation": {
        "benchmarks": [],
        "max_examples": 100,  # the held-out questions
        "batch_size": 50,
        "decoding": {"strategy": "greedy", "max_new_tokens": 32},
    },
}

# `quick=True` (the test suite): fewer steps and 40 held-out questions; still a clear rise.
QUICK_OVERRIDES: dict[str, dict[str, Any]] = {
    "training": {"max_steps": 20, "warmup_steps": 2},
    "evaluation": {"max_examples": 40},
}

_NAMES = (
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jack",
    "Kara",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pablo",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Yuki",
    "Zoe",
)
_ITEMS = (
    "apples",
    "books",
    "coins",
    "stamps",
    "marbles",
    "pencils",
    "stickers",
    "cards",
    "shells",
    "cookies",
    "balloons",
    "flowers",
    "eggs",
    "toy cars",
    "beads",
    "candles",
)
_ADD = (
    "{n} has {a} {x}. {n} buys {b} more {x}. How many {x} does {n} have now?",
    "{n} had {a} {x} and was given {b} more. How many {x} does {n} have?",
    "There are {a} {x} in a box. {n} puts in {b} more. How many {x} are in the box now?",
    "{n} collected {a} {x} on Monday and {b} {x} on Tuesday. How many {x} did {n} collect in all?",
)
_SUB = (
    "{n} has {a} {x}. {n} gives away {b} {x}. How many {x} does {n} have left?",
    "{n} had {a} {x} and lost {b} of them. How many {x} does {n} have now?",
    "There are {a} {x} in a box. {n} takes out {b}. How many {x} are left in the box?",
    "{n} wants {a} {x} and already has {b}. How many more {x} does {n} need?",
)


def _triples(low: int, high: int) -> list[tuple[int, str, int]]:
    """Every (a, op, b) with two operands in [low, high] whose answer is not an operand."""
    out = []
    for a in range(low, high + 1):
        for b in range(low, high + 1):
            out.append((a, "+", b))  # a + b exceeds both operands (they are positive)
            if a > b and a - b != b:  # a - b > 0, and never a copy of a number in the question
                out.append((a, "-", b))
    return out


def make_arithmetic_dataset(
    n: int, seed: int = 0, *, low: int = 10, high: int = 99
) -> list[dict[str, str]]:
    """`n` word problems in the Alpaca shape (instruction, input, output, answer).

    Each record has its own (a, operation, b): the triples are drawn without replacement, so any
    split of the list into training and held-out parts shares no arithmetic. Additions and
    subtractions come in their natural proportion (about 2:1). The output is the worked step
    and the sentence the scorer reads: "47 + 38 = 85. The answer is 85."
    """
    pool = _triples(low, high)
    if not 0 <= n <= len(pool):
        raise ValueError(f"n must be between 0 and {len(pool)} for operands {low}..{high}")
    rng = random.Random(seed)
    rng.shuffle(pool)
    records = []
    for a, op, b in pool[:n]:
        c = a + b if op == "+" else a - b
        template = rng.choice(_ADD if op == "+" else _SUB)
        question = template.format(n=rng.choice(_NAMES), x=rng.choice(_ITEMS), a=a, b=b)
        records.append(
            {
                "instruction": question,
                "input": "",
                "output": f"{a} {op} {b} = {c}. The answer is {c}.",
                "answer": str(c),
            }
        )
    return records


def demo_split(quick: bool = False) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(training records, held-out records) of the recipe: one draw of distinct triples, the
    first `max_examples` held out. `run_demo` and the studio's one-click demo use the same."""
    config = demo_config(quick)
    held_out_n = config.evaluation.max_examples or 100
    train_n = (config.training.max_steps or 0) * config.training.batch_size
    records = make_arithmetic_dataset(held_out_n + train_n, seed=config.training.seed)
    return records[held_out_n:], records[:held_out_n]


# The studio's one-click demo (POST /api/v1/demo) evaluates on the held-out set as a benchmark,
# before training and every EVERY_N_STEPS after, so the accuracy curve shows the rise.
EVERY_N_STEPS = 20


def demo_job_config(dataset_id: int) -> dict[str, Any]:
    """The recipe as a job config for the service: the training records stored as dataset
    `dataset_id`, the held-out ones as benchmark BENCHMARK_NAME (written by the service)."""
    data = copy.deepcopy(DEMO_RECIPE)
    data["dataset_id"] = dataset_id
    data["evaluation"]["benchmarks"] = [BENCHMARK_NAME]
    data["evaluation"]["every_n_steps"] = EVERY_N_STEPS
    return JobConfig.from_dict(data).to_dict()


def demo_config(quick: bool = False) -> JobConfig:
    """The recipe as a checked JobConfig (with the quick overrides when asked)."""
    data = copy.deepcopy(DEMO_RECIPE)
    if quick:
        for section, values in QUICK_OVERRIDES.items():
            data[section].update(values)
    return JobConfig.from_dict(data)


@dataclass
class DemoResult:
    accuracy_before: float  # fractions of the held-out questions, 0..1
    accuracy_after: float
    correct_before: int
    correct_after: int
    held_out: int
    train_examples: int
    train_steps: int
    train_loss: float | None
    seconds: float  # wall time of the whole demo
    phase_seconds: dict[str, float]  # load, eval_before, train, eval_after, save
    load_average: tuple[float, float, float]  # os.getloadavg() at the end (CPU contention)
    adapter_dir: str
    output_dir: str
    quick: bool

    @property
    def gain(self) -> float:
        return self.accuracy_after - self.accuracy_before


def run_demo(
    output_dir: str | Path,
    progress: ProgressCallback | None = None,
    *,
    quick: bool = False,
) -> DemoResult:
    """Measures the demo model on held-out arithmetic, trains a LoRA adapter, measures again.

    Writes into `output_dir`: adapter/ (PEFT layout), predictions-before.jsonl,
    predictions-after.jsonl, data/{train,held_out}.json, config.json and summary.json.
    """
    from transformers import set_seed

    from .adapters import apply_adapter, count_parameters, save_adapter
    from .adapters.portable import make_portable
    from .evaluation import Scorer, evaluate_records, write_predictions
    from .models import load_model
    from .training import train_adapter

    started = time.perf_counter()
    progress = progress or ProgressCallback()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = demo_config(quick)
    tcfg, ecfg = config.training, config.evaluation
    (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    phases: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = round(now - since, 2)
        return now

    # The data: one draw of distinct triples, the first part held out.
    train, held_out = demo_split(quick)
    (out / "data").mkdir(exist_ok=True)
    (out / "data" / "held_out.json").write_text(json.dumps(held_out, indent=1) + "\n")
    (out / "data" / "train.json").write_text(json.dumps(train, indent=1) + "\n")

    t = time.perf_counter()
    progress.on_phase("loading_model")
    loaded = load_model(config.base_model, tcfg.precision, tcfg.quantization)
    tokenizer = loaded.tokenizer
    t = lap("load", t)

    scorer = Scorer("number")  # the paper's arithmetic rule: last number, within 1e-3

    def measure(model: Any, step: int, label: str) -> EvalResult:
        progress.on_phase("evaluating")
        result = evaluate_records(
            model,
            tokenizer,
            held_out,
            scorer,
            name=BENCHMARK_NAME,
            batch_size=ecfg.batch_size,
            decoding=ecfg.decoding,
            template=tcfg.prompt_template,
        )
        write_predictions(result, out / f"predictions-{label}.jsonl")
        progress.on_eval(
            EvalInfo(
                step,
                BENCHMARK_NAME,
                result.accuracy,
                result.correct,
                result.total,
                {"seconds": round(result.seconds, 2), "when": label},
            )
        )
        progress.on_log(
            f"accuracy {label}: {100 * result.accuracy:.1f} % "
            f"({result.correct}/{result.total}) in {result.seconds:.1f} s"
        )
        return result

    before = measure(loaded.model, 0, "before")
    t = lap("eval_before", t)

    set_seed(tcfg.seed)  # the adapter's initialisation is part of what the seed repeats
    model = apply_adapter(loaded.model, config.adapter)
    trainable, total = count_parameters(model)
    progress.on_parameters(trainable, total)
    progress.on_log(f"trainable parameters: {trainable:,} of {total:,}")
    trained = train_adapter(
        model,
        tokenizer,
        train,
        [],
        tcfg,
        out,
        learning_rate=tcfg.learning_rate or 2e-3,
        progress=progress,
    )
    t = lap("train", t)
    checkpoints = out / "checkpoints"  # the Trainer makes it; the demo saves no checkpoints
    if checkpoints.is_dir() and not any(checkpoints.iterdir()):
        checkpoints.rmdir()

    after = measure(model, trained.steps, "after")
    t = lap("eval_after", t)

    progress.on_phase("saving")
    load_average = tuple(round(x, 2) for x in os.getloadavg())
    adapter_dir = out / "adapter"
    save_adapter(
        model,
        adapter_dir,
        metadata={
            "demo": True,
            "config": config.to_dict(),
            "accuracy_before": before.accuracy,
            "accuracy_after": after.accuracy,
            "held_out": len(held_out),
            "train_steps": trained.steps,
        },
    )
    make_portable(
        adapter_dir,
        config.base_model,
        method=config.adapter.method,
        prompt_template=tcfg.prompt_template,
        bottleneck=False,
    )
    lap("save", t)

    result = DemoResult(
        accuracy_before=before.accuracy,
        accuracy_after=after.accuracy,
        correct_before=before.correct,
        correct_after=after.correct,
        held_out=len(held_out),
        train_examples=len(train),
        train_steps=trained.steps,
        train_loss=trained.train_loss,
        seconds=round(time.perf_counter() - started, 2),
        phase_seconds=phases,
        load_average=load_average,  # type: ignore[arg-type]
        adapter_dir=str(adapter_dir),
        output_dir=str(out),
        quick=quick,
    )
    summary = {
        **asdict(result),
        "gain": result.gain,
        "trainable_parameters": trainable,
        "total_parameters": total,
        "tokens_per_second": trained.tokens_per_second,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.info(
        "demo: accuracy %.1f %% -> %.1f %% in %.0f s",
        100 * before.accuracy,
        100 * after.accuracy,
        result.seconds,
    )
    return result
