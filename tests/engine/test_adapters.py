"""Every method x family pair that makes sense, through one shared set of checks.

Each row starts its adapter as a non-identity (random up-projections, random LoRA B, ...), so a
wiring that never reaches the output cannot pass. The expected trainable counts are written
out here from the methods' formulas and the module shapes, independently of the engine.
"""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

from worker.engine.adapters import (
    apply_adapter,
    count_parameters,
    default_learning_rate,
    estimate_trainable_parameters,
    is_prompt_learning,
    load_adapter,
    method_catalogue,
    save_adapter,
    validate_adapter,
)
from worker.engine.adapters.bottleneck import BottleneckLayer, BottleneckModel
from worker.engine.config import AdapterConfig, PlacementConfig
from worker.engine.errors import ConfigError
from worker.engine.tiny import TINY_FAMILIES, build_tiny_model

# Known third-party chatter: peft 0.21 calls transformers 5.24 through deprecated names.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*past_key_values. is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore:.*gradient_checkpointing.* is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore:Position ids are not supported:UserWarning"),
    pytest.mark.filterwarnings("ignore:fan_in_fan_out is set to False:UserWarning"),
    pytest.mark.filterwarnings("ignore:Unsupported layer type:UserWarning"),
    pytest.mark.filterwarnings("ignore:Setting boft_n_butterfly_factor:UserWarning"),
    pytest.mark.filterwarnings("ignore:Failed to load the CUDA extension:UserWarning"),
]

HIDDEN, LAYERS = 64, 2

# Written from the transformers module listings, not from worker/engine/families.py.
LAYER_ROOT = {
    "llama": "model.layers",
    "mistral": "model.layers",
    "qwen2": "model.layers",
    "bloom": "transformer.h",
    "gptj": "transformer.h",
    "gpt_neo": "transformer.h",
    "gpt_neox": "gpt_neox.layers",
    "opt": "model.decoder.layers",
    "gpt2": "transformer.h",
    "falcon": "transformer.h",
}
_LLAMA = {
    "q": "self_attn.q_proj",
    "k": "self_attn.k_proj",
    "v": "self_attn.v_proj",
    "o": "self_attn.o_proj",
    "gate": "mlp.gate_proj",
    "up": "mlp.up_proj",
    "down": "mlp.down_proj",
}
_FUSED = {
    "qkv": "self_attention.query_key_value",
    "o": "self_attention.dense",
    "up": "mlp.dense_h_to_4h",
    "down": "mlp.dense_4h_to_h",
}
LINEARS = {
    "llama": _LLAMA,
    "mistral": _LLAMA,
    "qwen2": _LLAMA,
    "bloom": _FUSED,
    "falcon": _FUSED,
    "gpt_neox": {**_FUSED, "qkv": "attention.query_key_value", "o": "attention.dense"},
    "gptj": {
        "q": "attn.q_proj",
        "k": "attn.k_proj",
        "v": "attn.v_proj",
        "o": "attn.out_proj",
        "up": "mlp.fc_in",
        "down": "mlp.fc_out",
    },
    "gpt_neo": {
        "q": "attn.attention.q_proj",
        "k": "attn.attention.k_proj",
        "v": "attn.attention.v_proj",
        "o": "attn.attention.out_proj",
        "up": "mlp.c_fc",
        "down": "mlp.c_proj",
    },
    "opt": {
        "q": "self_attn.q_proj",
        "k": "self_attn.k_proj",
        "v": "self_attn.v_proj",
        "o": "self_attn.out_proj",
        "up": "fc1",
        "down": "fc2",
    },
    "gpt2": {"qkv": "attn.c_attn", "o": "attn.c_proj", "up": "mlp.c_fc", "down": "mlp.c_proj"},
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny matrices gain nothing from threads, and on a shared CPU extra threads cost 10x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.cache
def pristine(family: str) -> torch.nn.Module:
    return build_tiny_model(family, seed=0)


def fresh(family: str) -> torch.nn.Module:
    return copy.deepcopy(pristine(family))


def dims(family: str, word: str) -> tuple[int, int]:
    """(in, out) of a projection word, read from the module itself (Conv1D is transposed)."""
    table = LINEARS[family]
    path = table.get(word) or (table["qkv"] if word in "qkv" else None)
    module = pristine(family).get_submodule(f"{LAYER_ROOT[family]}.0.{path}")
    if type(module).__name__ == "Conv1D":
        return module.weight.shape[0], module.weight.shape[1]
    return module.in_features, module.out_features


def projections(family: str, words: tuple[str, ...]) -> list[str]:
    """Distinct projection paths behind words (q, k, v are one module in fused families)."""
    table = LINEARS[family]
    return list(dict.fromkeys(table.get(w) or table["qkv"] for w in words))


def dims_of_path(family: str, path: str) -> tuple[int, int]:
    word = next(w for w, p in LINEARS[family].items() if p == path)
    return dims(family, "q" if word == "qkv" else word)


# -- the formulas --------------------------------------------------------------------------


def bottleneck_insertion(d_in: int, d_out: int, b: int, learned: bool = False) -> int:
    return d_in * b + b + b * d_out + d_out + (1 if learned else 0)


def lora_count(
    family: str, words: tuple[str, ...], r: int, dora: bool = False, layers: int = LAYERS
) -> int:
    total = 0
    for path in projections(family, words):
        fan_in, fan_out = dims_of_path(family, path)
        total += r * (fan_in + fan_out) + (fan_out if dora else 0)
    return total * layers


def ia3_count(family: str) -> int:
    # k and v scale their outputs; the MLP's output projection scales its input.
    paths = projections(family, ("k", "v"))
    return LAYERS * (sum(dims_of_path(family, p)[1] for p in paths) + dims(family, "down")[0])


def kv_width(family: str) -> int:
    config = pristine(family).config
    head_dim = HIDDEN // config.num_attention_heads
    if family in ("llama", "mistral", "qwen2"):
        return config.num_key_value_heads * head_dim
    if family == "falcon":
        return head_dim  # multi-query: one key/value head
    return HIDDEN


# -- the table -----------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    family: str
    method: str
    kwargs: dict[str, Any] = field(default_factory=dict)  # params, placement, expected

    @property
    def adapter(self) -> AdapterConfig:
        return AdapterConfig(
            method=self.method,
            placement=PlacementConfig(**self.kwargs.get("placement", {})),
            params=dict(self.kwargs.get("params", {})),
        )


B = 8  # bottleneck width in tests
RANDOM = {"init": "random", "bottleneck_size": B}


def rows_for(family: str) -> list[Row]:
    h = HIDDEN
    per_block = bottleneck_insertion(h, h, B)
    up_in, up_out = dims(family, "up")
    o_in, o_out = dims(family, "o")
    rows = [
        Row(
            f"{family}-series", family, "series", {"params": RANDOM, "expected": LAYERS * per_block}
        ),
        Row(
            f"{family}-adapterh",
            family,
            "adapterh",
            {"params": RANDOM, "expected": 2 * LAYERS * per_block},
        ),
        Row(
            f"{family}-adapterp",
            family,
            "adapterp",
            {"params": RANDOM, "expected": LAYERS * per_block},
        ),
        Row(
            f"{family}-parallel",
            family,
            "parallel",
            {"params": RANDOM, "expected": LAYERS * per_block},
        ),
        Row(
            f"{family}-scaled_parallel-attn-learned",
            family,
            "scaled_parallel",
            {
                "params": {**RANDOM, "scaling": "learned", "non_linearity": "relu"},
                "placement": {"modules": ["attn"], "layers": [1]},
                "expected": bottleneck_insertion(h, h, B, learned=True),
            },
        ),
        Row(
            f"{family}-series-before-mlp",
            family,
            "series",
            {
                "params": {**RANDOM, "non_linearity": "gelu"},
                "placement": {"position": "before_mlp"},
                "expected": LAYERS * per_block,
            },
        ),
        Row(
            f"{family}-series-after-o",
            family,
            "series",
            {
                "params": RANDOM,
                "placement": {"modules": ["o"], "position": "after", "layers": "0-1"},
                "expected": LAYERS * bottleneck_insertion(o_out, o_out, B),
            },
        ),
        Row(
            f"{family}-parallel-beside-up",
            family,
            "parallel",
            {
                "params": {**RANDOM, "scaling": 2.0},
                "placement": {"modules": ["up"]},
                "expected": LAYERS * bottleneck_insertion(up_in, up_out, B),
            },
        ),
        Row(
            f"{family}-lora",
            family,
            "lora",
            {
                "params": {"r": 4, "alpha": 8, "init_lora_weights": False},
                "expected": lora_count(family, ("q", "k", "v", "up", "down"), 4),
            },
        ),
        Row(
            f"{family}-dora-rslora-attn",
            family,
            "dora",
            {
                "params": {"r": 2, "use_rslora": True, "init_lora_weights": False},
                "placement": {"modules": ["attn"], "layers": [0]},
                "expected": lora_count(family, ("q", "k", "v", "o"), 2, dora=True, layers=1),
            },
        ),
        Row(
            f"{family}-ia3",
            family,
            "ia3",
            {"params": {"init_ia3_weights": False}, "expected": ia3_count(family)},
        ),
    ]
    n = 4
    mlp = 3 * h * h + 3 * h  # P-tuning's encoder (hidden width): h->h, h->h, h->h with biases
    rows += [
        Row(
            f"{family}-prefix",
            family,
            "prefix",
            {"params": {"num_virtual_tokens": n}, "expected": n * LAYERS * 2 * kv_width(family)},
        ),
        Row(
            f"{family}-ptuning",
            family,
            "ptuning",
            {"params": {"num_virtual_tokens": n}, "expected": n * h + mlp},
        ),
        Row(
            f"{family}-prompt",
            family,
            "prompt",
            {"params": {"num_virtual_tokens": n}, "expected": n * h},
        ),
    ]
    return rows


# Other peft tuners by name, with their params passed through (counts from the estimate only).
OTHER_ROWS = [
    Row(
        "llama-loha",
        "llama",
        "loha",
        {
            "params": {"r": 2, "alpha": 4, "init_weights": False},
            "placement": {"modules": ["q", "v"]},
        },
    ),
    Row(
        "llama-lokr",
        "llama",
        "lokr",
        {"params": {"r": 2, "init_weights": False}, "placement": {"modules": ["attn"]}},
    ),
    Row(
        "gpt2-vera",
        "gpt2",
        "vera",
        {"params": {"r": 4, "init_weights": False}, "placement": {"modules": ["up", "down"]}},
    ),
    Row(
        "llama-adalora",
        "llama",
        "adalora",
        {"params": {"init_r": 4, "target_r": 2, "total_step": 10, "init_lora_weights": False}},
    ),
    Row(
        "llama-vera",
        "llama",
        "vera",
        {"params": {"r": 8, "init_weights": False}, "placement": {"modules": ["q", "v"]}},
    ),
    Row(
        "llama-fourierft",
        "llama",
        "fourierft",
        {"params": {"n_frequency": 64, "init_weights": False}, "placement": {"modules": ["q"]}},
    ),
    # BOFT's initialisation computes on the weights: no meta-device estimate (None).
    Row(
        "llama-boft",
        "llama",
        "boft",
        {
            "params": {"boft_block_size": 4, "init_weights": False},
            "placement": {"modules": ["q", "v"]},
            "estimate": None,
        },
    ),
    Row(
        "llama-oft",
        "llama",
        "oft",
        {
            "params": {"r": 8, "oft_block_size": 0, "init_weights": False},
            "placement": {"modules": ["q", "v"]},
        },
    ),
    # LN tuning starts as a copy of the norms and has no other init: the test perturbs it.
    Row("llama-ln_tuning", "llama", "ln_tuning", {"perturb": True}),  # peft's default modules
    Row(
        "opt-ln_tuning-raw",
        "opt",
        "ln_tuning",
        {
            "placement": {"modules": ["final_layer_norm"]},
            "expected": LAYERS * 2 * HIDDEN,
            "perturb": True,
        },
    ),
    Row(
        "falcon-lora-raw",
        "falcon",
        "lora",
        {
            "params": {"r": 2, "init_lora_weights": False},
            "placement": {"modules": ["dense_4h_to_h"]},
            "expected": lora_count("falcon", ("down",), 2),
        },
    ),
]

ROWS = [row for family in TINY_FAMILIES for row in rows_for(family)] + OTHER_ROWS


# -- the shared checks ---------------------------------------------------------------------


def batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 259, (2, 8), generator=g)
    mask = torch.ones_like(ids)
    ids[1, :3], mask[1, :3] = 0, 0  # a left-padded row, as in batched generation
    return {"input_ids": ids, "attention_mask": mask}


def logits(model: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        out = model(**inputs).logits
    return out[:, -inputs["input_ids"].shape[1] :]  # drop virtual-token positions, if any


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_method_on_family(row: Row, tmp_path) -> None:
    inputs = batch()
    labels = inputs["input_ids"].masked_fill(inputs["attention_mask"] == 0, -100)
    base = pristine(row.family)
    base_logits = logits(base, inputs)

    model = fresh(row.family)
    base_params = {id(p) for p in model.parameters()}
    wrapped = apply_adapter(model, row.adapter)
    wrapped.eval()

    # Forward runs and returns the base model's output with a loss (what the Trainer needs).
    out = wrapped(**inputs, labels=labels)
    assert torch.isfinite(out.loss)

    # Only adapter weights train, and as many as the formula says (and the estimate predicts).
    trainable = [p for p in wrapped.parameters() if p.requires_grad]
    assert trainable and all(id(p) not in base_params for p in trainable)
    assert not any(p.requires_grad for p in wrapped.parameters() if id(p) in base_params)
    count = count_parameters(wrapped)[0]
    if "expected" in row.kwargs:
        assert count == row.kwargs["expected"]
    assert estimate_trainable_parameters(row.adapter, base.config) == row.kwargs.get(
        "estimate", count
    )

    # Non-identity from the start: broken wiring would leave the output untouched.
    if row.kwargs.get("perturb"):
        with torch.no_grad():
            for p in trainable:
                p.add_(torch.randn_like(p) * 0.5)
    start = logits(wrapped, inputs)
    assert not torch.allclose(start, base_logits)

    # Disabling the adapter gives the base model back exactly.
    with wrapped.disable_adapter():
        assert torch.equal(logits(wrapped, inputs), base_logits)

    # A few optimiser steps change the output.
    wrapped.train()
    optimiser = torch.optim.AdamW(trainable, lr=1e-2)
    for _ in range(3):
        loss = wrapped(**inputs, labels=labels).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
    wrapped.eval()
    trained = logits(wrapped, inputs)
    assert not torch.allclose(trained, start)

    # Generation runs on a padded batch, and every token it picks for the full row is the one
    # the forward pass predicts (a prefix dropped at generation time would show here).
    length = inputs["input_ids"].shape[1]
    generated = wrapped.generate(**inputs, max_new_tokens=3, do_sample=False, pad_token_id=0)
    row0 = generated[:1]
    full = logits(wrapped, {"input_ids": row0, "attention_mask": torch.ones_like(row0)})[0]
    # Each picked token is a top token of the full forward pass, up to float noise: the cached
    # and uncached paths may order near-ties differently, a dropped prefix changes far more.
    eos = wrapped.config.eos_token_id if hasattr(wrapped, "config") else None
    for pos, token in zip(range(length - 1, full.shape[0] - 1), row0[0, length:], strict=True):
        if pos > length - 1 and row0[0, pos].item() == eos:
            break  # after the end-of-sequence token generate() only pads
        top = full[pos].max()
        assert full[pos, token] >= top - 1e-3 * max(1.0, top.abs().item()), (pos, token.item())

    # Save -> load on a fresh base model gives identical logits; only adapter weights saved.
    folder = save_adapter(wrapped, tmp_path / "adapter", metadata={"row": row.name})
    assert json.loads((folder / "studio_run.json").read_text())["row"] == row.name
    from safetensors.torch import load_file

    saved = sum(t.numel() for t in load_file(str(folder / "adapter_model.safetensors")).values())
    assert 0 < saved < count_parameters(base)[1] // 2  # VeRA also saves its frozen projections
    if isinstance(wrapped, BottleneckModel):
        assert saved == count
    loaded = load_adapter(fresh(row.family), folder)
    assert torch.equal(logits(loaded, inputs), trained)
    assert count_parameters(loaded)[0] == 0  # loaded for inference unless asked otherwise

    if row.method in ("lora", "dora"):
        from peft import PeftModel

        plain = PeftModel.from_pretrained(fresh(row.family), str(folder))
        assert torch.equal(logits(plain, inputs), trained)


# -- refusals ------------------------------------------------------------------------------

REFUSALS = [
    # (name, family, method, placement, params, fragments the message must hold)
    ("prefix-with-modules", "llama", "prefix", {"modules": ["q"]}, {}, ["takes no modules"]),
    ("prompt-with-layers", "llama", "prompt", {"layers": [0]}, {}, ["all layers"]),
    (
        "series-on-q",
        "llama",
        "series",
        {"modules": ["q"]},
        {},
        ["cannot be placed on 'q'", "attn mlp o gate up down"],
    ),
    (
        "parallel-on-k",
        "gpt2",
        "parallel",
        {"modules": ["k"]},
        {},
        ["allowed words: attn mlp o gate up down"],
    ),
    ("layer-beyond", "llama", "lora", {"layers": [0, 5]}, {}, ["layer 5 is beyond", "2 layers"]),
    ("range-beyond", "opt", "series", {"layers": "0-11"}, {}, ["layer 11 is beyond"]),
    ("backwards-range", "llama", "lora", {"layers": "3-1"}, {}, ["runs backwards"]),
    ("bad-layers", "llama", "lora", {"layers": "first"}, {}, ["'all', a list"]),
    (
        "gate-on-gpt2",
        "gpt2",
        "lora",
        {"modules": ["gate"]},
        {},
        ["no 'gate' projection", "q k v o up down"],
    ),
    ("unknown-method", "llama", "houlsbyy", {}, {}, ["unknown adapter method", "series", "lora"]),
    (
        "unknown-lora-param",
        "llama",
        "lora",
        {},
        {"rank": 8},
        ["no parameter 'rank'", "lora_alpha", "r"],
    ),
    (
        "reserved-peft-param",
        "llama",
        "lora",
        {},
        {"target_modules": ["q_proj"]},
        ["sets it from the placement"],
    ),
    ("wrong-type", "llama", "lora", {}, {"r": "eight"}, ["'r' must be int"]),
    (
        "unknown-bottleneck-param",
        "llama",
        "series",
        {},
        {"r": 8},
        ["no parameter 'r'", "bottleneck_size"],
    ),
    ("bad-activation", "llama", "series", {}, {"non_linearity": "swishy"}, ["tanh", "relu"]),
    ("bad-scaling", "llama", "scaled_parallel", {}, {"scaling": "big"}, ["'learned'"]),
    ("bad-size", "llama", "parallel", {}, {"bottleneck_size": 0}, ["at least 1"]),
    (
        "adapterh-modules",
        "llama",
        "adapterh",
        {"modules": ["mlp"]},
        {},
        ["always goes after attn and mlp", "series"],
    ),
    (
        "parallel-after",
        "llama",
        "parallel",
        {"position": "after"},
        {},
        ["allowed positions: beside"],
    ),
    (
        "series-beside",
        "llama",
        "series",
        {"position": "beside"},
        {},
        ["allowed positions: after, before"],
    ),
    ("lora-position", "llama", "lora", {"position": "after"}, {}, ["takes no placement.position"]),
    ("bad-position", "llama", "series", {"position": "inside"}, {}, ["before, after, beside"]),
    (
        "position-conflict",
        "llama",
        "series",
        {"modules": ["attn"], "position": "after_mlp"},
        {},
        ["give one or the other"],
    ),
    ("dora-without-dora", "llama", "dora", {}, {"use_dora": False}, ["always has use_dora=True"]),
    ("poly", "llama", "poly", {}, {}, ["not supported", "task ids"]),
    (
        "words-unknown-family",
        "phi3",
        "lora",
        {"modules": ["q"]},
        {},
        ["not mapped for model family 'phi3'", "raw module"],
    ),
    (
        "peft-own-check",
        "llama",
        "boft",
        {},
        {"boft_block_size": 4, "boft_block_num": 4},
        ["boft: You can only specify"],
    ),
    ("zero-rank", "llama", "lora", {}, {"r": 0}, ["'r' must be at least 1"]),
    (
        "big-dropout",
        "llama",
        "loha",
        {},
        {"rank_dropout": 2.0},
        ["'rank_dropout' must be in [0, 1)"],
    ),
    ("loha-on-gpt2", "gpt2", "loha", {}, {}, ["loha does not work with gpt2", "Conv1D", "lora"]),
    ("shadow", "llama", "shadow", {}, {}, ["not supported", "fails"]),
    ("empty-modules", "llama", "lora", {"modules": []}, {}, ["empty list"]),
]


@pytest.mark.parametrize(
    "family,method,placement,params,fragments",
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_refusal(family, method, placement, params, fragments) -> None:
    adapter = AdapterConfig(method=method, placement=PlacementConfig(**placement), params=params)
    with pytest.raises(ConfigError) as error:
        validate_adapter(adapter, family, num_layers=LAYERS)
    for fragment in fragments:
        assert fragment in str(error.value), str(error.value)


MODEL_REFUSALS = [
    (
        "raw-name-missing",
        "llama",
        "lora",
        {"modules": ["foo_proj"]},
        ["no module named 'foo_proj'", "q_proj"],
    ),
    (
        "bloom-attn-and-o",
        "bloom",
        "series",
        {"modules": ["attn", "o"]},
        ["two bottleneck adapters would wrap"],
    ),
]


@pytest.mark.parametrize(
    "family,method,placement,fragments",
    [r[1:] for r in MODEL_REFUSALS],
    ids=[r[0] for r in MODEL_REFUSALS],
)
def test_refusal_needing_the_model(family, method, placement, fragments) -> None:
    adapter = AdapterConfig(method=method, placement=PlacementConfig(**placement))
    validate_adapter(adapter, family, LAYERS)  # fine on paper: only the model tells
    with pytest.raises(ConfigError) as error:
        apply_adapter(fresh(family), adapter)
    for fragment in fragments:
        assert fragment in str(error.value), str(error.value)


# -- bottleneck specifics ------------------------------------------------------------------


def test_zero_init_starts_from_the_base_model() -> None:
    inputs = batch()
    for method in ("series", "adapterh", "parallel", "scaled_parallel"):
        wrapped = apply_adapter(
            fresh("llama"), AdapterConfig(method=method, params={"bottleneck_size": 4})
        )
        assert torch.equal(logits(wrapped, inputs), logits(pristine("llama"), inputs)), method


def test_paper_defaults_build() -> None:
    wrapped = apply_adapter(fresh("llama"), AdapterConfig(method="series"))
    layers = [m for m in wrapped.modules() if isinstance(m, BottleneckLayer)]
    assert len(layers) == LAYERS and layers[0].bottleneck_down.out_features == 256
    assert all(layer.position == "after" for layer in layers)
    assert wrapped.adapter_config.sites[0].module == "model.layers.0.mlp"


def _capture(module: torch.nn.Module, store: dict, key: str, output: bool) -> None:
    def hook(mod, args, kwargs, out=None):
        value = out if output else (args[0] if args else kwargs["hidden_states"])
        store[key] = value[0] if isinstance(value, tuple) else value

    if output:
        module.register_forward_hook(lambda m, a, k, o: hook(m, a, k, o), with_kwargs=True)
    else:
        module.register_forward_pre_hook(lambda m, a, k: hook(m, a, k), with_kwargs=True)


@pytest.mark.parametrize(
    "family,placement,entry,exit_",
    [
        # OPT has no MLP module: the parallel adapter reads fc1's input and adds to fc2's output.
        ("opt", {"modules": ["mlp"]}, "fc1", "fc2"),
        # BLOOM adds the residual inside its attention: read at self_attention, add at dense.
        ("bloom", {"modules": ["attn"]}, "self_attention", "self_attention.dense"),
        ("llama", {"modules": ["mlp"]}, "mlp", "mlp"),
    ],
)
def test_parallel_adapter_reads_the_block_input(family, placement, entry, exit_) -> None:
    wrapped = apply_adapter(
        fresh(family),
        AdapterConfig(method="parallel", placement=PlacementConfig(**placement), params=RANDOM),
    )
    layer = wrapped.get_base_model().get_submodule(f"{LAYER_ROOT[family]}.0")
    adapter = layer.get_submodule(exit_)
    assert isinstance(adapter, BottleneckLayer)
    seen: dict[str, torch.Tensor] = {}
    _capture(layer.get_submodule(entry), seen, "x", output=False)
    _capture(adapter.base_layer, seen, "base", output=True)
    _capture(adapter, seen, "out", output=True)
    logits(wrapped, batch())
    expected = seen["base"] + adapter.delta(seen["x"])
    assert torch.allclose(seen["out"], expected, atol=1e-6)


def test_series_adapter_adds_to_the_block_output() -> None:
    wrapped = apply_adapter(fresh("gpt2"), AdapterConfig(method="adapterh", params=RANDOM))
    attn = wrapped.get_base_model().transformer.h[1].attn
    seen: dict[str, torch.Tensor] = {}
    _capture(attn.base_layer, seen, "h", output=True)
    _capture(attn, seen, "out", output=True)
    logits(wrapped, batch())
    assert torch.allclose(seen["out"], seen["h"] + attn.delta(seen["h"]), atol=1e-6)


def test_unload_restores_the_base_model() -> None:
    model = fresh("opt")
    keys = set(model.state_dict())
    wrapped = apply_adapter(model, AdapterConfig(method="parallel", params=RANDOM))
    assert set(wrapped.get_base_model().state_dict()) != keys
    base = wrapped.unload()
    assert set(base.state_dict()) == keys
    assert torch.equal(logits(base, batch()), logits(pristine("opt"), batch()))
    assert not any(isinstance(m, BottleneckLayer) for m in base.modules())


def test_bottleneck_folder_layout(tmp_path) -> None:
    wrapped = apply_adapter(fresh("gptj"), AdapterConfig(method="adapterh", params=RANDOM))
    save_adapter(wrapped, tmp_path)
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    assert config["peft_type"] == "BOTTLENECK" and config["method"] == "adapterh"
    assert {s["position"] for s in config["sites"]} == {"after"} and len(config["sites"]) == 4
    assert not (tmp_path / "studio_run.json").exists()
    from safetensors.torch import load_file

    assert all("bottleneck_" in k for k in load_file(str(tmp_path / "adapter_model.safetensors")))
    resumed = load_adapter(fresh("gptj"), tmp_path, is_trainable=True)
    assert isinstance(resumed, BottleneckModel)
    assert count_parameters(resumed)[0] == count_parameters(wrapped)[0]


def test_loading_onto_another_family_is_refused(tmp_path) -> None:
    save_adapter(
        apply_adapter(fresh("llama"), AdapterConfig(method="series", params=RANDOM)), tmp_path
    )
    with pytest.raises(ConfigError, match="another architecture"):
        load_adapter(fresh("gpt2"), tmp_path)


def test_trainer_trains_a_bottleneck_model(tmp_path) -> None:
    from transformers import Trainer, TrainingArguments

    wrapped = apply_adapter(fresh("llama"), AdapterConfig(method="parallel", params=RANDOM))
    inputs = batch()
    rows = [{"input_ids": inputs["input_ids"][0], "labels": inputs["input_ids"][0]}] * 4
    before = [p.detach().clone() for p in wrapped.parameters() if p.requires_grad]
    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=2,
        per_device_train_batch_size=2,
        learning_rate=1e-2,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
        remove_unused_columns=False,
    )
    Trainer(model=wrapped, args=args, train_dataset=rows).train()
    after = [p for p in wrapped.parameters() if p.requires_grad]
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))


# -- catalogue and helpers -----------------------------------------------------------------


def test_catalogue_describes_every_method() -> None:
    catalogue = method_catalogue()
    json.dumps(catalogue)  # the API serves it as is
    names = [m["name"] for m in catalogue]
    assert len(names) == len(set(names))
    for required in (
        "series",
        "adapterh",
        "adapterp",
        "parallel",
        "scaled_parallel",
        "lora",
        "dora",
        "prefix",
        "ptuning",
        "prompt",
        "ia3",
        "loha",
        "lokr",
        "vera",
        "ln_tuning",
    ):
        assert required in names
    for entry in catalogue:
        assert entry["family"] in ("bottleneck", "lora", "prompt", "other")
        assert entry["description"] and entry["default_learning_rate"] > 0
        for param in entry["params"]:
            assert set(param) == {"name", "schema"}
            assert {"default", "description"} <= set(param["schema"])
    by_name = {m["name"]: m for m in catalogue}
    lora = by_name["lora"]
    assert lora["default_placement"]["modules"] == ["q", "k", "v", "up", "down"]
    assert {p["name"]: p["schema"]["default"] for p in lora["params"]}["r"] == 32
    assert {p["name"]: p["schema"]["default"] for p in lora["params"]}["alpha"] == 64
    series = by_name["series"]
    assert series["default_placement"] == {"modules": ["mlp"], "layers": "all", "position": "after"}
    assert {p["name"]: p["schema"]["default"] for p in series["params"]}["bottleneck_size"] == 256
    assert by_name["parallel"]["default_placement"]["position"] == "beside"
    assert {p["name"]: p["schema"]["default"] for p in by_name["prefix"]["params"]}[
        "num_virtual_tokens"
    ] == 10
    assert (
        by_name["prefix"]["placement_words"] == [] and by_name["prefix"]["refused_families"] == {}
    )
    assert "q" not in series["placement_words"]


def test_learning_rates_and_kinds() -> None:
    assert default_learning_rate("lora") == 3e-4
    assert default_learning_rate("series") == 3e-4
    assert default_learning_rate("prefix") == 3e-2
    assert is_prompt_learning("prefix") and is_prompt_learning("prompt_tuning")
    assert not is_prompt_learning("lora") and not is_prompt_learning("parallel")
    with pytest.raises(ConfigError):
        default_learning_rate("nope")


def test_estimate_for_a_paper_sized_model() -> None:
    from transformers import LlamaConfig

    config = LlamaConfig(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        vocab_size=32000,
    )
    h, f, r, b = 4096, 11008, 32, 256
    lora = AdapterConfig(method="lora")
    assert estimate_trainable_parameters(lora, config) == 32 * r * (3 * (h + h) + (h + f) + (f + h))
    series = AdapterConfig(method="series")
    assert estimate_trainable_parameters(series, config) == 32 * bottleneck_insertion(h, h, b)
    prefix = AdapterConfig(method="prefix")
    assert estimate_trainable_parameters(prefix, config) == 10 * 32 * 2 * h


@pytest.mark.parametrize("method", ["parallel", "adapterh", "lora"])
def test_gradient_checkpointing_and_a_low_precision_base(method) -> None:
    """As training.py runs it: base in bf16, adapter weights upcast to fp32, checkpointing on."""
    model = fresh("opt").to(torch.bfloat16)
    params = RANDOM if method != "lora" else {"r": 2, "init_lora_weights": False}
    wrapped = apply_adapter(model, AdapterConfig(method=method, params=params))
    for p in wrapped.parameters():
        if p.requires_grad:
            p.data = p.data.float()
    wrapped.get_base_model().gradient_checkpointing_enable(
        gradient_checkpointing_kwargs={"use_reentrant": False}
    )
    wrapped.train()
    inputs = batch()
    loss = wrapped(**inputs, labels=inputs["input_ids"]).loss
    loss.backward()
    grads = [p.grad for p in wrapped.parameters() if p.requires_grad]
    assert all(
        g is not None and g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads
    )
    assert any(g.abs().sum() > 0 for g in grads)


def test_registry_rejects_duplicates() -> None:
    from worker.engine.adapters.registry import REGISTRY, MethodRegistry

    registry = MethodRegistry()
    registry.register(REGISTRY.get("series"))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(REGISTRY.get("series"))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(REGISTRY.get("parallel"), aliases=("series",))


def test_bottleneck_checkpoints_resume_through_the_engine_trainer(tmp_path) -> None:
    """training.py saves a BottleneckModel's adapter alone and resumes with load_adapter_weights."""
    from worker.engine.config import TrainingConfig
    from worker.engine.progress import ProgressCallback
    from worker.engine.tiny import build_byte_tokenizer
    from worker.engine.training import train_adapter

    records = [
        {"instruction": f"{a} plus {b}?", "input": "", "output": str(a + b)}
        for a in range(4)
        for b in range(4)
    ]

    class StopAt(ProgressCallback):
        def __init__(self, step: int | None):
            self.step, self.seen = step, []

        def on_step(self, info) -> None:
            self.seen.append(info.step)

        def should_stop(self) -> bool:
            return self.step is not None and bool(self.seen) and self.seen[-1] >= self.step

    def train(folder, stop_at=None, resume=False):
        torch.manual_seed(0)
        model = apply_adapter(fresh("llama"), AdapterConfig(method="parallel", params=RANDOM))
        cfg = TrainingConfig(
            epochs=1, max_steps=4, batch_size=2, micro_batch_size=2, warmup_steps=0,
            val_set_size=0, seed=3, save_steps=2, resume=resume, cutoff_len=64,
        )  # fmt: skip
        progress = StopAt(stop_at)
        train_adapter(
            model, build_byte_tokenizer(), records, [], cfg, folder, learning_rate=1e-2,
            progress=progress,
        )  # fmt: skip
        state = {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}
        return state, progress.seen

    whole, _ = train(tmp_path / "whole")
    train(tmp_path / "split", stop_at=2)
    checkpoint = tmp_path / "split" / "checkpoints" / "checkpoint-2"
    assert (checkpoint / "adapter_config.json").is_file()
    assert (checkpoint / "adapter_model.safetensors").is_file()
    resumed, steps = train(tmp_path / "split", resume=True)
    assert steps == [3, 4]  # it went on from the checkpoint rather than starting over
    for name, value in whole.items():
        torch.testing.assert_close(resumed[name], value, rtol=1e-4, atol=1e-6)


def test_estimate_refuses_what_apply_refuses() -> None:
    config = pristine("llama").config
    missing = AdapterConfig(method="lora", placement=PlacementConfig(modules=["nope_proj"]))
    with pytest.raises(ConfigError, match="no module named 'nope_proj'"):
        estimate_trainable_parameters(missing, config)
    with pytest.raises(ConfigError, match="cannot be placed on 'q'"):
        estimate_trainable_parameters(
            AdapterConfig(method="series", placement=PlacementConfig(modules=["q"])), config
        )
    as_dict = estimate_trainable_parameters(AdapterConfig(method="lora"), config.to_dict())
    assert as_dict == estimate_trainable_parameters(AdapterConfig(method="lora"), config)


def test_the_trainer_accepts_series_adapters_on_a_quantized_base() -> None:
    # transformers' Trainer refuses a quantized model it does not see as adapted; the 4/8-bit
    # run itself needs CUDA and bitsandbytes (tests/gpu/test_quantized.py). Here the base only
    # says it is quantized, as a bitsandbytes load makes it say.
    from transformers.trainer_utils import validate_quantization_for_training

    model = apply_adapter(
        fresh("llama"),
        AdapterConfig(method="series", placement=PlacementConfig(), params={"bottleneck_size": 8}),
    )
    model.base_model.is_quantized = True
    validate_quantization_for_training(model)
