"""`is_identity_at_init` agrees with what the adapter does to the base model's logits."""

import pytest
import torch

from worker.engine.adapters import apply_adapter
from worker.engine.adapters.identity import is_identity_at_init
from worker.engine.config import AdapterConfig
from worker.engine.tiny import build_tiny_model

ROWS = [
    # (method, params, identity?)
    ("lora", {}, True),
    ("lora", {"init_lora_weights": False}, False),
    ("series", {}, True),
    ("parallel", {}, True),
    ("scaled_parallel", {"scaling": "learned"}, True),
    ("series", {"init": "bert"}, False),
    ("parallel", {"init": "random"}, False),
    ("adapterh", {"init": "zero"}, True),
    ("ia3", {}, True),
    ("ia3", {"init_ia3_weights": False}, False),
    ("prefix", {}, False),
    ("prompt", {}, False),
]


@pytest.mark.parametrize(("method", "params", "identity"), ROWS)
def test_identity_decision_matches_the_logits(method, params, identity):
    adapter = AdapterConfig(method=method, params=params)
    assert is_identity_at_init(adapter) is identity
    torch.manual_seed(0)
    ids = torch.randint(3, 250, (2, 12))
    base = build_tiny_model("llama", seed=1)
    with torch.no_grad():
        before = base(input_ids=ids).logits.clone()
        adapted = apply_adapter(base, adapter)
        adapted.eval()
        after = adapted(input_ids=ids).logits
    if identity:
        assert torch.equal(before, after)  # bit for bit: a shared baseline stands in exactly
    elif method not in ("prefix", "prompt"):
        assert not torch.allclose(before, after)
