"""Every other peft tuner, described on demand from its config class (the registry's
fallback): a new peft release brings its methods without code here."""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError
from ...families import WORDS
from ...placement import PlacementRules
from .. import peft_methods
from ..peft_specs import VIRTUAL_TOKENS_DEFAULT, build, check, field_param, prompt_rules, refuse
from ..registry import REGISTRY
from ..spec import LR_ADAPTER, LR_SOFT_PROMPT, MethodSpec
from .peft_descriptions import describe

# The peft types the studio registers under names of its own (methods/lora.py, ...).
_NAMED = frozenset({"LORA", "PREFIX_TUNING", "P_TUNING", "PROMPT_TUNING", "IA3"})

# peft tuners that learn a low-rank (or similarly factored) weight update: LoRA's kind.
_LORA_KIND = frozenset(
    {
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
)


class PeftFallback:
    label = "a peft method"

    def __init__(self) -> None:
        self._cache: dict[str, MethodSpec] = {}

    def names(self) -> list[str]:
        return sorted(
            t.lower()
            for t in peft_methods.peft_types()
            if t not in _NAMED and t not in peft_methods.UNSUPPORTED
        )

    def spec(self, name: str) -> MethodSpec | None:
        """A spec for peft tuner `name`, built from its config class (None: no such tuner)."""
        if name in self._cache:
            return self._cache[name]
        peft_type = name.upper()
        if peft_type in peft_methods.UNSUPPORTED:
            raise ConfigError(
                f"peft method {name!r} is not supported by the studio: "
                f"{peft_methods.UNSUPPORTED[peft_type]}"
            )
        if peft_type not in peft_methods.peft_types() or name not in self.names():
            return None
        self._cache[name] = spec = _describe(name, peft_type)
        return spec


def _describe(name: str, peft_type: str) -> MethodSpec:
    cls = peft_methods.config_class(peft_type)
    fields = peft_methods.user_fields(peft_type)
    prompt = peft_methods.is_prompt_learning_type(peft_type)
    defaults: dict[str, Any] = (
        {"num_virtual_tokens": VIRTUAL_TOKENS_DEFAULT}
        if prompt and "num_virtual_tokens" in fields
        else {}
    )
    params = tuple(
        field_param(peft_type, n, field=n, **({"default": defaults[n]} if n in defaults else {}))
        for n in fields
    )
    # Every non-prompt peft tuner takes target_modules; None there means peft's own default.
    rules = prompt_rules(name) if prompt else PlacementRules(method=name, words=WORDS)
    kind = "prompt" if prompt else "lora" if peft_type in _LORA_KIND else "other"
    description = describe(name, cls.__name__, cls.__doc__)
    return MethodSpec(
        name=name,
        kind=kind,
        description=description[:200],
        params=params,
        rules=rules,
        learning_rate=LR_SOFT_PROMPT if prompt else LR_ADAPTER,
        check_params=check(name, peft_type, defaults, {}),
        build=build(name, peft_type),
        peft_type=peft_type,
        passthrough=cls.__name__,
        refuse=refuse(peft_type),
    )


REGISTRY.add_fallback(PeftFallback())
