"""The prompt-learning family registers prefix tuning, P-tuning and prompt tuning (peft's
configs; 10 virtual tokens, the paper's best for prefix tuning)."""

from __future__ import annotations

from ..peft_specs import VIRTUAL_TOKENS_DEFAULT, field_param, named, prompt_rules, virtual_tokens
from ..registry import REGISTRY
from ..spec import LR_PREFIX, LR_PTUNING, LR_SOFT_PROMPT, ParamSpec

_DEFAULTS = {"num_virtual_tokens": VIRTUAL_TOKENS_DEFAULT}


def _params(peft_type: str, extra: tuple[str, ...]) -> tuple[ParamSpec, ...]:
    return (virtual_tokens(), *(field_param(peft_type, n) for n in extra))


REGISTRY.register(
    named(
        "prefix",
        "prompt",
        "PREFIX_TUNING",
        "Prefix tuning: trainable key/value prefixes in every attention layer",
        _params("PREFIX_TUNING", ("prefix_projection", "encoder_hidden_size")),
        _DEFAULTS,
        prompt_rules("prefix"),
        LR_PREFIX,
    ),
    aliases=("prefix_tuning",),
)
REGISTRY.register(
    named(
        "ptuning",
        "prompt",
        "P_TUNING",
        "P-tuning: virtual input tokens produced by a small trainable prompt encoder",
        _params(
            "P_TUNING",
            (
                "encoder_reparameterization_type",
                "encoder_hidden_size",
                "encoder_num_layers",
                "encoder_dropout",
            ),
        ),
        _DEFAULTS,
        prompt_rules("ptuning"),
        LR_PTUNING,
    ),
    aliases=("p_tuning", "p-tuning"),
)
REGISTRY.register(
    named(
        "prompt",
        "prompt",
        "PROMPT_TUNING",
        "Prompt tuning: trainable input embeddings prepended to every example",
        _params(
            "PROMPT_TUNING",
            ("prompt_tuning_init", "prompt_tuning_init_text", "tokenizer_name_or_path"),
        ),
        _DEFAULTS,
        prompt_rules("prompt"),
        LR_SOFT_PROMPT,
    ),
    aliases=("prompt_tuning",),
)
