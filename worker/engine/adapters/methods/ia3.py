"""(IA)^3 registers itself: learned vectors rescaling keys, values and the feed-forward
activation (peft's IA3Config)."""

from __future__ import annotations

from ...families import WORDS
from ...placement import PlacementRules
from ..peft_specs import field_param, named
from ..registry import REGISTRY
from ..spec import LR_IA3

REGISTRY.register(
    named(
        "ia3",
        "other",
        "IA3",
        "(IA)^3: learned vectors rescaling keys, values and the feed-forward activation",
        (field_param("IA3", "init_ia3_weights", default=True),),
        {},
        PlacementRules(method="ia3", words=WORDS, default_modules=("k", "v", "down")),
        LR_IA3,
    )
)
