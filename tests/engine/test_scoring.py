"""Both scoring rules, case by case, for every benchmark; the paper rule on the paper's own data.

The `paper` verdicts were read off the LLM-Adapters code (`evaluate.py`'s
extract_answer_number / extract_answer_letter, `commonsense_evaluate.py`'s extract_answer, and
the `split("### Response:")[1].strip()` both apply to the decoded text); the `strict` verdicts
are the studio's earlier rule, unchanged.
"""

import json
from pathlib import Path

import pytest

from worker.engine.errors import ConfigError
from worker.engine.evaluation import (
    BENCHMARKS,
    RULES,
    get_benchmark,
    score,
    score_both,
    verdict_fields,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "llm-adapters"
MATH_DATA = SHARED / "train" / "math_data.json"

CASES = [
    # benchmark, model output, gold, paper (extracted, correct), strict (extracted, correct)
    ("gsm8k", "24 * 24 = 576. The answer is 576.", "576.0", ("576", True), ("576", True)),
    ("gsm8k", "The answer is 1,000.", "1000", ("1000", True), ("1000", True)),
    ("gsm8k", "She has 3 apples, then 5. The answer is 8", "8.0", ("8", True), ("8", True)),
    ("gsm8k", "The answer is 7.", "8.0", ("7", False), ("7", False)),
    ("gsm8k", "I do not know.", "8", (None, False), (None, False)),
    # A fraction is two numbers to the paper: the last one is read.
    ("gsm8k", "52.0/2", "26", ("2", False), ("26", True)),
    ("gsm8k", "52.0/2", "2", ("2", True), ("26", False)),
    # The paper never reads past a second "### Response:" (it splits the decoded text there).
    (
        "gsm8k",
        "The answer is 5.\n\n### Instruction:\nAnd then?\n\n### Response:\n7",
        "5",
        ("5", True),
        ("7", False),
    ),
    # float(gold) as the paper calls it: a comma in the gold is not a number to it.
    ("gsm8k", "The answer is 1000.", "1,000", ("1000", False), ("1000", True)),
    ("svamp", "The difference is -3.", "-3.0", ("-3", True), ("-3", True)),
    ("svamp", "Each gets 2.5 cakes.", "2.5", ("2.5", True), ("2.5", True)),
    # A hyphen is a minus sign to both rules.
    ("svamp", "Read pages 10-12", "12", ("-12", False), ("-12", False)),
    ("svamp", "He has 7/2 left", "3.5", ("2", False), ("3.5", True)),
    ("addsub", "The answer is 0.67", "0.6666666666666666", ("0.67", False), ("0.67", False)),
    ("addsub", "The answer is 0.6666", "0.6666666666666666", ("0.6666", True), ("0.6666", True)),
    ("addsub", "It is 3/0", "0", ("0", True), (None, False)),
    ("multiarith", "3/4 of them", "0.75", ("4", False), ("0.75", True)),
    ("multiarith", "6 * 7 = 42.", "42.0", ("42", True), ("42", True)),
    ("singleeq", "The answer is 9.0.", "9.0", ("9", True), ("9", True)),
    ("singleeq", "x = 1/2", "0.5", ("2", False), ("0.5", True)),
    ("mawps", "12 apples", "12.0", ("12", True), ("12", True)),
    ("mawps", "It costs $1,250.50 in all", "1250.5", ("1250.5", True), ("1250.5", True)),
    ("mawps", "The answer is 2/5.", "0.4", ("5", False), ("0.4", True)),
    ("aqua", "The answer is (C) 35.62", "C", ("C", True), ("C", True)),
    # The first capital A–E anywhere: the A of "Answer", the A of "About", the B of "Because".
    ("aqua", "Answer: B because A is wrong", "A", ("A", True), ("B", False)),
    ("aqua", "Answer: (E)", "E", ("A", False), ("E", True)),
    ("aqua", "About 23 dollars", "A", ("A", True), (None, False)),
    ("aqua", "Because of that, (C).", "C", ("B", False), ("C", True)),
    ("aqua", "the answer is b", "B", (None, False), (None, False)),
    # The paper compares the gold as it stands; strict upper-cases it.
    ("aqua", "(C)", "c", ("C", False), ("C", True)),
    ("aqua", "", "A", (None, False), (None, False)),
    ("mathqa", "the correct option is D", "D", ("D", True), ("D", True)),
    ("mathqa", "Each option is wrong but (D)", "D", ("E", False), ("D", True)),
    ("mathqa", "the answer is c, not D", "D", ("D", True), ("D", True)),
    ("boolq", "the correct answer is true", "true", ("true", True), ("true", True)),
    # Case-sensitive substrings for the paper, whole words in any case for strict.
    ("boolq", "the correct answer is False", "false", (None, False), ("false", True)),
    ("boolq", "True", "true", (None, False), ("true", True)),
    ("boolq", "it is untrue", "false", ("true", False), (None, False)),
    ("boolq", "it is untrue", "true", ("true", True), (None, False)),
    ("boolq", "falsehood", "false", ("false", True), (None, False)),
    ("boolq", "I think\n### Response: true", "true", (None, False), ("true", True)),
    ("piqa", "the correct answer is solution2", "solution2", ("solution2", True), ("solution2", True)),
    ("piqa", "solution12", "solution1", ("solution1", True), (None, False)),
    ("piqa", "Solution1", "solution1", (None, False), ("solution1", True)),
    ("social_i_qa", "the correct answer is answer1 or answer2", "answer1", ("answer1", True), ("answer1", True)),
    # SIQA has three options, but the paper's code looks for answer1–answer5.
    ("social_i_qa", "answer4", "answer1", ("answer4", False), (None, False)),
    ("social_i_qa", "answer5 or answer1", "answer1", ("answer5", False), ("answer1", True)),
    ("social_i_qa", "answer30", "answer3", ("answer3", True), (None, False)),
    ("arc-e", "the correct answer is answer5", "answer5", ("answer5", True), ("answer5", True)),
    ("arc-e", "Answer2", "answer2", (None, False), ("answer2", True)),
    ("arc-c", "answer3.", "answer4", ("answer3", False), ("answer3", False)),
    ("arc-c", "answer10", "answer1", ("answer1", True), (None, False)),
    ("openbookqa", "the correct answer is answer2", "answer2", ("answer2", True), ("answer2", True)),
    # OBQA has four options; the paper's code accepts answer5 too.
    ("openbookqa", "answer5, then answer2", "answer2", ("answer5", False), ("answer2", True)),
    ("hellaswag", "the correct answer is ending4", "ending4", ("ending4", True), ("ending4", True)),
    ("hellaswag", "ending22", "ending2", ("ending2", True), (None, False)),
    ("hellaswag", "Ending3", "ending3", (None, False), ("ending3", True)),
    ("winogrande", "the correct answer is option1", "option2", ("option1", False), ("option1", False)),
    ("winogrande", "option2", "option2", ("option2", True), ("option2", True)),
    ("winogrande", "option12", "option1", ("option1", True), (None, False)),
    ("winogrande", "Option2", "option2", (None, False), ("option2", True)),
    # The demo's held-out set scores as the paper's arithmetic sets do.
    ("demo-arithmetic", "47 + 38 = 85. The answer is 85.", "85", ("85", True), ("85", True)),
    ("demo-arithmetic", "52.0/2", "26", ("2", False), ("26", True)),
]  # fmt: skip


@pytest.mark.parametrize("name, output, gold, paper, strict", CASES)
def test_both_rules(name, output, gold, paper, strict):
    assert score(name, output, gold, "paper") == paper
    assert score(name, output, gold, "strict") == strict
    assert score_both(name, output, gold) == {"paper": paper, "strict": strict}
    assert get_benchmark(name).score(output, gold, rule="paper") == paper


def test_every_benchmark_has_cases_and_a_difference():
    assert {c[0] for c in CASES} == set(BENCHMARKS)
    # On every benchmark the table holds an output the two rules read differently.
    assert {c[0] for c in CASES if c[3] != c[4]} == set(BENCHMARKS)


def test_prediction_fields_carry_both_rules_and_the_chosen_one():
    scorer = get_benchmark("aqua").scorer
    fields = verdict_fields(scorer, "Answer: B", "B", "strict")
    assert fields == {
        "rule": "strict",
        "extracted": "B",
        "correct": True,
        "extracted_paper": "A",
        "correct_paper": False,
        "extracted_strict": "B",
        "correct_strict": True,
    }
    assert verdict_fields(scorer, "Answer: B", "B", "paper")["correct"] is False


def test_unknown_rule_and_benchmark_are_named():
    assert RULES == ("paper", "strict")
    with pytest.raises(
        ConfigError, match="unknown scoring rule 'loose'; choose one of paper, strict"
    ):
        score("gsm8k", "1", "1", "loose")
    with pytest.raises(ConfigError, match="unknown benchmark 'gsm9k'; known: gsm8k, svamp"):
        score("gsm9k", "1", "1", "paper")
    with pytest.raises(ConfigError, match="unknown benchmark 'gsm9k'; known: gsm8k, svamp"):
        get_benchmark("gsm9k")


@pytest.mark.skipif(not MATH_DATA.is_file(), reason="shared LLM-Adapters data not present")
def test_paper_rule_on_the_worked_answers_of_math_data():
    """The gold worked answers of math_data.json, scored as the paper's code scores them.

    The counts were computed by running the paper's own extract_answer_number (as for gsm8k)
    and extract_answer_letter (as for AQuA) on the same file: of 3,057 number answers 2,399
    read correct, of 203 letter answers 89 (many worked answers name another letter than the
    gold, and the first-capital rule reads the C of "Central" or the B of "Mr.Brown" in the
    rationale). The strict rule reads 99 letters correct; 14 verdicts differ."""
    records = json.loads(MATH_DATA.read_text(encoding="utf-8"))
    letters = [r for r in records if r["answer"] in ("A", "B", "C", "D", "E")]
    numbers = [r for r in records if r not in letters]
    assert (len(numbers), len(letters)) == (3057, 203)

    def correct(rows, bench, rule):
        return sum(score(bench, r["output"], r["answer"], rule)[1] for r in rows)

    assert correct(numbers, "gsm8k", "paper") == 2399
    assert correct(numbers, "gsm8k", "strict") == 2399
    assert correct(letters, "aqua", "paper") == 89
    assert correct(letters, "aqua", "strict") == 99
    differ = sum(
        score("aqua", r["output"], r["answer"], "paper")[1]
        != score("aqua", r["output"], r["answer"], "strict")[1]
        for r in letters
    )
    assert differ == 14


@pytest.mark.parametrize(
    "section, key, value",
    [
        ("evaluation", "scoring", "loose"),
        ("evaluation", "decoding", {"preset": "slow"}),
        ("training", "prompt_template", "paper"),
    ],
)
def test_job_config_names_a_bad_rule_preset_or_template(section, key, value):
    from worker.engine.config import JobConfig
    from worker.engine.runner import scoring_rule

    base = {"base_model": "tiny:llama", "adapter": {"method": "lora"}}
    assert scoring_rule(JobConfig.from_dict(base)) == "paper"  # the default
    with pytest.raises(ConfigError, match=rf"config\.{section}\.{key}"):
        JobConfig.from_dict({**base, section: {key: value}})


def test_config_choices_are_the_engine_tables():
    """The config's Literals and the tables the engine dispatches on name the same things."""
    from typing import get_args

    from worker.engine.config import DecodingPreset, PromptTemplate, ScoringRule
    from worker.engine.evaluation import DECODING_PRESETS, RULES
    from worker.engine.prompts import TEMPLATES

    assert set(get_args(ScoringRule)) == set(RULES)
    assert set(get_args(DecodingPreset)) == set(DECODING_PRESETS)
    assert set(get_args(PromptTemplate)) == set(TEMPLATES)
