"""`training.processes`: a job trained by 2 processes (torchrun, gloo on the CPU) follows the
same loss curve as the same job in one process, at the same effective batch.

Both runs see the same examples in every optimiser step (the Trainer's sampler is seeded; with 2
processes each takes alternate micro-batches of the same order, accumulating half as many), and
the gradients are the same sums, added in another order (the all-reduce adds the two processes'
partial sums). In fp32 that reorders roundings of ~1e-7 relative; four AdamW steps carry them into
the weights without growing them much, so the logged losses agree to 1e-4 relative, while one
different example in a step of 8 moves a random tiny model's loss by far more (~1e-2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from worker.engine.config import TrainingConfig
from worker.engine.distributed import accumulation_steps, check_devices, torchrun_command
from worker.engine.errors import ConfigError

RECORDS = [
    {"instruction": f"What is {a} plus {b}?", "input": "", "output": f"The answer is {a + b}."}
    for a in range(6)
    for b in range(6)
]


def _config(processes: int) -> dict:
    return {
        "name": f"ddp-{processes}",
        "base_model": "tiny:llama",
        "adapter": {
            "method": "lora",
            "placement": {"modules": ["q", "v", "down"]},
            "params": {"r": 4, "alpha": 8, "dropout": 0.0},
        },
        "training": {
            "epochs": 1,
            "max_steps": 4,
            "batch_size": 8,
            "micro_batch_size": 2,
            "warmup_steps": 0,
            "val_set_size": 0,
            "learning_rate": 1e-2,
            "seed": 7,
            "precision": "fp32",
            "processes": processes,
        },
    }


def _train(tmp_path, processes: int) -> tuple[list[float], str]:
    data = tmp_path / "data.json"
    data.write_text(json.dumps(RECORDS))
    cfg = tmp_path / f"job-{processes}.json"
    cfg.write_text(json.dumps(_config(processes)))
    out = tmp_path / f"out-{processes}"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "worker.cli",
            "train",
            str(cfg),
            "--output",
            str(out),
            "--dataset",
            str(data),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert (out / "adapter" / "adapter_config.json").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 4
    return [s["loss"] for s in steps if s["type"] == "step"], done.stderr


def test_two_processes_follow_the_one_process_loss_curve(tmp_path):
    one, _ = _train(tmp_path, 1)
    two, log = _train(tmp_path, 2)
    assert "training in 2 processes" in log
    assert len(one) == len(two) == 4
    assert two == pytest.approx(one, rel=1e-4)
    assert one[0] != pytest.approx(one[-1], rel=1e-3)  # the curve moves: steps did train


def test_accumulation_keeps_the_effective_batch():
    assert accumulation_steps(16, 4, 1) == 4
    assert accumulation_steps(16, 4, 2) == 2
    with pytest.raises(
        ConfigError, match=r"multiple of training.micro_batch_size \(4\) x training.processes \(3\)"
    ):
        accumulation_steps(16, 4, 3)


def test_processes_bounds_and_devices():
    assert TrainingConfig().processes == 1
    with pytest.raises(Exception, match="processes"):
        TrainingConfig(processes=0)
    check_devices(4, 0)  # a CPU runs any number
    with pytest.raises(ConfigError, match="training.processes is 2 but this machine has 1 GPU"):
        check_devices(2, 1)
    cmd = torchrun_command(2, ["worker.cli", "train", "x.json"])
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def test_run_job_refuses_a_process_count_it_was_not_started_with(tmp_path):
    from worker.engine.config import JobConfig
    from worker.engine.runner import run_job

    config = JobConfig.from_dict({**_config(2), "dataset_path": str(tmp_path / "none.json")})
    with pytest.raises(ConfigError, match="training.processes is 2 but this run has 1 process"):
        run_job(config, tmp_path / "out")
