"""LoRA merged for evaluation (evaluation/merged_lora.py): same outputs, base weights restored
bit for bit, and only where a merge is exact to the method."""

import pytest
import torch
from peft import LoraConfig, get_peft_model

from worker.engine.config import DecodingConfig
from worker.engine.evaluation import merged_lora
from worker.engine.evaluation.merged_lora import lora_merged
from worker.engine.evaluation.runner import evaluate_records
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model

MODULES = {"llama": ["q_proj", "v_proj", "up_proj", "down_proj"], "gpt2": ["c_attn", "c_fc"]}


def _lora(family: str = "llama", dtype=torch.float32, **extra):
    config = LoraConfig(r=4, target_modules=MODULES[family], init_lora_weights=False, **extra)
    return get_peft_model(build_tiny_model(family).to(dtype), config).eval()


def _bases(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if "base_layer" in n}


@pytest.mark.parametrize("family", ["llama", "gpt2"])  # gpt2: Conv1D, weights transposed
def test_merged_logits_equal_the_adapters_and_the_base_comes_back(family):
    model = _lora(family)
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    calls = []
    for m in model.modules():
        if hasattr(m, "lora_A"):
            m.lora_A["default"].register_forward_hook(lambda *a: calls.append(1))
    before = _bases(model)
    with torch.no_grad():
        plain = model(input_ids=ids).logits
        assert calls
        calls.clear()
        with lora_merged(model) as merged:
            inside = model(input_ids=ids).logits
            assert calls == []  # no LoRA branch ran: one matmul per layer
        after = model(input_ids=ids).logits
    assert merged == 2 * len(MODULES[family])  # the tiny models have two layers
    torch.testing.assert_close(inside, plain, atol=1e-5, rtol=1e-5)
    assert torch.equal(after, plain)
    assert all(torch.equal(p, before[n]) for n, p in _bases(model).items())


def test_a_bf16_base_is_restored_bit_for_bit_after_many_evaluations_and_an_error():
    model = _lora(dtype=torch.bfloat16)
    for p in model.parameters():
        if p.requires_grad:
            p.data = p.data.float()  # as training leaves it: adapter fp32, base bf16
    before = _bases(model)
    for _ in range(3):
        with lora_merged(model) as merged:
            assert merged == 8
    with pytest.raises(RuntimeError, match="inside"), lora_merged(model):
        raise RuntimeError("inside")
    assert all(torch.equal(p, before[n]) for n, p in _bases(model).items())
    assert not any(getattr(m, "merged", False) for m in model.modules())


def test_what_cannot_merge_exactly_runs_as_it_was(monkeypatch):
    with lora_merged(_lora(use_dora=True)) as merged:
        assert merged == 0  # DoRA rescales the merged weight: a variant
    with lora_merged(_lora(lora_bias=True)) as merged:
        assert merged == 0
    with lora_merged(build_tiny_model("llama")) as merged:
        assert merged == 0
    monkeypatch.setattr(merged_lora, "_MEMORY_SHARE", 0.0)
    with lora_merged(_lora()) as merged:
        assert merged == 0  # the merged copies would not fit


def test_an_evaluation_decodes_merged_with_the_same_outputs(monkeypatch):
    model, tok = _lora(), build_byte_tokenizer()
    with torch.no_grad():
        model.base_model.model.get_output_embeddings().weight.mul_(200)  # far-apart logits
    records = [{"instruction": f"What is {i} plus {i}?", "answer": str(2 * i)} for i in range(5)]
    dec = DecodingConfig(max_new_tokens=8)
    calls = []
    layer = model.base_model.model.model.layers[0].self_attn.q_proj
    layer.lora_A["default"].register_forward_hook(lambda *a: calls.append(1))
    merged = evaluate_records(model, tok, records, "svamp", decoding=dec, batch_size=3)
    assert calls == []  # decoded merged
    monkeypatch.setattr(merged_lora, "_MEMORY_SHARE", 0.0)  # no room: decodes unmerged
    unmerged = evaluate_records(model, tok, records, "svamp", decoding=dec, batch_size=3)
    assert calls  # decoded through the LoRA branch
    assert [p["output"] for p in merged.predictions] == [p["output"] for p in unmerged.predictions]
