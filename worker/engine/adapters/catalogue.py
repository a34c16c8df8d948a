"""The method catalogue: every method as the API and the dashboard's form see it (plain JSON).

One entry per method: its family, description, parameters as JSON-Schema fragments
(`{"name", "schema"}`, see param_schema.py), the placement it accepts and defaults to, the
paper's learning rate and the model families it refuses.
"""

from __future__ import annotations

from typing import Any

from ..families import FAMILIES
from .registry import REGISTRY
from .spec import MethodSpec, ParamSpec


def param_to_dict(param: ParamSpec) -> dict[str, Any]:
    return {"name": param.name, "schema": param.schema}


def method_to_dict(spec: MethodSpec) -> dict[str, Any]:
    rules = spec.rules
    default_placement: dict[str, Any]
    if not rules.takes_modules:
        default_placement = {"modules": None, "layers": "all", "position": None}
    else:
        default_placement = {
            "modules": list(rules.default_modules) if rules.default_modules is not None else None,
            "layers": "all",
            "position": rules.default_position,
        }
    refused = {f: r for f in FAMILIES if (r := spec.refuse(f))}
    return {
        "name": spec.name,
        "family": spec.kind,
        "description": spec.description,
        "params": [param_to_dict(p) for p in spec.params],
        "extra_params_from": spec.passthrough,
        "placement_words": list(rules.words) if rules.takes_modules else [],
        "accepts_raw_module_names": rules.takes_modules and rules.raw_names,
        "positions": list(rules.positions),
        "takes_layers": rules.takes_modules,
        "default_placement": default_placement,
        "default_learning_rate": spec.learning_rate,
        "peft_type": spec.peft_type,
        "refused_families": refused,
    }


def method_catalogue() -> list[dict[str, Any]]:
    """Every method the studio offers: name, family, description, params, placement, rate."""
    return [method_to_dict(spec) for spec in REGISTRY.all_specs()]
