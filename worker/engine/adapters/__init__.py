"""Adapters: the engine's one entry point for putting, saving and loading an adapter.

Everything else in the studio codes against these functions only (importing this package
imports neither torch nor transformers: the API validates and lists methods without them):

    validate_adapter(adapter, family, num_layers=None)   # no model: the API's 422 check
    apply_adapter(model, adapter) -> nn.Module           # PeftModel or BottleneckModel
    save_adapter(model, folder, metadata=None)           # PEFT folder layout (+ studio_run.json)
    load_adapter(base_model, folder) -> nn.Module        # peft and bottleneck folders alike
    method_catalogue(), estimate_trainable_parameters(), build_on_meta(), default_learning_rate(),
    is_prompt_learning(), count_parameters()
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import AdapterConfig
from ..errors import ConfigError
from ..families import family_of, num_layers_of
from ..placement import ResolvedPlacement, resolve_placement
from .catalogue import method_catalogue
from .registry import REGISTRY
from .spec import MethodSpec

if TYPE_CHECKING:
    import torch.nn as nn

log = logging.getLogger(__name__)

RUN_METADATA_NAME = "studio_run.json"


def _prepare(
    adapter: AdapterConfig, family: str, num_layers: int | None
) -> tuple[MethodSpec, ResolvedPlacement, dict[str, Any]]:
    if not isinstance(adapter, AdapterConfig):
        raise TypeError(f"expected an AdapterConfig, got {type(adapter).__name__}")
    spec = REGISTRY.get(adapter.method)
    reason = spec.refuse(family)
    if reason:
        working = ", ".join(n for n in REGISTRY.names() if not REGISTRY.get(n).refuse(family))
        raise ConfigError(
            f"{spec.name} does not work with {family} models: {reason}. Methods that do: {working}"
        )
    resolved = resolve_placement(adapter.placement, spec.rules, family, num_layers)
    if not isinstance(adapter.params, dict):
        raise ConfigError("adapter.params must be an object")
    kwargs = spec.check_params(dict(adapter.params), family, resolved)
    return spec, resolved, kwargs


def validate_adapter(adapter: AdapterConfig, family: str, num_layers: int | None = None) -> None:
    """Raises ConfigError when `adapter` cannot work on a model of `family`; needs no model."""
    _prepare(adapter, family, num_layers)


def apply_adapter(model: nn.Module, adapter: AdapterConfig) -> nn.Module:
    """Validates `adapter` against `model` and injects it (in place); returns the model to train.

    The result is a `peft.PeftModel` or a `BottleneckModel`; either way the base weights are
    frozen, forward/generate pass through, and `save_adapter` saves it.
    """
    family = family_of(model)
    spec, resolved, kwargs = _prepare(adapter, family, num_layers_of(model))
    wrapped = spec.build(model, adapter, family, resolved, kwargs)
    trainable, total = count_parameters(wrapped)
    if trainable == 0:
        raise ConfigError(f"{spec.name} with this placement trains no parameters")
    log.info("%s on %s: %d trainable of %d parameters", spec.name, family, trainable, total)
    return wrapped


def save_adapter(model: nn.Module, folder: str | Path, metadata: dict | None = None) -> Path:
    """Saves the adapter alone: adapter_config.json, adapter_model.safetensors and, when
    metadata is given, studio_run.json."""
    from .bottleneck import BottleneckModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not hasattr(model, "save_pretrained") or not (
        isinstance(model, BottleneckModel) or _is_peft_model(model)
    ):
        raise TypeError("save_adapter expects the model apply_adapter or load_adapter returned")
    saving: Any = model  # nn.Module's __getattr__ types save_pretrained as Tensor | Module
    saving.save_pretrained(str(folder))
    if metadata is not None:
        (folder / RUN_METADATA_NAME).write_text(
            json.dumps(metadata, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )
    return folder


def load_adapter(
    base_model: nn.Module, folder: str | Path, is_trainable: bool = False
) -> nn.Module:
    """Puts a saved adapter (a peft folder or a bottleneck folder) on a fresh base model."""
    from .bottleneck import BottleneckModel, is_bottleneck_folder

    folder = Path(folder)
    if not (folder / "adapter_config.json").is_file():
        raise ConfigError(f"{folder} holds no adapter (adapter_config.json is missing)")
    if is_bottleneck_folder(folder):
        return BottleneckModel.from_pretrained(base_model, folder, is_trainable=is_trainable)
    from peft import PeftModel

    from .peft_methods import fix_prompt_learning_generation

    try:
        loaded = PeftModel.from_pretrained(base_model, str(folder), is_trainable=is_trainable)
    except (ValueError, KeyError, RuntimeError) as e:
        raise ConfigError(f"cannot load the adapter in {folder} onto this model: {e}") from None
    if not is_trainable:
        # peft leaves prompt-learning encoders trainable even when loading for inference.
        for param in loaded.parameters():
            param.requires_grad = False
    return fix_prompt_learning_generation(loaded)


def load_adapter_weights(model: nn.Module, folder: str | Path) -> None:
    """Loads saved adapter weights into a model that already carries the same adapter (resume)."""
    from .bottleneck import BottleneckModel

    if isinstance(model, BottleneckModel):
        model.load_adapter_weights(folder)
        return
    from peft.utils import load_peft_weights, set_peft_model_state_dict

    set_peft_model_state_dict(model, load_peft_weights(str(folder), device="cpu"))


def read_run_metadata(folder: str | Path) -> dict | None:
    path = Path(folder) / RUN_METADATA_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def default_learning_rate(method: str) -> float:
    return REGISTRY.get(method).learning_rate


def is_prompt_learning(method: str) -> bool:
    return REGISTRY.get(method).is_prompt_learning


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameters; shared (tied) tensors count once."""
    trainable = total = 0
    for param in model.parameters():
        n = param.numel()
        total += n
        if param.requires_grad:
            trainable += n
    return trainable, total


def estimate_trainable_parameters(adapter: AdapterConfig, model_config: Any) -> int | None:
    """Trainable parameters `adapter` would have on a model with `model_config`.

    Exact: the model is built on the meta device (no memory, no weights) and the adapter put on
    it, so every method and family counts the way training will. Raises ConfigError for an
    impossible adapter; returns None when the model class cannot be built from the config.
    """
    model = build_on_meta(adapter, model_config)
    return None if model is None else count_parameters(model)[0]


def build_on_meta(adapter: AdapterConfig, model_config: Any) -> nn.Module | None:
    """The model of `model_config` with `adapter` applied, on the meta device (shapes, no
    memory). Raises ConfigError for an impossible adapter; None when it cannot be built."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    if isinstance(model_config, dict):
        model_config = AutoConfig.for_model(**model_config)
    family = family_of(model_config)
    validate_adapter(adapter, family, num_layers_of(model_config))
    try:
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(model_config)
    except (ValueError, KeyError, ImportError, TypeError) as e:
        log.warning("cannot build a %s model to estimate parameters: %s", family, e)
        return None
    from .peft_methods import PeftRefusal

    try:
        with torch.device("meta"):
            return apply_adapter(model, adapter)
    except PeftRefusal as e:
        if not _needs_weights(e):
            raise  # peft refuses the method on this model (a size it needs, ...): say why
        # Some peft initialisations compute on the weights (SVD, bincount, ...), which meta
        # tensors lack.
        log.info("cannot estimate %s parameters without weights: %s", adapter.method, e)
        return None
    except ConfigError:
        raise  # our own placement checks (a raw name that is not there, ...)
    except (ValueError, RuntimeError, NotImplementedError, TypeError) as e:
        log.warning("cannot estimate %s parameters without weights: %s", adapter.method, e)
        return None


# How torch words an operation the meta device cannot run ("... with Meta tensors", "no fake
# impl or Meta kernel", "register_meta function for torch.nonzero() ...").
_META_OPERATION = re.compile(r"\bmeta\b|register_meta|fake impl", re.IGNORECASE)


def _needs_weights(error: Exception) -> bool:
    """Whether a refusal on the meta device comes from computing on weights that are not there
    (an SVD, a bincount, a nonzero) rather than from the method and the model's shapes."""
    return bool(_META_OPERATION.search(str(error)))


def _is_peft_model(model: nn.Module) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def __getattr__(name: str) -> Any:
    # `from worker.engine.adapters import BottleneckModel` keeps working, loading torch then.
    if name == "BottleneckModel":
        from .bottleneck import BottleneckModel

        return BottleneckModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BottleneckModel",
    "RUN_METADATA_NAME",
    "apply_adapter",
    "build_on_meta",
    "count_parameters",
    "default_learning_rate",
    "estimate_trainable_parameters",
    "family_of",
    "is_prompt_learning",
    "load_adapter",
    "load_adapter_weights",
    "method_catalogue",
    "read_run_metadata",
    "save_adapter",
    "validate_adapter",
]
