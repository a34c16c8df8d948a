"""The prompt templates, byte for byte; training uses the training form, evaluation the other."""

import pytest

from worker.engine.data import tokenize_example
from worker.engine.prompts import TEMPLATES, build_prompt
from worker.engine.tiny import build_byte_tokenizer

S16 = " " * 16  # the indentation of the paper's source, kept in its prompts

# Written out from the paper's finetune.py generate_prompt (the text before data_point["output"]):
# "request. " with one trailing space when there is an input, two without, and blank lines
# made of the 16 spaces of the source.
PAPER_TRAINING_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request. \n"
    "\n"
    "                ### Instruction:\n"
    "                Add the numbers.\n"
    "                \n"
    "                ### Input:\n"
    "                2 and 3\n"
    "                \n"
    "                ### Response:\n"
    "                "
)
PAPER_TRAINING_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.  \n"
    "\n"
    "                ### Instruction:\n"
    "                Add the numbers.\n"
    "                \n"
    "                ### Response:\n"
    "                "
)
# From evaluate.py / commonsense_evaluate.py generate_prompt (the two are identical): no
# trailing space with an input, one without, and empty blank lines.
PAPER_EVALUATION_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n"
    "\n"
    "                ### Instruction:\n"
    "                Add the numbers.\n"
    "\n"
    "                ### Input:\n"
    "                2 and 3\n"
    "\n"
    "                ### Response:\n"
    "                "
)
PAPER_EVALUATION_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request. \n"
    "\n"
    "                ### Instruction:\n"
    "                Add the numbers.\n"
    "\n"
    "                ### Response:\n"
    "                "
)
ALPACA_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\nAdd the numbers.\n\n### Input:\n2 and 3\n\n### Response:\n"
)
ALPACA_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n### Instruction:\nAdd the numbers.\n\n### Response:\n"
)


@pytest.mark.parametrize(
    "template, form, input_text, expected",
    [
        ("llm-adapters", "training", "2 and 3", PAPER_TRAINING_WITH_INPUT),
        ("llm-adapters", "training", "", PAPER_TRAINING_NO_INPUT),
        ("llm-adapters", "evaluation", "2 and 3", PAPER_EVALUATION_WITH_INPUT),
        ("llm-adapters", "evaluation", "", PAPER_EVALUATION_NO_INPUT),
        ("alpaca", "training", "2 and 3", ALPACA_WITH_INPUT),
        ("alpaca", "evaluation", "2 and 3", ALPACA_WITH_INPUT),
        ("alpaca", "training", "", ALPACA_NO_INPUT),
        ("alpaca", "evaluation", "", ALPACA_NO_INPUT),
    ],
)
def test_templates_byte_for_byte(template, form, input_text, expected):
    assert build_prompt("Add the numbers.", input_text, template, form=form) == expected


def test_paper_forms_differ_only_in_their_spaces():
    train = build_prompt("Q", "", "llm-adapters", form="training")
    evaluation = build_prompt("Q", "", "llm-adapters", form="evaluation")
    assert train != evaluation
    assert train.replace(" ", "") == evaluation.replace(" ", "")
    assert train.endswith("### Response:\n" + S16) and evaluation.endswith("### Response:\n" + S16)


def test_braces_in_the_instruction_are_kept():
    text = build_prompt("Is {x} a set?", "{y}", "llm-adapters", form="evaluation")
    assert f"{S16}Is {{x}} a set?\n" in text and f"{S16}{{y}}\n" in text


def test_training_examples_use_the_training_form():
    tok = build_byte_tokenizer()
    rec = {"instruction": "Add the numbers.", "input": "", "output": "5"}
    ids = tokenize_example(
        rec, tok, cutoff_len=10**6, train_on_inputs=True, template="llm-adapters"
    )["input_ids"]
    expected = (
        tok(PAPER_TRAINING_NO_INPUT)["input_ids"] + tok("5", add_special_tokens=False)["input_ids"]
    )
    assert ids == expected + [tok.eos_token_id]


def test_unknown_template_and_form_are_named():
    assert TEMPLATES == ("llm-adapters", "alpaca", "chat")
    with pytest.raises(ValueError, match="unknown prompt template 'paper'; choose one of llm-"):
        build_prompt("Q", template="paper")
    with pytest.raises(ValueError, match="unknown prompt form 'test'; choose one of training"):
        build_prompt("Q", template="alpaca", form="test")


def test_rendered_prompts_of_a_job_show_both_forms():
    from worker.engine.runner import rendered_prompts

    rec = {"instruction": "Add the numbers.", "input": "", "output": "5"}
    assert rendered_prompts(rec, "llm-adapters", None) == {
        "template": "llm-adapters",
        "training": PAPER_TRAINING_NO_INPUT + "5",
        "evaluation": PAPER_EVALUATION_NO_INPUT,
    }
