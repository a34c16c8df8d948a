"""Bottleneck adapters (series, AdapterH, AdapterP, parallel, scaled parallel), peft-style.

The config is importable without torch (the API validates and lists these methods); the layer
and model, which need torch, load when first named.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import BottleneckConfig, BottleneckSite

if TYPE_CHECKING:
    from .layer import BottleneckLayer
    from .model import CONFIG_NAME, WEIGHTS_NAME, BottleneckModel, is_bottleneck_folder

_LAZY = {
    "BottleneckLayer": ".layer",
    "BottleneckModel": ".model",
    "CONFIG_NAME": ".model",
    "WEIGHTS_NAME": ".model",
    "is_bottleneck_folder": ".model",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "BottleneckConfig",
    "BottleneckLayer",
    "BottleneckModel",
    "BottleneckSite",
    "is_bottleneck_folder",
]
