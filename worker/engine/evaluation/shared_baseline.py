"""Step-0 evaluations shared across jobs: the base model's result, computed once.

When a job's adapter is the identity at initialisation (`adapters.identity`), its step-0
evaluation is exactly the base model's, so every job on the same base model, benchmark
examples, decoding, template, scoring rule and precision would compute the same thing. The
store keeps one result per such key, in a folder (the studio's storage), written atomically so
concurrent jobs never read half a file; the first job to finish one shares it with the rest.
The key hashes the examples themselves, not only their count, so an edited benchmark file
gets a fresh baseline.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .generation import DecodingPlan
from .runner import EvalResult


def baseline_key(
    *,
    base_model: str,
    benchmark: str,
    records: list[dict[str, Any]],
    decoding: DecodingPlan,
    template: str,
    rule: str,
    dtype: str,
    quantization: str,
) -> str:
    examples = hashlib.sha256(
        json.dumps([[r["instruction"], r.get("input", ""), r["answer"]] for r in records]).encode()
    ).hexdigest()
    fields = {
        "base_model": base_model,
        "benchmark": benchmark,
        "examples": examples,
        "decoding": asdict(decoding),
        "template": template,
        "rule": rule,
        "dtype": dtype,
        "quantization": quantization,
    }
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class BaselineStore:
    """A folder of `<key>.json` files, each an EvalResult and who computed it."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def get(self, key: str) -> tuple[EvalResult, str] | None:
        path = self.folder / f"{key}.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        plan = DecodingPlan(**data["decoding"]) if data.get("decoding") else None
        result = EvalResult(
            data["benchmark"],
            data["accuracy"],
            data["correct"],
            data["total"],
            data["seconds"],
            data["predictions"],
            rule=data["rule"],
            correct_by_rule=data["correct_by_rule"],
            decoding=plan,
        )
        return result, data["computed_by"]

    def put(self, key: str, result: EvalResult, computed_by: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {
            **{k: v for k, v in asdict(result).items() if k != "decoding"},
            "decoding": asdict(result.decoding) if result.decoding else None,
            "computed_by": computed_by,
        }
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.replace(tmp, self.folder / f"{key}.json")
