"""Placement words -> module paths per family, layer selection, and family detection.

The expected paths are written out from the transformers module listings, so a wrong row in
worker/engine/families.py shows up here rather than as an adapter on the wrong module.
"""

from __future__ import annotations

import functools

import pytest
import torch

from worker.engine.adapters import apply_adapter, validate_adapter
from worker.engine.adapters.registry import REGISTRY
from worker.engine.config import AdapterConfig, PlacementConfig
from worker.engine.errors import ConfigError
from worker.engine.families import FAMILIES, family_of
from worker.engine.placement import (
    bottleneck_sites,
    linear_features,
    linear_targets,
    parse_layers,
    resolve_placement,
)
from worker.engine.tiny import TINY_FAMILIES, build_tiny_model

pytestmark = [
    pytest.mark.filterwarnings("ignore:fan_in_fan_out is set to False:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.* is deprecated:FutureWarning"),
]


@functools.cache
def model(family: str) -> torch.nn.Module:
    return build_tiny_model(family, seed=0)


def resolve(family: str, method: str, **placement):
    spec = REGISTRY.get(method)
    return resolve_placement(PlacementConfig(**placement), spec.rules, family, 2)


# (family, word, module paths in layer 0) for methods that change linear layers.
LINEAR_CASES = [
    ("llama", "q", ["model.layers.0.self_attn.q_proj"]),
    ("mistral", "gate", ["model.layers.0.mlp.gate_proj"]),
    ("qwen2", "down", ["model.layers.0.mlp.down_proj"]),
    (
        "llama",
        "mlp",
        [
            "model.layers.0.mlp.gate_proj",
            "model.layers.0.mlp.up_proj",
            "model.layers.0.mlp.down_proj",
        ],
    ),
    ("bloom", "q", ["transformer.h.0.self_attention.query_key_value"]),
    (
        "bloom",
        "attn",
        ["transformer.h.0.self_attention.query_key_value", "transformer.h.0.self_attention.dense"],
    ),
    ("bloom", "up", ["transformer.h.0.mlp.dense_h_to_4h"]),
    ("gptj", "o", ["transformer.h.0.attn.out_proj"]),
    ("gptj", "up", ["transformer.h.0.mlp.fc_in"]),
    ("gpt_neo", "k", ["transformer.h.0.attn.attention.k_proj"]),
    ("gpt_neo", "down", ["transformer.h.0.mlp.c_proj"]),
    ("gpt_neox", "v", ["gpt_neox.layers.0.attention.query_key_value"]),
    ("gpt_neox", "o", ["gpt_neox.layers.0.attention.dense"]),
    ("opt", "o", ["model.decoder.layers.0.self_attn.out_proj"]),
    ("opt", "mlp", ["model.decoder.layers.0.fc1", "model.decoder.layers.0.fc2"]),
    ("gpt2", "q", ["transformer.h.0.attn.c_attn"]),
    ("gpt2", "o", ["transformer.h.0.attn.c_proj"]),
    ("gpt2", "down", ["transformer.h.0.mlp.c_proj"]),
    ("falcon", "k", ["transformer.h.0.self_attention.query_key_value"]),
    ("falcon", "down", ["transformer.h.0.mlp.dense_4h_to_h"]),
    ("llama", "o_proj", ["model.layers.0.self_attn.o_proj"]),  # a raw name
    ("gpt2", "mlp.c_proj", ["transformer.h.0.mlp.c_proj"]),  # a raw dotted suffix
]


@pytest.mark.parametrize(
    "family,word,paths", LINEAR_CASES, ids=[f"{c[0]}-{c[1]}" for c in LINEAR_CASES]
)
def test_linear_words(family, word, paths) -> None:
    resolved = resolve(family, "lora", modules=[word], layers=[0])
    assert linear_targets(model(family), family, resolved) == paths


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_every_word_names_a_linear_layer(family) -> None:
    fam = FAMILIES[family]
    for word in fam.words:
        targets = linear_targets(model(family), family, resolve(family, "lora", modules=[word]))
        assert targets, word
        for path in targets:
            linear_features(model(family).get_submodule(path))  # a Linear or Conv1D


def test_fused_qkv_is_one_target() -> None:
    resolved = resolve("bloom", "lora", modules=["q", "k", "v"])
    assert len(linear_targets(model("bloom"), "bloom", resolved)) == 2  # one per layer


# (family, method, placement, [(module, position, input, in, out)] in layer 1)
SITE_CASES = [
    (
        "llama",
        "adapterh",
        {},
        [
            ("model.layers.1.self_attn", "after", None, 64, 64),
            ("model.layers.1.mlp", "after", None, 64, 64),
        ],
    ),
    (
        "llama",
        "series",
        {"position": "before_mlp"},
        [("model.layers.1.mlp", "before", None, 64, 64)],
    ),
    (
        "bloom",
        "series",
        {"modules": ["attn"]},
        [("transformer.h.1.self_attention.dense", "after", None, 64, 64)],
    ),
    (
        "bloom",
        "series",
        {"position": "before_attn"},
        [("transformer.h.1.self_attention", "before", None, 64, 64)],
    ),
    (
        "bloom",
        "parallel",
        {"modules": ["attn"]},
        [
            (
                "transformer.h.1.self_attention.dense",
                "beside",
                "transformer.h.1.self_attention",
                64,
                64,
            )
        ],
    ),
    ("opt", "adapterp", {}, [("model.decoder.layers.1.fc2", "after", None, 64, 64)]),
    (
        "opt",
        "parallel",
        {},
        [("model.decoder.layers.1.fc2", "beside", "model.decoder.layers.1.fc1", 64, 64)],
    ),
    (
        "opt",
        "series",
        {"position": "before_mlp"},
        [("model.decoder.layers.1.fc1", "before", None, 64, 64)],
    ),
    (
        "gpt2",
        "parallel",
        {"modules": ["up"]},
        [("transformer.h.1.mlp.c_fc", "beside", None, 64, 128)],
    ),
    (
        "gpt2",
        "series",
        {"modules": ["up"]},
        [("transformer.h.1.mlp.c_fc", "after", None, 128, 128)],
    ),
    (
        "gptj",
        "series",
        {"modules": ["down"], "position": "before"},
        [("transformer.h.1.mlp.fc_out", "before", None, 128, 128)],
    ),
    (
        "falcon",
        "scaled_parallel",
        {"position": "beside_attn"},
        [("transformer.h.1.self_attention", "beside", None, 64, 64)],
    ),
    (
        "gpt_neox",
        "series",
        {"modules": ["dense_h_to_4h"]},
        [("gpt_neox.layers.1.mlp.dense_h_to_4h", "after", None, 128, 128)],
    ),
]


@pytest.mark.parametrize(
    "family,method,placement,sites",
    SITE_CASES,
    ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(SITE_CASES)],
)
def test_bottleneck_sites(family, method, placement, sites) -> None:
    resolved = resolve(family, method, **placement, layers=[1])
    found = bottleneck_sites(model(family), family, resolved)
    assert [(s.module, s.position, s.input, s.in_features, s.out_features) for s in found] == sites


@pytest.mark.parametrize(
    "layers,count,expected",
    [
        ("all", 4, [0, 1, 2, 3]),
        ("all", None, None),
        ([2, 0, 2], 4, [0, 2]),
        ("1-2", 4, [1, 2]),
        (" 0 - 1 ", 2, [0, 1]),
        ("3", 4, [3]),
        ("ALL", 2, [0, 1]),
    ],
)
def test_parse_layers(layers, count, expected) -> None:
    assert parse_layers(layers, count) == expected


@pytest.mark.parametrize("layers", [[], [-1], [True], "1-", "a-b", [0, 4]])
def test_parse_layers_refuses(layers) -> None:
    with pytest.raises(ConfigError):
        parse_layers(layers, 4)


def test_layers_select_where_adapters_go() -> None:
    resolved = resolve("gpt_neox", "lora", modules=["o"], layers="1-1")
    assert linear_targets(model("gpt_neox"), "gpt_neox", resolved) == [
        "gpt_neox.layers.1.attention.dense"
    ]


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_family_of(family) -> None:
    m = model(family)
    assert family_of(m) == family
    assert family_of(m.config) == family
    assert family_of(m.config.to_dict()) == family


def test_family_of_wrappers_and_unknown_types() -> None:
    import copy

    wrapped = apply_adapter(copy.deepcopy(model("gpt2")), AdapterConfig(method="lora"))
    assert family_of(wrapped) == "gpt2"
    assert family_of({"model_type": "phi3"}) == "phi3"
    with pytest.raises(ValueError):
        family_of({})


def test_a_family_without_words_takes_raw_names_and_peft_defaults() -> None:
    from transformers import AutoModelForCausalLM, Phi3Config

    config = Phi3Config(
        vocab_size=259,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    torch.manual_seed(0)
    phi3 = AutoModelForCausalLM.from_config(config)
    assert family_of(phi3) == "phi3"
    validate_adapter(AdapterConfig(method="lora"), "phi3", 2)  # peft knows phi3's defaults
    wrapped = apply_adapter(
        phi3,
        AdapterConfig(method="lora", placement=PlacementConfig(modules=["qkv_proj"], layers=[1])),
    )
    names = [n for n, p in wrapped.named_parameters() if p.requires_grad]
    assert names and all("layers.1.self_attn.qkv_proj" in n for n in names)
    with pytest.raises(ConfigError, match="not mapped for model family 'phi3'"):
        validate_adapter(AdapterConfig(method="series"), "phi3", 2)


def test_catalogue_words_match_the_rules() -> None:
    assert REGISTRY.get("lora").rules.words == (
        "q",
        "k",
        "v",
        "o",
        "gate",
        "up",
        "down",
        "attn",
        "mlp",
    )
    assert "q" not in REGISTRY.get("parallel").rules.words
    assert REGISTRY.get("prefix").rules.takes_modules is False


def test_resolve_lora_targets() -> None:
    from worker.engine.placement import resolve_lora_targets

    assert resolve_lora_targets(model("gptj"), ["q", "down"], layers=[1]) == [
        "transformer.h.1.attn.q_proj",
        "transformer.h.1.mlp.fc_out",
    ]
