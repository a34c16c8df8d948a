"""Re-scoring saved predictions under a scoring rule, without generating again.

A predictions file is JSON Lines, each line an object with at least `benchmark`, `output` and
`gold` (what `write_predictions` writes has them). Blank lines are skipped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import DataError
from .scoring import SCORERS, check_rule

REQUIRED = ("benchmark", "output", "gold")


def read_prediction_lines(path: str | Path) -> list[dict[str, Any]]:
    """The file's records; a DataError names the line of the first malformed one."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"predictions file not found: {p}")
    rows = []
    with p.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{p}: line {number} is not valid JSON: {e.msg}") from None
            if not isinstance(row, dict):
                raise DataError(f"{p}: line {number} must be a JSON object")
            missing = [k for k in REQUIRED if row.get(k) is None]
            if missing:
                raise DataError(
                    f"{p}: line {number} lacks {', '.join(repr(k) for k in missing)} "
                    f"(each line needs {', '.join(REQUIRED)})"
                )
            if row["benchmark"] not in SCORERS:
                raise DataError(
                    f"{p}: line {number} names an unknown benchmark {row['benchmark']!r}; "
                    f"known: {', '.join(SCORERS)}"
                )
            if not isinstance(row["output"], str):
                raise DataError(f"{p}: line {number}: 'output' must be a string")
            rows.append(row)
    return rows


def rescore(rows: list[dict[str, Any]], rule: str) -> dict[str, tuple[int, int]]:
    """Sets `extracted`, `correct` and `rule` on every row; returns (correct, total) per
    benchmark, in the order benchmarks first appear."""
    check_rule(rule)
    counts: dict[str, tuple[int, int]] = {}
    for row in rows:
        extracted, correct = SCORERS[row["benchmark"]].score(
            row["output"], str(row["gold"]), rule=rule
        )
        row.update(extracted=extracted, correct=correct, rule=rule)
        ok, total = counts.get(row["benchmark"], (0, 0))
        counts[row["benchmark"]] = (ok + correct, total + 1)
    return counts
