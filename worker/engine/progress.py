"""How the engine reports progress: one callback object, the same in a test, the CLI and a worker.

The engine calls these methods; callers subclass `ProgressCallback` and override what they need.
`should_stop` is asked at every optimisation step so a job can be cancelled between steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class StepInfo:
    step: int
    total_steps: int
    epoch: float
    loss: float | None = None
    learning_rate: float | None = None
    tokens_per_second: float | None = None
    eta_seconds: float | None = None
    elapsed_seconds: float = 0.0

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps if self.total_steps else 0.0


@dataclass
class EvalInfo:
    """Accuracy of one benchmark at one training step (step 0 = before training)."""

    step: int
    benchmark: str
    accuracy: float
    correct: int
    total: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalProgressInfo:
    """Examples done of one benchmark's evaluation at one training step, and the job's ETA
    counting the rest of training and every evaluation still to come (None until measured)."""

    step: int
    benchmark: str
    done: int
    total: int
    eta_seconds: float | None = None


class ProgressCallback:
    """Base class: every hook is optional."""

    def on_phase(self, phase: str) -> None:
        """Phase names: loading_model, preparing_data, training, evaluating, saving."""

    def on_step(self, info: StepInfo) -> None:
        pass

    def on_eval(self, info: EvalInfo) -> None:
        pass

    def on_validation(self, info: ValidationInfo) -> None:
        pass

    def on_eval_progress(self, info: EvalProgressInfo) -> None:
        """Called as examples of an evaluation finish (often: keep it cheap)."""

    def on_log(self, message: str) -> None:
        pass

    def on_parameters(self, trainable: int, total: int) -> None:
        """The adapter is on the model: its trainable and the model's total parameter counts
        (told before training starts, so a dashboard need not wait for the end)."""

    def should_stop(self) -> bool:
        return False


class CallbackList(ProgressCallback):
    """Fans every hook out to several callbacks; stops when any of them asks to."""

    def __init__(self, callbacks: list[ProgressCallback]):
        self.callbacks = [c for c in callbacks if c is not None]

    def on_phase(self, phase: str) -> None:
        for c in self.callbacks:
            c.on_phase(phase)

    def on_step(self, info: StepInfo) -> None:
        for c in self.callbacks:
            c.on_step(info)

    def on_eval(self, info: EvalInfo) -> None:
        for c in self.callbacks:
            c.on_eval(info)

    def on_validation(self, info: ValidationInfo) -> None:
        for c in self.callbacks:
            c.on_validation(info)

    def on_eval_progress(self, info: EvalProgressInfo) -> None:
        for c in self.callbacks:
            c.on_eval_progress(info)

    def on_log(self, message: str) -> None:
        for c in self.callbacks:
            c.on_log(message)

    def on_parameters(self, trainable: int, total: int) -> None:
        for c in self.callbacks:
            c.on_parameters(trainable, total)

    def should_stop(self) -> bool:
        return any(c.should_stop() for c in self.callbacks)


@dataclass
class ValidationInfo:
    """Loss on the held-out validation split at one step."""

    step: int
    loss: float
