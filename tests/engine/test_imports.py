"""What the API imports from the engine loads neither torch nor transformers (an API process
should not pay for them until a request needs a model)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "peft")


def imported_after(code: str) -> dict[str, bool]:
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_config_and_adapter_validation_import_without_torch() -> None:
    loaded = imported_after(
        "import worker.engine.config, worker.engine.errors, worker.engine.families\n"
        "import worker.engine.placement, worker.engine.runner\n"
        "from worker.engine.adapters import validate_adapter, method_catalogue\n"
        "from worker.engine.adapters import catalogue, registry, spec, param_schema\n"
        "from worker.engine.adapters.bottleneck import BottleneckConfig\n"
        "from worker.engine.config import JobConfig\n"
        "JobConfig.from_dict({'base_model': 'tiny:llama', 'adapter': {'method': 'lora'}})"
    )
    assert loaded == dict.fromkeys(HEAVY, False), loaded


def test_the_probe_sees_torch_when_it_is_imported() -> None:
    # The check above could pass by never looking: here the same probe must see torch.
    loaded = imported_after("from worker.engine.adapters import BottleneckModel")
    assert loaded["torch"] is True
