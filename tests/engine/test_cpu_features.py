"""precision "auto" on a CPU: bf16 where the CPU has bf16 units torch uses, fp32 elsewhere, said
in the job's log and recorded in its summary; a bf16 run keeps adapter weights in fp32."""

import json
from pathlib import Path

import pytest
import torch

from worker.engine.config import JobConfig
from worker.engine.cpu_features import (
    cpu_flags,
    cpu_precision,
    describe_cpu,
    torch_bf16_kernels,
)
from worker.engine.estimate import measure_device
from worker.engine.models import resolve_dtype
from worker.engine.progress import ProgressCallback
from worker.engine.runner import run_job

X86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
ARM = "processor\t: 0\nFeatures\t: fp asimd bf16 sve\n"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "llm-adapters"


def test_flags_are_read_from_cpuinfo_of_both_architectures():
    assert {"avx512_bf16", "amx_bf16"} <= cpu_flags(X86)
    assert "bf16" in cpu_flags(ARM)
    assert cpu_flags("processor\t: 0\n") == set()


def test_benchmarks_name_the_cpu_and_its_bf16_units():
    line = describe_cpu("model name\t: Intel(R) Xeon(R) Platinum 8480C\n" + X86)
    assert line.startswith("Intel(R) Xeon(R) Platinum 8480C; flags avx2 avx512f")
    assert line.endswith("bf16 units: AMX and AVX-512 BF16")
    assert describe_cpu("model name\t: AMD EPYC\nflags\t: fpu avx2\n") == (
        "AMD EPYC; flags avx2; bf16 units: none"
    )
    zen5 = "cpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\nflags\t: avx2 avx512_bf16\n"
    assert describe_cpu(zen5).startswith("AMD EPYC (family 26, model 2); flags avx2 avx512_bf16")


@pytest.mark.parametrize(
    "flags, kernels, setting, bf16, says",
    [
        ({"avx2"}, True, "auto", False, "no bf16 matrix unit"),
        ({"avx2", "avx512_bf16"}, True, "auto", True, "AVX-512 BF16"),
        ({"amx_bf16", "avx512_bf16"}, True, "auto", True, "AMX and AVX-512 BF16"),
        ({"amx_bf16"}, False, "auto", False, "this torch build does not use it"),
        ({"amx_bf16"}, True, "off", False, "turned off by STUDIO_CPU_BF16=off"),
    ],
)
def test_auto_is_bf16_only_with_a_unit_torch_uses(flags, kernels, setting, bf16, says):
    choice = cpu_precision(flags, kernels, setting)
    assert choice.bf16 is bf16
    assert choice.reason.startswith("bf16" if bf16 else "fp32") and says in choice.reason


def test_this_machine_resolves_auto_by_its_own_facts(monkeypatch):
    monkeypatch.setenv("STUDIO_CPU_BF16", "auto")
    flags = cpu_flags()
    expected = bool(flags & {"amx_bf16", "avx512_bf16"}) and torch_bf16_kernels()
    cpu = torch.device("cpu")
    assert resolve_dtype("auto", cpu) == (torch.bfloat16 if expected else torch.float32)
    # The device profile the estimates read says the same dtype.
    assert measure_device("cpu").dtype == ("bfloat16" if expected else "float32")
    monkeypatch.setenv("STUDIO_CPU_BF16", "off")
    assert resolve_dtype("auto", cpu) == torch.float32
    assert resolve_dtype("bf16", cpu) == torch.bfloat16  # asked for outright: always honoured


class Logs(ProgressCallback):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def on_log(self, message: str) -> None:
        self.lines.append(message)


def _config(tmp_path: Path, method: str, precision: str) -> JobConfig:
    rows = [{"instruction": f"What is {a} + 1?", "output": f"{a + 1}"} for a in range(8)]
    data = tmp_path / "train.json"
    data.write_text(json.dumps(rows))
    return JobConfig.from_dict(
        {
            "name": method,
            "base_model": "tiny:llama",
            "dataset_path": str(data),
            "adapter": {"method": method},
            "training": {
                "max_steps": 2,
                "batch_size": 2,
                "micro_batch_size": 2,
                "warmup_steps": 0,
                "val_set_size": 0,
                "cutoff_len": 64,
                "precision": precision,
            },
            "evaluation": {
                "benchmarks": ["svamp"],
                "every_n_steps": 2,
                "max_examples": 2,
                "data_dir": str(SHARED),
                "batch_size": 2,
                "decoding": {"max_new_tokens": 4},
            },
        }
    )


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared LLM-Adapters data not present")
@pytest.mark.parametrize("method", ["lora", "series", "prefix"])
def test_a_bf16_cpu_run_trains_evaluates_and_records_its_dtype(tmp_path, method):
    logs = Logs()
    summary = run_job(_config(tmp_path, method, "bf16"), tmp_path / "run", logs)
    assert summary.status == "succeeded" and summary.dtype == "bfloat16"
    assert summary.train_loss is not None and summary.train_loss == summary.train_loss  # not NaN
    assert "svamp" in summary.accuracy
    assert "precision: bfloat16 (as configured)" in logs.lines
    stored = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert stored["dtype"] == "bfloat16"
    # The adapter (what the optimizer updated) is saved in fp32, the base stays bf16.
    from safetensors.torch import load_file

    weights = load_file(str(tmp_path / "run" / "adapter" / "adapter_model.safetensors"))
    assert weights and all(t.dtype == torch.float32 for t in weights.values())


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared LLM-Adapters data not present")
def test_auto_says_why_in_the_log(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_CPU_BF16", "off")
    logs = Logs()
    summary = run_job(_config(tmp_path, "lora", "auto"), tmp_path / "run", logs)
    assert summary.dtype == "float32"
    line = next(m for m in logs.lines if m.startswith("precision:"))
    assert line == (
        "precision: float32, auto on this CPU: fp32: bf16 turned off by STUDIO_CPU_BF16=off"
    )
