"""How a training config meets a data set: held-out rows, optimiser steps, warm-up.

One definition for the runner (which split and warm-up it trains with) and for the New job
form (which shows the plan before anything runs): the validation size and the warm-up are
fractions by default, each capped, so the same defaults fit 64 rows and 100,000.

The step arithmetic is the transformers Trainer's: batches of `micro_batch_size` (the last one
partial), `batch_size / micro_batch_size` of them per optimiser step (a partial last group
still steps), at least one step per epoch, `ceil(epochs * steps_per_epoch)` in all unless
`max_steps` is set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .config import VAL_SET_CAP, WARMUP_CAP, TrainingConfig

# Fewer optimiser steps than this and an adapter barely moves from its initialisation.
FEW_STEPS = 10


def validation_size(val_set_size: float, rows: int) -> int:
    """Records held out of `rows`: a fraction (< 1) of them capped at VAL_SET_CAP, or a count;
    at most half of the data (split_validation's rule)."""
    fraction = val_set_size < 1
    wanted = min(round(val_set_size * rows), VAL_SET_CAP) if fraction else int(val_set_size)
    return max(0, min(wanted, rows // 2))


def steps_per_epoch(training_rows: int, cfg: TrainingConfig) -> int:
    if training_rows <= 0:
        return 0
    batches = math.ceil(training_rows / cfg.micro_batch_size)
    accumulation = max(cfg.batch_size // cfg.micro_batch_size, 1)
    return max(math.ceil(batches / accumulation), 1)


def total_steps(training_rows: int, cfg: TrainingConfig) -> int:
    if training_rows <= 0:
        return 0
    if cfg.max_steps:
        return cfg.max_steps
    return math.ceil(cfg.epochs * steps_per_epoch(training_rows, cfg))


def warmup_steps(cfg: TrainingConfig, steps: int) -> int:
    """`warmup_steps` when set (as given, the paper's way); else `warmup_ratio` of the total,
    rounded up and capped at WARMUP_CAP."""
    if cfg.warmup_steps is not None:
        return cfg.warmup_steps
    return min(math.ceil(cfg.warmup_ratio * steps), WARMUP_CAP)


@dataclass(frozen=True)
class TrainingPlan:
    rows: int  # records in the data set
    validation_rows: int
    training_rows: int
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int
    # The fraction of the peak learning rate the schedule reaches (1.0 unless warm-up is at
    # least as long as training: a linear warm-up of W steps reaches (T - 1) / W by step T).
    peak_fraction: float
    warnings: list[str] = field(default_factory=list)


def plan_training(rows: int, cfg: TrainingConfig) -> TrainingPlan:
    """What training `rows` records with `cfg` will do, and what in it is likely a mistake."""
    held = validation_size(cfg.val_set_size, rows)
    train = rows - held
    per_epoch = steps_per_epoch(train, cfg)
    steps = total_steps(train, cfg)
    warmup = warmup_steps(cfg, steps)
    peak = 1.0 if warmup < steps or warmup == 0 else max(steps - 1, 0) / warmup
    warnings = []
    if train <= 0:
        warnings.append("no rows are left for training")
    elif steps < FEW_STEPS:
        warnings.append(
            f"only {steps} optimiser step{'s' if steps != 1 else ''}: too few for the adapter "
            "to learn much (lower batch_size or raise epochs)"
        )
    if steps and warmup >= steps:
        warnings.append(
            f"warm-up ({warmup} steps) is as long as training ({steps} steps): the learning "
            f"rate never reaches its peak (it stops at {100 * peak:.0f} % of it)"
        )
    elif steps and warmup > steps / 2:
        warnings.append(
            f"warm-up ({warmup} steps) takes more than half of training ({steps} steps)"
        )
    if train and cfg.batch_size > train:
        warnings.append(
            f"batch_size ({cfg.batch_size}) is larger than the {train} training rows: every "
            "step sees the whole set"
        )
    return TrainingPlan(rows, held, train, per_epoch, steps, warmup, peak, warnings)
