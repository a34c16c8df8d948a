"""Evaluating a model on a benchmark or on any Alpaca-shaped records with answers.

Every prediction keeps both scoring rules' extracted answers and verdicts; the result's
accuracy is that of the chosen rule (`paper` unless asked otherwise) and says so."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import DecodingConfig
from ..prompts import build_prompt
from .answer_stop import answer_is_final
from .benchmarks import Benchmark, get_benchmark, load_benchmark
from .generation import DecodingPlan, generate_batch, plan_decoding
from .scoring import RULES, Scorer, check_rule, verdict_fields


@dataclass
class EvalResult:
    benchmark: str
    accuracy: float
    correct: int
    total: int
    seconds: float
    predictions: list[dict[str, Any]] = field(default_factory=list)
    rule: str = "paper"  # the scoring rule `accuracy` and `correct` follow
    # Correct answers under each rule, so a result can be shown under the other rule too.
    correct_by_rule: dict[str, int] = field(default_factory=dict)
    decoding: DecodingPlan | None = None

    @property
    def examples_per_second(self) -> float:
        return self.total / self.seconds if self.seconds else 0.0

    def accuracy_by_rule(self) -> dict[str, float]:
        return {r: (n / self.total if self.total else 0.0) for r, n in self.correct_by_rule.items()}


def evaluate_records(
    model: Any,
    tokenizer: Any,
    records: list[dict[str, str]],
    scorer: str | Benchmark | Scorer,
    *,
    name: str | None = None,
    batch_size: int | None = None,
    decoding: DecodingConfig | None = None,
    template: str = "alpaca",
    rule: str = "paper",
    on_batch: Callable[[int, int], None] | None = None,
    early_stop: bool = True,
) -> EvalResult:
    """Generates an answer for each record and scores it against its `answer`.

    `early_stop` ends a row once both rules' readings of it are final (`answer_stop`); the
    verdicts are those of the full output, the stored output may end sooner."""
    check_rule(rule)
    if isinstance(scorer, str):
        bench = get_benchmark(scorer)
        reader, label = bench.scorer, name or bench.name
    elif isinstance(scorer, Benchmark):
        reader, label = scorer.scorer, name or scorer.name
    else:
        reader, label = scorer, name or scorer.kind
    plan = plan_decoding(decoding, reader.suite)
    prompts = [
        build_prompt(r["instruction"], r.get("input", ""), template, tokenizer, form="evaluation")
        for r in records
    ]
    # Here: the API imports this module without torch.
    from .merged_lora import lora_merged
    from .packed_linear import linears_packed

    started = time.perf_counter()
    # One matmul per LoRA layer (merged_lora.py), on weights packed once (packed_linear.py).
    with lora_merged(model), linears_packed(model):
        outputs = generate_batch(
            model,
            tokenizer,
            prompts,
            plan,
            batch_size=batch_size,
            add_special_tokens=template != "chat",
            on_batch=on_batch,
            answer_is_final=answer_is_final(reader) if early_stop else None,
        )
    seconds = time.perf_counter() - started
    predictions = []
    for i, (rec, prompt, output) in enumerate(zip(records, prompts, outputs, strict=True)):
        predictions.append(
            {
                "index": i,
                "prompt": prompt,
                "output": output,
                "gold": rec["answer"],
                **verdict_fields(reader, output, rec["answer"], rule),
            }
        )
    by_rule = {r: sum(bool(p[f"correct_{r}"]) for p in predictions) for r in RULES}
    correct, total = by_rule[rule], len(predictions)
    return EvalResult(
        label,
        correct / total if total else 0.0,
        correct,
        total,
        seconds,
        predictions,
        rule=rule,
        correct_by_rule=by_rule,
        decoding=plan,
    )


def evaluate_benchmark(
    model: Any,
    tokenizer: Any,
    name: str,
    *,
    data_dir: str | Path,
    max_examples: int | None = None,
    batch_size: int | None = None,
    decoding: DecodingConfig | None = None,
    template: str = "alpaca",
    rule: str = "paper",
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
        rule=rule,
        on_batch=on_batch,
    )


def write_predictions(result: EvalResult, path: str | Path) -> Path:
    """Per-sample records as JSON Lines: prompt, raw output, gold, and both rules' verdicts
    (`extracted` / `correct` are those of the result's rule, named in `rule`)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="utf-8") as f:
        for pred in result.predictions:
            f.write(json.dumps({"benchmark": result.benchmark, **pred}) + "\n")
    return p
