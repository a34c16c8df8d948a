"""Prompt templates, named; training and evaluation read the same name.

- `llm-adapters`: the LLM-Adapters paper's prompts byte for byte. They carry the indentation of
  its source (16 spaces) and its trailing spaces, and its training form (finetune.py's
  `generate_prompt`) differs from its evaluation form (evaluate.py / commonsense_evaluate.py):
  training puts one or two spaces after "the request." and 16 spaces on the blank lines,
  evaluation one space (no input) or none (with input) and empty blank lines.
- `alpaca`: the clean Stanford Alpaca text (the same in both forms).
- `chat`: the tokenizer's chat template, the instruction (and input) as the user turn.

`form` is "training" (the text before the answer in a training example) or "evaluation" (the
text a benchmark question is asked with).
"""

from __future__ import annotations

from typing import Any

TEMPLATES = ("llm-adapters", "alpaca", "chat")
FORMS = ("training", "evaluation")

_ALPACA_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)
_ALPACA_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n"
)

# The paper's f-strings sit inside functions, so every line after the first starts with the
# 16 spaces of the source's indentation, the answer's line too.
_I = " " * 16
_WITH_INPUT_HEAD = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request."
)
_NO_INPUT_HEAD = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request."
)
_PAPER = {
    # finetune.py generate_prompt: "request. " / "request.  ", blank lines of 16 spaces.
    ("training", True): (
        f"{_WITH_INPUT_HEAD} \n\n{_I}### Instruction:\n{_I}{{instruction}}\n{_I}\n"
        f"{_I}### Input:\n{_I}{{input}}\n{_I}\n{_I}### Response:\n{_I}"
    ),
    ("training", False): (
        f"{_NO_INPUT_HEAD}  \n\n{_I}### Instruction:\n{_I}{{instruction}}\n{_I}\n"
        f"{_I}### Response:\n{_I}"
    ),
    # evaluate.py / commonsense_evaluate.py generate_prompt: "request." / "request. ".
    ("evaluation", True): (
        f"{_WITH_INPUT_HEAD}\n\n{_I}### Instruction:\n{_I}{{instruction}}\n\n"
        f"{_I}### Input:\n{_I}{{input}}\n\n{_I}### Response:\n{_I}"
    ),
    ("evaluation", False): (
        f"{_NO_INPUT_HEAD} \n\n{_I}### Instruction:\n{_I}{{instruction}}\n\n{_I}### Response:\n{_I}"
    ),
}


def build_prompt(
    instruction: str,
    input_text: str = "",
    template: str = "alpaca",
    tokenizer: Any = None,
    *,
    form: str = "evaluation",
) -> str:
    """The text the model sees before its answer."""
    if form not in FORMS:
        raise ValueError(f"unknown prompt form {form!r}; choose one of {', '.join(FORMS)}")
    if template == "llm-adapters":
        # The paper tests `if input:`, so an empty input takes the form without one.
        return _PAPER[form, bool(input_text)].format(instruction=instruction, input=input_text)
    if template == "alpaca":
        if input_text:
            return _ALPACA_WITH_INPUT.format(instruction=instruction, input=input_text)
        return _ALPACA_NO_INPUT.format(instruction=instruction)
    if template == "chat":
        if tokenizer is None or not getattr(tokenizer, "chat_template", None):
            raise ValueError("template 'chat' needs a tokenizer that has a chat template")
        content = f"{instruction}\n\n{input_text}" if input_text else instruction
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
        )
    raise ValueError(f"unknown prompt template {template!r}; choose one of {', '.join(TEMPLATES)}")
