"""Each benchmark's extraction on crafted outputs (the paper's rules)."""

import pytest

from worker.engine.errors import ConfigError
from worker.engine.evaluation import BENCHMARKS, get_benchmark

CASES = [
    # benchmark, model output, gold, expected extraction, expected correct
    ("gsm8k", "24 * 24 = 576. The answer is 576.", "576.0", "576", True),
    ("gsm8k", "The answer is 1,000.", "1000", "1000", True),
    ("gsm8k", "She has 3 apples, then 5. The answer is 8", "8.0", "8", True),
    ("gsm8k", "The answer is 7.", "8.0", "7", False),
    ("gsm8k", "I do not know.", "8", None, False),
    ("svamp", "The difference is -3.", "-3.0", "-3", True),
    ("svamp", "Each gets 2.5 cakes.", "2.5", "2.5", True),
    ("addsub", "The answer is 0.67", "0.6666666666666666", "0.67", False),
    ("addsub", "The answer is 0.6666", "0.6666666666666666", "0.6666", True),
    ("multiarith", "3/4 of them", "0.75", "0.75", True),
    ("singleeq", "The answer is 9.0.", "9.0", "9", True),
    ("mawps", "12 apples", "12.0", "12", True),
    ("aqua", "The answer is (C) 35.62", "C", "C", True),
    ("aqua", "Answer: B because A is wrong", "A", "B", False),
    ("aqua", "About 23 dollars", "A", None, False),
    ("mathqa", "the correct option is D", "D", "D", True),
    ("boolq", "the correct answer is true", "true", "true", True),
    ("boolq", "the correct answer is False", "false", "false", True),
    ("boolq", "it is untrue", "false", None, False),
    ("piqa", "the correct answer is solution2", "solution2", "solution2", True),
    ("piqa", "solution12", "solution1", None, False),
    ("social_i_qa", "the correct answer is answer1 or answer2", "answer1", "answer1", True),
    ("social_i_qa", "answer4", "answer1", None, False),
    ("arc-e", "the correct answer is answer5", "answer5", "answer5", True),
    ("arc-c", "answer3.", "answer4", "answer3", False),
    ("openbookqa", "the correct answer is answer2", "answer2", "answer2", True),
    ("hellaswag", "the correct answer is ending4", "ending4", "ending4", True),
    ("winogrande", "the correct answer is option1", "option2", "option1", False),
    ("winogrande", "option2", "option2", "option2", True),
]


@pytest.mark.parametrize("name, output, gold, extracted, correct", CASES)
def test_extraction(name, output, gold, extracted, correct):
    assert get_benchmark(name).score(output, gold) == (extracted, correct)


def test_every_benchmark_has_a_case():
    assert {c[0] for c in CASES} == set(BENCHMARKS)


def test_unknown_benchmark_lists_names():
    with pytest.raises(ConfigError, match="unknown benchmark 'gsm9k'; known: gsm8k, svamp"):
        get_benchmark("gsm9k")
