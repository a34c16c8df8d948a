"""Measures the peak memory of real training steps of the demo model, in a fresh process.

`python -m tests.engine.peak_memory_probe '<adapter json>' MICRO_BATCH CUTOFF STEPS` prints one
JSON line: the resident memory before the model loads (`baseline_bytes`), the highest resident
memory during training (`peak_bytes`, Linux's VmHWM, reset once the model and adapter are in
memory so the load's own transient does not count), the trainable parameters and the seconds
per step. The training runs through the engine's own `train_adapter` (the job's code path:
fused head loss, sparse dropout, fp32 adapter weights), on records long enough that every
example is cut at `cutoff_len`, so each micro-batch is micro_batch x cutoff tokens.
"""

import json
import re
import sys
import tempfile
import time
from pathlib import Path


def _status(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", text).group(1)) * 1024


def main() -> None:
    adapter_json, micro, cutoff, steps = sys.argv[1], *map(int, sys.argv[2:5])
    import torch
    import transformers  # noqa: F401 - loaded before the baseline, like the job process

    from worker.engine.adapters import apply_adapter, count_parameters
    from worker.engine.config import AdapterConfig, TrainingConfig
    from worker.engine.models import load_model
    from worker.engine.training import train_adapter

    torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 2)
    baseline = _status("VmRSS")
    loaded = load_model("demo:smollm2-135m", precision="fp32", device="cpu")
    torch.manual_seed(0)
    model = apply_adapter(loaded.model, AdapterConfig.from_dict(json.loads(adapter_json)))
    trainable, total = count_parameters(model)
    # Every record runs past the cutoff, so every micro-batch is exactly micro x cutoff tokens.
    text = " ".join(f"{a} plus {a + 1} is {2 * a + 1}." for a in range(10, 10 + cutoff))
    records = [{"instruction": f"Continue {i}.", "input": "", "output": text} for i in range(64)]
    cfg = TrainingConfig(
        max_steps=steps,
        batch_size=micro,
        micro_batch_size=micro,
        cutoff_len=cutoff,
        val_set_size=0,
        warmup_steps=0,
        precision="fp32",
    )
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident size
    loaded_rss = _status("VmRSS")
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        result = train_adapter(model, loaded.tokenizer, records, [], cfg, out, learning_rate=1e-4)
        seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "baseline_bytes": baseline,
                "loaded_bytes": loaded_rss,
                "peak_bytes": _status("VmHWM"),
                "trainable_parameters": trainable,
                "total_parameters": total,
                "steps": result.steps,
                "tokens": result.tokens,
                "seconds_per_step": seconds / max(result.steps, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
