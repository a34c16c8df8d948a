"""The method registry: method names (and aliases) -> their `MethodSpec`.

Each method family registers its own methods when its module is imported, as peft's tuners do
(`bottleneck/methods.py`, `methods/lora.py`, ...); a fallback describes every other peft tuner
on demand from its config class, so a new peft release brings its methods without code here.
The family modules are imported on first use: the peft-backed ones read peft's config classes,
and importing peft imports torch, which an API process should not pay for until it must.
"""

from __future__ import annotations

import importlib
import threading
from typing import Protocol

from ..errors import ConfigError
from .spec import KINDS, MethodSpec

# In this order: the catalogue lists methods as they were registered.
FAMILY_MODULES = (
    "worker.engine.adapters.bottleneck.methods",
    "worker.engine.adapters.methods.lora",
    "worker.engine.adapters.methods.prompt",
    "worker.engine.adapters.methods.ia3",
    "worker.engine.adapters.methods.generic",
)


class Fallback(Protocol):
    """Methods described on demand rather than registered one by one."""

    label: str  # how an error message names them ("a peft method")

    def names(self) -> list[str]: ...

    def spec(self, name: str) -> MethodSpec | None: ...


class MethodRegistry:
    """Method names -> specs; a name (or alias) registered twice is a programming error."""

    def __init__(self, family_modules: tuple[str, ...] = ()) -> None:
        self._specs: dict[str, MethodSpec] = {}
        self._aliases: dict[str, str] = {}
        self._fallbacks: list[Fallback] = []
        self._pending = list(family_modules)
        self._lock = threading.RLock()

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

    def add_fallback(self, fallback: Fallback) -> None:
        self._fallbacks.append(fallback)

    def _load(self) -> None:
        with self._lock:
            while self._pending:
                # Popped only once imported: a family that fails to import fails every call,
                # rather than leaving a registry that silently lacks it.
                importlib.import_module(self._pending[0])
                self._pending.pop(0)

    def names(self) -> list[str]:
        self._load()
        return list(self._specs)

    def get(self, name: str) -> MethodSpec:
        if not isinstance(name, str) or not name:
            raise ConfigError("adapter.method is required")
        self._load()
        key = name.strip().lower()
        key = self._aliases.get(key, key)
        if key in self._specs:
            return self._specs[key]
        for fallback in self._fallbacks:
            spec = fallback.spec(key)
            if spec is not None:
                return spec
        others = "".join(f" or {f.label} ({', '.join(sorted(f.names()))})" for f in self._fallbacks)
        raise ConfigError(
            f"unknown adapter method {name!r}; choose one of {', '.join(self.names())}{others}"
        )

    def all_specs(self) -> list[MethodSpec]:
        self._load()
        specs = list(self._specs.values())
        for fallback in self._fallbacks:
            specs += [s for n in sorted(fallback.names()) if (s := fallback.spec(n)) is not None]
        return specs


REGISTRY = MethodRegistry(FAMILY_MODULES)
