"""When a row's answer is final: the early-stop test of continuous decoding.

A row may stop before EOS only when no continuation could change what EITHER scoring rule
reads from it (predictions keep both verdicts). That is decidable for first-match readings
and impossible for last-match ones:

- letters (AQuA, MathQA): `paper` reads the first capital A–E before a second `### Response:`
  (the marker holds no capital A–E, so it cannot begin before a found letter); `strict` reads
  the first standalone letter, final once a character follows it (that decides `\\b`).
- options (commonsense): `paper` reads the leftmost case-sensitive option word before the
  marker, `strict` the leftmost whole word. A found match is final once every alternative
  that could start at or before it is fully written: at least the longest option's length of
  text after its start, a character after it (for `\\b`), and room for the marker after it.
- numbers (GSM8K, SVAMP, ...): `strict` reads the LAST number in the whole output, so whatever
  text comes next may add a later number: no prefix is final, and "stop after the answer
  pattern at the end of a line" would change readings (a model that writes "The answer is 5.\\n
  So 5 + 3 = 8" reads 8). Number rows therefore stop only at EOS or the token budget; their
  speed comes from refilling finished rows, not from cutting them.

`answer_is_final(scorer)` returns the test for a scorer, or None when there is none.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .scoring import _LETTER, _PAPER_LETTER, Scorer

_MARKER = "### Response:"  # where the paper's reading of an output ends (paper_response)


def _paper_region(text: str) -> tuple[str, bool]:
    """The text the paper reads so far, and whether it is closed by the marker already."""
    head, found, _ = text.partition(_MARKER)
    return head, bool(found)


def _letter_final(text: str) -> bool:
    head, closed = _paper_region(text)
    if not closed and _PAPER_LETTER.search(head) is None:
        return False
    strict = _LETTER.search(text)
    return strict is not None and strict.end() < len(text)


def _option_test(scorer: Scorer) -> Callable[[str], bool]:
    paper_words = scorer.paper_options or scorer.options
    paper_re = re.compile("|".join(map(re.escape, paper_words)))
    strict_re = re.compile(r"\b(" + "|".join(map(re.escape, scorer.options)) + r")\b", re.I)
    paper_longest = max(map(len, paper_words))
    strict_longest = max(map(len, scorer.options))

    def final(text: str) -> bool:
        head, closed = _paper_region(text)
        if not closed:
            m = paper_re.search(head)
            if m is None or m.start() + paper_longest >= len(text):
                return False
            if m.end() + len(_MARKER) > len(text):
                return False
        s = strict_re.search(text)
        return s is not None and s.start() + strict_longest < len(text) and s.end() < len(text)

    return final


def answer_is_final(scorer: Scorer) -> Callable[[str], bool] | None:
    """A test `final(text)` that is True only when both rules' readings of `text` can no longer
    change, whatever is appended; None where no prefix is ever final (last-number readings)."""
    if scorer.kind == "letter":
        return _letter_final
    if scorer.kind == "option":
        return _option_test(scorer)
    return None
