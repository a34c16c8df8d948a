"""Answer extraction and scoring, following the LLM-Adapters paper's rules.

- numbers: the last number in the output (commas dropped), correct within 1e-3 of the gold;
- letters (AQuA, MathQA): the first option letter A–E standing on its own;
- options (commonsense): the first option token the set allows (`true`, `solution2`,
  `answer3`, `ending1`, `option2`), matched as a whole word so `answer1` never hides in
  `answer10`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?")
_LETTER = re.compile(r"\b([A-E])\b")


def extract_number(output: str) -> float | None:
    """The last number in `output`; a fraction like 3/4 counts as its value."""
    found = _NUMBER.findall(output.replace(",", ""))
    if not found:
        return None
    last = found[-1]
    if "/" in last:
        num, den = last.split("/")
        return float(num) / float(den) if float(den) else None
    return float(last)


def extract_letter(output: str) -> str | None:
    m = _LETTER.search(output)
    return m.group(1) if m else None


def extract_option(output: str, options: tuple[str, ...]) -> str | None:
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, options)) + r")\b", re.IGNORECASE)
    m = pattern.search(output)
    return m.group(1).lower() if m else None


@dataclass(frozen=True)
class Scorer:
    """How a benchmark's outputs are read: kind is number, letter or option."""

    kind: str
    options: tuple[str, ...] = ()

    def score(self, output: str, gold: str) -> tuple[str | None, bool]:
        """(extracted answer as text or None, correct)."""
        if self.kind == "number":
            value = extract_number(output)
            if value is None:
                return None, False
            try:
                correct = abs(value - float(str(gold).replace(",", ""))) <= 1e-3
            except ValueError:
                correct = False
            return _format_number(value), correct
        if self.kind == "letter":
            letter = extract_letter(output)
            return letter, letter is not None and letter == str(gold).strip().upper()
        option = extract_option(output, self.options)
        return option, option is not None and option == str(gold).strip().lower()


def _format_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


NUMBER = Scorer("number")
LETTER = Scorer("letter")
