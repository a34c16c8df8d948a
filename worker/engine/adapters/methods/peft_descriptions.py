"""One line per peft tuner in the studio's words: what it trains, in terms a method card can
show. peft's own docstrings mostly open with "This is the configuration class to store the
configuration of a ...", which says nothing about the method; a tuner a later peft release
adds, with no line here yet, gets the first sentence of its docstring that says something."""

from __future__ import annotations

import re

DESCRIPTIONS: dict[str, str] = {
    "adalora": "AdaLoRA: LoRA whose rank budget is reallocated during training, pruning the "
    "least important singular values (needs total_step)",
    "adamss": "AdaMSS: low-rank updates inside several subspaces found by clustering an SVD of "
    "each weight",
    "adaption_prompt": "LLaMA-Adapter: trainable prompts with zero-initialised gates in the top "
    "attention layers",
    "beft": "BEFT: trains only added bias terms of the value projections (for very little data)",
    "boft": "BOFT: multiplies each weight by a learned orthogonal matrix built from butterfly "
    "factors",
    "c3a": "C3A: a weight update by block-circular convolution (block_size must divide the "
    "layer's sizes)",
    "cartridge": "Cartridges: a trainable key/value cache used as a prefix (prefix tuning without "
    "the projection network)",
    "cpt": "CPT: context-aware prompt tuning, trainable prompt tokens refined with the examples "
    "in context",
    "deft": "DEFT: replaces a low-rank slice of each weight through a learned projection and "
    "injection matrix",
    "delora": "DeLoRA: LoRA with the update's direction and strength decoupled, its norm bounded "
    "by delora_lambda",
    "fourierft": "FourierFT: learns a few spectral coefficients of the weight update and maps "
    "them back with an inverse Fourier transform",
    "frod": "FRoD: a weight update through a fixed, seeded sparse random pattern with few "
    "trainable values",
    "glora": "GLoRA: a generalised update that scales and shifts both weights and biases "
    "(W + W·A + B), each part low-rank, vector or scalar",
    "gralora": "GraLoRA: LoRA split into a grid of blocks, each with its own small adapter "
    "(more expressive at the same parameter count)",
    "hira": "HiRA: a high-rank update, the frozen weight multiplied element-wise by a low-rank "
    "product",
    "hra": "HRA: multiplies each weight by a chain of learned Householder reflections",
    "lily": "Lily: low-rank adapters whose up-projections are shared experts across layers",
    "ln_tuning": "LN tuning: trains only the layer-norm weights",
    "loha": "LoHa: a weight update as the Hadamard product of two low-rank products",
    "lokr": "LoKr: a weight update as a Kronecker product of small matrices",
    "miss": "MiSS: a weight update from shards of one small trainable matrix shared across "
    "each weight",
    "oft": "OFT: multiplies each weight by a learned block-diagonal orthogonal matrix",
    "osf": "OSF: trains only the weights' low singular directions, keeping the top ones "
    "frozen (for learning tasks in sequence)",
    "peanut": "PEANuT: a small non-linear network of the frozen weight produces the update",
    "psoft": "PSOFT: a small orthogonal transform trained between frozen principal-subspace "
    "factors of each weight",
    "pvera": "PVeRA: VeRA with probabilistic scaling vectors over shared frozen random matrices",
    "randlora": "RandLoRA: a full-rank update from many frozen random low-rank bases mixed by "
    "trainable diagonal scalings",
    "road": "RoAd: rotates pairs of each layer's outputs by learned angles and scales",
    "shira": "SHiRA: trains a sparse subset of each weight's own entries (high rank, LoRA's "
    "parameter count)",
    "supertuning": "Super-Tuning: trains a sparse set of weight entries chosen by magnitude, "
    "optionally with a LoRA on top",
    "tinylora": "TinyLoRA: a tiny trainable vector projected through fixed random tensors onto "
    "the weights' singular directions",
    "trainable_tokens": "Trainable tokens: trains the embeddings of chosen token ids only "
    "(token_indices), not the whole embedding matrix",
    "unilora": "Uni-LoRA: every LoRA matrix of the model drawn from one shared trainable vector "
    "(theta_d)",
    "vblora": "VB-LoRA: LoRA matrices composed from a shared bank of trainable vectors "
    "(top-k mixture)",
    "vera": "VeRA: frozen random low-rank matrices shared by all layers, with trainable scaling "
    "vectors per layer",
    "waveft": "WaveFT: learns a few wavelet coefficients of the weight update, mapped back by "
    "an inverse wavelet transform",
}

_BOILERPLATE = re.compile(
    r"^(this is the )?config(uration)? class (of|for|to store)|^stores the configuration"
    r"|^configuration (for|of)",
    re.IGNORECASE,
)


def describe(name: str, class_name: str, doc: str | None) -> str:
    """The method card's line for peft tuner `name` (config class `class_name`)."""
    if name in DESCRIPTIONS:
        return DESCRIPTIONS[name]
    text = re.sub(r"\s+", " ", doc or "").strip()
    sentences = re.split(r"(?<=[.!?])\s+", text.split("Args:")[0])
    useful = [s for s in sentences if s and not _BOILERPLATE.search(s)]
    tail = useful[0].rstrip(".") if useful else "no description yet"
    return f"{name} (peft {class_name}): {tail}"[:200]
