"""Several processes training one job (data parallel), launched with torchrun.

`training.processes` > 1 runs the same job in that many processes: transformers' Trainer
(through accelerate) reads torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR),
joins a process group (NCCL on GPUs, gloo on a CPU), gives each process its own share of every
optimiser step's micro-batches and all-reduces the gradients. The optimiser step stays
`batch_size` examples: each process accumulates batch_size / (micro_batch_size x processes)
micro-batches. Only the first process writes the job's files (metrics, adapter, summary).
"""

from __future__ import annotations

import os
import sys

from .errors import ConfigError


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    return rank() == 0


def in_launched_world() -> bool:
    """True inside a process that torchrun started (so it must not launch again)."""
    return "TORCHELASTIC_RUN_ID" in os.environ or "LOCAL_RANK" in os.environ


def agreed(flag: bool) -> bool:
    """True on every process when it is True on any (a stop that only the first process sees,
    such as a cancel, must end all of them at the same step, or the rest would wait forever in
    the next gradient all-reduce). Outside torchrun, `flag` itself."""
    if world_size() <= 1:
        return flag
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return flag
    device = (
        torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        if dist.get_backend() == "nccl"
        else torch.device("cpu")
    )
    vote = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
    dist.all_reduce(vote, op=dist.ReduceOp.MAX)
    return bool(vote.item())


def accumulation_steps(batch_size: int, micro_batch_size: int, processes: int) -> int:
    """Micro-batches each process accumulates per optimiser step of `batch_size` examples."""
    per_step = micro_batch_size * processes
    if batch_size % per_step:
        raise ConfigError(
            f"training.batch_size ({batch_size}) must be a multiple of training.micro_batch_size "
            f"({micro_batch_size}) x training.processes ({processes}) = {per_step}"
        )
    return batch_size // per_step


def check_devices(processes: int, cuda_devices: int) -> None:
    """A job of N processes needs N GPUs on a GPU machine (one each); a CPU runs any number."""
    if cuda_devices and processes > cuda_devices:
        raise ConfigError(
            f"training.processes is {processes} but this machine has {cuda_devices} GPU(s)"
        )


def torchrun_command(processes: int, module_args: list[str]) -> list[str]:
    """The command that runs `python -m <module_args>` in `processes` processes on this machine
    (--standalone: a rendezvous on a free local port, so two jobs never collide)."""
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
        "-m",
        *module_args,
    ]
