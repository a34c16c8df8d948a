"""Evaluation: the paper's benchmarks, their scorers, batched generation."""

from .benchmarks import BENCHMARKS, SUITES, Benchmark, benchmark_file, get_benchmark, load_benchmark
from .generation import DECODING_PRESETS, DecodingPlan, generate_batch, plan_decoding
from .runner import EvalResult, evaluate_benchmark, evaluate_records, write_predictions
from .scoring import (
    RULES,
    SCORERS,
    Scorer,
    extract_letter,
    extract_number,
    extract_option,
    score,
    score_both,
    scorer_for,
    verdict_fields,
)

__all__ = [
    "BENCHMARKS",
    "DECODING_PRESETS",
    "RULES",
    "SCORERS",
    "DecodingPlan",
    "SUITES",
    "Benchmark",
    "EvalResult",
    "Scorer",
    "benchmark_file",
    "evaluate_benchmark",
    "evaluate_records",
    "extract_letter",
    "extract_number",
    "extract_option",
    "generate_batch",
    "get_benchmark",
    "load_benchmark",
    "plan_decoding",
    "score",
    "score_both",
    "scorer_for",
    "verdict_fields",
    "write_predictions",
]
