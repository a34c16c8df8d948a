"""The job config of DESIGN.md as dataclasses, parsed strictly from JSON.

Unknown keys and wrong types are refused with a message that names the key, so a typo in a
config never silently falls back to a default. Method-specific checks (which placements a
method accepts, its params) live with the adapter registry; this module checks shapes only.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from .errors import ConfigError


def _help(text: str, default: Any = dataclasses.MISSING, factory: Any = dataclasses.MISSING):
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"help": text})
    return field(default=default, metadata={"help": text})


@dataclass
class PlacementConfig:
    modules: list[str] | None = _help(
        "placement words (q k v o gate up down attn mlp) or raw module names; "
        "None = the method's default",
        None,
    )
    layers: str | list[int] = _help("'all', a list of layer indices, or a range like '0-11'", "all")
    position: str | None = _help(
        "bottleneck adapters: 'after_attn', 'after_mlp', 'beside_mlp', ...; None = method default",
        None,
    )


@dataclass
class AdapterConfig:
    method: str = _help("adapter method: lora, dora, series, adapterh, adapterp, parallel, ...")
    placement: PlacementConfig = _help("where the adapter goes", factory=PlacementConfig)
    params: dict[str, Any] = _help(
        "method parameters (r, alpha, bottleneck_size, ...)", factory=dict
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdapterConfig:
        return _build(cls, data, "adapter")


@dataclass
class TrainingConfig:
    epochs: float = _help("passes over the training set", 3.0)
    max_steps: int | None = _help("stop after this many optimiser steps (overrides epochs)", None)
    learning_rate: float | None = _help("peak learning rate; None = the method's default", None)
    batch_size: int = _help("examples per optimiser step", 16)
    micro_batch_size: int = _help("examples per forward pass (gradient accumulation)", 4)
    cutoff_len: int = _help("truncate examples to this many tokens", 256)
    val_set_size: int = _help("examples held out for validation loss", 120)
    train_on_inputs: bool = _help("include the prompt tokens in the loss", True)
    warmup_steps: int = _help("linear warm-up steps", 100)
    lr_scheduler: str = _help("transformers scheduler name", "linear")
    weight_decay: float = _help("AdamW weight decay", 0.0)
    seed: int = _help("seed for data order and initialisation", 42)
    precision: str = _help("auto | fp32 | fp16 | bf16", "auto")
    quantization: str = _help("none | 8bit | 4bit (CUDA only, bitsandbytes)", "none")
    gradient_checkpointing: bool = _help("trade compute for memory", False)
    packing: bool = _help("pack examples without padding (padding-free)", False)
    prompt_template: str = _help("alpaca (the paper's) or chat (the tokenizer's)", "alpaca")
    logging_steps: int = _help("report loss every N steps", 1)
    save_steps: int | None = _help("checkpoint every N steps (resume from the last)", None)
    resume: bool = _help("resume from the last checkpoint in the output folder", False)


@dataclass
class DecodingConfig:
    strategy: str = _help("greedy or beam", "greedy")
    num_beams: int = _help("beams for beam search", 4)
    max_new_tokens: int = _help("tokens to generate per answer", 256)


@dataclass
class EvaluationConfig:
    benchmarks: list[str] = _help("benchmark names to evaluate on", factory=list)
    every_n_steps: int | None = _help("evaluate during training every N steps", None)
    max_examples: int | None = _help("cap examples per benchmark", None)
    batch_size: int = _help("prompts per generation batch", 16)
    data_dir: str | None = _help(
        "folder in the LLM-Adapters layout holding the benchmark sets", None
    )
    decoding: DecodingConfig = _help("decoding settings", factory=DecodingConfig)


@dataclass
class JobConfig:
    base_model: str = _help("hf:<id>, path:<folder>, gguf:<file> or demo:smollm2-135m")
    adapter: AdapterConfig = _help("adapter choice")
    name: str = _help("a name for the run", "run")
    dataset_path: str | None = _help("training data file (CLI); the API uses dataset_id", None)
    dataset_id: int | None = _help("stored dataset id (API)", None)
    training: TrainingConfig = _help("training settings", factory=TrainingConfig)
    evaluation: EvaluationConfig = _help("evaluation settings", factory=EvaluationConfig)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobConfig:
        return _build(cls, data, "config")

    @classmethod
    def from_file(cls, path: str | Path) -> JobConfig:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"config file not found: {p}")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{p} is not valid JSON: {e.msg} at line {e.lineno}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_PRIMITIVES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _check_value(value: Any, hint: Any, where: str) -> Any:
    """Checks `value` against a type hint; returns it (ints are accepted where floats are)."""
    import types
    import typing

    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            if option is type(None):
                if value is None:
                    return None
                continue
            try:
                return _check_value(value, option, where)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(
            errors[0] if len(errors) == 1 else f"{where} has an invalid value {value!r}"
        )
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        (item,) = typing.get_args(hint)
        return [_check_value(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be an object, got {value!r}")
        return dict(value)
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (int, float) and isinstance(value, bool):
        raise ConfigError(f"{where} must be {_PRIMITIVES[hint]}, got {value!r}")
    if not isinstance(value, hint):
        raise ConfigError(f"{where} must be {_PRIMITIVES.get(hint, hint.__name__)}, got {value!r}")
    return value


def _build(cls: Any, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be an object, got {data!r}")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key {', '.join(repr(k) for k in unknown)} in {where}; "
            f"known keys: {', '.join(fields)}"
        )
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _check_value(data[name], hints[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}.{name} is required ({f.metadata.get('help', '')})")
    return cls(**kwargs)
