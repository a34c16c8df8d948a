"""What the registry holds: one `MethodSpec` per adapter method, with its `ParamSpec`s.

A spec says everything the studio needs to offer, check and build a method: its placement
rules, its parameters (each a JSON-Schema fragment), the paper's learning rate, a check that
needs no model, and the builder that puts it on a model. Nothing here imports torch: the API
validates configs and lists methods without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..placement import PlacementRules, ResolvedPlacement

if TYPE_CHECKING:
    import torch.nn as nn

    from ..config import AdapterConfig

LR_ADAPTER = 3e-4  # the paper's rate for series/parallel adapters and LoRA
LR_PREFIX = 3e-2  # the paper's rate for prefix tuning
LR_SOFT_PROMPT = 3e-2  # not in the paper: the usual rate for trainable input embeddings
LR_PTUNING = 1e-3  # not in the paper: its MLP re-parameterisation diverges at soft-prompt rates
LR_IA3 = 3e-3  # not in the paper: the (IA)^3 paper's rate

KINDS = ("bottleneck", "lora", "prompt", "other")

# Build: (model, adapter, family, resolved placement, method kwargs) -> wrapped model.
Builder = Callable[
    ["nn.Module", "AdapterConfig", str, ResolvedPlacement, dict[str, Any]], "nn.Module"
]
# Checks params without a model; returns the keyword arguments the builder takes.
ParamCheck = Callable[[dict[str, Any], str, ResolvedPlacement], dict[str, Any]]


@dataclass(frozen=True)
class ParamSpec:
    """One method parameter: its name in `adapter.params` and a JSON-Schema fragment with its
    type, bounds, `default` and `description` (see adapters/param_schema.py)."""

    name: str
    schema: dict[str, Any]

    @property
    def default(self) -> Any:
        return self.schema.get("default")

    @property
    def help(self) -> str:
        return str(self.schema.get("description", ""))


@dataclass(frozen=True)
class MethodSpec:
    name: str
    kind: str  # bottleneck | lora | prompt | other
    description: str
    params: tuple[ParamSpec, ...]
    rules: PlacementRules
    learning_rate: float
    check_params: ParamCheck
    build: Builder
    peft_type: str | None = None
    passthrough: str | None = None  # peft config class whose other fields are accepted too
    # Why the method cannot work on a model family (None: it can).
    refuse: Callable[[str], str | None] = field(default=lambda family: None)

    @property
    def is_prompt_learning(self) -> bool:
        return self.kind == "prompt"
