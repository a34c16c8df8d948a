"""Answer extraction and scoring: two named rules for every benchmark.

`paper` reproduces the LLM-Adapters code (`evaluate.py`, `commonsense_evaluate.py`) behaviour
for behaviour, quirks included, so scores compare with the paper's tables:

- the paper reads the text between the prompt's `### Response:` and the next one (it splits
  the decoded sequence there), so whatever a model writes after a second `### Response:`
  is never read: "5.\\n### Response: 7" reads 5;
- numbers (gsm8k, svamp, addsub, multiarith, singleeq, mawps): commas dropped, the last match
  of `-?\\d+\\.?\\d*`, correct within 0.001 of float(gold). A fraction is two numbers, so
  "52.0/2" reads 2 and "3/4" reads 4; no number at all reads infinity (never correct);
- letters (AQuA, MathQA): the first capital A–E anywhere in the text, inside words too, so
  "Answer: B" reads A and "Because (C)" reads B; the gold is compared as it stands;
- options (commonsense): the first case-sensitive substring match of the set's option words,
  so "untrue" reads true, "True" reads nothing, "answer30" reads answer3; SIQA, ARC-e, ARC-c
  and OBQA all accept answer1–answer5 (SIQA has 3 options, OBQA 4), HellaSwag ending1–4;
  the gold is compared as it stands.

The paper's evaluate.py scores AQuA by letter and five number sets; MAWPS (in its tables) takes
the number rule and MathQA (its mathqa.py writes letter golds) the letter rule here.

`strict` is a careful reading (the studio's rule before the paper's was reproduced):

- numbers: the last number, a fraction read as its value ("52.0/2" reads 26), within 1e-3;
- letters: the first option letter standing on its own ("Answer: B" reads B);
- options: whole words, case-insensitive, only the options the set has ("answer30" and
  "untrue" read nothing; "True" reads true).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import ConfigError

RULES = ("paper", "strict")

_PAPER_NUMBER = re.compile(r"-?\d+\.?\d*")
_PAPER_LETTER = re.compile(r"A|B|C|D|E")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?")
_LETTER = re.compile(r"\b([A-E])\b")
_PAPER_TOLERANCE = 0.001  # evaluate.py's `miss`


def check_rule(rule: str) -> str:
    if rule not in RULES:
        raise ConfigError(f"unknown scoring rule {rule!r}; choose one of {', '.join(RULES)}")
    return rule


def paper_response(output: str) -> str:
    """The part of a continuation the paper reads: up to a second `### Response:`, stripped."""
    return output.split("### Response:")[0].strip()


def extract_number(output: str) -> float | None:
    """strict: the last number in `output`; a fraction like 3/4 counts as its value."""
    found = _NUMBER.findall(output.replace(",", ""))
    if not found:
        return None
    last = found[-1]
    if "/" in last:
        num, den = last.split("/")
        return float(num) / float(den) if float(den) else None
    return float(last)


def extract_number_paper(output: str) -> float:
    """paper: the last `-?\\d+\\.?\\d*` match after dropping commas; infinity when none."""
    found = _PAPER_NUMBER.findall(paper_response(output).replace(",", ""))
    return float(found[-1]) if found else math.inf


def extract_letter(output: str) -> str | None:
    """strict: the first option letter A–E standing on its own."""
    m = _LETTER.search(output)
    return m.group(1) if m else None


def extract_letter_paper(output: str) -> str | None:
    """paper: the first capital A–E anywhere, inside words too."""
    m = _PAPER_LETTER.search(paper_response(output))
    return m.group(0) if m else None


def extract_option(output: str, options: tuple[str, ...]) -> str | None:
    """strict: the first option word, whole word, any case (returned in lower case)."""
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, options)) + r")\b", re.IGNORECASE)
    m = pattern.search(output)
    return m.group(1).lower() if m else None


def extract_option_paper(output: str, options: tuple[str, ...]) -> str | None:
    """paper: the first case-sensitive substring match of the option words."""
    m = re.search("|".join(map(re.escape, options)), paper_response(output))
    return m.group(0) if m else None


@dataclass(frozen=True)
class Scorer:
    """How a benchmark's outputs are read: kind is number, letter or option.

    `options` are the answers `strict` accepts; `paper_options` those the paper's code
    searches for (the same unless given)."""

    kind: str
    options: tuple[str, ...] = ()
    paper_options: tuple[str, ...] = ()

    @property
    def suite(self) -> str:
        return "commonsense" if self.kind == "option" else "arithmetic"

    def score(self, output: str, gold: str, *, rule: str) -> tuple[str | None, bool]:
        """(extracted answer as text or None, correct) under `rule`."""
        if check_rule(rule) == "paper":
            return self._paper(output, str(gold))
        return self._strict(output, str(gold))

    def score_both(self, output: str, gold: str) -> dict[str, tuple[str | None, bool]]:
        return {rule: self.score(output, gold, rule=rule) for rule in RULES}

    def _paper(self, output: str, gold: str) -> tuple[str | None, bool]:
        if self.kind == "number":
            value = extract_number_paper(output)
            try:
                # float() as the paper's code calls it: surrounding spaces pass, commas do not
                # (where the paper's script would stop with a ValueError, this is wrong).
                correct = abs(float(gold) - value) <= _PAPER_TOLERANCE
            except ValueError:
                correct = False
            return (None if math.isinf(value) else _format_number(value)), correct
        if self.kind == "letter":
            letter = extract_letter_paper(output)
            return letter, letter is not None and letter == gold
        option = extract_option_paper(output, self.paper_options or self.options)
        return option, option is not None and option == gold

    def _strict(self, output: str, gold: str) -> tuple[str | None, bool]:
        if self.kind == "number":
            value = extract_number(output)
            if value is None:
                return None, False
            try:
                correct = abs(value - float(gold.replace(",", ""))) <= 1e-3
            except ValueError:
                correct = False
            return _format_number(value), correct
        if self.kind == "letter":
            letter = extract_letter(output)
            return letter, letter is not None and letter == gold.strip().upper()
        option = extract_option(output, self.options)
        return option, option is not None and option == gold.strip().lower()


def _format_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _options(prefix: str, strict_n: int, paper_n: int | None = None) -> Scorer:
    words = tuple(f"{prefix}{i}" for i in range(1, max(strict_n, paper_n or 0) + 1))
    return Scorer("option", words[:strict_n], words[: paper_n or strict_n])


NUMBER = Scorer("number")
LETTER = Scorer("letter")

# Per benchmark, as commonsense_evaluate.py's extract_answer branches on the dataset.
SCORERS: dict[str, Scorer] = {
    "gsm8k": NUMBER,
    "svamp": NUMBER,
    "aqua": LETTER,
    "addsub": NUMBER,
    "multiarith": NUMBER,
    "singleeq": NUMBER,
    "mawps": NUMBER,
    "mathqa": LETTER,
    "boolq": Scorer("option", ("true", "false")),
    "piqa": _options("solution", 2),
    "social_i_qa": _options("answer", 3, paper_n=5),
    "arc-e": _options("answer", 5),
    "arc-c": _options("answer", 5),
    "openbookqa": _options("answer", 4, paper_n=5),
    "hellaswag": _options("ending", 4),
    "winogrande": _options("option", 2),
    "demo-arithmetic": NUMBER,  # the demo's held-out set (worker/engine/demo.py)
}


def scorer_for(benchmark: str) -> Scorer:
    if benchmark not in SCORERS:
        raise ConfigError(f"unknown benchmark {benchmark!r}; known: {', '.join(SCORERS)}")
    return SCORERS[benchmark]


def score(benchmark: str, output: str, gold: str, rule: str) -> tuple[str | None, bool]:
    """(extracted, correct) for one output of `benchmark` under `rule` (paper or strict)."""
    return scorer_for(benchmark).score(output, gold, rule=rule)


def score_both(benchmark: str, output: str, gold: str) -> dict[str, tuple[str | None, bool]]:
    """Both rules' (extracted, correct), keyed by rule name."""
    return scorer_for(benchmark).score_both(output, gold)


def verdict_fields(
    scorer: Scorer, output: str, gold: str, rule: str
) -> dict[str, str | bool | None]:
    """The fields a stored prediction keeps: the chosen rule's verdict and both rules'."""
    both = scorer.score_both(output, gold)
    extracted, correct = both[check_rule(rule)]
    fields: dict[str, str | bool | None] = {
        "rule": rule,
        "extracted": extracted,
        "correct": correct,
    }
    for name, (ext, ok) in both.items():
        fields[f"extracted_{name}"] = ext
        fields[f"correct_{name}"] = ok
    return fields
