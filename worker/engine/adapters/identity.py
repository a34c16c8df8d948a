"""Which adapters leave the base model's outputs exactly unchanged before training.

An adapter that is the identity at initialisation makes the step-0 evaluation the base model's
own, so it can be computed once and shared by every job on that base model. "Exactly" matters:
a shared result stands in for a job's own, so only adapters whose added term is an exact zero
(or whose factor is an exact one) qualify, in any precision:

- LoRA with `init_lora_weights` true (the studio takes a bool): B starts at zero, the update
  adds 0.0;
- bottleneck adapters (series, parallel, ...) with init "zero": the up-projection and its bias
  start at zero, so the residual adds 0.0 (any scaling times zero is zero);
- (IA)^3 with `init_ia3_weights` true: its vectors start at one, a multiplication by 1.0.

Not the identity: prompt-learning methods (prefix, P-tuning, prompt tuning add virtual tokens),
`bert` or `random` bottleneck inits, LoRA inits that rewrite the base weights (PiSSA, OLoRA,
LoftQ, ...), and DoRA (its magnitude division is the identity only up to rounding). Methods not
named here are treated as not the identity: sharing a wrong baseline would be worse than
computing one again.
"""

from __future__ import annotations

from typing import Any

from ..config import AdapterConfig
from .registry import REGISTRY


def _param(spec: Any, params: dict[str, Any], name: str) -> Any:
    if name in params:
        return params[name]
    for p in spec.params:
        if p.name == name:
            return p.default
    return None


def is_identity_at_init(adapter: AdapterConfig) -> bool:
    """True when `adapter`, freshly applied, leaves every output of the base model unchanged."""
    spec = REGISTRY.get(adapter.method)
    params = dict(adapter.params or {})
    if spec.is_prompt_learning:
        return False
    if spec.name == "lora":
        init = _param(spec, params, "init_lora_weights")
        return init is True
    if spec.kind == "bottleneck":
        return _param(spec, params, "init") == "zero"
    if spec.name == "ia3":
        return _param(spec, params, "init_ia3_weights") is True
    return False
