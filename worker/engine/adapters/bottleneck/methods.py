"""The bottleneck family registers its methods: series, AdapterH, AdapterP, parallel and
scaled parallel adapters (LLM-Adapters' own; peft has none)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from ...placement import PlacementRules, ResolvedPlacement
from ..param_schema import any_of, choice, integer, number, param
from ..registry import REGISTRY
from ..spec import LR_ADAPTER, MethodSpec, ParamCheck, ParamSpec
from .config import ACTIVATIONS, INITS, USER_FIELDS, BottleneckConfig, field_help

if TYPE_CHECKING:
    import torch.nn as nn

    from ...config import AdapterConfig

_BOTTLENECK_WORDS = ("attn", "mlp", "o", "gate", "up", "down")
_QKV_REASON = (
    " (bottleneck adapters sit on a block's output or on an output/MLP projection; q, k and v "
    "feed the attention scores, and several families fuse them into one projection)"
)


def _params(scaling_default: float) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("bottleneck_size", param(integer(minimum=1), 256, field_help("bottleneck_size"))),
        ParamSpec(
            "non_linearity",
            param(choice(ACTIVATIONS), "tanh", "activation between the projections"),
        ),
        ParamSpec(
            "dropout",
            param(number(minimum=0, exclusive_maximum=1), 0.0, field_help("dropout")),
        ),
        ParamSpec(
            "scaling",
            param(any_of(number(), choice(("learned",))), scaling_default, field_help("scaling")),
        ),
        ParamSpec("init", param(choice(INITS), "zero", field_help("init"))),
    )


def _check(method: str, scaling_default: float) -> ParamCheck:
    def check(params: dict[str, Any], family: str, resolved: ResolvedPlacement) -> dict[str, Any]:
        unknown = sorted(set(params) - set(USER_FIELDS))
        if unknown:
            raise ConfigError(
                f"{method} has no parameter {', '.join(repr(k) for k in unknown)}; "
                f"valid parameters: {', '.join(USER_FIELDS)}"
            )
        kwargs = {"scaling": scaling_default, **params}
        BottleneckConfig(method=method, **kwargs)  # its __post_init__ checks the values
        return kwargs

    return check


def _build(
    model: nn.Module,
    adapter: AdapterConfig,
    family: str,
    resolved: ResolvedPlacement,
    kwargs: dict[str, Any],
) -> nn.Module:
    from ...placement import bottleneck_sites
    from .config import BottleneckSite
    from .model import BottleneckModel

    sites = [
        BottleneckSite(**dataclasses.asdict(s)) for s in bottleneck_sites(model, family, resolved)
    ]
    config = BottleneckConfig(
        method=adapter.method.strip().lower(),
        sites=sites,
        placement=adapter.placement.to_dict(),
        family=family,
        **kwargs,
    )
    return BottleneckModel(model, config)


def _bottleneck(
    name: str,
    description: str,
    modules: tuple[str, ...],
    positions: tuple[str, ...],
    fixed: bool = False,
    scaling: float = 1.0,
) -> MethodSpec:
    return MethodSpec(
        name=name,
        kind="bottleneck",
        description=description,
        params=_params(scaling),
        rules=PlacementRules(
            method=name,
            words=_BOTTLENECK_WORDS,
            default_modules=modules,
            positions=positions,
            default_position=positions[0],
            fixed_modules=fixed,
            refused_words_reason=_QKV_REASON,
        ),
        learning_rate=LR_ADAPTER,
        check_params=_check(name, scaling),
        build=_build,
    )


REGISTRY.register(
    _bottleneck(
        "series",
        "Series adapter: a bottleneck after a block (default: the MLP), or before/after "
        "a linear layer",
        ("mlp",),
        ("after", "before"),
    )
)
REGISTRY.register(
    _bottleneck(
        "adapterh",
        "AdapterH (Houlsby): series bottlenecks after both the attention and the MLP block",
        ("attn", "mlp"),
        ("after",),
        fixed=True,
    ),
    aliases=("houlsby",),
)
REGISTRY.register(
    _bottleneck(
        "adapterp",
        "AdapterP (Pfeiffer): a series bottleneck after the MLP block only",
        ("mlp",),
        ("after",),
        fixed=True,
    ),
    aliases=("pfeiffer",),
)
REGISTRY.register(
    _bottleneck(
        "parallel",
        "Parallel adapter: a bottleneck beside a block (default: the MLP), its output added "
        "to the block's",
        ("mlp",),
        ("beside",),
    )
)
REGISTRY.register(
    _bottleneck(
        "scaled_parallel",
        "Scaled parallel adapter: a parallel adapter whose output is scaled by a fixed or "
        "learned s",
        ("mlp",),
        ("beside",),
        scaling=4.0,
    )
)
