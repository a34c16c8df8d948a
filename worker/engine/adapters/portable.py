"""An adapter folder that works on another machine: the base model it names is one a user can
resolve there (not this machine's cache folder), and a README says how to load it.

peft writes `base_model_name_or_path` from the loaded model's `name_or_path`, which for the
studio's models is a local folder (the demo model's converted cache, a hub snapshot path);
`make_portable` replaces it with the reference's public name and writes README.md beside it."""

from __future__ import annotations

import json
from pathlib import Path

from ..models import DEMO_MODEL_HUB_IDS, parse_reference

_PEFT_SNIPPET = """```python
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

base = AutoModelForCausalLM.from_pretrained("{base}")
tokenizer = AutoTokenizer.from_pretrained("{base}")
model = PeftModel.from_pretrained(base, "path/to/this/folder")
```"""

_STUDIO_SNIPPET = """```python
from worker.engine.adapters import load_adapter
from worker.engine.models import load_model

loaded = load_model("{reference}")
model = load_adapter(loaded.model, "path/to/this/folder")
```"""


def portable_base_name(reference: str) -> str:
    """The name a user elsewhere resolves the base model by: the hub id of `hf:` (and of the
    demo model's original), the folder or file of `path:` / `gguf:`, the reference otherwise."""
    kind, value = parse_reference(reference)
    if kind == "hf":
        return value
    if kind == "demo":
        return DEMO_MODEL_HUB_IDS.get(value, reference)
    if kind in ("path", "gguf"):
        return value
    return reference  # tiny:<family>: built by the studio, nowhere to download it from


def make_portable(
    folder: str | Path, reference: str, *, method: str, prompt_template: str, bottleneck: bool
) -> None:
    """Rewrites the folder's adapter_config.json to name the portable base and writes README.md."""
    folder = Path(folder)
    config_path = folder / "adapter_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    base = portable_base_name(reference)
    config["base_model_name_or_path"] = base
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(
        _readme(base, reference, method, prompt_template, bottleneck), encoding="utf-8"
    )


def _readme(base: str, reference: str, method: str, template: str, bottleneck: bool) -> str:
    kind, value = parse_reference(reference)
    lines = [
        f"# {method} adapter for {base}",
        "",
        f"Trained with Adapter Studio on `{reference}`; `adapter_config.json` names the base "
        f"model as `{base}`.",
    ]
    if kind == "demo":
        lines += [
            "",
            f"The studio's demo model is `{base}` quantized to 4 bits (GGUF); the adapter loads "
            "on the original model, whose outputs differ slightly from the quantized one's.",
        ]
    if kind == "tiny":
        lines += [
            "",
            f"`{reference}` is a tiny random model the studio builds for tests "
            f"(`worker.engine.tiny.build_tiny_model('{value}')`); it is not on the hub.",
        ]
    lines += ["", "## Load it", ""]
    if bottleneck:
        lines += [
            f"{method} is one of the studio's bottleneck (series / parallel) adapters, which "
            "peft does not have: load it with the studio's engine (`pip install` the studio, "
            "or put its repository on the path):",
            "",
            _STUDIO_SNIPPET.format(reference=reference),
        ]
    else:
        lines += [
            f"{method} is a peft method: load it with peft and transformers alone.",
            "",
            _PEFT_SNIPPET.format(base=base),
        ]
    lines += [
        "",
        "## Prompts",
        "",
        f"It was trained on prompts of the studio's `{template}` template "
        "(`worker.engine.prompts.build_prompt`); prompt it the same way for the answers it "
        "learned. `studio_run.json` holds the whole job config and its results.",
        "",
    ]
    return "\n".join(lines)
