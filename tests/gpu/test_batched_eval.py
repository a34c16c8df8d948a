"""Batched evaluation (length-sorted, left-padded batches with the KV cache) gives the same
greedy outputs as one prompt at a time, on the CPU and on CUDA.

fp32 on both: padding only adds masked positions, whose attention weights are exactly zero, so
the logits differ by summation order (~1e-7) and greedy choices agree unless two tokens tie to
that precision, which a random model's 259-way logits practically never do. In bf16 such
near-ties are common enough to flip a token, which is rounding, not a batching bug; the engine
evaluates in the model's dtype, so the bf16 case asks for most outputs to agree."""

from __future__ import annotations

import pytest
import torch

from tests.gpu.cuda import DEVICES, needs_cuda
from worker.engine.config import DecodingConfig
from worker.engine.evaluation.generation import generate_batch
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

PROMPTS = [
    "What is 2 plus 3?",
    "A train leaves at noon and travels 60 miles per hour. How far has it gone by 3 pm?",
    "Pick one: true or false.",
    "Q",
    "Tom has 7 apples and gives 2 away; how many are left?",
    "Sort these: 9, 4, 7.",
    "Name a colour.",
    "What comes after Monday in the week, and after that?",
    "1 + 1 =",
]
GREEDY = DecodingConfig(strategy="greedy", max_new_tokens=12)


def _outputs(family, device, dtype, batch_size, decoding=GREEDY):
    model = build_tiny_model(family).to(device, dtype)
    return generate_batch(model, build_byte_tokenizer(), PROMPTS, decoding, batch_size=batch_size)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("family", ["llama", "gpt2", "bloom", "qwen2"])
def test_batched_equals_one_at_a_time_fp32(family, device):
    single = _outputs(family, device, torch.float32, batch_size=1)
    batched = _outputs(family, device, torch.float32, batch_size=4)
    assert batched == single
    assert any(single)  # something was generated


@pytest.mark.parametrize("device", DEVICES)
def test_batched_beam_search_equals_one_at_a_time_fp32(device):
    beams = DecodingConfig(strategy="beam", num_beams=3, max_new_tokens=8)
    single = _outputs("llama", device, torch.float32, 1, beams)
    batched = _outputs("llama", device, torch.float32, 5, beams)
    assert batched == single


@pytest.mark.parametrize("_", [pytest.param(None, id="cuda-bf16", marks=needs_cuda)])
@pytest.mark.parametrize("family", ["llama", "qwen2"])
def test_batched_mostly_equals_one_at_a_time_bf16_cuda(family, _):
    single = _outputs(family, "cuda", torch.bfloat16, batch_size=1)
    batched = _outputs(family, "cuda", torch.bfloat16, batch_size=len(PROMPTS))
    same = sum(a == b for a, b in zip(single, batched, strict=True))
    assert same >= len(PROMPTS) - 2, list(zip(single, batched, strict=True))
