"""Evaluation: the paper's benchmarks, their scorers, batched generation."""

from .benchmarks import BENCHMARKS, SUITES, Benchmark, benchmark_file, get_benchmark, load_benchmark
from .generation import generate_batch
from .runner import EvalResult, evaluate_benchmark, evaluate_records, write_predictions
from .scoring import Scorer, extract_letter, extract_number, extract_option

__all__ = [
    "BENCHMARKS",
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
    "write_predictions",
]
