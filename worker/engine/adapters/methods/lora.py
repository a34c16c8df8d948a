"""The LoRA family registers LoRA and DoRA (peft's LoraConfig, with the paper's defaults)."""

from __future__ import annotations

from ...families import WORDS
from ...placement import PlacementRules
from ..peft_specs import field_param, named
from ..registry import REGISTRY
from ..spec import LR_ADAPTER, ParamSpec

# The paper's best LoRA: rank 32, alpha 64 (its code's dropout).
_DEFAULTS = {"r": 32, "lora_alpha": 64, "lora_dropout": 0.05}


def _params() -> tuple[ParamSpec, ...]:
    return (
        field_param(
            "LORA", "r", default=32, help_text="rank of the low-rank update (the paper's best: 32)"
        ),
        field_param(
            "LORA",
            "alpha",
            default=64,
            help_text="lora_alpha: the update is scaled by alpha/r (alpha/sqrt(r) with rsLoRA)",
        ),
        field_param(
            "LORA", "dropout", default=0.05, help_text="lora_dropout: dropout on the update's input"
        ),
        field_param(
            "LORA",
            "use_rslora",
            default=False,
            help_text="rank-stabilised LoRA: scale by alpha/sqrt(r)",
        ),
        field_param("LORA", "bias", default="none"),
        field_param("LORA", "init_lora_weights", default=True),
    )


def _rules(name: str) -> PlacementRules:
    # The paper's finding: LoRA works best on attention and MLP together.
    return PlacementRules(method=name, words=WORDS, default_modules=("q", "k", "v", "up", "down"))


REGISTRY.register(
    named(
        "lora",
        "lora",
        "LORA",
        "LoRA: a low-rank update W + (alpha/r)·B·A on chosen linear layers",
        _params(),
        _DEFAULTS,
        _rules("lora"),
        LR_ADAPTER,
    )
)
REGISTRY.register(
    named(
        "dora",
        "lora",
        "LORA",
        "DoRA: LoRA on the direction of each weight plus a trainable magnitude vector",
        _params(),
        _DEFAULTS,
        _rules("dora"),
        LR_ADAPTER,
        forced={"use_dora": True},
    )
)
