"""Injection, removal and persistence of bottleneck adapters (peft's tuner-model role).

`BottleneckModel` wraps a transformers causal LM the way `peft.PeftModel` does: forward and
generate pass through to the base model (so the Trainer gets the base model's output and
loss), only adapter weights train, and `save_pretrained` writes the PEFT folder layout —
adapter_config.json plus adapter_model.safetensors holding the adapter weights alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ...errors import ConfigError
from .config import PEFT_TYPE, BottleneckConfig, BottleneckSite
from .layer import ADAPTER_PREFIX, BottleneckLayer

log = logging.getLogger(__name__)

CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"


def is_bottleneck_folder(folder: str | Path) -> bool:
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        return False
    return json.loads(path.read_text(encoding="utf-8")).get("peft_type") == PEFT_TYPE


class BottleneckModel(nn.Module):
    """A causal LM with bottleneck adapters at `config.sites`; base weights frozen."""

    # transformers' Trainer refuses a quantized base that it does not see as adapted (a peft
    # model, or this flag of its PEFT integration); these adapters are attached and trainable.
    # Found on the GPU: 4/8-bit series training failed there in Trainer.__init__.
    _hf_peft_config_loaded = True

    def __init__(self, model: nn.Module, config: BottleneckConfig):
        super().__init__()
        if not config.sites:
            raise ConfigError("a bottleneck adapter needs at least one site")
        self.base_model = model
        self.adapter_config = config
        self._wrapped: list[tuple[nn.Module, str, BottleneckLayer]] = []
        self._hooks: list[Any] = []
        self._inject(config)
        self._mark_only_adapters_as_trainable()

    # -- injection ---------------------------------------------------------------------------

    def _slot(self, path: str) -> tuple[nn.Module, str]:
        parent_path, _, child = path.rpartition(".")
        try:
            parent = self.base_model.get_submodule(parent_path) if parent_path else self.base_model
            getattr(parent, child)
        except AttributeError:
            raise ConfigError(
                f"module {path!r} is not in this model; "
                "the adapter was made for another architecture"
            ) from None
        return parent, child

    def _inject(self, config: BottleneckConfig) -> None:
        plan = []
        for site in config.sites:
            parent, child = self._slot(site.module)
            target = getattr(parent, child)
            if isinstance(target, BottleneckLayer):
                raise ConfigError(f"{site.module} already has a bottleneck adapter")
            entry = self._slot(site.input) if site.input else None
            plan.append((site, parent, child, target, entry))
        # Deepest first: a block wrapped later then holds its already-wrapped projections.
        plan.sort(key=lambda item: -item[0].module.count("."))
        if _slices_weights(self.base_model):
            raise ConfigError(
                "this BLOOM checkpoint computes projections from sliced weights "
                "(pretraining_tp > 1 with slow_but_exact); set slow_but_exact to false"
            )
        for site, parent, child, target, entry in plan:
            layer = BottleneckLayer(
                target,
                position=site.position,
                in_features=site.in_features,
                out_features=site.out_features,
                config=config,
                reads_captured_input=entry is not None,
            )
            setattr(parent, child, layer)
            self._wrapped.append((parent, child, layer))
        for (_, _, _, _, entry), (_, _, layer) in zip(plan, self._wrapped, strict=True):
            if entry is not None:
                # Registered after wrapping, on whatever now sits there, so it sees the block's
                # own input even when that module carries a 'before' adapter of its own.
                module = getattr(*entry)
                self._hooks.append(
                    module.register_forward_pre_hook(layer.capture, with_kwargs=True)
                )

    def _mark_only_adapters_as_trainable(self) -> None:
        for name, param in self.base_model.named_parameters():
            param.requires_grad = _is_adapter_key(name)

    def adapter_layers(self) -> list[BottleneckLayer]:
        return [layer for _, _, layer in self._wrapped]

    # -- enable / disable / remove -----------------------------------------------------------

    def enable_adapter_layers(self) -> None:
        for layer in self.adapter_layers():
            layer.disabled = False

    def disable_adapter_layers(self) -> None:
        for layer in self.adapter_layers():
            layer.disabled = True

    @contextmanager
    def disable_adapter(self) -> Iterator[None]:
        """Runs the base model alone inside the block (as peft's context manager does)."""
        states = [layer.disabled for layer in self.adapter_layers()]
        self.disable_adapter_layers()
        try:
            yield
        finally:
            for layer, state in zip(self.adapter_layers(), states, strict=True):
                layer.disabled = state

    def unload(self) -> nn.Module:
        """Removes every adapter and returns the base model as it was (adapters discarded).

        Bottleneck adapters are non-linear, so unlike LoRA they cannot be merged into weights.
        """
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()
        for parent, child, layer in reversed(self._wrapped):
            setattr(parent, child, layer.base_layer)
        self._wrapped.clear()
        return self.base_model

    # -- pass-through ------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.base_model(*args, **kwargs)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        base: Any = self.base_model  # a transformers model (nn.Module types it as a Tensor)
        return base.generate(*args, **kwargs)

    def get_base_model(self) -> nn.Module:
        return self.base_model

    def __getattr__(self, name: str) -> Any:
        # The Trainer and generation code read config, main_input_name, ... of the model.
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "base_model":
                raise
            return getattr(self.base_model, name)

    def get_nb_trainable_parameters(self) -> tuple[int, int]:
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return trainable, sum(p.numel() for p in self.parameters())

    # -- persistence -------------------------------------------------------------------------

    def adapter_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if _is_adapter_key(k)}

    def save_pretrained(self, save_directory: str | Path, **_: Any) -> None:
        """Writes adapter_config.json and adapter_model.safetensors (adapter weights only)."""
        from safetensors.torch import save_file

        folder = Path(save_directory)
        folder.mkdir(parents=True, exist_ok=True)
        config = self.adapter_config
        if config.base_model_name_or_path is None:
            config.base_model_name_or_path = (
                getattr(self.base_model.config, "_name_or_path", None) or None
            )
        (folder / CONFIG_NAME).write_text(
            json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        tensors = {
            k: v.detach().to("cpu").contiguous() for k, v in self.adapter_state_dict().items()
        }
        save_file(tensors, str(folder / WEIGHTS_NAME), metadata={"format": "pt"})

    def load_adapter_weights(self, folder: str | Path) -> None:
        """Loads adapter_model.safetensors into this model's adapters (exact key match)."""
        from safetensors.torch import load_file

        path = Path(folder) / WEIGHTS_NAME
        if not path.is_file():
            raise ConfigError(f"no {WEIGHTS_NAME} in {folder}")
        saved = load_file(str(path))
        own = self.adapter_state_dict()
        missing, unexpected = sorted(set(own) - set(saved)), sorted(set(saved) - set(own))
        if missing or unexpected:
            raise ConfigError(
                f"adapter weights in {folder} do not fit this model "
                f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        for key, value in saved.items():
            if own[key].shape != value.shape:
                raise ConfigError(
                    f"adapter weight {key} has shape {tuple(value.shape)} in {folder} but "
                    f"{tuple(own[key].shape)} here; the base model differs from the one trained on"
                )
        self.load_state_dict(saved, strict=False)

    @classmethod
    def from_pretrained(
        cls, model: nn.Module, folder: str | Path, is_trainable: bool = False
    ) -> BottleneckModel:
        """Puts a saved bottleneck adapter back on a fresh base model."""
        path = Path(folder) / CONFIG_NAME
        if not path.is_file():
            raise ConfigError(f"no {CONFIG_NAME} in {folder}")
        config = BottleneckConfig.from_dict(json.loads(path.read_text(encoding="utf-8")))
        wrapped = cls(model, config)
        wrapped.load_adapter_weights(folder)
        if not is_trainable:
            for param in wrapped.parameters():
                param.requires_grad = False
            wrapped.eval()
        return wrapped


def _is_adapter_key(key: str) -> bool:
    return any(part.startswith(ADAPTER_PREFIX) for part in key.split("."))


def _slices_weights(model: nn.Module) -> bool:
    """BLOOM's tensor-parallel emulation calls F.linear on weight slices, bypassing the modules."""
    config = getattr(model, "config", None)
    return bool(
        getattr(config, "model_type", None) == "bloom"
        and getattr(config, "pretraining_tp", 1) > 1
        and getattr(config, "slow_but_exact", False)
    )


__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "BottleneckModel",
    "BottleneckSite",
    "is_bottleneck_folder",
]
