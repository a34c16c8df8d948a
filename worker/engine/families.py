"""Model families: where each architecture keeps its layers, projections and sublayers.

Placement words (q k v o gate up down attn mlp) are family-independent; this table is the one
place that knows what they are called in each architecture. Paths are relative to one decoder
layer, except `layers`, which is relative to the causal-LM model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LINEAR_WORDS = ("q", "k", "v", "o", "gate", "up", "down")
SUBLAYER_WORDS = ("attn", "mlp")
WORDS = LINEAR_WORDS + SUBLAYER_WORDS


@dataclass(frozen=True)
class Sublayer:
    """An attention or MLP block, described by where its input enters and its output leaves.

    `input` is the module whose first argument is the sublayer's input; `output` is the module
    whose (first) result is the sublayer's output before the residual is added. Most families
    have one module for both; BLOOM adds the residual inside its attention and MLP modules (so
    the output is read at their last projection), and OPT has no MLP module at all (fc1 and fc2
    live on the layer), so its MLP enters at fc1 and leaves at fc2.
    """

    input: str
    output: str
    module: str | None  # the block's own module, when it has one


@dataclass(frozen=True)
class Family:
    name: str
    model_types: tuple[str, ...]
    layers: str  # the ModuleList of decoder layers, relative to the causal-LM model
    linears: dict[str, str]  # linear word -> path in a layer
    attn: Sublayer
    mlp: Sublayer
    fused_qkv: bool = False  # q, k and v are one projection (all three words name it)
    notes: str = ""

    @property
    def mlp_words(self) -> tuple[str, ...]:
        return tuple(w for w in ("gate", "up", "down") if w in self.linears)

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(w for w in LINEAR_WORDS if w in self.linears) + SUBLAYER_WORDS

    def sublayer(self, word: str) -> Sublayer:
        return self.attn if word == "attn" else self.mlp


def _llama_like(name: str, model_types: tuple[str, ...]) -> Family:
    return Family(
        name=name,
        model_types=model_types,
        layers="model.layers",
        linears={
            "q": "self_attn.q_proj",
            "k": "self_attn.k_proj",
            "v": "self_attn.v_proj",
            "o": "self_attn.o_proj",
            "gate": "mlp.gate_proj",
            "up": "mlp.up_proj",
            "down": "mlp.down_proj",
        },
        attn=Sublayer("self_attn", "self_attn", "self_attn"),
        mlp=Sublayer("mlp", "mlp", "mlp"),
    )


def _fused(prefix: str, mlp: str = "mlp") -> dict[str, str]:
    qkv = f"{prefix}.query_key_value"
    return {
        "q": qkv,
        "k": qkv,
        "v": qkv,
        "o": f"{prefix}.dense",
        "up": f"{mlp}.dense_h_to_4h",
        "down": f"{mlp}.dense_4h_to_h",
    }


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        _llama_like("llama", ("llama",)),
        _llama_like("mistral", ("mistral",)),
        _llama_like("qwen2", ("qwen2",)),
        Family(
            name="bloom",
            model_types=("bloom",),
            layers="transformer.h",
            linears=_fused("self_attention"),
            # BloomAttention and BloomMLP add the residual themselves: read outputs before that.
            attn=Sublayer("self_attention", "self_attention.dense", "self_attention"),
            mlp=Sublayer("mlp", "mlp.dense_4h_to_h", "mlp"),
            fused_qkv=True,
        ),
        Family(
            name="gptj",
            model_types=("gptj",),
            layers="transformer.h",
            linears={
                "q": "attn.q_proj",
                "k": "attn.k_proj",
                "v": "attn.v_proj",
                "o": "attn.out_proj",
                "up": "mlp.fc_in",
                "down": "mlp.fc_out",
            },
            attn=Sublayer("attn", "attn", "attn"),
            mlp=Sublayer("mlp", "mlp", "mlp"),
            notes="attention and MLP run in parallel on the same input",
        ),
        Family(
            name="gpt_neo",
            model_types=("gpt_neo",),
            layers="transformer.h",
            linears={
                "q": "attn.attention.q_proj",
                "k": "attn.attention.k_proj",
                "v": "attn.attention.v_proj",
                "o": "attn.attention.out_proj",
                "up": "mlp.c_fc",
                "down": "mlp.c_proj",
            },
            attn=Sublayer("attn", "attn", "attn"),
            mlp=Sublayer("mlp", "mlp", "mlp"),
        ),
        Family(
            name="gpt_neox",
            model_types=("gpt_neox",),
            layers="gpt_neox.layers",
            linears=_fused("attention"),
            attn=Sublayer("attention", "attention", "attention"),
            mlp=Sublayer("mlp", "mlp", "mlp"),
            fused_qkv=True,
        ),
        Family(
            name="opt",
            model_types=("opt",),
            layers="model.decoder.layers",
            linears={
                "q": "self_attn.q_proj",
                "k": "self_attn.k_proj",
                "v": "self_attn.v_proj",
                "o": "self_attn.out_proj",
                "up": "fc1",
                "down": "fc2",
            },
            attn=Sublayer("self_attn", "self_attn", "self_attn"),
            # No MLP module: the MLP's input is fc1's input and its output is fc2's output.
            mlp=Sublayer("fc1", "fc2", None),
            notes="fc1/fc2 sit directly on the layer; 'mlp' means fc1's input to fc2's output",
        ),
        Family(
            name="gpt2",
            model_types=("gpt2",),
            layers="transformer.h",
            linears={
                "q": "attn.c_attn",
                "k": "attn.c_attn",
                "v": "attn.c_attn",
                "o": "attn.c_proj",
                "up": "mlp.c_fc",
                "down": "mlp.c_proj",
            },
            attn=Sublayer("attn", "attn", "attn"),
            mlp=Sublayer("mlp", "mlp", "mlp"),
            fused_qkv=True,
            notes="projections are transformers' Conv1D (weights stored transposed)",
        ),
        Family(
            name="falcon",
            model_types=("falcon",),
            layers="transformer.h",
            linears=_fused("self_attention"),
            attn=Sublayer("self_attention", "self_attention", "self_attention"),
            mlp=Sublayer("mlp", "mlp", "mlp"),
            fused_qkv=True,
            notes="attention and MLP run in parallel on the same input (parallel_attn)",
        ),
    )
}

_MODEL_TYPE_TO_FAMILY = {t: f.name for f in FAMILIES.values() for t in f.model_types}


def _config_of(model_or_config: Any) -> Any:
    if isinstance(model_or_config, dict):
        return model_or_config
    base = model_or_config
    if hasattr(base, "get_base_model"):  # peft's and our adapter wrappers
        base = base.get_base_model()
    return getattr(base, "config", base)


def family_of(model_or_config: Any) -> str:
    """The family of a model, a transformers config, or a config dict, from its model_type.

    A model type outside the table is returned as-is: such a model takes raw module names but no
    placement words (the error then says so).
    """
    config = _config_of(model_or_config)
    model_type = (
        config.get("model_type")
        if isinstance(config, dict)
        else getattr(config, "model_type", None)
    )
    if not model_type:
        raise ValueError(
            f"cannot tell the model family of {type(model_or_config).__name__}: no model_type"
        )
    return str(_MODEL_TYPE_TO_FAMILY.get(model_type, model_type))


def get_family(name: str) -> Family | None:
    return FAMILIES.get(name)


def num_layers_of(model_or_config: Any) -> int | None:
    config = _config_of(model_or_config)
    if isinstance(config, dict):
        for key in ("num_hidden_layers", "n_layer", "num_layers"):
            if key in config:
                return int(config[key])
        return None
    value = getattr(config, "num_hidden_layers", None)
    return int(value) if value is not None else None


def hidden_size_of(model_or_config: Any) -> int:
    config = _config_of(model_or_config)
    if isinstance(config, dict):
        return int(config.get("hidden_size") or config["n_embd"])
    return int(config.hidden_size)


def key_value_heads(config: Any) -> int | None:
    """Key/value heads where the config does not say so under peft's name (num_key_value_heads).

    Falcon's multi-query attention keeps one key/value head but calls the setting multi_query;
    peft's prefix tuning would otherwise size the prefix for all query heads and fail.
    """
    if getattr(config, "model_type", None) == "falcon":
        if getattr(config, "new_decoder_architecture", False) or not getattr(
            config, "multi_query", True
        ):
            return int(config.num_kv_heads)
        return 1
    return None
