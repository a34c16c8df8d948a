"""On CUDA, a job's micro-batch rises to what the GPU holds (training.auto_micro_batch), the
choice is logged, and switching it off keeps micro_batch_size. The choice's arithmetic and the
CPU's case: tests/engine/test_micro_batch.py."""

from __future__ import annotations

import pytest
import torch

from tests.gpu.cuda import needs_cuda
from worker.engine.adapters import apply_adapter
from worker.engine.config import AdapterConfig, PlacementConfig, TrainingConfig
from worker.engine.micro_batch import step_memory
from worker.engine.models import load_model
from worker.engine.progress import ProgressCallback
from worker.engine.training import _RightPaddingCollator, train_adapter

pytestmark = [
    *needs_cuda,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]
RECORDS = [
    {"instruction": f"Add {a} and {b}.", "input": "", "output": f"{a + b}", "answer": str(a + b)}
    for a in range(6)
    for b in range(6)
]


class Lines(ProgressCallback):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def on_log(self, message: str) -> None:
        self.lines.append(message)


def _lora(device: str = "cuda"):
    loaded = load_model("tiny:llama", "bf16", device=device)
    model = apply_adapter(
        loaded.model,
        AdapterConfig(method="lora", placement=PlacementConfig(), params={"r": 8, "alpha": 16}),
    )
    return model, loaded.tokenizer


@pytest.mark.parametrize("auto", [True, False])
def test_a_gpu_job_trains_with_the_micro_batch_that_fits(auto, tmp_path):
    model, tok = _lora()
    cfg = TrainingConfig(
        max_steps=2,
        batch_size=16,
        micro_batch_size=2,
        warmup_steps=0,
        val_set_size=0,
        cutoff_len=64,
        auto_micro_batch=auto,
    )
    progress = Lines()
    result = train_adapter(
        model, tok, RECORDS, [], cfg, tmp_path, learning_rate=1e-3, progress=progress
    )
    said = [line for line in progress.lines if "(auto:" in line]
    if auto:  # a tiny model: the whole batch fits in one forward
        assert result.micro_batch_size == 16
        assert said and said[0].startswith("micro-batch 16 of batch 16")
    else:
        assert result.micro_batch_size == 2 and not said
    assert result.steps == 2 and result.train_loss is not None


def test_step_memory_grows_with_the_examples():
    model, tok = _lora()
    model.train()
    collate = _RightPaddingCollator(tok, packing=False)
    texts = [f"{r['instruction']} {r['output']}" for r in RECORDS]
    rows = [{"input_ids": ids, "labels": list(ids)} for ids in tok(texts)["input_ids"]]

    def step(batch):
        inputs = {k: v.cuda() for k, v in collate(batch).items()}
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(**inputs).loss
        loss.backward()
        model.zero_grad(set_to_none=True)

    fixed, per_example = step_memory(step, rows, torch.device("cuda"))
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    assert per_example > 0 and fixed >= weights
