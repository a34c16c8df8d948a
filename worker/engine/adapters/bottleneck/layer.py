"""The module that wraps one target: the base module plus a bottleneck beside it.

Like peft's tuner layers, `BottleneckLayer` replaces the target in its parent and keeps the
original as `base_layer`, so the base weights keep their values and the adapter's weights sit
under names of their own (`bottleneck_down`, `bottleneck_up`, `bottleneck_scale`). Targets may
be linear layers or whole attention/MLP blocks, whose outputs are often tuples; only the first
element (the hidden states) is changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from .config import BottleneckConfig

ADAPTER_PREFIX = "bottleneck_"  # every adapter parameter name holds it; save/load select on it

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "gelu_new": lambda: nn.GELU(approximate="tanh"),
    "silu": nn.SiLU,
    "swish": nn.SiLU,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def _first_input(args: tuple, kwargs: dict) -> torch.Tensor:
    if args:
        return args[0]
    for key in ("hidden_states", "x", "input"):
        if key in kwargs:
            return kwargs[key]
    raise RuntimeError(
        "bottleneck adapter: cannot find the hidden states among the module's inputs"
    )


def _with_first_input(args: tuple, kwargs: dict, value: torch.Tensor) -> tuple[tuple, dict]:
    if args:
        return (value, *args[1:]), kwargs
    for key in ("hidden_states", "x", "input"):
        if key in kwargs:
            return args, {**kwargs, key: value}
    raise RuntimeError(
        "bottleneck adapter: cannot find the hidden states among the module's inputs"
    )


def _first_output(output: Any) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output


def _with_first_output(output: Any, value: torch.Tensor) -> Any:
    return (value, *output[1:]) if isinstance(output, tuple) else value


class BottleneckLayer(nn.Module):
    """base_layer plus s·up(f(down(x))) before, after or beside it."""

    adapter_layer_names = ("bottleneck_down", "bottleneck_up", "bottleneck_scale")

    def __init__(
        self,
        base_layer: nn.Module,
        *,
        position: str,
        in_features: int,
        out_features: int,
        config: BottleneckConfig,
        reads_captured_input: bool = False,
    ):
        super().__init__()
        self.base_layer = base_layer
        self.position = position
        self.reads_captured_input = reads_captured_input
        self.disabled = False
        self._captured: torch.Tensor | None = None

        size = config.bottleneck_size
        # Adapters compute in the dtype and on the device of the weights they wrap, like the base.
        ref = next(base_layer.parameters(), None)
        factory: dict[str, Any] = {}
        if ref is not None:
            # A quantized base stores integers; its adapter then computes in float32.
            dtype = ref.dtype if ref.dtype.is_floating_point else torch.float32
            factory = {"device": ref.device, "dtype": dtype}
        self.bottleneck_down = nn.Linear(in_features, size, bias=config.bias, **factory)
        self.bottleneck_up = nn.Linear(size, out_features, bias=config.bias, **factory)
        self.bottleneck_act = _ACTIVATIONS[config.non_linearity]()
        self.bottleneck_dropout = nn.Dropout(config.dropout) if config.dropout else nn.Identity()
        if config.learned_scaling:
            self.bottleneck_scale = nn.Parameter(torch.ones((), **factory))
        else:
            self.bottleneck_scale_value = float(config.scaling)
        self.reset_parameters(config.init)

    def reset_parameters(self, init: str) -> None:
        if self.bottleneck_down.weight.device.type == "meta":
            return
        down, up = self.bottleneck_down, self.bottleneck_up
        with torch.no_grad():
            if init == "bert":
                # The LLM-Adapters code's: both projections N(0, 0.02), so the adapter already
                # moves the output at step 0.
                for linear in (down, up):
                    nn.init.normal_(linear.weight, mean=0.0, std=0.02)
                    if linear.bias is not None:
                        nn.init.zeros_(linear.bias)
                return
            nn.init.kaiming_uniform_(down.weight, a=math.sqrt(5))
            if down.bias is not None:
                nn.init.zeros_(down.bias)
            if init == "zero":
                # The adapter starts as the identity: training begins from the base model.
                nn.init.zeros_(up.weight)
                if up.bias is not None:
                    nn.init.zeros_(up.bias)
            else:
                nn.init.kaiming_uniform_(up.weight, a=math.sqrt(5))
                if up.bias is not None:
                    nn.init.uniform_(up.bias, -0.1, 0.1)

    def __getattr__(self, name: str) -> Any:
        # Model code may read attributes of the module we replaced (weight, layer_idx, ...).
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "base_layer":
                raise
            return getattr(self.base_layer, name)

    def get_base_layer(self) -> nn.Module:
        return self.base_layer

    def capture(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        """Forward pre-hook on the module whose input feeds a 'beside' adapter."""
        if not self.disabled:
            self._captured = _first_input(args, kwargs)

    def delta(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.bottleneck_down.weight
        h = self.bottleneck_dropout(x.to(weight.dtype))
        h = self.bottleneck_up(self.bottleneck_act(self.bottleneck_down(h)))
        scale = (
            self.bottleneck_scale
            if hasattr(self, "bottleneck_scale")
            else self.bottleneck_scale_value
        )
        return h * scale

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.disabled:
            self._captured = None
            return self.base_layer(*args, **kwargs)
        if self.position == "before":
            x = _first_input(args, kwargs)
            args, kwargs = _with_first_input(args, kwargs, x + self.delta(x).to(x.dtype))
            return self.base_layer(*args, **kwargs)
        if self.position == "beside":
            if self.reads_captured_input:
                captured, self._captured = self._captured, None
                if captured is None:
                    raise RuntimeError(
                        "bottleneck adapter: the block's input was not seen before its output "
                        "(the wrapped module was called outside its block)"
                    )
                x = captured
            else:
                x = _first_input(args, kwargs)
        output = self.base_layer(*args, **kwargs)
        h = _first_output(output)
        source = h if self.position == "after" else x
        return _with_first_output(output, h + self.delta(source).to(h.dtype))

    def extra_repr(self) -> str:
        down, up = self.bottleneck_down, self.bottleneck_up
        return (
            f"position={self.position}, {down.in_features} -> {down.out_features} -> "
            f"{up.out_features}"
        )


def activation_names() -> tuple[str, ...]:
    return tuple(_ACTIVATIONS)


__all__ = ["ADAPTER_PREFIX", "BottleneckLayer", "activation_names"]
