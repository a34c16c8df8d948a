"""Evaluating a model on a benchmark or on any Alpaca-shaped records with answers."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import DecodingConfig
from ..prompts import build_prompt
from .benchmarks import Benchmark, get_benchmark, load_benchmark
from .generation import generate_batch
from .scoring import Scorer


@dataclass
class EvalResult:
    benchmark: str
    accuracy: float
    correct: int
    total: int
    seconds: float
    predictions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def examples_per_second(self) -> float:
        return self.total / self.seconds if self.seconds else 0.0


def evaluate_records(
    model: Any,
    tokenizer: Any,
    records: list[dict[str, str]],
    scorer: str | Benchmark | Scorer,
    *,
    name: str | None = None,
    batch_size: int = 16,
    decoding: DecodingConfig | None = None,
    template: str = "alpaca",
    on_batch: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Generates an answer for each record and scores it against its `answer`."""
    if isinstance(scorer, str):
        bench = get_benchmark(scorer)
        reader, label = bench.scorer, name or bench.name
    elif isinstance(scorer, Benchmark):
        reader, label = scorer.scorer, name or scorer.name
    else:
        reader, label = scorer, name or scorer.kind
    prompts = [
        build_prompt(r["instruction"], r.get("input", ""), template, tokenizer) for r in records
    ]
    started = time.perf_counter()
    outputs = generate_batch(
        model,
        tokenizer,
        prompts,
        decoding,
        batch_size=batch_size,
        add_special_tokens=template != "chat",
        on_batch=on_batch,
    )
    seconds = time.perf_counter() - started
    predictions = []
    for i, (rec, prompt, output) in enumerate(zip(records, prompts, outputs, strict=True)):
        extracted, correct = reader.score(output, rec["answer"])
        predictions.append(
            {
                "index": i,
                "prompt": prompt,
                "output": output,
                "extracted": extracted,
                "gold": rec["answer"],
                "correct": correct,
            }
        )
    correct = sum(p["correct"] for p in predictions)
    total = len(predictions)
    return EvalResult(
        label, correct / total if total else 0.0, correct, total, seconds, predictions
    )


def evaluate_benchmark(
    model: Any,
    tokenizer: Any,
    name: str,
    *,
    data_dir: str | Path,
    max_examples: int | None = None,
    batch_size: int = 16,
    decoding: DecodingConfig | None = None,
    template: str = "alpaca",
    on_batch: Callable[[int, int], None] | None = None,
) -> EvalResult:
    bench = get_benchmark(name)
    records = load_benchmark(name, data_dir, max_examples)
    return evaluate_records(
        model,
        tokenizer,
        records,
        bench,
        batch_size=batch_size,
        decoding=decoding,
        template=template,
        on_batch=on_batch,
    )


def write_predictions(result: EvalResult, path: str | Path) -> Path:
    """Per-sample records as JSON Lines: prompt, raw output, extracted answer, gold, correct."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as f:
        for pred in result.predictions:
            f.write(json.dumps({"benchmark": result.benchmark, **pred}) + "\n")
    return p
