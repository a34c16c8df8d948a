"""Bottleneck adapters (series, AdapterH, AdapterP, parallel, scaled parallel), peft-style."""

from .config import BottleneckConfig, BottleneckSite
from .layer import BottleneckLayer
from .model import CONFIG_NAME, WEIGHTS_NAME, BottleneckModel, is_bottleneck_folder

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "BottleneckConfig",
    "BottleneckLayer",
    "BottleneckModel",
    "BottleneckSite",
    "is_bottleneck_folder",
]
