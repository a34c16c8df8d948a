"""Export a trained adapter as a stand-alone model: merged safetensors, or GGUF for llama.cpp.

`export_adapter(source, output, "merged" | "gguf")` is the one way in (the CLI and the API call
it). `source` is a `studio train` output folder or the adapter folder inside it.

- merged: the base model with the adapter folded into its weights (peft's `merge_and_unload`),
  saved with `save_pretrained` (safetensors) and the tokenizer, so plain transformers loads it.
  Only methods whose update is a change of existing weights can be merged (the LoRA family,
  IA3, ...). Bottleneck adapters and prompt learning are refused with the reason.
- gguf: the merged model written through the `gguf` package's `GGUFWriter` (f16 or f32
  tensors), with the metadata and tokenizer that llama.cpp and transformers' GGUF loader read.
  LLaMA-architecture models only (LLaMA, SmolLM2, ...); other families get a clear refusal.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError
from .progress import ProgressCallback

log = logging.getLogger(__name__)

ExportFormat = Literal["merged", "gguf"]
EXPORT_FORMATS: tuple[str, ...] = ("merged", "gguf")
GGUF_TENSOR_TYPES: tuple[str, ...] = ("f16", "f32")
# Families whose weights map onto llama.cpp's `llama` architecture one to one.
GGUF_FAMILIES = ("llama",)

# Why a method cannot become plain weights; shown to the user as is.
_BOTTLENECK_REASON = (
    "a bottleneck adapter (series or parallel) adds new modules beside or after a sublayer: a "
    "down-projection, a non-linearity and an up-projection; the non-linearity means its effect "
    "is not a change of any existing weight matrix, so there is nothing to fold it into. Use "
    "the adapter folder with the studio (or load it with load_adapter) instead"
)
_PROMPT_LEARNING_REASON = (
    "prompt learning (prefix, P-tuning, prompt tuning) trains virtual tokens or key/value "
    "prefixes that are fed to the model with every input, not a change of its weights, so "
    "there is nothing to fold into the base model. Use the adapter folder with peft instead"
)


@dataclass
class AdapterSource:
    adapter_dir: Path
    base_model: str
    method: str


@dataclass
class ExportResult:
    format: str
    path: str  # the merged folder, or the .gguf file
    base_model: str
    method: str
    seconds: float
    size_bytes: int


def resolve_source(source: str | Path, base_model: str | None = None) -> AdapterSource:
    """Finds the adapter folder and its base model reference in a run folder or adapter folder."""
    from .adapters import read_run_metadata

    root = Path(source)
    if (root / "adapter" / "adapter_config.json").is_file():
        adapter_dir = root / "adapter"
    elif (root / "adapter_config.json").is_file():
        adapter_dir = root
    else:
        raise ConfigError(
            f"{root} is neither a `studio train` output folder nor an adapter folder "
            "(no adapter_config.json in it or in its adapter/ folder)"
        )
    meta = read_run_metadata(adapter_dir) or {}
    config = meta.get("config") or {}
    run_config = adapter_dir.parent / "config.json"
    if not config and run_config.is_file():
        config = json.loads(run_config.read_text(encoding="utf-8"))
    adapter_config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    method = (config.get("adapter") or {}).get("method") or str(
        adapter_config.get("peft_type") or adapter_config.get("method") or "unknown"
    ).lower()
    reference = base_model or meta.get("base_model") or config.get("base_model")
    if not reference:
        name = adapter_config.get("base_model_name_or_path")
        if name and (Path(name) / "config.json").is_file():
            reference = f"path:{name}"
    if not reference:
        raise ConfigError(
            f"cannot tell the base model of the adapter in {adapter_dir}; give it "
            "(--base-model hf:<id> | path:<folder> | demo:smollm2-135m | tiny:<family>)"
        )
    return AdapterSource(adapter_dir, str(reference), method)


def method_refusal(method: str) -> str | None:
    """Why adapters of `method` cannot be merged (None: they can); needs neither torch nor the
    adapter, so the API answers at once."""
    from .adapters.registry import REGISTRY

    if method not in REGISTRY.names():
        return None  # a peft method by name: peft itself says whether it merges
    spec = REGISTRY.get(method)
    if spec.kind == "bottleneck":
        return f"{method} cannot be exported as a merged model: {_BOTTLENECK_REASON}"
    if spec.is_prompt_learning:
        return f"{method} cannot be exported as a merged model: {_PROMPT_LEARNING_REASON}"
    return None


def gguf_refusal(family: str) -> str | None:
    if family in GGUF_FAMILIES:
        return None
    return (
        f"GGUF export of {family} models is not supported yet (supported: "
        f"{', '.join(GGUF_FAMILIES)}); export --format merged and convert it with "
        "llama.cpp's convert_hf_to_gguf.py"
    )


def refuse_unmergeable(adapter_dir: Path, method: str) -> None:
    """Raises ConfigError naming why when the adapter in `adapter_dir` cannot be merged."""
    from .adapters.bottleneck import is_bottleneck_folder

    if is_bottleneck_folder(adapter_dir):
        raise ConfigError(f"{method} cannot be exported as a merged model: {_BOTTLENECK_REASON}")
    from peft import PeftConfig

    config = PeftConfig.from_pretrained(str(adapter_dir))
    if config.is_prompt_learning:
        raise ConfigError(
            f"{method} cannot be exported as a merged model: {_PROMPT_LEARNING_REASON}"
        )


def merge_adapter(
    source: AdapterSource, precision: str = "auto", device: str | None = None
) -> tuple[Any, Any]:
    """(merged model, tokenizer): the base model with the adapter folded into its weights."""
    from .adapters import load_adapter
    from .models import load_model

    refuse_unmergeable(source.adapter_dir, source.method)
    loaded = load_model(source.base_model, precision, device=device)
    model: Any = load_adapter(loaded.model, source.adapter_dir)
    try:
        merged = model.merge_and_unload()
    except (AttributeError, NotImplementedError, ValueError) as e:
        raise ConfigError(
            f"{source.method} cannot be exported as a merged model: peft cannot merge it ({e})"
        ) from None
    merged.eval()
    return merged, loaded.tokenizer


def _folder_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _replace(tmp: Path, target: Path) -> None:
    """Moves a finished export into place, so a reader never sees half of one."""
    if target.exists():
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    tmp.rename(target)


def export_adapter(
    source: str | Path,
    output: str | Path,
    fmt: str,
    *,
    base_model: str | None = None,
    tensor_type: str = "f16",
    precision: str = "auto",
    device: str | None = None,
    progress: ProgressCallback | None = None,
) -> ExportResult:
    """Exports the adapter in `source` into the folder `output` (created; replaced if there).

    merged: `output` holds config.json, model.safetensors and the tokenizer files.
    gguf: `output` holds `model-<tensor_type>.gguf`."""
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(
            f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}"
        )
    if fmt == "gguf" and tensor_type not in GGUF_TENSOR_TYPES:
        raise ConfigError(
            f"unknown GGUF tensor type {tensor_type!r}; choose one of {', '.join(GGUF_TENSOR_TYPES)}"
        )
    progress = progress or ProgressCallback()
    started = time.perf_counter()
    src = resolve_source(source, base_model)
    refuse_unmergeable(src.adapter_dir, src.method)
    if fmt == "gguf":
        _refuse_unsupported_gguf(src.base_model)
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)

    progress.on_phase("loading_model")
    progress.on_log(f"merging the {src.method} adapter into {src.base_model}")
    model, tokenizer = merge_adapter(src, precision, device)
    progress.on_phase("saving")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        if fmt == "merged":
            model.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
        else:
            from .gguf_export import write_gguf

            write_gguf(model, tokenizer, tmp / f"model-{tensor_type}.gguf", tensor_type)
        _replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    path = out if fmt == "merged" else out / f"model-{tensor_type}.gguf"
    result = ExportResult(
        format=fmt,
        path=str(path),
        base_model=src.base_model,
        method=src.method,
        seconds=time.perf_counter() - started,
        size_bytes=_folder_size(path),
    )
    progress.on_log(f"exported {fmt} to {path} ({result.size_bytes / 1e6:.1f} MB)")
    return result


def _refuse_unsupported_gguf(reference: str) -> None:
    from .families import family_of
    from .models import load_model_config

    reason = gguf_refusal(family_of(load_model_config(reference)))
    if reason:
        raise ConfigError(reason)


class ExportStatusFile(ProgressCallback):
    """An export's state as one JSON file beside its output (`status.json`), rewritten whole
    at each change: the worker writes it, the API reads it (a shared folder is all they need)."""

    NAME = "status.json"

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / self.NAME

    def read(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def update(self, **fields: Any) -> dict[str, Any]:
        state = {**(self.read() or {}), **fields, "updated_at": time.time()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.NAME}.{id(self)}.tmp")
        tmp.write_text(json.dumps(state, indent=2), encoding="utf-8")
        tmp.replace(self.path)
        return state

    def on_phase(self, phase: str) -> None:
        self.update(phase=phase)

    def on_log(self, message: str) -> None:
        self.update(message=message)
