"""On a GPU, the micro-batch that fills it (`training.auto_micro_batch`).

Measured on an H200 (docs/gpu.md): a LoRA step of a 0.84B model waits on the CPU at the
paper's micro-batch of 4 (~2,600 kernel launches per micro-batch, 0.2 s of GPU work in 2 s of
wall time); one forward of the whole batch of 16 trained 2.0x as fast, and batch 64 in one
forward 3.2x. The number of examples per optimiser step (`batch_size`) is the user's and stays;
only how many of them share a forward changes, so the gradient of a step is the same sum.

How much fits is measured, not guessed: one forward and backward of the longest training
example, then of two copies of it, give the step's fixed memory and its memory per example
(peak CUDA allocations, the loss head and the adapter's gradients included); AdamW's two fp32
states per trainable weight, allocated at the first optimiser step, are added. The largest
divisor of `batch_size` whose step fits in 80 % of the GPU's memory wins. A CPU keeps
`micro_batch_size`: there a larger micro-batch gave no more tokens per second (docs/demo.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .config import TrainingConfig

MEMORY_SHARE = 0.8  # of the GPU's total memory a training step may take


def raises_micro_batch(cfg: TrainingConfig, on_gpu: bool, processes: int) -> bool:
    """Whether a job of `cfg` run by `processes` processes picks its micro-batch from memory:
    on a GPU, with auto_micro_batch, not packed, one process, and room above the floor."""
    return (
        on_gpu
        and cfg.auto_micro_batch
        and not cfg.packing
        and processes == 1
        and cfg.batch_size > cfg.micro_batch_size
    )


def largest_fitting(batch: int, floor: int, fixed: int, per_example: int, budget: int) -> int:
    """The largest divisor of `batch`, at least `floor`, whose step (`fixed` + examples x
    `per_example` bytes) fits in `budget` bytes; `floor` when no larger one fits."""
    fitting = [
        d
        for d in range(floor, batch + 1)
        if batch % d == 0 and fixed + d * max(per_example, 1) <= budget
    ]
    return max(fitting, default=floor)


def step_memory(
    step: Callable[[list[dict[str, Any]]], None], rows: list[dict[str, Any]], device: torch.device
) -> tuple[int, int]:
    """(fixed, per-example) peak CUDA bytes of `step` on one and on two copies of the longest
    of `rows`."""
    longest = max(rows, key=lambda r: len(r["input_ids"]))
    peaks = []
    for copies in (1, 2):
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        step([longest] * copies)
        torch.cuda.synchronize(device)
        peaks.append(int(torch.cuda.max_memory_allocated(device)))
    per_example = max(peaks[1] - peaks[0], 1)
    return peaks[0] - per_example, per_example


def fitting_micro_batch(
    model: Any,
    rows: list[dict[str, Any]],
    collate: Callable[[list[dict[str, Any]]], dict[str, Any]],
    loss_of: Callable[[dict[str, Any]], torch.Tensor],
    *,
    batch_size: int,
    floor: int,
    dtype: torch.dtype,
    device: torch.device,
) -> tuple[int, str]:
    """The micro-batch for this job on this GPU, and a line that says how it was chosen.

    `loss_of(inputs)` is the training loss of a collated micro-batch (the fused head where the
    trainer uses it). The model's weights do not change (no optimiser step; gradients are
    dropped) and it is left in training mode."""
    model.train()
    autocast = dtype in (torch.bfloat16, torch.float16)

    def step(batch_rows: list[dict[str, Any]]) -> None:
        inputs = {k: v.to(device) for k, v in collate(batch_rows).items()}
        with torch.autocast("cuda", dtype=dtype, enabled=autocast):
            loss = loss_of(inputs)
        loss.backward()
        model.zero_grad(set_to_none=True)

    try:
        fixed, per_example = step_memory(step, rows, device)
    except torch.cuda.OutOfMemoryError:
        model.zero_grad(set_to_none=True)
        torch.cuda.empty_cache()
        return floor, f"micro-batch {floor} (two examples of the longest already fill the GPU)"
    from .adapters import count_parameters

    trainable, _ = count_parameters(model)
    fixed += 2 * 4 * trainable  # AdamW's two fp32 states, allocated at the first step
    total = torch.cuda.get_device_properties(device).total_memory
    chosen = largest_fitting(batch_size, floor, fixed, per_example, int(MEMORY_SHARE * total))
    return chosen, (
        f"micro-batch {chosen} of batch {batch_size} (auto: a step takes ~"
        f"{(fixed + chosen * per_example) / 2**30:.1f} GiB of the GPU's {total / 2**30:.0f} GiB; "
        f"{per_example / 2**20:.0f} MiB per example of the longest)"
    )
