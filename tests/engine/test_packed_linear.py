"""bf16 linear layers on packed weights while evaluating (evaluation/packed_linear.py): the same
outputs, the layers' own forwards back afterwards, and nothing packed where it cannot be."""

import pytest
import torch
import torch.nn as nn

from worker.engine.config import DecodingConfig
from worker.engine.evaluation import packed_linear
from worker.engine.evaluation.packed_linear import linears_packed
from worker.engine.evaluation.runner import evaluate_records
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model

needs_packing = pytest.mark.skipif(
    not packed_linear._packs(), reason="this CPU's oneDNN has no bf16 kernels to pack for"
)


def _linears(model) -> int:
    return sum(type(m) is nn.Linear for m in model.modules())


@needs_packing
def test_packed_bf16_logits_equal_the_plain_ones_and_the_forwards_come_back():
    model = build_tiny_model("llama").to(torch.bfloat16).eval().requires_grad_(False)
    ids = torch.tensor([[5, 6, 7, 8, 9], [9, 8, 7, 6, 5]])
    with torch.no_grad():
        plain = model(input_ids=ids).logits
        with linears_packed(model) as packed:
            assert packed == _linears(model)
            assert all("forward" in vars(m) for m in model.modules() if type(m) is nn.Linear)
            inside = model(input_ids=ids).logits
    assert not any("forward" in vars(m) for m in model.modules())
    torch.testing.assert_close(inside, plain, atol=0.05, rtol=0.02)


@needs_packing
def test_a_packed_layer_with_gradients_on_runs_its_own_forward():
    layer = nn.Linear(8, 4).to(torch.bfloat16).requires_grad_(False)
    x = torch.randn(3, 8, dtype=torch.bfloat16, requires_grad=True)
    with linears_packed(layer) as packed:
        assert packed == 1
        layer(x).float().sum().backward()  # the packed op has no backward
    assert x.grad is not None and x.grad.shape == x.shape


def test_what_cannot_pack_runs_as_it_was(monkeypatch):
    fp32 = build_tiny_model("llama").eval()
    with linears_packed(fp32) as packed:
        assert packed == 0  # fp32 keeps torch's own (MKL) products
    trained = nn.Linear(8, 4).to(torch.bfloat16)  # requires grad: a weight being trained
    with linears_packed(trained) as packed:
        assert packed == 0
    bf16 = build_tiny_model("llama").to(torch.bfloat16).eval().requires_grad_(False)
    monkeypatch.setattr(packed_linear, "_MEMORY_SHARE", 0.0)
    with linears_packed(bf16) as packed:
        assert packed == 0  # the packed copies would not fit
    monkeypatch.setattr(packed_linear, "_MEMORY_SHARE", 0.25)
    monkeypatch.setattr(packed_linear, "_packs", lambda: False)
    with linears_packed(bf16) as packed:
        assert packed == 0  # no bf16 kernels in this torch's oneDNN
    assert not any("forward" in vars(m) for m in bf16.modules())


@needs_packing
def test_the_forwards_come_back_after_an_error():
    model = build_tiny_model("llama").to(torch.bfloat16).eval().requires_grad_(False)
    with pytest.raises(RuntimeError, match="inside"), linears_packed(model):
        raise RuntimeError("inside")
    assert not any("forward" in vars(m) for m in model.modules())


@needs_packing
def test_a_bf16_evaluation_decodes_packed_with_the_same_outputs(monkeypatch):
    model = build_tiny_model("llama").to(torch.bfloat16).eval().requires_grad_(False)
    tok = build_byte_tokenizer()
    with torch.no_grad():
        model.get_output_embeddings().weight.mul_(200)  # far-apart logits: no near ties
    records = [{"instruction": f"What is {i} plus {i}?", "answer": str(2 * i)} for i in range(5)]
    dec = DecodingConfig(max_new_tokens=8)
    calls = []
    monkeypatch.setattr(
        torch.ops.mkldnn, "_linear_pointwise", _counting(torch.ops.mkldnn._linear_pointwise, calls)
    )
    packed = evaluate_records(model, tok, records, "svamp", decoding=dec, batch_size=3)
    assert calls  # decoded on packed weights
    monkeypatch.setattr(packed_linear, "_packs", lambda: False)
    calls.clear()
    plain = evaluate_records(model, tok, records, "svamp", decoding=dec, batch_size=3)
    assert calls == []
    assert [p["output"] for p in packed.predictions] == [p["output"] for p in plain.predictions]


def _counting(op, calls):
    def counted(*args, **kwargs):
        calls.append(1)
        return op(*args, **kwargs)

    return counted
