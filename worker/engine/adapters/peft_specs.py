"""MethodSpecs for methods backed by peft: the check/build glue and parameter schemas read
from peft's own config dataclasses. The named peft methods (LoRA, prompt learning, IA3) and the
generic fallback for every other peft tuner are all built with these helpers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..placement import PlacementRules, ResolvedPlacement
from . import peft_methods
from .param_schema import annotation_schema, field_annotations, integer, param, with_bounds
from .spec import Builder, MethodSpec, ParamCheck, ParamSpec

if TYPE_CHECKING:
    import torch.nn as nn

    from ..config import AdapterConfig


def check(
    method: str, peft_type: str, defaults: dict[str, Any], forced: dict[str, Any]
) -> ParamCheck:
    def check_params(
        params: dict[str, Any], family: str, resolved: ResolvedPlacement
    ) -> dict[str, Any]:
        for key, value in forced.items():
            if key in params and params[key] != value:
                raise ConfigError(f"{method} always has {key}={value!r}")
        kwargs = {**peft_methods.map_params(method, peft_type, params, defaults), **forced}
        peft_methods.validate_config(method, peft_type, kwargs, family, resolved)
        return kwargs

    return check_params


def build(method: str, peft_type: str) -> Builder:
    def build_model(
        model: nn.Module,
        adapter: AdapterConfig,
        family: str,
        resolved: ResolvedPlacement,
        kwargs: dict[str, Any],
    ) -> nn.Module:
        return peft_methods.apply(model, method, peft_type, kwargs, family, resolved)

    return build_model


def refuse(peft_type: str) -> Callable[[str], str | None]:
    return lambda family: peft_methods.refusal(peft_type, family)


def field_param(
    peft_type: str,
    name: str,
    field: str | None = None,
    default: Any = dataclasses.MISSING,
    help_text: str | None = None,
) -> ParamSpec:
    """The studio param `name` for peft field `field` (default: `name`, or the field its alias
    stands for), its schema from the field's annotation, peft's default and help unless given."""
    fields = peft_methods.user_fields(peft_type)
    if field is None:
        field = next((a for a in peft_methods.ALIASES.get(name, (name,)) if a in fields), name)
    f = fields[field]
    annotation = field_annotations(peft_methods.config_class(peft_type)).get(field, Any)
    bounds = peft_methods.value_bounds(field, peft_methods.field_default(f))
    fragment = with_bounds(annotation_schema(annotation), bounds)
    value = peft_methods.field_default(f) if default is dataclasses.MISSING else default
    return ParamSpec(name, param(fragment, value, help_text or peft_methods.field_help(f)))


def named(
    name: str,
    kind: str,
    peft_type: str,
    description: str,
    params: tuple[ParamSpec, ...],
    defaults: dict[str, Any],
    rules: PlacementRules,
    lr: float,
    forced: dict[str, Any] | None = None,
) -> MethodSpec:
    """A studio method on a peft tuner, with the studio's own defaults and help."""
    return MethodSpec(
        name=name,
        kind=kind,
        description=description,
        params=params,
        rules=rules,
        learning_rate=lr,
        check_params=check(name, peft_type, defaults, forced or {}),
        build=build(name, peft_type),
        peft_type=peft_type,
        passthrough=peft_methods.config_class(peft_type).__name__,
        refuse=refuse(peft_type),
    )


def prompt_rules(name: str) -> PlacementRules:
    # Prompt learning acts on every layer's attention or on the input: no modules to choose.
    return PlacementRules(method=name, takes_modules=False)


VIRTUAL_TOKENS_DEFAULT = 10  # the paper's best for prefix tuning


def virtual_tokens() -> ParamSpec:
    return ParamSpec(
        "num_virtual_tokens",
        param(
            integer(minimum=1),
            VIRTUAL_TOKENS_DEFAULT,
            "trainable virtual tokens (the paper's best for prefix: 10)",
        ),
    )
