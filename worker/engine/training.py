"""Training an adapter with transformers' Trainer, reporting through a ProgressCallback.

The Trainer does the optimisation work (accumulation, warm-up, mixed precision, checkpoints,
resume, multi-GPU through accelerate/torchrun); this module configures it from the studio's
TrainingConfig and bridges its events to the engine's callback, including evaluation on
benchmarks every N steps and cancellation between steps.
"""

from __future__ import annotations

import logging
import math
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import (
    DataCollatorForSeq2Seq,
    DataCollatorWithFlattening,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)
from transformers.trainer_utils import get_last_checkpoint

from .config import TrainingConfig
from .cpu_attention import product_attention_in_steps
from .data import IGNORE_INDEX, tokenize_example
from .distributed import accumulation_steps, agreed, world_size
from .dropout import use_sparse_dropout
from .errors import ConfigError
from .head_loss import FusedCausalLoss, fused_causal_loss
from .lora_branch import fusable_layers, fused_branches
from .micro_batch import fitting_micro_batch, raises_micro_batch
from .progress import EvalInfo, ProgressCallback, StepInfo, ValidationInfo
from .schedule import total_steps, warmup_steps

log = logging.getLogger(__name__)

# Families whose attention derives positions from the attention mask (BLOOM's ALiBi, OPT's
# learned positions): a packed row, which has no mask, lets its examples attend to each other.
_NO_PACKING_MODEL_TYPES = frozenset({"bloom", "opt"})

# Called with (model, step); returns the accuracy of each benchmark at that step.
EvaluateFn = Callable[[Any, int], list[EvalInfo]]


@dataclass
class TrainResult:
    steps: int
    total_steps: int
    train_loss: float | None
    seconds: float
    tokens: int
    tokens_per_second: float
    stopped_early: bool
    peak_memory_bytes: int
    train_seconds: float = 0.0  # training steps only (evaluations excluded)
    evals: list[EvalInfo] = field(default_factory=list)
    micro_batch_size: int = 0  # what the steps ran with (auto_micro_batch may raise it on a GPU)


class _RightPaddingCollator:
    """Pads a micro-batch on the right (training) whatever side the tokenizer generates with."""

    def __init__(self, tokenizer: Any, packing: bool):
        self.tokenizer = tokenizer
        if packing:
            # Padding-free: one row per micro-batch, position ids restart per example so
            # attention does not cross example boundaries.
            self.inner: Any = DataCollatorWithFlattening(separator_id=IGNORE_INDEX)
        else:
            self.inner = DataCollatorForSeq2Seq(
                tokenizer, padding=True, pad_to_multiple_of=8, label_pad_token_id=IGNORE_INDEX
            )

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        side = self.tokenizer.padding_side
        self.tokenizer.padding_side = "right"
        try:
            return self.inner(features)
        finally:
            self.tokenizer.padding_side = side


class _Bridge(TrainerCallback):
    """Turns Trainer events into the engine's progress calls."""

    def __init__(
        self,
        progress: ProgressCallback,
        evaluate: EvaluateFn | None,
        eval_every: int | None,
    ):
        self.progress = progress
        self.tokens = 0  # real (non-pad) tokens trained on, counted by StudioTrainer
        self.evaluate = evaluate
        self.eval_every = eval_every
        self.evals: list[EvalInfo] = []
        self.stopped = False
        self.train_seconds = 0.0  # excludes time spent evaluating, for a truthful ETA
        self._mark = 0.0
        self._tokens_at_start = 0
        self._last_loss: float | None = None
        self._last_lr: float | None = None
        self._pending: StepInfo | None = None  # the step awaiting its logged loss

    def _run_eval(self, model: Any, step: int) -> None:
        if self.evaluate is None:
            return
        self.progress.on_phase("evaluating")
        for info in self.evaluate(model, step):
            self.evals.append(info)
            self.progress.on_eval(info)
        self.progress.on_phase("training")

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        model: Any = None,
        **kwargs: Any,
    ) -> None:
        self.progress.on_phase("training")
        self._tokens_at_start = self.tokens
        # A job cancelled while its model loaded skips the evaluation before training (the
        # Trainer stops it at the first step).
        if state.global_step == 0 and self.eval_every and not self.progress.should_stop():
            self._run_eval(model, 0)
        self._mark = time.perf_counter()

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        logs = logs or {}
        if "loss" in logs:
            self._last_loss = float(logs["loss"])
            self._last_lr = float(logs.get("learning_rate", 0.0))
        if "eval_loss" in logs:
            self.progress.on_validation(ValidationInfo(state.global_step, float(logs["eval_loss"])))

    def on_step_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        model: Any = None,
        **kwargs: Any,
    ) -> None:
        now = time.perf_counter()
        self.train_seconds += now - self._mark
        step, total = state.global_step, state.max_steps
        tokens = self.tokens - self._tokens_at_start
        info = StepInfo(
            step=step,
            total_steps=total,
            epoch=float(state.epoch or 0.0),
            learning_rate=None,
            tokens_per_second=tokens / self.train_seconds if self.train_seconds else None,
            eta_seconds=self.train_seconds / step * (total - step) if step else None,
            elapsed_seconds=self.train_seconds,
        )
        self._pending = info
        if self.eval_every and step % self.eval_every == 0 and step < total:
            self._run_eval(model, step)
        if agreed(self.progress.should_stop()):  # under torchrun: all processes stop together
            self.stopped = True
            control.should_training_stop = True
            self.progress.on_log(f"stop requested: training ends at step {step}")
        self._mark = time.perf_counter()

    def on_substep_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        # Between micro-batches only a lone process may stop (several stop at a step's end).
        if world_size() == 1 and self.progress.should_stop():
            self.stopped = True
            control.should_training_stop = True

    def flush_step(self) -> None:
        """Emits the step reported last, with the loss the Trainer logged for it."""
        info = self._pending
        if info is not None:
            info.loss = self._last_loss
            info.learning_rate = self._last_lr
            self.progress.on_step(info)
            self._pending = None


class _LogThenReport(TrainerCallback):
    """Registered after the bridge so a step is reported once its loss has been logged."""

    def __init__(self, bridge: _Bridge) -> None:
        self.bridge = bridge

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not control.should_log:
            self.bridge.flush_step()

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        if logs and "loss" in logs:
            self.bridge.flush_step()


def _is_adapter_wrapper(model: Any) -> bool:
    """Our bottleneck wrapper: not a PreTrainedModel or PeftModel, but saves like one."""
    from peft import PeftModel
    from transformers import PreTrainedModel

    return not isinstance(model, PreTrainedModel | PeftModel) and hasattr(model, "save_pretrained")


class StudioTrainer(Trainer):
    """Saves and restores only the adapter of models the Trainer does not know (bottleneck
    adapters), so a checkpoint holds megabytes, not the whole base model; counts the real
    tokens of each training micro-batch for the throughput figure; computes the training loss
    with the fused head where it equals the model's own (head_loss.py)."""

    bridge: _Bridge | None = None
    fused_loss: FusedCausalLoss | None = None
    # peft layers whose input cast is skipped during a mixed-precision training step.
    uncast_layers: tuple[Any, ...] = ()
    # peft LoRA layers whose branch runs as one autograd step during a CPU training step.
    fused_lora_layers: tuple[Any, ...] = ()
    # Attention as two bf16 products in CPU bf16 training steps (cpu_attention.py).
    product_attention: bool = False

    def compute_loss(
        self,
        model: Any,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> Any:
        fused = self.fused_loss
        if (
            fused is None
            or return_outputs  # evaluation wants the logits
            or not model.training
            or "labels" not in inputs
            # A DDP-wrapped model must run its own forward to sync gradients.
            or self.accelerator.num_processes != 1
        ):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        # The prepared model's forward runs under the mixed-precision autocast; so does this.
        with self.accelerator.autocast():
            # Normalised as the Trainer expects the model's loss to be (see training_step).
            count = num_items_in_batch if self.model_accepts_loss_kwargs else None
            return fused(inputs, count)

    def training_step(
        self,
        model: Any,
        inputs: dict[str, Any],
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor:
        if self.bridge is not None:
            mask = inputs.get("attention_mask")
            self.bridge.tokens += (
                int(mask.sum()) if mask is not None else inputs["input_ids"].numel()
            )
        # Under autocast, peft would copy every adapter layer's bf16 input to the adapter's fp32
        # only for autocast to copy it back for the matmul (~4 % of a CPU bf16 LoRA step). Only
        # here: outside autocast (evaluation hooks, inference) the cast is what makes dtypes match.
        # peft.helpers.disable_input_dtype_casting does this by walking every module twice per
        # call; the layers are listed once in train_adapter instead.
        for layer in self.uncast_layers:
            layer.cast_input_dtype_enabled = False
        try:
            with (
                fused_branches(self.fused_lora_layers),
                product_attention_in_steps(self.product_attention),
            ):
                return super().training_step(model, inputs, num_items_in_batch)
        finally:
            for layer in self.uncast_layers:
                layer.cast_input_dtype_enabled = True

    def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
        model: Any = self.model
        if _is_adapter_wrapper(model):
            out = Path(output_dir or str(self.args.output_dir))  # the Trainer always has one
            out.mkdir(parents=True, exist_ok=True)
            model.save_pretrained(out)
            return
        super()._save(output_dir, state_dict)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
        target: Any = model if model is not None else self.model
        if _is_adapter_wrapper(target):
            from .adapters import load_adapter_weights

            load_adapter_weights(target, resume_from_checkpoint)
            return
        super()._load_from_checkpoint(resume_from_checkpoint, model)


def _training_arguments(
    cfg: TrainingConfig,
    output_dir: Path,
    *,
    learning_rate: float,
    dtype: torch.dtype,
    device: torch.device,
    has_validation: bool,
    eval_every: int | None,
    training_rows: int,
) -> TrainingArguments:
    if cfg.batch_size % cfg.micro_batch_size:
        raise ConfigError(
            f"training.batch_size ({cfg.batch_size}) must be a multiple of "
            f"training.micro_batch_size ({cfg.micro_batch_size})"
        )
    # Under torchrun each process takes its share of a step's micro-batches (distributed.py).
    accumulation = accumulation_steps(cfg.batch_size, cfg.micro_batch_size, world_size())
    on_gpu = device.type == "cuda"
    save_steps = cfg.save_steps or 0
    save = save_steps > 0
    return TrainingArguments(
        output_dir=str(output_dir / "checkpoints"),
        per_device_train_batch_size=cfg.micro_batch_size,
        per_device_eval_batch_size=cfg.micro_batch_size,
        gradient_accumulation_steps=accumulation,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps if cfg.max_steps else -1,
        learning_rate=learning_rate,
        # An integer: the Trainer reads a float below 1 as a ratio of its own.
        warmup_steps=warmup_steps(cfg, total_steps(training_rows, cfg)),
        lr_scheduler_type=cfg.lr_scheduler,
        weight_decay=cfg.weight_decay,
        logging_steps=cfg.logging_steps,
        save_strategy="steps" if save else "no",
        save_steps=save_steps if save else 500,
        save_total_limit=3 if save else None,
        eval_strategy="steps" if has_validation and eval_every else "no",
        eval_steps=eval_every,
        seed=cfg.seed,
        data_seed=cfg.seed,
        # bf16 autocast on a CPU too: the base computes in bf16, the fp32 adapter weights and
        # optimizer state stay fp32 (models.resolve_dtype picks bf16 only where that is fast).
        bf16=dtype == torch.bfloat16,
        fp16=on_gpu and dtype == torch.float16,
        use_cpu=not on_gpu,
        # Batches of similar length waste little on padding (the seed recipe pads at random).
        train_sampling_strategy="sequential" if cfg.packing else "group_by_length",
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        # Said outright: the Trainer guesses it from forward()'s signature, which a wrapper hides.
        label_names=["labels"],
        dataloader_num_workers=0,
        optim="adamw_torch_fused" if on_gpu else "adamw_torch",
        # Every trainable weight takes part in every step: no search for unused ones per step.
        ddp_find_unused_parameters=False,
    )


def tokenize_records(
    records: list[dict[str, str]], tokenizer: Any, cfg: TrainingConfig
) -> list[dict[str, list[int]]]:
    rows = [
        tokenize_example(
            r,
            tokenizer,
            cutoff_len=cfg.cutoff_len,
            train_on_inputs=cfg.train_on_inputs,
            template=cfg.prompt_template,
        )
        for r in records
    ]
    # An example whose answer was cut away entirely teaches nothing and yields a NaN loss.
    return [r for r in rows if any(label != IGNORE_INDEX for label in r["labels"])]


# glibc's M_MMAP_THRESHOLD for a CPU job: blocks at least this large get their own mapping. Fixed,
# because glibc otherwise raises it as large blocks are freed and the heap's kept fragments then
# grow the resident memory step after step; at 32 MiB only the big blocks (LM-head chunks, large
# batches' activations) are mapped. 128 KiB (every activation mapped) held the peak ~20 % lower
# but made a demo LoRA step ~1.6x slower: each mapping's pages are faulted in and zeroed again
# (sys time 4 s -> 50 s over 32 examples; docs/training.md).
MMAP_THRESHOLD_SETTING = "STUDIO_CPU_MMAP_THRESHOLD"
DEFAULT_MMAP_THRESHOLD = 32 * 2**20


def mmap_threshold() -> int:
    raw = os.environ.get(MMAP_THRESHOLD_SETTING, "").strip()
    if not raw:
        return DEFAULT_MMAP_THRESHOLD
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"{MMAP_THRESHOLD_SETTING}={raw!r}: give a size in bytes, e.g. {DEFAULT_MMAP_THRESHOLD}"
        ) from None
    if not 4096 <= value <= 2**30:
        raise ConfigError(f"{MMAP_THRESHOLD_SETTING}={value}: give 4096 to 1073741824 bytes")
    return value


def fix_the_mmap_threshold(threshold: int | None = None) -> bool:
    """On a CPU, serves every allocation of `threshold` bytes or more (default: the setting above)
    from its own mapping, returned to the system when the tensor dies (glibc's mallopt).

    With glibc's moving threshold, the demo model's LoRA peak grew 1.99 -> 2.44 -> 2.57 GiB over
    three steps while the live tensors never passed 0.98 GiB (docs/estimates.md). Returns whether
    the setting took (glibc only)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(-3, mmap_threshold() if threshold is None else threshold))


def peak_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def train_adapter(
    model: Any,
    tokenizer: Any,
    train_records: list[dict[str, str]],
    val_records: list[dict[str, str]],
    cfg: TrainingConfig,
    output_dir: str | Path,
    *,
    learning_rate: float,
    progress: ProgressCallback | None = None,
    evaluate: EvaluateFn | None = None,
    eval_every: int | None = None,
) -> TrainResult:
    """Trains the adapter already injected into `model`. Checkpoints go to output_dir/checkpoints."""
    progress = progress or ProgressCallback()
    output_dir = Path(output_dir)
    device = next(model.parameters()).device
    dtype = next(p for p in model.parameters() if not p.requires_grad).dtype

    progress.on_phase("preparing_data")
    if device.type == "cpu":
        fix_the_mmap_threshold()
    train_rows = tokenize_records(train_records, tokenizer, cfg)
    val_rows = tokenize_records(val_records, tokenizer, cfg)
    if not train_rows:
        raise ConfigError(
            "no training example has an answer within cutoff_len; raise training.cutoff_len"
        )

    # Same mask distribution as nn.Dropout, far fewer random draws on a CPU (dropout.py).
    swapped = use_sparse_dropout(model)
    if swapped:
        log.debug("%d dropout modules draw only their dropped positions", swapped)
    # Trainable weights in fp32 keep mixed-precision updates stable (the base stays low-precision).
    for p in model.parameters():
        if p.requires_grad and p.dtype != torch.float32:
            p.data = p.data.float()
    base = getattr(model, "get_base_model", lambda: model)()
    if cfg.packing and getattr(base.config, "model_type", None) in _NO_PACKING_MODEL_TYPES:
        raise ConfigError(
            f"training.packing does not work with {base.config.model_type} models: their "
            "attention takes positions from the padding mask, so packed examples would see "
            "each other; set training.packing to false"
        )
    # A training forward never reuses keys and values; and transformers only separates packed
    # examples (position ids restarting, no attention mask) when no KV cache is passed.
    use_cache = getattr(base.config, "use_cache", None)
    base.config.use_cache = False
    if cfg.gradient_checkpointing:
        # Non-reentrant checkpointing needs no input grads, so frozen embeddings are fine.
        if hasattr(base, "activation_checkpointing_enable"):
            base.activation_checkpointing_enable({"use_reentrant": False})
        else:
            base.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False}
            )

    collator = _RightPaddingCollator(tokenizer, cfg.packing)
    fused_loss = fused_causal_loss(model)
    if raises_micro_batch(cfg, device.type == "cuda", world_size()):

        def loss_of(inputs: dict[str, Any]) -> torch.Tensor:
            return fused_loss(inputs, None) if fused_loss is not None else model(**inputs).loss

        micro, how = fitting_micro_batch(
            model,
            train_rows,
            collator,
            loss_of,
            batch_size=cfg.batch_size,
            floor=cfg.micro_batch_size,
            dtype=dtype if dtype in (torch.bfloat16, torch.float16) else torch.float32,
            device=device,
        )
        progress.on_log(how)
        cfg = cfg.model_copy(update={"micro_batch_size": micro})
    args = _training_arguments(
        cfg,
        output_dir,
        learning_rate=learning_rate,
        dtype=dtype,
        device=device,
        has_validation=bool(val_rows),
        eval_every=eval_every,
        training_rows=len(train_rows),
    )
    bridge = _Bridge(progress, evaluate, eval_every)
    trainer = StudioTrainer(
        model=model,
        args=args,
        train_dataset=train_rows,
        eval_dataset=val_rows or None,
        data_collator=collator,
        callbacks=[bridge, _LogThenReport(bridge)],
    )
    trainer.bridge = bridge
    trainer.fused_loss = fused_loss
    if args.bf16 or args.fp16:  # the steps run under autocast (not so a quantized base's)
        trainer.uncast_layers = tuple(
            m for m in model.modules() if getattr(m, "cast_input_dtype_enabled", None) is True
        )
    if device.type == "cpu":
        # Dropout and scaling applied to the rank-r intermediate, not the full width (lora_branch.py).
        trainer.fused_lora_layers = fusable_layers(model)
        trainer.product_attention = dtype == torch.bfloat16
    # The engine reports through its own callback; the Trainer's printer would write log dicts to stdout.
    trainer.remove_callback(PrinterCallback)
    resume = None
    if cfg.resume:
        checkpoints = str(args.output_dir)  # always set, by _training_arguments
        resume = get_last_checkpoint(checkpoints) if Path(checkpoints).is_dir() else None
        if resume:
            progress.on_log(f"resuming from {resume}")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=resume)
    seconds = time.perf_counter() - started
    bridge.flush_step()
    already = eval_every and trainer.state.global_step % eval_every == 0
    if val_rows and not bridge.stopped and not already:
        trainer.evaluate()  # reported through the bridge's on_log
    if cfg.gradient_checkpointing:
        disable = (
            getattr(base, "activation_checkpointing_disable", None)
            or base.gradient_checkpointing_disable
        )
        disable()
    base.config.use_cache = use_cache
    model.eval()
    tokens = bridge.tokens
    loss = (
        output.training_loss
        if output.training_loss and not math.isnan(output.training_loss)
        else None
    )
    return TrainResult(
        steps=trainer.state.global_step,
        total_steps=trainer.state.max_steps,
        train_loss=loss,
        seconds=seconds,
        tokens=tokens,
        tokens_per_second=tokens / bridge.train_seconds if bridge.train_seconds else 0.0,
        stopped_early=bridge.stopped,
        peak_memory_bytes=peak_memory_bytes(device),
        train_seconds=bridge.train_seconds,
        evals=bridge.evals,
        micro_batch_size=cfg.micro_batch_size,
    )
