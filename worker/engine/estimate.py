"""Before launch: what a job will need (parameters, peak memory, time), for every method.

`estimate_job(settings, model_config, device)` answers from the model's config alone: the model
is built on PyTorch's meta device with the adapter on it (as the parameter count always was), and
the memory of a training step is counted from what that model is made of — the frozen weights in
their dtype, the adapter weights, gradients and AdamW's two states in float32 (training keeps
trainable weights in float32), and the activations autograd saves for the micro-batch. Time per
step is the step's floating-point work over a throughput the worker measured on its device
(`measure_device`). The model is written out, with its validation on the demo model, in
docs/estimates.md; the numbers below refer to it.

Activations, per token of the micro-batch (micro_batch_size x cutoff_len tokens, the longest
batch: it sets the peak) and per decoder layer from the first one an adapter makes trainable
(layers before it run without autograd saving anything), in the compute dtype:
  * the two norms save their inputs (2 x hidden);
  * attention saves q, k, v and its output (k and v repeated to every query head when a padding
    mask is present, which is how training batches arrive) and one float32 log-sum-exp per head;
    an eager (non-SDPA) attention also saves its (heads x sequence) probabilities;
  * the MLP saves its activation's input, output and the up projection (3 x intermediate) when it
    is gated (LLaMA), the activation's input (1 x intermediate) otherwise;
  * each adapter module what its own backward needs (the input of a LoRA A matrix — per module
    when it has dropout, with the dropout's record — the rank-sized middle, DoRA's two outputs,
    IA3's scaled vector, a bottleneck's input and middle; LoHa and LoKr also keep their
    materialised weight update, a weight-sized tensor per module and step);
  * the loss head: with the engine's fused head (head_loss.py) only the gradient of the hidden
    states (tokens x hidden) is kept, plus one chunk of float32 logits while it is computed;
    with the model's own loss (prompt-learning methods) the (tokens x vocabulary) logits, their
    log-softmax and its gradient (three float32 copies at the start of the backward).
Prompt and P-tuning lengthen every sequence by their virtual tokens; prefix tuning lengthens
the keys and values. Gradient checkpointing keeps each layer's input only, and recomputes one
layer at a time in the backward.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import JobSettings
from .cpu_attention import keeps_probabilities
from .errors import ConfigError

if TYPE_CHECKING:
    import torch
    import torch.nn as nn

log = logging.getLogger(__name__)

FP32 = 4
# A training step's FLOP rate over the matmul benchmark's. CPU: measured on the demo model (LoRA,
# 4 x 128 tokens, fp32, 2 cores: 5.5 s a step against 400 GFLOP/s matmuls); small hidden sizes,
# norms, softmax, dropout and the optimiser keep a step far below a large matmul's rate. CUDA: an
# assumption (typical bf16 fine-tuning utilisation), not yet measured here (docs/estimates.md).
STEP_EFFICIENCY = {"cpu": 0.14, "cuda": 0.4}
# Fused head (head_loss.py): a chunk's float32 logits stay under this many bytes.
_HEAD_CHUNK_BYTES = 256 * 1024 * 1024
_BENCH_SIZE = {"cpu": 1024, "cuda": 4096}
_DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class DeviceProfile:
    """A device as a worker measured it: what estimates of time and memory are relative to."""

    kind: str  # cpu | cuda
    name: str  # the CPU model or GPU name
    dtype: str  # the compute dtype training uses there by default (precision "auto")
    matmul_flops: float  # FLOP/s of a large matmul in `dtype`
    memory_bytes: int | None = None  # the device's memory (RAM for a CPU)
    runtime_bytes: int = 0  # a job process's resident memory before its model loads (CPU)
    threads: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceProfile:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class MemoryBreakdown:
    """Peak memory of a training step, in bytes, by what holds it (they add up to `total`)."""

    weights: int  # the frozen base model in its dtype (or quantized)
    adapter: int  # trainable weights, float32
    gradients: int  # their gradients, float32
    optimizer: int  # AdamW: two float32 states per trainable weight
    activations: int  # what autograd keeps for the backward, plus the loss head's peak
    runtime: int  # the process itself (interpreter, libraries) on a CPU; 0 on a GPU

    @property
    def total(self) -> int:
        return (
            self.weights
            + self.adapter
            + self.gradients
            + self.optimizer
            + self.activations
            + self.runtime
        )

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


@dataclass
class JobEstimate:
    trainable_parameters: int
    total_parameters: int
    memory: MemoryBreakdown
    device: DeviceProfile
    dtype: str  # the dtype the base model would load in
    sequence_tokens: int  # tokens per example in a step's longest micro-batch
    tokens_per_step: int  # tokens in one optimiser step (batch_size examples)
    flops_per_step: float
    seconds_per_step: float
    total_steps: int | None
    total_seconds: float | None
    notes: list[str] = field(default_factory=list)

    @property
    def trainable_percent(self) -> float:
        return 100 * self.trainable_parameters / self.total_parameters

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["memory"] = self.memory.to_dict()
        out["trainable_percent"] = self.trainable_percent
        return out


# --- the device ---------------------------------------------------------------------------------


def default_dtype(kind: str, bf16: bool = True) -> str:
    """What precision "auto" loads in on a device of this kind (models.resolve_dtype): `bf16`
    says whether the GPU supports it, or whether the CPU has bf16 units torch uses."""
    if kind == "cuda":
        return "bfloat16" if bf16 else "float16"
    return "bfloat16" if bf16 else "float32"


def resolve_dtype_name(precision: str, kind: str, default: str) -> str:
    if precision == "auto":
        return default
    return {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}[precision]


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def resident_bytes() -> int:
    """This process's resident memory now (Linux; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def matmul_flops(device: torch.device, dtype: torch.dtype, size: int, repeats: int = 3) -> float:
    """FLOP/s of a (size x size) @ (size x size) matmul: the best of `repeats` timed runs after a
    warm-up, so a busy moment costs a repeat rather than the figure."""
    import torch

    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = math.inf
    for i in range(repeats + 1):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        (a @ b).sum().item()
        seconds = time.perf_counter() - started
        if i:  # the first run warms up kernels and caches
            best = min(best, seconds)
    return 2 * size**3 / best


def _profile_cache() -> Path:
    from .models import model_cache_dir

    return model_cache_dir() / "device-profiles.json"


def measure_device(device: str | None = None, *, refresh: bool = False) -> DeviceProfile:
    """This machine's profile for `device` (default: the one training would use), kept in the
    model cache folder (per device, dtype, thread count and torch version).

    Measured on the first call; `refresh` measures again and keeps the faster figure, so a run
    measured while the machine was busy does not stand for its capacity for good."""
    import torch

    from .models import default_device

    dev = torch.device(device) if device else default_device()
    kind = dev.type
    if kind == "cuda":
        name = torch.cuda.get_device_name(dev)
        dtype_name = default_dtype(kind, torch.cuda.is_bf16_supported())
        memory: int | None = int(torch.cuda.get_device_properties(dev).total_memory)
        threads = None
    else:
        from .cpu_features import cpu_precision

        name, dtype_name, memory, threads = (
            _cpu_name(),
            default_dtype(kind, cpu_precision().bf16),
            _ram_bytes(),
            torch.get_num_threads(),
        )
    key = f"{kind}|{name}|{dtype_name}|{threads}|{torch.__version__}"
    path = _profile_cache()
    try:
        cached = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        cached = {}
    known = DeviceProfile.from_dict(cached[key]) if key in cached else None
    if known is not None and not refresh:
        return known
    flops = matmul_flops(dev, getattr(torch, dtype_name), _BENCH_SIZE[kind])
    if known is not None:
        flops = max(flops, known.matmul_flops)
    profile = DeviceProfile(
        kind=kind,
        name=name,
        dtype=dtype_name,
        matmul_flops=flops,
        memory_bytes=memory,
        runtime_bytes=resident_bytes() if kind == "cpu" else 0,
        threads=threads,
    )
    cached[key] = profile.to_dict()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cached, indent=2))
        tmp.replace(path)
    except OSError as e:  # a read-only cache only costs a re-measurement
        log.info("cannot keep the device profile in %s: %s", path, e)
    return profile


@lru_cache(maxsize=4)
def local_device_profile(device: str | None = None) -> DeviceProfile:
    """The profile of the machine this process runs on (measured once per process)."""
    return measure_device(device)


# --- the model's shape --------------------------------------------------------------------------


@dataclass
class _Shape:
    hidden: int
    intermediate: int
    attn_width: int  # query heads x head dim
    heads: int
    vocab: int
    layers: int
    gated_mlp: bool
    eager_attention: bool
    layer_linear_params: int  # weights of the linear layers in one decoder layer
    quantizable_params: int  # weights bitsandbytes would quantize (decoder linears)


def _shape(model: nn.Module, family_name: str) -> _Shape:

    from .families import FAMILIES, hidden_size_of

    config: Any = model.config
    family = FAMILIES[family_name]
    base = _base_model(model)
    layers = _get(base, family.layers)
    layer = layers[0]
    d = hidden_size_of(config)

    def out_features(word: str) -> int | None:
        path = family.linears.get(word)
        module = _get(layer, path) if path else None
        module = getattr(module, "base_layer", module)  # under an adapter
        # nn.Linear's out_features; GPT-2's Conv1D calls it nf.
        value = getattr(module, "out_features", None) or getattr(module, "nf", None)
        return int(value) if value else None

    up, heads = (
        out_features("up"),
        _first(config, ("num_attention_heads", "n_head", "num_heads"), 1),
    )
    head_dim = _first(config, ("head_dim",), d // heads) or d // heads
    per_layer = sum(
        p.numel()
        for name, p in layer.named_parameters()
        if name.endswith("weight") and p.dim() == 2 and not _is_adapter_name(name)
    )
    head = base.get_output_embeddings()
    vocab = int(getattr(head, "out_features", 0) or config.vocab_size)
    attn_impl = str(getattr(config, "_attn_implementation", "sdpa") or "sdpa")
    return _Shape(
        hidden=d,
        intermediate=up or 4 * d,
        attn_width=heads * head_dim,
        heads=heads,
        vocab=vocab,
        layers=len(layers),
        gated_mlp="gate" in family.linears,
        eager_attention=attn_impl == "eager",
        layer_linear_params=per_layer,
        quantizable_params=per_layer * len(layers),
    )


def _first(config: Any, names: tuple[str, ...], default: int) -> int:
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return default


def _get(root: Any, path: str) -> Any:
    for part in path.split("."):
        root = getattr(root, part, None)
        if root is None:
            return None
    return root


def _base_model(model: nn.Module) -> Any:
    """The transformers causal-LM model under a peft or bottleneck wrapper."""
    getter = getattr(model, "get_base_model", None)
    return getter() if callable(getter) else model


_ADAPTER_MARKERS = ("lora_", "ia3_", "hada_", "lokr_", "bottleneck_", "vera_", "prompt_encoder")


def _is_adapter_name(name: str) -> bool:
    return any(m in name for m in _ADAPTER_MARKERS)


# --- adapter modules ----------------------------------------------------------------------------


@dataclass
class _AdapterCost:
    per_token: float = 0.0  # elements saved per token, in the compute dtype
    per_token_bytes: float = 0.0  # bytes saved per token outside the compute dtype (masks)
    per_step_bytes: float = 0.0  # bytes kept per step whatever the batch (weight updates)
    first_layer: int | None = None


# Projections that read a block's middle (attention output, MLP hidden), not the block's input.
_READS_BLOCK_MIDDLE = (
    "o_proj",
    "out_proj",
    "down_proj",
    "dense",
    "dense_4h_to_h",
    "fc2",
    "fc_out",
    "c_proj",
)


def _layer_index(name: str) -> int | None:
    parts = name.split(".")
    for i, part in enumerate(parts[:-1]):
        if part in ("layers", "h", "blocks") and parts[i + 1].isdigit():
            return int(parts[i + 1])
    return None


def _dropout_p(module: Any) -> float:
    p = getattr(module, "p", 0.0)
    return float(p) if isinstance(p, int | float) else 0.0


def _adapter_costs(model: nn.Module, on_gpu: bool) -> _AdapterCost:
    """What each adapter module saves for its backward (see the module docstring)."""
    from peft.tuners.ia3.layer import IA3Layer
    from peft.tuners.loha.layer import LoHaLayer
    from peft.tuners.lokr.layer import LoKrLayer
    from peft.tuners.lora.layer import LoraLayer
    from peft.tuners.tuners_utils import BaseTunerLayer

    from .adapters.bottleneck.layer import BottleneckLayer

    cost = _AdapterCost()
    shared_inputs: set[tuple[Any, ...]] = set()

    def mask_bytes(p: float) -> float:
        # CPU: dropout.py keeps the dropped positions (int64); GPU: a bool mask.
        return (1.0 if on_gpu else 8 * p) if p > 0 else 0.0

    for name, module in model.named_modules():
        if not isinstance(module, BaseTunerLayer | BottleneckLayer):
            continue
        layer = _layer_index(name)
        if layer is not None:
            cost.first_layer = layer if cost.first_layer is None else min(cost.first_layer, layer)
        base = getattr(module, "base_layer", None)
        d_in = int(getattr(base, "in_features", 0) or getattr(module, "in_features", 0) or 0)
        d_out = int(getattr(base, "out_features", 0) or getattr(module, "out_features", 0) or 0)
        if isinstance(module, BottleneckLayer):
            down = module.bottleneck_down
            p = _dropout_p(module.bottleneck_dropout)
            cost.per_token += down.in_features + 2 * down.out_features
            cost.per_token_bytes += mask_bytes(p) * down.in_features
            if hasattr(module, "bottleneck_scale"):
                cost.per_token += down.in_features
            continue
        if isinstance(module, LoraLayer):
            for key in module.lora_A:
                p = _dropout_p(module.lora_dropout[key])
                if p > 0:
                    cost.per_token += d_in
                    cost.per_token_bytes += mask_bytes(p) * d_in
                else:
                    # Without dropout, modules reading the same input save it once
                    # (q, k and v read one tensor; gate and up another).
                    block = name.rsplit(".", 1)[0]
                    source = (layer, block, d_in, name.endswith(_READS_BLOCK_MIDDLE))
                    if source not in shared_inputs:
                        shared_inputs.add(source)
                        cost.per_token += d_in
                cost.per_token += module.r[key]
                if module.use_dora.get(key):
                    cost.per_token += 2 * d_out
            continue
        if isinstance(module, IA3Layer):
            cost.per_token += d_in if module.is_feedforward else d_out
            continue
        if isinstance(module, LoHaLayer | LoKrLayer):
            # The weight update is materialised each forward and kept for the backward
            # (LoHa: its two Hadamard factors and their product).
            copies = 3 if isinstance(module, LoHaLayer) else 2
            cost.per_step_bytes += copies * d_in * d_out * FP32
            cost.per_token += d_in
            continue
        cost.per_token += d_in  # any other tuner: at least its input
    return cost


# --- the estimate -------------------------------------------------------------------------------


def _weight_bytes(total_frozen: int, shape: _Shape, dtype_bytes: int, quantization: str) -> int:
    if quantization == "none":
        return total_frozen * dtype_bytes
    # bitsandbytes quantizes the decoder's linear weights; embeddings, head and norms stay.
    per_weight = {"8bit": 1.0 + FP32 / 4096, "4bit": 4.127 / 8}[quantization]
    quantized = min(shape.quantizable_params, total_frozen)
    return int(quantized * per_weight + (total_frozen - quantized) * dtype_bytes)


def estimate_job(
    settings: JobSettings,
    model_config: Any,
    device: DeviceProfile,
    *,
    train_examples: int | None = None,
    mean_tokens: float | None = None,
) -> JobEstimate:
    """Trainable parameters, peak memory of a training step, and time for the job `settings`
    on a model with `model_config` (a transformers config or its dict) on `device`.

    `train_examples`: examples trained on (the dataset's rows less the validation set), for the
    total time; `mean_tokens`: the dataset's mean tokens per example, for time (memory always
    assumes a full cutoff_len micro-batch). Raises ConfigError for an impossible adapter or
    setting, or when the model cannot be built without its weights.
    """
    from .adapters import build_on_meta, count_parameters
    from .adapters.registry import REGISTRY
    from .families import family_of
    from .head_loss import fused_causal_loss
    from .micro_batch import raises_micro_batch

    tcfg = settings.training
    if tcfg.batch_size % tcfg.micro_batch_size:
        raise ConfigError(
            f"training.batch_size ({tcfg.batch_size}) must be a multiple of "
            f"training.micro_batch_size ({tcfg.micro_batch_size})"
        )
    if tcfg.quantization != "none" and device.kind != "cuda":
        raise ConfigError(f"quantization {tcfg.quantization} needs a CUDA GPU (bitsandbytes)")
    if tcfg.precision == "fp16" and device.kind == "cpu":
        raise ConfigError("precision fp16 needs a GPU; use fp32 or bf16 on the CPU")
    model = build_on_meta(settings.adapter, model_config)
    if model is None:
        raise ConfigError(
            f"cannot estimate {settings.adapter.method} on this model without its weights"
        )
    trainable, total = count_parameters(model)
    family = family_of(_base_model(model))
    shape = _shape(model, family)
    spec = REGISTRY.get(settings.adapter.method)
    on_gpu = device.kind == "cuda"
    dtype = resolve_dtype_name(tcfg.precision, device.kind, device.dtype)
    a = _DTYPE_BYTES[dtype]
    notes: list[str] = []

    virtual = 0
    prefix = 0
    if spec.is_prompt_learning:
        config = getattr(model, "peft_config", {}).get("default")
        n = int(getattr(config, "num_virtual_tokens", 0) or 0)
        if str(getattr(getattr(config, "peft_type", None), "value", "")) == "PREFIX_TUNING":
            prefix = n
        else:
            virtual = n
    seq = tcfg.cutoff_len + virtual
    micro = tcfg.micro_batch_size
    if raises_micro_batch(tcfg, on_gpu, tcfg.processes):
        notes.append(
            f"for micro_batch_size {micro}; on the GPU the job raises it to fill up to 80 % "
            "of the GPU's memory (training.auto_micro_batch), which its log says"
        )
    tokens = micro * seq
    costs = _adapter_costs(model, on_gpu)
    first = 0 if spec.is_prompt_learning else (costs.first_layer or 0)
    active = shape.layers - first

    d, f, w = shape.hidden, shape.intermediate, shape.attn_width
    # What one decoder layer saves per token with the base frozen (module docstring).
    per_layer = 2 * d + 4 * w + (3 * f if shape.gated_mlp else f)
    per_layer_bytes = per_layer * a + shape.heads * FP32
    # A CPU bf16 training step's attention keeps them too, up to its cap (cpu_attention.py).
    products = not on_gpu and dtype == "bfloat16" and not prefix
    if shape.eager_attention or (products and keeps_probabilities(micro, shape.heads, seq)):
        per_layer_bytes += shape.heads * (seq + prefix) * a
    adapter_per_token = costs.per_token * a + costs.per_token_bytes
    prefix_bytes = active * 2 * prefix * w * a * micro  # longer keys and values
    if tcfg.gradient_checkpointing:
        saved = tokens * (active * d * a + per_layer_bytes + adapter_per_token / max(active, 1))
        notes.append("gradient checkpointing: one layer's activations live at a time")
    else:
        saved = tokens * (active * per_layer_bytes + adapter_per_token)
    saved += prefix_bytes + costs.per_step_bytes
    # One layer's gradients in flight during the backward.
    in_flight = tokens * (2 * d + 2 * f) * a

    fused = fused_causal_loss(model) is not None
    rows = micro * (seq - 1)
    if fused:
        chunk = min(rows, max(1, _HEAD_CHUNK_BYTES // (FP32 * shape.vocab)))
        head = rows * d * a + chunk * shape.vocab * (FP32 + (0 if a == FP32 else 2 * a))
    else:
        # Logits, their float32 log-softmax and its gradient (and a cast back in 16 bits).
        head = rows * shape.vocab * (3 * FP32 + (0 if a == FP32 else a))
        notes.append("the model's own loss: full (tokens x vocabulary) logits")
    activations = int(saved + max(head, in_flight))

    frozen = total - trainable
    memory = MemoryBreakdown(
        weights=_weight_bytes(frozen, shape, a, tcfg.quantization),
        adapter=trainable * FP32,
        gradients=trainable * FP32,
        optimizer=2 * trainable * FP32,
        activations=activations,
        runtime=device.runtime_bytes if device.kind == "cpu" else 0,
    )
    if device.memory_bytes and memory.total > device.memory_bytes:
        notes.append(
            f"needs about {memory.total / 2**30:.1f} GiB; the device has "
            f"{device.memory_bytes / 2**30:.1f} GiB"
        )

    # Time: 2 FLOPs per weight per token forward; the backward through a frozen base needs only
    # the input gradients (another 2), from the first trainable layer on; attention's two
    # (sequence x sequence) products, causal (half); the adapter's own 6 per weight per token.
    step_seq = min(seq, (mean_tokens + virtual) if mean_tokens else seq)
    step_tokens = tcfg.batch_size * step_seq
    linear = shape.layer_linear_params
    attn = 2 * 2 * w * (step_seq + prefix) / 2
    forward = step_tokens * (shape.layers * (2 * linear + attn) + 2 * d * shape.vocab)
    backward = step_tokens * (active * (2 * linear + 2 * attn) + 2 * d * shape.vocab)
    if tcfg.gradient_checkpointing:
        backward += step_tokens * active * (2 * linear + attn)
    own = 0 if spec.is_prompt_learning else 6 * trainable * step_tokens
    flops = float(forward + backward + own)
    throughput = device.matmul_flops * STEP_EFFICIENCY.get(device.kind, 0.4)
    if dtype != device.dtype:
        notes.append(f"throughput measured in {device.dtype}, the job runs in {dtype}")
    seconds = flops / throughput
    steps: int | None = None
    if tcfg.max_steps:
        steps = tcfg.max_steps
    elif train_examples is not None:
        planned = math.ceil(train_examples / tcfg.batch_size) * tcfg.epochs
        steps = max(1, math.ceil(planned)) if math.isfinite(planned) else None
    total_seconds = seconds * steps if steps is not None else None
    if total_seconds is not None and not math.isfinite(total_seconds):
        steps = total_seconds = None
    return JobEstimate(
        trainable_parameters=trainable,
        total_parameters=total,
        memory=memory,
        device=device,
        dtype=dtype,
        sequence_tokens=seq,
        tokens_per_step=int(step_tokens),
        flops_per_step=flops,
        seconds_per_step=seconds,
        total_steps=steps,
        total_seconds=total_seconds,
        notes=notes,
    )
