"""The paper's benchmarks: name, suite, folder in the LLM-Adapters layout, and scorer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DataError
from .scoring import LETTER, NUMBER, Scorer


@dataclass(frozen=True)
class Benchmark:
    name: str
    suite: str  # arithmetic | commonsense
    folder: str  # sub-folder of the LLM-Adapters data folder
    scorer: Scorer
    description: str

    def score(self, output: str, gold: str) -> tuple[str | None, bool]:
        return self.scorer.score(output, gold)


def _options(prefix: str, n: int) -> Scorer:
    return Scorer("option", tuple(f"{prefix}{i}" for i in range(1, n + 1)))


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        Benchmark("gsm8k", "arithmetic", "gsm8k", NUMBER, "grade-school math word problems"),
        Benchmark(
            "svamp", "arithmetic", "SVAMP", NUMBER, "one-unknown word problems with variations"
        ),
        Benchmark("aqua", "arithmetic", "AQuA", LETTER, "algebra questions, options A–E"),
        Benchmark("addsub", "arithmetic", "AddSub", NUMBER, "addition and subtraction problems"),
        Benchmark("multiarith", "arithmetic", "MultiArith", NUMBER, "multi-step arithmetic"),
        Benchmark("singleeq", "arithmetic", "SingleEq", NUMBER, "single-equation problems"),
        Benchmark("mawps", "arithmetic", "mawps", NUMBER, "math word problems (MAWPS)"),
        Benchmark("mathqa", "arithmetic", "mathqa", LETTER, "math questions, options A–E"),
        Benchmark(
            "boolq", "commonsense", "boolq", Scorer("option", ("true", "false")), "yes/no questions"
        ),
        Benchmark("piqa", "commonsense", "piqa", _options("solution", 2), "physical commonsense"),
        Benchmark(
            "social_i_qa", "commonsense", "social_i_qa", _options("answer", 3), "social situations"
        ),
        Benchmark(
            "arc-e", "commonsense", "ARC-Easy", _options("answer", 5), "grade-school science, easy"
        ),
        Benchmark(
            "arc-c",
            "commonsense",
            "ARC-Challenge",
            _options("answer", 5),
            "grade-school science, challenge",
        ),
        Benchmark(
            "openbookqa",
            "commonsense",
            "openbookqa",
            _options("answer", 4),
            "open-book science facts",
        ),
        Benchmark(
            "hellaswag", "commonsense", "hellaswag", _options("ending", 4), "sentence endings"
        ),
        Benchmark(
            "winogrande", "commonsense", "winogrande", _options("option", 2), "pronoun resolution"
        ),
    ]
}
SUITES = ("arithmetic", "commonsense")


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
