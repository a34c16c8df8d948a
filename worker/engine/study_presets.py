"""The paper's studies as presets, at the scale the user picks.

Each preset is one of LLM-Adapters' comparisons (its placement, bottleneck-size, rank and
virtual-token studies) with the paper's own finding as text, turned into a study (see
`study.py`) by `build_preset(name, scale)`. The adapters' internals follow the paper's code (the
"as in the paper" presets of `adapters/presets.py`); the scale (base model, data, steps,
evaluation examples, seeds) is the user's, so a preset runs on a laptop or a GPU cluster alike.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from .config import ConfigSection, parse
from .errors import ConfigError
from .study import SEED_PATH, StudyConfig

# The paper's bottleneck internals: no biases, N(0, 0.02) init, tanh, 256 wide.
_BOTTLENECK = {
    "bottleneck_size": 256,
    "non_linearity": "tanh",
    "dropout": 0.0,
    "scaling": 1.0,
    "init": "bert",
    "bias": False,
}


class StudyScale(ConfigSection):
    """How large to run a preset: the model, the data, and how much training and evaluation."""

    base_model: str = Field(
        min_length=1,
        max_length=512,
        description="hf:<hub id>, path:<folder>, gguf:<file> or demo:smollm2-135m",
    )
    dataset_id: int | None = Field(default=None, ge=1, description="stored dataset id (API)")
    dataset_path: str | None = Field(default=None, description="training data file (CLI)")
    steps: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="optimiser steps per cell; null = train_examples / batch_size "
        "(or the paper's 3 epochs when neither is given)",
    )
    train_examples: int | None = Field(
        default=None,
        ge=1,
        description="training examples each cell sees (sets the steps when steps is null)",
    )
    batch_size: int = Field(default=16, ge=1, description="examples per optimiser step")
    micro_batch_size: int = Field(default=4, ge=1, description="examples per forward pass")
    cutoff_len: int = Field(default=256, ge=8, description="truncate examples to this many tokens")
    eval_examples: int | None = Field(
        default=100, ge=1, description="examples per benchmark; null = all"
    )
    benchmarks: list[str] = Field(
        default_factory=lambda: ["gsm8k", "svamp"],
        min_length=1,
        description="benchmarks each cell is scored on (the paper's math set: gsm8k, aqua, "
        "mawps, svamp)",
    )
    decoding: Literal["paper", "fast"] = Field(
        default="paper",
        description="paper: 4 beams and 256/32 new tokens, as its evaluation; fast: greedy",
    )
    max_new_tokens: int | None = Field(
        default=None, ge=1, description="cap the generated tokens (fast decoding only)"
    )
    seeds: list[int] = Field(
        default_factory=lambda: [42],
        min_length=1,
        max_length=10,
        description="one run per seed; two or more give mean ± std",
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyScale:
        return parse(cls, data, "scale")


@dataclass(frozen=True)
class StudyPreset:
    name: str
    title: str
    finding: str  # what the paper found (shown beside the result)
    method: str  # the adapter method of the base config
    adapter: dict[str, Any]  # the base adapter config
    axes: tuple[dict[str, Any], ...]  # the preset's own axes (a seed axis is added per scale)
    learning_rate: float | None = None


def _variant(label: str, adapter: dict[str, Any]) -> dict[str, Any]:
    return {"label": label, "set": {"adapter": adapter}}


def _placement(modules: list[str], position: str | dict[str, str] | None = None) -> dict[str, Any]:
    placement: dict[str, Any] = {"modules": modules}
    if position is not None:
        placement["position"] = position
    return {"placement": placement}


PRESETS: tuple[StudyPreset, ...] = (
    StudyPreset(
        name="series-placement",
        title="Series adapter placement",
        finding="The paper (LLaMA-7B, math): the series adapter works best after the MLP "
        "layer; after attention, or after both, scores lower.",
        method="series",
        adapter={"method": "series", "params": dict(_BOTTLENECK)},
        axes=(
            {
                "name": "placement",
                "variants": [
                    _variant("after attention", _placement(["attn"], "after")),
                    _variant("after MLP", _placement(["mlp"], "after")),
                    _variant("after both", _placement(["attn", "mlp"], "after")),
                ],
            },
        ),
    ),
    StudyPreset(
        name="parallel-placement",
        title="Parallel adapter placement",
        finding="The paper (LLaMA-7B, math): the parallel adapter works best beside the MLP "
        "layer, ahead of beside attention.",
        method="parallel",
        adapter={"method": "parallel", "params": dict(_BOTTLENECK)},
        axes=(
            {
                "name": "placement",
                "variants": [
                    _variant("beside attention", _placement(["attn"], "beside")),
                    _variant("beside MLP", _placement(["mlp"], "beside")),
                ],
            },
        ),
    ),
    StudyPreset(
        name="lora-modules",
        title="LoRA module sets",
        finding="The paper (LLaMA-7B, math): LoRA works best on attention and MLP together "
        "(Q, K, V, Up, Down), ahead of attention-only or MLP-only sets.",
        method="lora",
        adapter={"method": "lora", "params": {"r": 32, "alpha": 64, "dropout": 0.05}},
        axes=(
            {
                "name": "modules",
                "variants": [
                    _variant("Q, V", _placement(["q", "v"])),
                    _variant("Q, K, V", _placement(["q", "k", "v"])),
                    _variant("Up, Down", _placement(["up", "down"])),
                    _variant("Q, K, V, Up, Down", _placement(["q", "k", "v", "up", "down"])),
                ],
            },
        ),
    ),
    StudyPreset(
        name="bottleneck-size",
        title="Bottleneck size of series and parallel adapters",
        finding="The paper (LLaMA-7B, math): a bottleneck of 256 is best for both series and "
        "parallel adapters; larger sizes add parameters without gaining accuracy.",
        method="series",
        adapter={"method": "series", "params": dict(_BOTTLENECK)},
        axes=(
            {
                "name": "adapter",
                "variants": [
                    _variant(
                        "series after MLP", {"method": "series", **_placement(["mlp"], "after")}
                    ),
                    _variant(
                        "parallel beside MLP",
                        {"method": "parallel", **_placement(["mlp"], "beside")},
                    ),
                ],
            },
            {
                "name": "bottleneck",
                "path": "adapter.params.bottleneck_size",
                "values": [64, 128, 256, 512],
            },
        ),
    ),
    StudyPreset(
        name="lora-rank",
        title="LoRA rank",
        finding="The paper (LLaMA-7B, math): rank 32 (alpha 64) is best; lower ranks lose "
        "accuracy, higher ranks gain none.",
        method="lora",
        adapter={
            "method": "lora",
            "placement": {"modules": ["q", "k", "v", "up", "down"]},
            "params": {"dropout": 0.05},
        },
        axes=(
            {
                "name": "rank",
                "variants": [
                    {"label": f"r={r}", "set": {"adapter": {"params": {"r": r, "alpha": 2 * r}}}}
                    for r in (4, 8, 16, 32, 64)
                ],
            },
        ),
    ),
    StudyPreset(
        name="prefix-tokens",
        title="Virtual tokens of prefix tuning",
        finding="The paper (LLaMA-7B, math): 10 virtual tokens are best for prefix tuning; more "
        "tokens do not help.",
        method="prefix",
        adapter={"method": "prefix", "params": {}},
        axes=(
            {
                "name": "virtual tokens",
                "path": "adapter.params.num_virtual_tokens",
                "values": [10, 20, 30, 40],
            },
        ),
        learning_rate=3e-2,  # the paper's prefix-tuning learning rate
    ),
)


def get_study_preset(name: str) -> StudyPreset:
    for preset in PRESETS:
        if preset.name == name:
            return preset
    names = ", ".join(p.name for p in PRESETS)
    raise ConfigError(f"no study preset named {name!r}; presets: {names}")


def _steps(scale: StudyScale) -> int | None:
    if scale.steps is not None:
        return scale.steps
    if scale.train_examples is not None:
        return max(1, math.ceil(scale.train_examples / scale.batch_size))
    return None


def build_preset(name: str, scale: StudyScale) -> StudyConfig:
    """The study of preset `name` at `scale` (validated as a study; its cells are checked by
    whoever runs it, who knows the model and the data)."""
    preset = get_study_preset(name)
    steps = _steps(scale)
    training: dict[str, Any] = {
        "batch_size": scale.batch_size,
        "micro_batch_size": min(scale.micro_batch_size, scale.batch_size),
        "cutoff_len": scale.cutoff_len,
        "val_set_size": 0,
        "warmup_steps": min(100, (steps or 1000) // 10),
        "prompt_template": "llm-adapters",
        "seed": scale.seeds[0],
    }
    if steps is not None:
        training["max_steps"] = steps
    if preset.learning_rate is not None:
        training["learning_rate"] = preset.learning_rate
    decoding: dict[str, Any] = (
        {"preset": "paper"} if scale.decoding == "paper" else {"preset": "fast"}
    )
    if scale.max_new_tokens is not None:
        decoding = {
            "preset": "custom",
            "strategy": "greedy",
            "max_new_tokens": scale.max_new_tokens,
        }
    base: dict[str, Any] = {
        "base_model": scale.base_model,
        "adapter": copy.deepcopy(preset.adapter),
        "training": training,
        "evaluation": {
            "benchmarks": list(scale.benchmarks),
            "max_examples": scale.eval_examples,
            "scoring": "paper",
            "decoding": decoding,
        },
    }
    if scale.dataset_id is not None:
        base["dataset_id"] = scale.dataset_id
    if scale.dataset_path is not None:
        base["dataset_path"] = scale.dataset_path
    axes = copy.deepcopy(list(preset.axes))
    if len(scale.seeds) > 1:
        axes.append({"name": "seed", "path": SEED_PATH, "values": list(scale.seeds)})
    return StudyConfig.from_dict(
        {
            "name": f"{preset.title} ({scale.base_model})",
            "description": preset.finding,
            "base": base,
            "axes": axes,
        }
    )


def preset_cell_count(preset: StudyPreset, seeds: int = 1) -> int:
    count = seeds
    for axis in preset.axes:
        count *= len(axis.get("values") or axis.get("variants") or [])
    return count


__all__ = ["PRESETS", "StudyPreset", "StudyScale", "build_preset", "get_study_preset"]
