"""Writes a LLaMA-architecture transformers model and its tokenizer as one GGUF file.

Through the `gguf` package's own `GGUFWriter` and tensor-name map (the ones llama.cpp's
converter uses), so names, metadata keys and value types are the format's, not ours. What the
readers need beyond the weights:
- hyper-parameters under `llama.*` (transformers rebuilds a LlamaConfig from them);
- Q and K rows re-ordered the way llama.cpp's rotary embedding expects (transformers' loader
  reverses exactly this);
- no `output.weight` when the embeddings are tied (the loaders then tie them again);
- the tokenizer as `tokenizer.ggml.*`: a byte-level BPE (`gpt2`) vocabulary in id order, its
  merges, token types (special tokens as control) and the special token ids.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import ConfigError

# Norm weights stay f32 in an f16 file, as llama.cpp's converter keeps 1-D tensors.
_TENSOR_DTYPES = {"f16": np.float16, "f32": np.float32}


def _rope_permute(weight: np.ndarray, n_head: int) -> np.ndarray:
    """HF keeps each head's rotary halves apart; llama.cpp interleaves them pairwise."""
    rows = weight.shape[0]
    return (
        weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:])
        .swapaxes(1, 2)
        .reshape(weight.shape)
    )


def _byte_level_vocabulary(tokenizer: Any) -> tuple[list[str], list[str], list[int]]:
    """(tokens in id order, merges as "a b", token types) of a byte-level BPE tokenizer."""
    import gguf

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    model = spec.get("model") or {}
    pre = json.dumps(spec.get("pre_tokenizer") or {})
    if model.get("type") != "BPE" or "ByteLevel" not in pre:
        raise ConfigError(
            "GGUF export needs a byte-level BPE tokenizer (GPT-2 style, as SmolLM2 and LLaMA 3 "
            f"have); this one is {model.get('type')!r}. Export --format merged instead"
        )
    vocab: dict[str, int] = dict(model["vocab"])
    for added in spec.get("added_tokens") or []:
        vocab[added["content"]] = added["id"]
    size = max(vocab.values()) + 1
    tokens = [f"[PAD{i}]" for i in range(size)]
    for token, index in vocab.items():
        tokens[index] = token
    special = {a["content"] for a in spec.get("added_tokens") or [] if a.get("special")}
    types = [int(gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL) for t in tokens]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges") or []]
    return tokens, merges, types


def write_gguf(model: Any, tokenizer: Any, path: str | Path, tensor_type: str = "f16") -> Path:
    """Writes `model` (a LlamaForCausalLM) and `tokenizer` to `path`."""
    import gguf

    if tensor_type not in _TENSOR_DTYPES:
        raise ConfigError(f"unknown GGUF tensor type {tensor_type!r}; choose f16 or f32")
    config = model.config
    if config.model_type != "llama":
        raise ConfigError(
            f"GGUF export of {config.model_type} models is not supported yet (LLaMA family only)"
        )
    arch = gguf.MODEL_ARCH.LLAMA
    n_head = config.num_attention_heads
    n_kv_head = config.num_key_value_heads or n_head
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head
    names = gguf.get_tensor_name_map(arch, config.num_hidden_layers)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[arch])
    writer.add_name(str(getattr(config, "_name_or_path", "") or "adapter-studio-export"))
    writer.add_file_type(
        gguf.LlamaFileType.MOSTLY_F16 if tensor_type == "f16" else gguf.LlamaFileType.ALL_F32
    )
    writer.add_vocab_size(config.vocab_size)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv_head)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_dimension_count(head_dim)
    rope = getattr(config, "rope_parameters", None) or {}
    theta = rope.get("rope_theta") or getattr(config, "rope_theta", None) or 10000.0
    if rope.get("rope_type", "default") != "default":
        raise ConfigError(
            f"GGUF export of rope scaling {rope.get('rope_type')!r} is not supported yet"
        )
    writer.add_rope_freq_base(float(theta))

    tokens, merges, types = _byte_level_vocabulary(tokenizer)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    if merges:
        writer.add_token_merges(merges)
    else:
        # Without merges the readers rebuild them from scores; a vocabulary of single bytes
        # (the tiny models') has none to rebuild, and an empty array is not a valid GGUF value.
        writer.add_token_scores([0.0] * len(tokens))
    for token_id, add in (
        (tokenizer.bos_token_id, writer.add_bos_token_id),
        (tokenizer.eos_token_id, writer.add_eos_token_id),
        (tokenizer.pad_token_id, writer.add_pad_token_id),
        (tokenizer.unk_token_id, writer.add_unk_token_id),
    ):
        if token_id is not None:
            add(int(token_id))
    writer.add_add_bos_token(bool(getattr(tokenizer, "add_bos_token", False)))
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, str):
        writer.add_chat_template(template)

    tied = bool(getattr(config, "tie_word_embeddings", False))
    dtype = _TENSOR_DTYPES[tensor_type]
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue
        if hf_name.endswith("rotary_emb.inv_freq"):
            continue
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise ConfigError(f"GGUF export: no llama.cpp name for the tensor {hf_name}")
        data = tensor.detach().to(torch.float32).cpu().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = _rope_permute(data, n_head)
        elif hf_name.endswith("k_proj.weight"):
            data = _rope_permute(data, n_kv_head)
        writer.add_tensor(name, data.astype(np.float32 if data.ndim == 1 else dtype))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
