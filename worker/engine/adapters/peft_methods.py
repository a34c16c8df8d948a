"""Methods backed by the peft library: LoRA, DoRA, prefix/P-/prompt tuning, IA3 and any other
peft tuner by its name.

The studio's params are mapped onto the peft config class (`alpha` -> `lora_alpha`, ...);
every other field of that class may be set under its own name, and an unknown one is refused
with the list of valid names. Placement becomes `target_modules` as full module paths, so the
saved adapter_config.json loads with plain `peft.PeftModel.from_pretrained`.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..families import get_family, key_value_heads
from ..placement import ResolvedPlacement, linear_targets

if TYPE_CHECKING:
    import torch.nn as nn

log = logging.getLogger(__name__)

# Fields the studio fills in itself (from the placement, the task or the model).
RESERVED_FIELDS = frozenset(
    {
        "task_type",
        "peft_type",
        "auto_mapping",
        "peft_version",
        "base_model_name_or_path",
        "revision",
        "inference_mode",
        "target_modules",
        "layers_to_transform",
        "layers_pattern",
        "token_dim",
        "num_transformer_submodules",
        "num_attention_heads",
        "num_layers",
        "feedforward_modules",
    }
)

# Studio param names that stand for differently named peft fields (the first present wins).
ALIASES = {
    "alpha": ("lora_alpha", "alpha"),
    "dropout": ("lora_dropout", "dropout", "module_dropout", "encoder_dropout"),
}

# peft tuners that cannot run in a plain causal-LM fine-tune: they need task ids or other
# adapters at every forward pass, which the studio's trainer does not provide, or they fail.
UNSUPPORTED = {
    "POLY": "needs task ids at every forward pass",
    "MULTITASK_PROMPT_TUNING": "needs task ids at every forward pass",
    "XLORA": "mixes already trained LoRA adapters and needs them as input",
    "SHADOW": "its forward pass fails with transformers 5.24 (peft 0.21)",
}

_CACHE_PROMPT_TYPES = frozenset({"PREFIX_TUNING", "CARTRIDGE"})

# GPT-2 keeps its projections in transformers' Conv1D; these peft 0.21 tuners accept only
# nn.Linear (found by applying each tuner to a GPT-2 model). LoRA, DoRA, IA3, AdaLoRA, VeRA,
# FourierFT and the bottleneck adapters handle Conv1D.
_LINEAR_ONLY = frozenset(
    {
        "BEFT",
        "BOFT",
        "C3A",
        "DELORA",
        "GLORA",
        "HRA",
        "LILY",
        "LOHA",
        "LOKR",
        "MISS",
        "OFT",
        "OSF",
        "PEANUT",
        "PSOFT",
        "ROAD",
        "SHIRA",
        "SUPERTUNING",
    }
)

# family -> (peft types, reason) for pairs that cannot work. Prompt learning is absent on
# purpose: with fix_prompt_learning_generation below it works on every family (before it,
# BLOOM and OPT crashed generating padded batches and every family generated without its
# prefix). A pair that breaks goes here, with a test.
_REFUSED: dict[str, tuple[frozenset[str], str]] = {
    "gpt2": (
        _LINEAR_ONLY,
        "GPT-2's projections are transformers Conv1D layers, which this peft tuner does not "
        "support (it takes nn.Linear only)",
    ),
}

# Integer params that must be at least 1, and params that are probabilities: peft 0.21 accepts
# r=0 or a dropout of 2 and fails later, far from the cause.
_POSITIVE = frozenset(
    {"r", "init_r", "target_r", "num_virtual_tokens", "encoder_num_layers", "encoder_hidden_size"}
)


class PeftRefusal(ConfigError):
    """peft itself refused to put the method on the model (its message is passed on)."""


def peft_types() -> dict[str, type]:
    from peft.mapping import PEFT_TYPE_TO_CONFIG_MAPPING

    return {str(getattr(k, "value", k)): v for k, v in PEFT_TYPE_TO_CONFIG_MAPPING.items()}


def config_class(peft_type: str) -> type:
    return peft_types()[peft_type]


def is_prompt_learning_type(peft_type: str) -> bool:
    from peft import PromptLearningConfig

    return issubclass(config_class(peft_type), PromptLearningConfig)


def refusal(peft_type: str, family: str) -> str | None:
    types, reason = _REFUSED.get(family, (frozenset(), ""))
    return reason if peft_type in types else None


def user_fields(peft_type: str) -> dict[str, dataclasses.Field]:
    return {
        f.name: f
        for f in dataclasses.fields(config_class(peft_type))
        if f.init and f.name not in RESERVED_FIELDS
    }


def _simple_type(f: dataclasses.Field) -> type | None:
    """The primitive a field holds, when it is plainly one (for a clear type error)."""
    if f.default is not dataclasses.MISSING and f.default is not None:
        if type(f.default) in (bool, int, float, str):
            return type(f.default)
        return None
    name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
    return {"int": int, "float": float, "bool": bool, "str": str}.get(name)


def _check_type(method: str, name: str, value: Any, f: dataclasses.Field) -> None:
    expected = _simple_type(f)
    if expected is None or value is None:
        return
    ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if expected is int and isinstance(value, bool):
        ok = False
    if not ok:
        raise ConfigError(f"{method} param {name!r} must be {expected.__name__}, got {value!r}")


def map_params(
    method: str, peft_type: str, params: dict[str, Any], defaults: dict[str, Any]
) -> dict[str, Any]:
    """Studio params -> keyword arguments of the peft config class (defaults filled in)."""
    fields = user_fields(peft_type)
    out = dict(defaults)
    given: dict[str, str] = {}
    for key, value in params.items():
        name = key
        if key not in fields and key in ALIASES:
            name = next((a for a in ALIASES[key] if a in fields), key)
        if name not in fields:
            reserved = (
                " (the studio sets it from the placement or the model)"
                if key in RESERVED_FIELDS
                else ""
            )
            aliases = {a for a, names in ALIASES.items() if any(n in fields for n in names)}
            raise ConfigError(
                f"{method} has no parameter {key!r}{reserved}; valid parameters: "
                f"{', '.join(sorted(set(fields) | aliases))}"
            )
        if name in given:
            raise ConfigError(f"{method}: {given[name]!r} and {key!r} both set {name}; give one")
        given[name] = key
        _check_type(method, key, value, fields[name])
        _check_range(method, key, name, value, field_default(fields[name]))
        out[name] = value
    return out


def value_bounds(name: str, default: Any = None) -> dict[str, float]:
    """The JSON-Schema bounds the studio puts on peft field `name` (checked by map_params).
    None where peft's own default lies outside them: that value means something there (OFT's
    r=0 says "size the blocks by oft_block_size instead")."""
    bounds: dict[str, float] = {}
    if name in _POSITIVE:
        bounds = {"minimum": 1}
    elif name.endswith("dropout"):
        bounds = {"minimum": 0, "exclusiveMaximum": 1}
    if isinstance(default, int | float) and not isinstance(default, bool) and bounds:
        low, high = bounds["minimum"], bounds.get("exclusiveMaximum", float("inf"))
        if not low <= default < high:
            return {}
    return bounds


def _check_range(method: str, key: str, name: str, value: Any, default: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    bounds = value_bounds(name, default)
    low, high = bounds.get("minimum"), bounds.get("exclusiveMaximum")
    if low is not None and high is not None and not low <= value < high:
        raise ConfigError(f"{method} param {key!r} must be in [{low}, {high}), got {value}")
    if low is not None and value < low:
        raise ConfigError(f"{method} param {key!r} must be at least {low}, got {value}")


def build_config(
    method: str,
    peft_type: str,
    kwargs: dict[str, Any],
    target_modules: list[str] | None,
    feedforward_modules: list[str] | None = None,
    model_config: Any = None,
) -> Any:
    cls = config_class(peft_type)
    names = {f.name for f in dataclasses.fields(cls)}
    extra: dict[str, Any] = {}
    if "task_type" in names:
        extra["task_type"] = "CAUSAL_LM"
    if target_modules is not None:
        extra["target_modules"] = target_modules
    if feedforward_modules is not None:
        extra["feedforward_modules"] = feedforward_modules
    if model_config is not None and peft_type in _CACHE_PROMPT_TYPES:
        kv = key_value_heads(model_config)
        if kv is not None:
            head_dim = model_config.hidden_size // model_config.num_attention_heads
            extra.update(num_attention_heads=kv, token_dim=head_dim * kv)
    try:
        return cls(**extra, **kwargs)
    except (ValueError, TypeError, ImportError) as e:
        raise ConfigError(f"{method}: {_one_line(e)}") from None


def _one_line(error: Exception) -> str:
    return re.sub(r"\s+", " ", str(error)).strip()


def _feedforward(family: str, targets: list[str]) -> list[str]:
    """IA3 scales the input of the MLP's output projection (the feed-forward activation)."""
    fam = get_family(family)
    down = fam.linears.get("down") if fam else None
    return [t for t in targets if down and (t == down or t.endswith("." + down))]


def _relative_targets(resolved: ResolvedPlacement) -> list[str] | None:
    if not resolved.targets:
        return None
    out: list[str] = []
    for t in resolved.targets:
        out += list(t.paths) if t.kind == "linear" else [t.name]
    return list(dict.fromkeys(out))


def validate_config(
    method: str, peft_type: str, kwargs: dict[str, Any], family: str, resolved: ResolvedPlacement
) -> None:
    """Builds the peft config once without a model, so its own checks run before a job starts."""
    targets = _relative_targets(resolved)
    ff = _feedforward(family, targets) if peft_type == "IA3" and targets else None
    build_config(method, peft_type, kwargs, targets, ff)


def apply(
    model: nn.Module,
    method: str,
    peft_type: str,
    kwargs: dict[str, Any],
    family: str,
    resolved: ResolvedPlacement,
) -> nn.Module:
    from peft import get_peft_model

    targets = linear_targets(model, family, resolved) if resolved.targets else None
    feedforward = _feedforward(family, targets) if peft_type == "IA3" and targets else None
    config = build_config(method, peft_type, kwargs, targets, feedforward, model.config)
    try:
        return fix_prompt_learning_generation(get_peft_model(model, config))
    except (ValueError, TypeError, NotImplementedError, ImportError, RuntimeError) as e:
        message = _one_line(e)
        if targets is None and "target_modules" in message:
            raise PeftRefusal(
                f"peft has no default modules for {method} on {family} models; name them in "
                "placement.modules (raw module names work, e.g. a layer norm's name)"
            ) from None
        raise PeftRefusal(f"{method} cannot be applied to this {family} model: {message}") from None


def fix_prompt_learning_generation(model: nn.Module) -> nn.Module:
    """Makes peft's prompt-learning generation see the cache under transformers 5 names.

    peft 0.21 prepares each generation step with transformers 4 names (`past_key_values`,
    `cache_position`); transformers 5.24 passes `cache` and no cache position. peft then never
    sees the cache: prefix tuning's prefix is silently dropped from generation, and prompt
    tuning prepends its virtual tokens again at every step. Translating the names around
    peft's step gives generation the same prefix and positions as the training forward pass
    (tests/engine/test_adapters.py checks generated tokens against the forward pass).
    """
    from peft import PeftModel

    if not isinstance(model, PeftModel) or not model.active_peft_config.is_prompt_learning:
        return model
    if getattr(model, "_studio_generation_fixed", False):
        return model
    import torch

    base_prepare = model.base_model_prepare_inputs_for_generation
    peft_prepare = model.prepare_inputs_for_generation

    def base_with_old_names(*args: Any, **kwargs: Any) -> dict[str, Any]:
        inputs = base_prepare(*args, **kwargs)
        cache = inputs.pop("cache", None)
        inputs["past_key_values"] = cache
        past = cache.get_seq_length() if cache is not None else 0
        ids = inputs.get("input_ids")
        length = ids.shape[1] if ids is not None else inputs["inputs_embeds"].shape[1]
        device = (ids if ids is not None else inputs["inputs_embeds"]).device
        inputs["cache_position"] = torch.arange(past, past + length, device=device)
        return inputs

    def prepare_with_new_names(*args: Any, **kwargs: Any) -> dict[str, Any]:
        inputs = peft_prepare(*args, **kwargs)
        cache = inputs.pop("past_key_values", None)
        if cache is not None:
            inputs["cache"] = cache
        inputs.pop("cache_position", None)
        return inputs

    model.base_model_prepare_inputs_for_generation = base_with_old_names
    model.prepare_inputs_for_generation = prepare_with_new_names
    model._studio_generation_fixed = True
    return model


def jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return None


def field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return jsonable(f.default)
    if f.default_factory is not dataclasses.MISSING:
        try:
            return jsonable(f.default_factory())
        except Exception:  # a factory that needs arguments: no default to show
            return None
    return None


def field_help(f: dataclasses.Field) -> str:
    text = f.metadata.get("help", "")
    if isinstance(text, list | tuple):  # some peft fields carry their help split in a tuple
        text = " ".join(str(t) for t in text)
    text = re.sub(r"\s+", " ", str(text)).strip()
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    return first[:240]
