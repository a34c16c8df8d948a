"""The method registry: each method name mapped to its placement rules, params and builder.

The studio's own methods are registered here by name; every other peft tuner is described on
demand from its config class, so a new peft release brings its methods without code here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch.nn as nn

from ..config import AdapterConfig
from ..errors import ConfigError
from ..families import WORDS
from ..placement import PlacementRules, ResolvedPlacement, bottleneck_sites
from . import peft_methods
from .bottleneck import BottleneckConfig, BottleneckModel, BottleneckSite
from .bottleneck.config import USER_FIELDS
from .bottleneck.config import field_help as bottleneck_help
from .bottleneck.layer import activation_names

LR_ADAPTER = 3e-4  # the paper's rate for series/parallel adapters and LoRA
LR_PREFIX = 3e-2  # the paper's rate for prefix tuning
LR_SOFT_PROMPT = 3e-2  # not in the paper: the usual rate for trainable input embeddings
LR_PTUNING = 1e-3  # not in the paper: its MLP re-parameterisation diverges at soft-prompt rates
LR_IA3 = 3e-3  # not in the paper: the (IA)^3 paper's rate

KINDS = ("bottleneck", "lora", "prompt", "other")

# Build: (model, adapter, family, resolved placement, method kwargs) -> wrapped model.
Builder = Callable[[nn.Module, AdapterConfig, str, ResolvedPlacement, dict[str, Any]], nn.Module]


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "type": self.type, "default": self.default, "help": self.help}
        if self.choices is not None:
            out["choices"] = list(self.choices)
        return out


@dataclass(frozen=True)
class MethodSpec:
    name: str
    kind: str  # bottleneck | lora | prompt | other
    description: str
    params: tuple[ParamSpec, ...]
    rules: PlacementRules
    learning_rate: float
    # Checks params without a model; returns the keyword arguments the builder takes.
    check_params: Callable[[dict[str, Any], str, ResolvedPlacement], dict[str, Any]]
    build: Builder
    peft_type: str | None = None
    passthrough: str | None = None  # peft config class whose other fields are accepted too
    refuse: Callable[[str], str | None] = field(default=lambda family: None)

    @property
    def is_prompt_learning(self) -> bool:
        return self.kind == "prompt"

    def to_dict(self) -> dict[str, Any]:
        rules = self.rules
        default_placement: dict[str, Any] | None
        if not rules.takes_modules:
            default_placement = {"modules": None, "layers": "all", "position": None}
        else:
            default_placement = {
                "modules": list(rules.default_modules)
                if rules.default_modules is not None
                else None,
                "layers": "all",
                "position": rules.default_position,
            }
        from ..families import FAMILIES

        refused = {f: r for f in FAMILIES if (r := self.refuse(f))}
        return {
            "name": self.name,
            "family": self.kind,
            "description": self.description,
            "params": [p.to_dict() for p in self.params],
            "extra_params_from": self.passthrough,
            "placement_words": list(rules.words) if rules.takes_modules else [],
            "accepts_raw_module_names": rules.takes_modules and rules.raw_names,
            "positions": list(rules.positions),
            "takes_layers": rules.takes_modules,
            "default_placement": default_placement,
            "default_learning_rate": self.learning_rate,
            "peft_type": self.peft_type,
            "refused_families": refused,
        }


class MethodRegistry:
    """Method names -> specs; a name (or alias) registered twice is a programming error."""

    def __init__(self) -> None:
        self._specs: dict[str, MethodSpec] = {}
        self._aliases: dict[str, str] = {}

    def register(self, spec: MethodSpec, aliases: tuple[str, ...] = ()) -> MethodSpec:
        if spec.kind not in KINDS:
            raise ValueError(f"method {spec.name!r} has kind {spec.kind!r}; kinds: {KINDS}")
        for name in (spec.name, *aliases):
            if name in self._specs or name in self._aliases:
                raise ValueError(f"adapter method {name!r} is already registered")
        self._specs[spec.name] = spec
        for alias in aliases:
            self._aliases[alias] = spec.name
        return spec

    def names(self) -> list[str]:
        return list(self._specs)

    def get(self, name: str) -> MethodSpec:
        if not isinstance(name, str) or not name:
            raise ConfigError("adapter.method is required")
        key = name.strip().lower()
        key = self._aliases.get(key, key)
        if key in self._specs:
            return self._specs[key]
        spec = _peft_spec(key)
        if spec is None:
            raise ConfigError(
                f"unknown adapter method {name!r}; choose one of {', '.join(self.names())} "
                f"or a peft method ({', '.join(sorted(_generic_peft_names()))})"
            )
        return spec

    def all_specs(self) -> list[MethodSpec]:
        specs = list(self._specs.values())
        specs += [s for n in sorted(_generic_peft_names()) if (s := _peft_spec(n)) is not None]
        return specs


# -- bottleneck methods -----------------------------------------------------------------------

_BOTTLENECK_WORDS = ("attn", "mlp", "o", "gate", "up", "down")
_QKV_REASON = (
    " (bottleneck adapters sit on a block's output or on an output/MLP projection; q, k and v "
    "feed the attention scores, and several families fuse them into one projection)"
)


def _bottleneck_params(scaling_default: float) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("bottleneck_size", "int", 256, bottleneck_help("bottleneck_size")),
        ParamSpec(
            "non_linearity", "str", "tanh", "activation between the projections", activation_names()
        ),
        ParamSpec("dropout", "float", 0.0, bottleneck_help("dropout")),
        ParamSpec("scaling", "float | 'learned'", scaling_default, bottleneck_help("scaling")),
        ParamSpec("init", "str", "zero", bottleneck_help("init"), ("zero", "random")),
    )


def _check_bottleneck(method: str, scaling_default: float):
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


def _build_bottleneck(
    model: nn.Module,
    adapter: AdapterConfig,
    family: str,
    resolved: ResolvedPlacement,
    kwargs: dict[str, Any],
) -> nn.Module:
    sites = [
        BottleneckSite(**dataclasses.asdict(s)) for s in bottleneck_sites(model, family, resolved)
    ]
    config = BottleneckConfig(
        method=adapter.method.strip().lower(),
        sites=sites,
        placement=dataclasses.asdict(adapter.placement),
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
        params=_bottleneck_params(scaling),
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
        check_params=_check_bottleneck(name, scaling),
        build=_build_bottleneck,
    )


# -- peft methods -----------------------------------------------------------------------------


def _peft_check(method: str, peft_type: str, defaults: dict[str, Any], forced: dict[str, Any]):
    def check(params: dict[str, Any], family: str, resolved: ResolvedPlacement) -> dict[str, Any]:
        for key, value in forced.items():
            if key in params and params[key] != value:
                raise ConfigError(f"{method} always has {key}={value!r}")
        kwargs = {**peft_methods.map_params(method, peft_type, params, defaults), **forced}
        peft_methods.validate_config(method, peft_type, kwargs, family, resolved)
        return kwargs

    return check


def _peft_build(method: str, peft_type: str) -> Builder:
    def build(model, adapter, family, resolved, kwargs):
        return peft_methods.apply(model, method, peft_type, kwargs, family, resolved)

    return build


def _peft_refuse(peft_type: str) -> Callable[[str], str | None]:
    return lambda family: peft_methods.refusal(peft_type, family)


def _peft_param(name: str, peft_type: str, default: Any, help_text: str | None = None) -> ParamSpec:
    fields = peft_methods.user_fields(peft_type)
    target = next((a for a in peft_methods.ALIASES.get(name, (name,)) if a in fields), name)
    f = fields[target]
    text = help_text or peft_methods.field_help(f)
    return ParamSpec(name, peft_methods.field_type(f), default, text)


_LORA_DEFAULTS = {"r": 32, "lora_alpha": 64, "lora_dropout": 0.05}


def _lora_params() -> tuple[ParamSpec, ...]:
    return (
        _peft_param("r", "LORA", 32, "rank of the low-rank update (the paper's best: 32)"),
        _peft_param(
            "alpha",
            "LORA",
            64,
            "lora_alpha: the update is scaled by alpha/r (alpha/sqrt(r) with rsLoRA)",
        ),
        _peft_param("dropout", "LORA", 0.05, "lora_dropout: dropout on the update's input"),
        _peft_param("use_rslora", "LORA", False, "rank-stabilised LoRA: scale by alpha/sqrt(r)"),
        _peft_param("bias", "LORA", "none"),
        _peft_param("init_lora_weights", "LORA", True),
    )


def _named_peft(
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
    return MethodSpec(
        name=name,
        kind=kind,
        description=description,
        params=params,
        rules=rules,
        learning_rate=lr,
        check_params=_peft_check(name, peft_type, defaults, forced or {}),
        build=_peft_build(name, peft_type),
        peft_type=peft_type,
        passthrough=peft_methods.config_class(peft_type).__name__,
        refuse=_peft_refuse(peft_type),
    )


def _prompt_rules(name: str) -> PlacementRules:
    return PlacementRules(method=name, takes_modules=False)


def _prompt_params(peft_type: str, extra: tuple[str, ...]) -> tuple[ParamSpec, ...]:
    fields = peft_methods.user_fields(peft_type)
    return (
        ParamSpec(
            "num_virtual_tokens",
            "int",
            10,
            "trainable virtual tokens (the paper's best for prefix: 10)",
        ),
        *(
            ParamSpec(
                n,
                peft_methods.field_type(fields[n]),
                peft_methods.field_default(fields[n]),
                peft_methods.field_help(fields[n]),
            )
            for n in extra
        ),
    )


_LORA_KIND = {
    "LORA",
    "ADALORA",
    "LOHA",
    "LOKR",
    "VERA",
    "DELORA",
    "RANDLORA",
    "TINYLORA",
    "UNILORA",
    "GRALORA",
    "HIRA",
    "VBLORA",
    "PVERA",
}


def _generic_peft_names() -> set[str]:
    named = {"LORA", "PREFIX_TUNING", "P_TUNING", "PROMPT_TUNING", "IA3"}
    return {
        t.lower()
        for t in peft_methods.peft_types()
        if t not in named and t not in peft_methods.UNSUPPORTED
    }


_GENERIC_CACHE: dict[str, MethodSpec] = {}


def _peft_spec(name: str) -> MethodSpec | None:
    """A spec for any other peft tuner, built from its config class."""
    if name in _GENERIC_CACHE:
        return _GENERIC_CACHE[name]
    peft_type = name.upper()
    if peft_type in peft_methods.UNSUPPORTED:
        raise ConfigError(
            f"peft method {name!r} is not supported by the studio: "
            f"{peft_methods.UNSUPPORTED[peft_type]}"
        )
    if peft_type not in peft_methods.peft_types() or name not in _generic_peft_names():
        return None
    cls = peft_methods.config_class(peft_type)
    fields = peft_methods.user_fields(peft_type)
    prompt = peft_methods.is_prompt_learning_type(peft_type)
    defaults: dict[str, Any] = (
        {"num_virtual_tokens": 10} if prompt and "num_virtual_tokens" in fields else {}
    )
    params = tuple(
        ParamSpec(
            n,
            peft_methods.field_type(f),
            defaults.get(n, peft_methods.field_default(f)),
            peft_methods.field_help(f),
        )
        for n, f in fields.items()
    )
    # Every non-prompt peft tuner takes target_modules; None there means peft's own default.
    rules = _prompt_rules(name) if prompt else PlacementRules(method=name, words=WORDS)
    kind = "prompt" if prompt else "lora" if peft_type in _LORA_KIND else "other"
    doc = (cls.__doc__ or "").strip().splitlines()
    description = f"peft {cls.__name__}" + (f": {doc[0].strip()}" if doc and doc[0].strip() else "")
    spec = MethodSpec(
        name=name,
        kind=kind,
        description=description[:200],
        params=params,
        rules=rules,
        learning_rate=LR_SOFT_PROMPT if prompt else LR_ADAPTER,
        check_params=_peft_check(name, peft_type, defaults, {}),
        build=_peft_build(name, peft_type),
        peft_type=peft_type,
        passthrough=cls.__name__,
        refuse=_peft_refuse(peft_type),
    )
    _GENERIC_CACHE[name] = spec
    return spec


def _lora_rules(name: str) -> PlacementRules:
    return PlacementRules(method=name, words=WORDS, default_modules=("q", "k", "v", "up", "down"))


def build_registry() -> MethodRegistry:
    registry = MethodRegistry()
    registry.register(
        _bottleneck(
            "series",
            "Series adapter: a bottleneck after a block (default: the MLP), or before/after "
            "a linear layer",
            ("mlp",),
            ("after", "before"),
        )
    )
    registry.register(
        _bottleneck(
            "adapterh",
            "AdapterH (Houlsby): series bottlenecks after both the attention and the MLP block",
            ("attn", "mlp"),
            ("after",),
            fixed=True,
        ),
        aliases=("houlsby",),
    )
    registry.register(
        _bottleneck(
            "adapterp",
            "AdapterP (Pfeiffer): a series bottleneck after the MLP block only",
            ("mlp",),
            ("after",),
            fixed=True,
        ),
        aliases=("pfeiffer",),
    )
    registry.register(
        _bottleneck(
            "parallel",
            "Parallel adapter: a bottleneck beside a block (default: the MLP), its output added "
            "to the block's",
            ("mlp",),
            ("beside",),
        )
    )
    registry.register(
        _bottleneck(
            "scaled_parallel",
            "Scaled parallel adapter: a parallel adapter whose output is scaled by a fixed or "
            "learned s",
            ("mlp",),
            ("beside",),
            scaling=4.0,
        )
    )
    registry.register(
        _named_peft(
            "lora",
            "lora",
            "LORA",
            "LoRA: a low-rank update W + (alpha/r)·B·A on chosen linear layers",
            _lora_params(),
            _LORA_DEFAULTS,
            _lora_rules("lora"),
            LR_ADAPTER,
        )
    )
    registry.register(
        _named_peft(
            "dora",
            "lora",
            "LORA",
            "DoRA: LoRA on the direction of each weight plus a trainable magnitude vector",
            _lora_params(),
            _LORA_DEFAULTS,
            _lora_rules("dora"),
            LR_ADAPTER,
            forced={"use_dora": True},
        )
    )
    registry.register(
        _named_peft(
            "prefix",
            "prompt",
            "PREFIX_TUNING",
            "Prefix tuning: trainable key/value prefixes in every attention layer",
            _prompt_params("PREFIX_TUNING", ("prefix_projection", "encoder_hidden_size")),
            {"num_virtual_tokens": 10},
            _prompt_rules("prefix"),
            LR_PREFIX,
        ),
        aliases=("prefix_tuning",),
    )
    registry.register(
        _named_peft(
            "ptuning",
            "prompt",
            "P_TUNING",
            "P-tuning: virtual input tokens produced by a small trainable prompt encoder",
            _prompt_params(
                "P_TUNING",
                (
                    "encoder_reparameterization_type",
                    "encoder_hidden_size",
                    "encoder_num_layers",
                    "encoder_dropout",
                ),
            ),
            {"num_virtual_tokens": 10},
            _prompt_rules("ptuning"),
            LR_PTUNING,
        ),
        aliases=("p_tuning", "p-tuning"),
    )
    registry.register(
        _named_peft(
            "prompt",
            "prompt",
            "PROMPT_TUNING",
            "Prompt tuning: trainable input embeddings prepended to every example",
            _prompt_params(
                "PROMPT_TUNING",
                ("prompt_tuning_init", "prompt_tuning_init_text", "tokenizer_name_or_path"),
            ),
            {"num_virtual_tokens": 10},
            _prompt_rules("prompt"),
            LR_SOFT_PROMPT,
        ),
        aliases=("prompt_tuning",),
    )
    registry.register(
        _named_peft(
            "ia3",
            "other",
            "IA3",
            "(IA)^3: learned vectors rescaling keys, values and the feed-forward activation",
            (_peft_param("init_ia3_weights", "IA3", True),),
            {},
            PlacementRules(method="ia3", words=WORDS, default_modules=("k", "v", "down")),
            LR_IA3,
        )
    )
    return registry


REGISTRY = build_registry()
