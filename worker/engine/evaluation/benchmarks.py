"""The paper's benchmarks: name, suite, folder in the LLM-Adapters layout, and scorer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DataError
from .scoring import SCORERS, Scorer


@dataclass(frozen=True)
class Benchmark:
    name: str
    suite: str  # arithmetic | commonsense
    folder: str  # sub-folder of the LLM-Adapters data folder
    scorer: Scorer
    description: str

    def score(self, output: str, gold: str, *, rule: str) -> tuple[str | None, bool]:
        return self.scorer.score(output, gold, rule=rule)


_ROWS = [
    ("gsm8k", "arithmetic", "gsm8k", "grade-school math word problems"),
    ("svamp", "arithmetic", "SVAMP", "one-unknown word problems with variations"),
    ("aqua", "arithmetic", "AQuA", "algebra questions, options A–E"),
    ("addsub", "arithmetic", "AddSub", "addition and subtraction problems"),
    ("multiarith", "arithmetic", "MultiArith", "multi-step arithmetic"),
    ("singleeq", "arithmetic", "SingleEq", "single-equation problems"),
    ("mawps", "arithmetic", "mawps", "math word problems (MAWPS)"),
    ("mathqa", "arithmetic", "mathqa", "math questions, options A–E"),
    ("boolq", "commonsense", "boolq", "yes/no questions"),
    ("piqa", "commonsense", "piqa", "physical commonsense"),
    ("social_i_qa", "commonsense", "social_i_qa", "social situations"),
    ("arc-e", "commonsense", "ARC-Easy", "grade-school science, easy"),
    ("arc-c", "commonsense", "ARC-Challenge", "grade-school science, challenge"),
    ("openbookqa", "commonsense", "openbookqa", "open-book science facts"),
    ("hellaswag", "commonsense", "hellaswag", "sentence endings"),
    ("winogrande", "commonsense", "winogrande", "pronoun resolution"),
    # Not the paper's: the studio's demo writes it (worker/engine/demo.py, docs/demo.md).
    (
        "demo-arithmetic",
        "demo",  # a suite of its own: never averaged with the paper's arithmetic sets
        "demo-arithmetic",
        "the demo's held-out two-digit word problems (synthetic)",
    ),
]
BENCHMARKS: dict[str, Benchmark] = {
    name: Benchmark(name, suite, folder, SCORERS[name], description)
    for name, suite, folder, description in _ROWS
}
SUITES = ("arithmetic", "commonsense")  # the paper's; the demo's set is suite "demo"


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ConfigError(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


def benchmark_file(name: str, data_dir: str | Path) -> Path:
    return Path(data_dir) / get_benchmark(name).folder / "test.json"


def load_benchmark(name: str, data_dir: str | Path, max_examples: int | None = None) -> list[dict]:
    """The benchmark's test records (instruction, input, answer); the first `max_examples`."""
    path = benchmark_file(name, data_dir)
    if not path.is_file():
        raise DataError(f"benchmark {name!r} not found: expected {path} (LLM-Adapters layout)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path} is not a JSON array of records: {e}") from None
    if not isinstance(data, list):
        raise DataError(f"{path} must hold a JSON array of records")
    records = []
    for i, rec in enumerate(data, 1):
        if (
            not isinstance(rec, dict)
            or not rec.get("instruction")
            or rec.get("answer") in (None, "")
        ):
            raise DataError(f"{path}: record {i} needs 'instruction' and 'answer'")
        records.append(
            {
                "instruction": str(rec["instruction"]),
                "input": str(rec.get("input") or ""),
                "output": str(rec.get("output") or ""),
                "answer": str(rec["answer"]),
            }
        )
    return records[:max_examples] if max_examples else records
