"""Models kept loaded between requests, for interactive generation.

A pool holds a few base models (least recently used evicted first). Each base carries the
adapters asked of it, attached on demand and kept: peft adapters are added to one peft wrapper
by name and switched with `set_adapter`; an adapter that cannot join the others (a bottleneck
adapter, or a peft method that does not mix with the ones attached) gets the base reloaded
for it. The base model answers through the same wrapper with its adapters disabled.

One generation runs at a time per pool (`lock`): the models are shared, and a CPU gains
nothing from two at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

log = logging.getLogger(__name__)


@dataclass
class _Base:
    loaded: Any  # models.LoadedModel
    wrapper: Any = None  # the model with adapters (peft or bottleneck), once one is attached
    adapters: dict[str, str] = field(default_factory=dict)  # folder -> adapter name in wrapper


def _adapter_name(folder: Path) -> str:
    return "a" + hashlib.sha1(str(folder).encode()).hexdigest()[:12]


class ModelPool:
    def __init__(self, max_bases: int = 2, device: str | None = None) -> None:
        if max_bases < 1:
            raise ConfigError("the model pool needs room for at least one base model")
        self.max_bases, self.device = max_bases, device
        self._bases: OrderedDict[tuple[str, str], _Base] = OrderedDict()
        self.lock = threading.Lock()

    def loaded(self) -> list[tuple[str, str]]:
        """(reference, precision) of the bases in memory, least recently used first."""
        return list(self._bases)

    def _base(self, reference: str, precision: str, fresh: bool = False) -> _Base:
        from .models import load_model

        key = (reference, precision)
        if key in self._bases and not fresh:
            self._bases.move_to_end(key)
            return self._bases[key]
        self._bases.pop(key, None)
        while len(self._bases) >= self.max_bases:
            evicted, _ = self._bases.popitem(last=False)
            log.info("model pool: evicted %s", evicted[0])
        log.info("model pool: loading %s (%s)", reference, precision)
        base = _Base(load_model(reference, precision, device=self.device))
        self._bases[key] = base
        return base

    def _attach(self, base: _Base, reference: str, precision: str, folder: Path) -> _Base:
        from .adapters import load_adapter

        folder = folder.resolve()
        name = base.adapters.get(str(folder))
        if name is not None:
            if hasattr(base.wrapper, "set_adapter"):
                base.wrapper.set_adapter(name)
            return base
        if base.wrapper is None:
            base.wrapper = load_adapter(base.loaded.model, folder)
            base.wrapper.eval()
            base.adapters[str(folder)] = "default"
            return base
        if hasattr(base.wrapper, "peft_config") and not _is_bottleneck(folder):
            name = _adapter_name(folder)
            try:
                base.wrapper.load_adapter(str(folder), adapter_name=name)
                base.wrapper.set_adapter(name)
                base.wrapper.eval()
                for param in base.wrapper.parameters():
                    param.requires_grad = False
                base.adapters[str(folder)] = name
                return base
            except (ValueError, KeyError, RuntimeError, TypeError) as e:
                log.info("model pool: %s does not join the attached adapters (%s)", folder, e)
        # Cannot share the wrapper: this adapter gets a freshly loaded base of its own.
        base = self._base(reference, precision, fresh=True)
        return self._attach(base, reference, precision, folder)

    @contextlib.contextmanager
    def model(
        self, reference: str, precision: str = "auto", adapter: Path | None = None
    ) -> Iterator[tuple[Any, Any]]:
        """(model, tokenizer) ready to generate: with `adapter` active, or the base alone
        (adapters disabled). Held under the pool's lock until the block ends."""
        with self.lock:
            base = self._base(reference, precision)
            if adapter is not None:
                base = self._attach(base, reference, precision, Path(adapter))
                yield base.wrapper, base.loaded.tokenizer
            elif base.wrapper is not None:
                with base.wrapper.disable_adapter():
                    yield base.wrapper, base.loaded.tokenizer
            else:
                yield base.loaded.model, base.loaded.tokenizer


def _is_bottleneck(folder: Path) -> bool:
    from .adapters.bottleneck import is_bottleneck_folder

    return bool(is_bottleneck_folder(folder))
