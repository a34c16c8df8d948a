"""Tiny randomly initialised models of each supported family, and a byte-level tokenizer.

They let tests, benchmarks and smoke runs exercise the real transformers classes of every
family without fetching anything from a hub. A model reference `tiny:<family>` resolves here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel, PreTrainedTokenizerFast

# Small but structurally faithful: 2 layers, several heads, an MLP wider than the hidden size.
_HIDDEN, _LAYERS, _HEADS, _FFN = 64, 2, 4, 128


def _configs(vocab_size: int) -> dict[str, Callable[[], PretrainedConfig]]:
    from transformers import (
        BloomConfig,
        FalconConfig,
        GPT2Config,
        GPTJConfig,
        GPTNeoConfig,
        GPTNeoXConfig,
        LlamaConfig,
        MistralConfig,
        OPTConfig,
        Qwen2Config,
    )

    v, h, n, a, f = vocab_size, _HIDDEN, _LAYERS, _HEADS, _FFN
    llama_like: dict[str, Any] = dict(
        vocab_size=v,
        hidden_size=h,
        intermediate_size=f,
        num_hidden_layers=n,
        num_attention_heads=a,
        num_key_value_heads=2,
        max_position_embeddings=512,
    )
    return {
        "llama": lambda: LlamaConfig(**llama_like),
        "mistral": lambda: MistralConfig(**llama_like, sliding_window=None),
        "qwen2": lambda: Qwen2Config(**llama_like),
        "bloom": lambda: BloomConfig(vocab_size=v, hidden_size=h, n_layer=n, n_head=a),
        "gptj": lambda: GPTJConfig(
            vocab_size=v, n_embd=h, n_layer=n, n_head=a, n_inner=f, rotary_dim=8, n_positions=512
        ),
        "gpt_neo": lambda: GPTNeoConfig(
            vocab_size=v,
            hidden_size=h,
            num_layers=n,
            num_heads=a,
            intermediate_size=f,
            attention_types=[[["global", "local"], n // 2]],
            window_size=256,
            max_position_embeddings=512,
        ),
        "gpt_neox": lambda: GPTNeoXConfig(
            vocab_size=v,
            hidden_size=h,
            num_hidden_layers=n,
            num_attention_heads=a,
            intermediate_size=f,
            max_position_embeddings=512,
        ),
        "opt": lambda: OPTConfig(
            vocab_size=v,
            hidden_size=h,
            num_hidden_layers=n,
            num_attention_heads=a,
            ffn_dim=f,
            word_embed_proj_dim=h,
            max_position_embeddings=512,
        ),
        "gpt2": lambda: GPT2Config(
            vocab_size=v, n_embd=h, n_layer=n, n_head=a, n_inner=f, n_positions=512
        ),
        "falcon": lambda: FalconConfig(
            vocab_size=v,
            hidden_size=h,
            num_hidden_layers=n,
            num_attention_heads=a,
            new_decoder_architecture=False,
            multi_query=True,
            parallel_attn=True,
            bias=False,
        ),
    }


TINY_FAMILIES = (
    "llama",
    "mistral",
    "qwen2",
    "bloom",
    "gptj",
    "gpt_neo",
    "gpt_neox",
    "opt",
    "gpt2",
    "falcon",
)


def build_byte_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level tokenizer (256 byte tokens + pad/bos/eos): any text round-trips exactly."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    byte_chars = list(pre_tokenizers.ByteLevel.alphabet())
    specials = ["<pad>", "<s>", "</s>"]
    vocab = {tok: i for i, tok in enumerate(specials + sorted(byte_chars))}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=None))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    tok.padding_side = "left"
    return tok


BYTE_VOCAB_SIZE = 259  # 256 bytes + pad, bos, eos


def build_tiny_config(family: str, vocab_size: int = BYTE_VOCAB_SIZE) -> PretrainedConfig:
    configs = _configs(vocab_size)
    if family not in configs:
        raise ValueError(
            f"unknown tiny family {family!r}; choose one of {', '.join(TINY_FAMILIES)}"
        )
    config = configs[family]()
    config.pad_token_id, config.bos_token_id, config.eos_token_id = 0, 1, 2
    return config


def build_tiny_model(
    family: str, seed: int = 0, vocab_size: int = BYTE_VOCAB_SIZE
) -> PreTrainedModel:
    """A randomly initialised causal LM of `family` with a fixed seed."""
    from transformers import AutoModelForCausalLM

    config = build_tiny_config(family, vocab_size)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.eval()
    return model
