"""Placement: from the job's family-independent words to the modules of one model.

Resolution has two stages. `resolve_placement` needs only the family and the layer count, so
the API can refuse an impossible placement before a job is queued; `linear_targets` and
`bottleneck_sites` then turn the result into full module paths of a loaded model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .config import PlacementConfig
from .errors import ConfigError
from .families import LINEAR_WORDS, SUBLAYER_WORDS, WORDS, Family, get_family, hidden_size_of

if TYPE_CHECKING:
    import torch.nn as nn

POSITIONS = ("before", "after", "beside")


@dataclass(frozen=True)
class PlacementRules:
    """What one method accepts; the registry holds one per method."""

    method: str
    words: tuple[str, ...] = ()  # placement words the method understands
    default_modules: tuple[str, ...] | None = None  # None: the library's own default
    positions: tuple[str, ...] = ()  # () = the method takes no position
    default_position: str | None = None
    takes_modules: bool = True  # prompt-learning methods act on every layer, not on modules
    raw_names: bool = True
    fixed_modules: bool = False  # the modules are part of the method (AdapterH, AdapterP)
    refused_words_reason: str = ""


@dataclass(frozen=True)
class Target:
    """One requested module word or raw name, as far as it resolves without a model."""

    name: str
    kind: str  # "linear" | "sublayer" | "raw"
    paths: tuple[str, ...] = ()  # layer-relative paths (linear words); empty for raw and sublayers


@dataclass
class ResolvedPlacement:
    modules: list[str]  # words and raw names after defaults; [] = the library's default targets
    position: str | None
    layers: list[int] | None  # None: all layers (the count is unknown without a model)
    targets: list[Target] = field(default_factory=list)


@dataclass(frozen=True)
class Site:
    """One bottleneck insertion in a loaded model (full module paths)."""

    module: str  # the module the adapter wraps
    position: str  # before | after | beside
    input: str | None  # for 'beside': the module whose input feeds the adapter, if not `module`
    in_features: int
    out_features: int


def parse_layers(layers: str | list[int], num_layers: int | None) -> list[int] | None:
    """'all' | [0, 2] | '0-11' | '3' -> sorted indices (None for 'all' with an unknown count)."""
    if isinstance(layers, str):
        text = layers.strip().lower()
        if text == "all":
            return list(range(num_layers)) if num_layers is not None else None
        match = re.fullmatch(r"(\d+)\s*-\s*(\d+)|(\d+)", text)
        if not match:
            raise ConfigError(
                f"placement.layers {layers!r} is not understood; use 'all', a list like [0, 2] "
                "or a range like '0-11'"
            )
        if match.group(3) is not None:
            indices = [int(match.group(3))]
        else:
            first, last = int(match.group(1)), int(match.group(2))
            if last < first:
                raise ConfigError(
                    f"placement.layers range {layers!r} runs backwards; write '{last}-{first}'"
                )
            indices = list(range(first, last + 1))
    else:
        indices = list(layers)
        if not indices:
            raise ConfigError(
                "placement.layers is an empty list; use 'all' or name at least one layer"
            )
        if any(not isinstance(i, int) or isinstance(i, bool) or i < 0 for i in indices):
            raise ConfigError(f"placement.layers {layers!r} must hold non-negative layer indices")
    indices = sorted(set(indices))
    if num_layers is not None and indices[-1] >= num_layers:
        raise ConfigError(
            f"layer {indices[-1]} is beyond the model, which has {num_layers} layers "
            f"(indices 0-{num_layers - 1})"
        )
    return indices


def _split_position(
    placement: PlacementConfig, rules: PlacementRules
) -> tuple[list[str] | None, str | None]:
    """Accepts 'after_mlp'-style positions as shorthand for modules=['mlp'], position='after'."""
    modules = list(placement.modules) if placement.modules is not None else None
    position = placement.position
    if position is None:
        return modules, None
    position = position.strip().lower()
    match = re.fullmatch(r"(before|after|beside)_(attn|mlp)", position)
    if match:
        position, word = match.group(1), match.group(2)
        if modules is not None and modules != [word]:
            raise ConfigError(
                f"placement.position {placement.position!r} already names the {word} sublayer but "
                f"placement.modules is {modules}; give one or the other"
            )
        modules = [word]
    elif position not in POSITIONS:
        raise ConfigError(
            f"placement.position {placement.position!r} is not understood; use one of "
            f"{', '.join(POSITIONS)} (or before_/after_/beside_ + attn/mlp)"
        )
    return modules, position


def _all_layers(layers: str | list[int]) -> bool:
    return isinstance(layers, str) and layers.strip().lower() == "all"


def _word_list(words: tuple[str, ...]) -> str:
    return " ".join(words)


def resolve_placement(
    placement: PlacementConfig,
    rules: PlacementRules,
    family: str,
    num_layers: int | None = None,
) -> ResolvedPlacement:
    """Checks a placement against a method's rules and a family; no model needed."""
    modules, position = _split_position(placement, rules)
    fam = get_family(family)

    if not rules.takes_modules:
        if modules is not None:
            raise ConfigError(
                f"{rules.method} trains virtual tokens seen by every layer and takes no modules; "
                "remove placement.modules"
            )
        if position is not None:
            raise ConfigError(f"{rules.method} takes no placement.position; remove it")
        if not _all_layers(placement.layers):
            raise ConfigError(
                f"{rules.method} always acts on all layers; set placement.layers to 'all'"
            )
        return ResolvedPlacement(modules=[], position=None, layers=parse_layers("all", num_layers))

    if (
        rules.fixed_modules
        and modules is not None
        and list(modules) != list(rules.default_modules or ())
    ):
        raise ConfigError(
            f"{rules.method} always goes after {' and '.join(rules.default_modules or ())}; "
            f"got modules {modules}. Use method 'series' to choose where a series adapter goes"
        )
    if position is None:
        position = rules.default_position
    if rules.positions:
        if position not in rules.positions:
            raise ConfigError(
                f"{rules.method} cannot go {position} a module; allowed positions: "
                f"{', '.join(rules.positions)}"
            )
    elif position is not None:
        raise ConfigError(
            f"{rules.method} takes no placement.position (it changes the modules themselves); "
            "remove it"
        )

    if modules is None and fam is None and not rules.positions:
        modules = []  # a family without placement words: the peft tuner's own default targets
    elif modules is None:
        modules = list(rules.default_modules) if rules.default_modules is not None else []
    elif not modules:
        raise ConfigError(
            "placement.modules is an empty list; leave it out for the method's default"
        )
    layers = parse_layers(placement.layers, num_layers)
    if not modules and not _all_layers(placement.layers):
        raise ConfigError(
            f"{rules.method} has no default modules here; name placement.modules to choose layers"
        )

    targets: list[Target] = []
    seen: set[tuple[str, ...]] = set()
    for name in modules:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                f"placement.modules holds {name!r}; module names are non-empty strings"
            )
        if name in WORDS:
            if name not in rules.words:
                raise ConfigError(
                    f"{rules.method} cannot be placed on {name!r}{rules.refused_words_reason}; "
                    f"allowed words: {_word_list(rules.words)}"
                    + (" or raw module names" if rules.raw_names else "")
                )
            if fam is None:
                raise ConfigError(
                    f"placement words such as {name!r} are not mapped for model family {family!r}; "
                    "name raw module names instead (e.g. 'q_proj'), or use a family of: "
                    "llama mistral qwen2 bloom gptj gpt_neo gpt_neox opt gpt2 falcon"
                )
            target = _word_target(name, fam, rules)
        else:
            if not rules.raw_names:
                raise ConfigError(
                    f"{rules.method} takes placement words only; {name!r} is not one of "
                    f"{_word_list(rules.words)}"
                )
            target = Target(name, "raw")
        key = (target.kind, *target.paths) if target.kind == "linear" else (target.kind, name)
        if key in seen:
            continue  # q, k and v name the same fused projection in some families
        seen.add(key)
        targets.append(target)
    return ResolvedPlacement(modules=modules, position=position, layers=layers, targets=targets)


def _word_target(word: str, fam: Family, rules: PlacementRules) -> Target:
    if word in SUBLAYER_WORDS:
        if not rules.positions:
            # Methods that change linear layers read 'attn'/'mlp' as all of that block's linears.
            words = ("q", "k", "v", "o") if word == "attn" else fam.mlp_words
            paths = tuple(dict.fromkeys(fam.linears[w] for w in words))
            return Target(word, "linear", paths)
        return Target(word, "sublayer")
    if word not in fam.linears:
        raise ConfigError(
            f"model family {fam.name} has no {word!r} projection; its words are "
            f"{_word_list(tuple(w for w in fam.words if w in rules.words))}"
        )
    return Target(word, "linear", (fam.linears[word],))


def find_layers(model: nn.Module, family: str, num_layers: int | None) -> tuple[str, nn.ModuleList]:
    """The decoder layers: the family's path, else the one ModuleList with num_layers entries."""
    import torch.nn as nn

    fam = get_family(family)
    modules = dict(model.named_modules())
    if fam is not None:
        for prefix in ("", "base_model.model.", "model."):
            path = prefix + fam.layers
            if isinstance(modules.get(path), nn.ModuleList):
                return path, modules[path]
    for path, module in modules.items():
        if (
            isinstance(module, nn.ModuleList)
            and num_layers is not None
            and len(module) == num_layers
        ):
            return path, module
    raise ConfigError(f"cannot find the decoder layers of this {family} model")


def _layer_paths(
    model: nn.Module, family: str, resolved: ResolvedPlacement
) -> tuple[str, list[int], nn.ModuleList]:
    from .families import num_layers_of

    count = num_layers_of(model)
    root, layers = find_layers(model, family, count)
    indices = resolved.layers if resolved.layers is not None else list(range(len(layers)))
    if indices and indices[-1] >= len(layers):
        raise ConfigError(
            f"layer {indices[-1]} is beyond the model, which has {len(layers)} layers "
            f"(indices 0-{len(layers) - 1})"
        )
    return root, indices, layers


def _match_raw(name: str, layer: nn.Module, layer_path: str) -> list[str]:
    """Layer-relative paths matching a raw name: the path itself or a dotted suffix of it."""
    found = []
    for rel, _ in layer.named_modules():
        if not rel:
            continue
        full = f"{layer_path}.{rel}"
        if rel == name or rel.endswith("." + name) or full == name or full.endswith("." + name):
            found.append(rel)
    return found


def _raw_error(name: str, layer: nn.Module) -> ConfigError:
    leaves = [n for n, m in layer.named_modules() if n and _is_linear(m)]
    return ConfigError(
        f"no module named {name!r} in the chosen layers; linear modules of a layer here: "
        f"{', '.join(leaves)}"
    )


def linear_targets(model: nn.Module, family: str, resolved: ResolvedPlacement) -> list[str]:
    """Full module paths for methods that change linear layers (LoRA and the other peft tuners)."""
    root, indices, layers = _layer_paths(model, family, resolved)
    found: list[str] = []
    for target in resolved.targets:
        hits = []
        for i in indices:
            rels = (
                list(target.paths)
                if target.kind == "linear"
                else _match_raw(target.name, layers[i], f"{root}.{i}")
            )
            hits += [f"{root}.{i}.{rel}" for rel in rels]
        if not hits:
            raise _raw_error(target.name, layers[indices[0]])
        found += hits
    return list(dict.fromkeys(found))


def resolve_lora_targets(
    model: nn.Module, modules: list[str], layers: str | list[int] = "all"
) -> list[str]:
    """Full paths of the linear layers that placement words (or raw names) name in `model`."""
    from .families import family_of, num_layers_of

    family = family_of(model)
    rules = PlacementRules(method="lora", words=WORDS)
    resolved = resolve_placement(
        PlacementConfig(modules=list(modules), layers=layers), rules, family, num_layers_of(model)
    )
    return linear_targets(model, family, resolved)


def _is_linear(module: nn.Module) -> bool:
    import torch.nn as nn
    from transformers.pytorch_utils import Conv1D

    return isinstance(module, nn.Linear | Conv1D)


def linear_features(module: nn.Module) -> tuple[int, int]:
    """(in, out) of a Linear or of transformers' Conv1D (GPT-2 stores its weight transposed)."""
    from transformers.pytorch_utils import Conv1D

    if isinstance(module, Conv1D):
        return int(module.weight.shape[0]), int(module.nf)
    return int(module.in_features), int(module.out_features)


def bottleneck_sites(model: nn.Module, family: str, resolved: ResolvedPlacement) -> list[Site]:
    """Where each bottleneck adapter goes in this model, with its input and output widths."""
    fam = get_family(family)
    root, indices, layers = _layer_paths(model, family, resolved)
    hidden = hidden_size_of(model)
    position = resolved.position or "after"
    sites: list[Site] = []
    for target in resolved.targets:
        found = []
        for i in indices:
            prefix = f"{root}.{i}"
            layer = layers[i]
            if target.kind == "sublayer":
                assert fam is not None
                sub = fam.sublayer(target.name)
                if position == "after":
                    found.append(Site(f"{prefix}.{sub.output}", "after", None, hidden, hidden))
                elif position == "before":
                    found.append(Site(f"{prefix}.{sub.input}", "before", None, hidden, hidden))
                else:
                    entry = None if sub.input == sub.output else f"{prefix}.{sub.input}"
                    found.append(Site(f"{prefix}.{sub.output}", "beside", entry, hidden, hidden))
                continue
            rels = (
                list(target.paths)
                if target.kind == "linear"
                else _match_raw(target.name, layer, prefix)
            )
            for rel in rels:
                module = layer.get_submodule(rel)
                if _is_linear(module):
                    fan_in, fan_out = linear_features(module)
                else:
                    # A raw block that is not a linear layer: a sublayer of the model's width.
                    fan_in = fan_out = hidden
                width_in = fan_out if position == "after" else fan_in
                width_out = fan_in if position == "before" else fan_out
                found.append(Site(f"{prefix}.{rel}", position, None, width_in, width_out))
        if not found:
            raise _raw_error(target.name, layers[indices[0]])
        sites += found
    seen: dict[str, Site] = {}
    for site in sites:
        if site.module in seen:
            raise ConfigError(
                f"two bottleneck adapters would wrap {site.module} (placement modules "
                f"{resolved.modules} name the same point in a {family} model); name it once"
            )
        seen[site.module] = site
    return sites


__all__ = [
    "LINEAR_WORDS",
    "POSITIONS",
    "PlacementRules",
    "ResolvedPlacement",
    "Site",
    "Target",
    "bottleneck_sites",
    "find_layers",
    "linear_features",
    "linear_targets",
    "parse_layers",
    "resolve_lora_targets",
    "resolve_placement",
]
