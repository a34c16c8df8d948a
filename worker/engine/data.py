"""Instruction data in the Alpaca shape: reading, validating, tokenising for training.

Records have `instruction`, optional `input`, `output` and (for evaluation sets) `answer`.
Files may be a JSON array, JSON Lines or CSV. Validation reports problems by row and field so
the CLI and the upload API can show all of them at once; nothing is half-read.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DataError
from .prompts import build_prompt

log = logging.getLogger(__name__)

FIELDS = ("instruction", "input", "output", "answer")
REQUIRED = ("instruction", "output")
FORMATS = ("json", "jsonl", "csv")
IGNORE_INDEX = -100  # label value the loss skips


@dataclass
class Problem:
    row: int | None  # 1-based record number; None for file-level problems
    field: str | None
    message: str
    # "warning": the record is dropped and the rest kept (duplicates, empty answers, which the
    # paper's own math_data.json has); "error": the file is refused.
    severity: str = "error"

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


def detect_format(name: str, text: str) -> str:
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in ("json", "jsonl", "csv"):
        return suffix
    if suffix == "ndjson":
        return "jsonl"
    stripped = text.lstrip()
    return "json" if stripped.startswith("[") else "jsonl" if stripped.startswith("{") else "csv"


def parse_records(text: str, fmt: str) -> tuple[list[Any], list[Problem]]:
    """Turns file text into raw records (not yet validated) and file-level problems."""
    if fmt not in FORMATS:
        return [], [Problem(None, None, f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")]
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            return [], [
                Problem(None, None, f"not valid JSON: {e.msg} at line {e.lineno} column {e.colno}")
            ]
        if not isinstance(data, list):
            return [], [Problem(None, None, "a JSON dataset must be an array of records")]
        return data, []
    if fmt == "jsonl":
        records, problems = [], []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                problems.append(
                    Problem(len(records) + 1, None, f"line {lineno} is not valid JSON: {e.msg}")
                )
                records.append(None)
        return records, problems
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [f for f in REQUIRED if f not in header]
    if missing:
        return [], [
            Problem(
                None,
                None,
                f"CSV header lacks column(s) {', '.join(missing)}; found: {', '.join(header) or 'none'}",
            )
        ]
    return [dict(row) for row in reader], []


def validate_records(
    records: list[Any], *, require_answer: bool = False, max_problems: int = 20
) -> list[Problem]:
    """Shape, required fields, types, empty and duplicate records; at most `max_problems` errors
    (warnings are all reported, since they decide which records are dropped)."""
    problems: list[Problem] = []
    if not records:
        return [Problem(None, None, "the dataset has no records")]
    seen: dict[tuple, int] = {}
    required = REQUIRED + (("answer",) if require_answer else ())
    for i, rec in enumerate(records, 1):
        if sum(p.severity == "error" for p in problems) >= max_problems:
            break
        if rec is None:
            continue  # already reported by the parser
        if not isinstance(rec, dict):
            problems.append(
                Problem(i, None, f"a record must be an object, got {type(rec).__name__}")
            )
            continue
        unknown = sorted(set(rec) - set(FIELDS))
        if unknown:
            problems.append(Problem(i, unknown[0], f"unknown field; allowed: {', '.join(FIELDS)}"))
        for name in FIELDS:
            value = rec.get(name)
            if value is None:
                if name in required:
                    problems.append(Problem(i, name, "missing"))
                continue
            if name == "answer" and isinstance(value, int | float) and not isinstance(value, bool):
                continue
            if not isinstance(value, str):
                problems.append(Problem(i, name, f"must be text, got {type(value).__name__}"))
            elif name in required and not value.strip():
                severity = "warning" if name == "output" else "error"
                problems.append(Problem(i, name, "is empty", severity))
        key = tuple(str(rec.get(f, "")) for f in ("instruction", "input", "output"))
        if key in seen and all(
            isinstance(rec.get(f, ""), str) for f in ("instruction", "input", "output")
        ):
            problems.append(Problem(i, None, f"duplicate of row {seen[key]}", "warning"))
        else:
            seen.setdefault(key, i)
    return problems


def drop_warned(records: list[Any], problems: list[Problem]) -> list[Any]:
    """The records left once those with warnings (duplicates, empty answers) are dropped."""
    dropped = {p.row for p in problems if p.severity == "warning"}
    return [r for i, r in enumerate(records, 1) if i not in dropped]


def normalise(rec: dict[str, Any]) -> dict[str, str]:
    out = {f: "" if rec.get(f) is None else str(rec[f]) for f in FIELDS}
    return out


def load_records(path: str | Path, *, require_answer: bool = False) -> list[dict[str, str]]:
    """Reads and validates a dataset file; raises DataError listing the first errors.

    Records with warnings (duplicates, empty outputs) are dropped and logged."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"dataset file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{p} is not UTF-8 text") from None
    records, problems = parse_records(text, detect_format(p.name, text))
    if not problems or records:
        problems += validate_records(records, require_answer=require_answer)
    errors = [x for x in problems if x.severity == "error"]
    if errors:
        shown = "; ".join(str(x) for x in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise DataError(f"{p}: {shown}{more}")
    kept = drop_warned(records, problems)
    if len(kept) < len(records):
        log.warning(
            "%s: dropped %d record(s): %s",
            p,
            len(records) - len(kept),
            "; ".join(str(x) for x in problems[:3]),
        )
    if not kept:
        raise DataError(f"{p}: no usable records left after dropping duplicates and empty outputs")
    return [normalise(r) for r in kept]


def split_validation(
    records: list[dict[str, str]], val_set_size: int, seed: int
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A seeded hold-out of `val_set_size` records (kept below half of the data)."""
    size = min(val_set_size, len(records) // 2)
    if size <= 0:
        return list(records), []
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    held = set(order[:size])
    return [r for i, r in enumerate(records) if i not in held], [records[i] for i in sorted(held)]


def tokenize_example(
    rec: dict[str, str],
    tokenizer: Any,
    *,
    cutoff_len: int,
    train_on_inputs: bool,
    template: str = "alpaca",
) -> dict[str, list[int]]:
    """prompt + output + EOS as ids; prompt tokens masked out of the loss unless train_on_inputs.

    The prompt and the answer are tokenised separately and joined, so the prompt's ids are
    exactly those the evaluator feeds at generation time (where the template has one form for
    both; `llm-adapters` trains on the paper's training form, as the paper does).
    """
    prompt = build_prompt(
        rec["instruction"], rec.get("input", ""), template, tokenizer, form="training"
    )
    prompt_ids = tokenizer(prompt, add_special_tokens=template != "chat")["input_ids"]
    answer_ids = tokenizer(rec["output"], add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + answer_ids + [tokenizer.eos_token_id])[:cutoff_len]
    labels = list(ids)
    if not train_on_inputs:
        n = min(len(prompt_ids), len(ids))
        labels[:n] = [IGNORE_INDEX] * n
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}


def token_statistics(
    records: list[dict[str, str]], tokenizer: Any, template: str = "alpaca"
) -> dict[str, Any]:
    """Token lengths (prompt + output) for a dataset summary: min, mean, p50, p95, max, histogram."""
    lengths = sorted(
        len(
            tokenize_example(
                r, tokenizer, cutoff_len=10**9, train_on_inputs=True, template=template
            )["input_ids"]
        )
        for r in records
    )
    if not lengths:
        return {"count": 0}
    n = len(lengths)
    top = lengths[-1]
    width = max(1, -(-top // 20))
    hist = [0] * (top // width + 1)
    for length in lengths:
        hist[length // width] += 1
    return {
        "count": n,
        "min": lengths[0],
        "max": top,
        "mean": sum(lengths) / n,
        "p50": lengths[n // 2],
        "p95": lengths[min(n - 1, int(n * 0.95))],
        "histogram": {"bin_width": width, "counts": hist},
    }
