"""Prompt templates shared by training and evaluation, so both see the same text.

`alpaca` is the template of the LLM-Adapters paper (Stanford Alpaca's wording); `chat` uses the
tokenizer's own chat template with the instruction (and input) as the user turn.
"""

from __future__ import annotations

from typing import Any

TEMPLATES = ("alpaca", "chat")

_ALPACA_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)
_ALPACA_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n"
)


def build_prompt(
    instruction: str, input_text: str = "", template: str = "alpaca", tokenizer: Any = None
) -> str:
    """The text the model sees before its answer."""
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
