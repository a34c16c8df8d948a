"""Presets "as in the paper": the LLM-Adapters runs' settings, as studio job-config sections.

Each preset reproduces one of the paper's fine-tuning commands (its README and
`math_running_commands`, with the defaults of its `finetune.py` and of its `peft` fork's
`BottleneckConfig` for what the commands leave out): placement, bottleneck size,
non-linearity, biases, initialisation, scaling, LoRA r/alpha/dropout and target modules, and
the training settings of the command. The methods' own defaults stay as they are (the studio's
choices, documented per parameter); a preset is what a user picks to get the paper's.

What the paper's code does for bottleneck adapters, and so what every bottleneck preset sets:
no biases (`nn.Linear(..., bias=False)`), both projections from N(0, 0.02) (`init_weights`
"bert"), tanh, bottleneck 256, dropout 0, scaling 1.0.
"""

from __future__ import annotations

import copy
from typing import Any

# The paper's bottleneck adapter internals (its BottleneckConfig and finetune.py defaults).
_PAPER_BOTTLENECK = {
    "bottleneck_size": 256,
    "non_linearity": "tanh",
    "dropout": 0.0,
    "scaling": 1.0,
    "init": "bert",
    "bias": False,
}
# The commands' common training settings (3 epochs, batch 16, micro-batch 4, cutoff 256,
# 100 warm-up steps).
_PAPER_TRAINING = {
    "epochs": 3.0,
    "learning_rate": 3e-4,
    "batch_size": 16,
    "micro_batch_size": 4,
    "cutoff_len": 256,
    "warmup_steps": 100,  # finetune.py's fixed count (the studio's default is a capped ratio)
    "prompt_template": "llm-adapters",
}
# How the paper scored: 4 beams (256/32 new tokens) and its evaluate.py's answer extraction.
_PAPER_EVALUATION = {"scoring": "paper", "decoding": {"preset": "paper"}}


def _bottleneck(method: str, placement: dict[str, Any]) -> dict[str, Any]:
    return {
        "method": method,
        "placement": {"layers": "all", **placement},
        "params": dict(_PAPER_BOTTLENECK),
    }


_PRESETS: tuple[dict[str, Any], ...] = (
    {
        "name": "paper-series",
        "method": "series",
        "label": "Series adapter, as in the paper",
        "description": "a bottleneck after the MLP (its down projection: the paper's "
        "output_adapter on down_proj / dense_4h_to_h / fc_out), 256 wide, tanh, no biases, "
        "N(0, 0.02) initialisation",
        "adapter": _bottleneck("series", {"modules": ["down"], "position": "after"}),
        "training": {**_PAPER_TRAINING, "val_set_size": 120},
    },
    {
        "name": "paper-parallel",
        "method": "parallel",
        "label": "Parallel adapter, as in the paper",
        "description": "one bottleneck beside up_proj and one beside down_proj (the paper's "
        "--use_parallel_adapter --target_modules up_proj down_proj), 256 wide, tanh, no "
        "biases, N(0, 0.02) initialisation, scale 1.0",
        "adapter": _bottleneck("parallel", {"modules": ["up", "down"], "position": "beside"}),
        "training": {**_PAPER_TRAINING, "val_set_size": 0},
    },
    {
        "name": "paper-scaled-parallel",
        "method": "scaled_parallel",
        "label": "Scaled parallel adapter, as in the paper's code",
        "description": "the parallel placement with the paper code's default scale 1.0 (the "
        "studio's scaled_parallel defaults to 4.0; the README has no scaled-parallel command)",
        "adapter": _bottleneck(
            "scaled_parallel", {"modules": ["up", "down"], "position": "beside"}
        ),
        "training": {**_PAPER_TRAINING, "val_set_size": 0},
    },
    {
        "name": "paper-adapterh",
        "method": "adapterh",
        "label": "AdapterH, as in the paper's code",
        "description": "the paper's 'bottleneck' adapter (its README: AdapterH in the tables): "
        "before gate_proj and up_proj, after down_proj, 256 wide, tanh, no biases, "
        "N(0, 0.02) initialisation. Expressed as a series adapter with one position per "
        "module; LLaMA-family models (they have gate_proj)",
        "adapter": _bottleneck(
            "series",
            {
                "modules": ["gate", "up", "down"],
                "position": {"gate": "before", "up": "before", "down": "after"},
            },
        ),
        "training": {**_PAPER_TRAINING, "val_set_size": 120},
    },
    {
        "name": "paper-lora",
        "method": "lora",
        "label": "LoRA, as in the paper",
        "description": "r 32, alpha 64, dropout 0.05 on q, k, v, up and down (the paper's "
        "--lora_r 32 --lora_alpha 64 --target_modules q_proj k_proj v_proj up_proj down_proj)",
        "adapter": {
            "method": "lora",
            "placement": {"modules": ["q", "k", "v", "up", "down"], "layers": "all"},
            "params": {"r": 32, "alpha": 64, "dropout": 0.05},
        },
        "training": {**_PAPER_TRAINING, "val_set_size": 0},
    },
    {
        "name": "paper-prefix",
        "method": "prefix",
        "label": "Prefix tuning, as in the paper",
        "description": "10 virtual tokens, learning rate 3e-2, 5 epochs, batch 8 (the "
        "paper's LLaMA-7B prefix command)",
        "adapter": {"method": "prefix", "placement": {}, "params": {"num_virtual_tokens": 10}},
        "training": {
            **_PAPER_TRAINING,
            "epochs": 5.0,
            "batch_size": 8,
            "learning_rate": 3e-2,
            "val_set_size": 120,
        },
    },
)


def paper_presets(method: str | None = None) -> list[dict[str, Any]]:
    """The presets (fresh copies), all or those listed under one catalogue method. Each is
    {name, method, label, description, adapter, training, evaluation}: `adapter` is a whole
    adapter config, `training` and `evaluation` partial sections to lay over a job config."""
    out = []
    for preset in _PRESETS:
        if method is None or preset["method"] == method:
            out.append({**copy.deepcopy(preset), "evaluation": copy.deepcopy(_PAPER_EVALUATION)})
    return out


def get_preset(name: str) -> dict[str, Any]:
    from ..errors import ConfigError

    for preset in paper_presets():
        if preset["name"] == name:
            return preset
    names = ", ".join(p["name"] for p in _PRESETS)
    raise ConfigError(f"no preset named {name!r}; presets: {names}")


__all__ = ["get_preset", "paper_presets"]
