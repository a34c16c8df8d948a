"""A job's remaining time, evaluations included: training steps left at the measured step time
plus every evaluation example still to come at the measured evaluation speed.

Training alone reports the time its own steps need; on a CPU the evaluations a job runs (step 0,
every N steps, the end) can take as long as the training, so an ETA without them misleads.
`JobEta` wraps the job's progress callback: it counts the evaluation examples ahead from the
schedule, measures seconds per example as evaluations run, and adds the two to every step's
ETA and to the evaluation progress it reports.
"""

from __future__ import annotations

import time
from dataclasses import replace

from .progress import EvalInfo, EvalProgressInfo, ProgressCallback, StepInfo, ValidationInfo


class JobEta(ProgressCallback):
    def __init__(
        self,
        inner: ProgressCallback,
        examples_per_round: dict[str, int],
        eval_every: int | None,
        evaluate_at_start: bool,
    ) -> None:
        self.inner = inner
        self.sizes = examples_per_round
        self.eval_every = eval_every
        self.evaluate_at_start = evaluate_at_start
        self.total_steps: int | None = None
        self.train_eta: float | None = None
        self.eval_seconds = 0.0
        self.eval_examples = 0
        self._started: float | None = None
        self._done_in_round: dict[str, int] = {}
        self._round_step: int | None = None

    # --- the schedule -------------------------------------------------------------------
    def rounds_after(self, step: int) -> int:
        """Evaluation rounds after the one at `step`: every N steps below the total, the end."""
        if self.total_steps is None:
            return 1
        if not self.eval_every:
            return 1 if step < self.total_steps else 0
        later = [s for s in range(self.eval_every, self.total_steps, self.eval_every) if s > step]
        return len(later) + (1 if step < self.total_steps else 0)

    def seconds_per_example(self) -> float | None:
        return self.eval_seconds / self.eval_examples if self.eval_examples else None

    def eval_seconds_left(self, step: int, in_round_left: int) -> float | None:
        per = self.seconds_per_example()
        if per is None:
            return None
        return per * (in_round_left + self.rounds_after(step) * sum(self.sizes.values()))

    # --- hooks --------------------------------------------------------------------------
    def on_step(self, info: StepInfo) -> None:
        self.total_steps = info.total_steps
        self.train_eta = info.eta_seconds
        extra = self.eval_seconds_left(info.step, 0)
        if info.eta_seconds is not None and extra is not None:
            info = replace(info, eta_seconds=info.eta_seconds + extra)
        self.inner.on_step(info)

    def on_eval_progress(self, info: EvalProgressInfo) -> None:
        now = time.perf_counter()
        if self._round_step != info.step:
            self._round_step, self._done_in_round = info.step, {}
        before = self._done_in_round.get(info.benchmark, 0)
        if self._started is not None and info.done > before:
            self.eval_seconds += now - self._started
            self.eval_examples += info.done - before
        self._started = now
        self._done_in_round[info.benchmark] = info.done
        left = sum(n - self._done_in_round.get(b, 0) for b, n in self.sizes.items())
        evals = self.eval_seconds_left(info.step, left)
        train = self.train_eta if info.step else None
        if info.step == 0 and self.total_steps is None:
            train = None
        eta = None if evals is None else evals + (train or 0.0)
        self.inner.on_eval_progress(replace(info, eta_seconds=eta))

    def start_benchmark(self) -> None:
        """The clock of an evaluation starts when its first example does."""
        self._started = time.perf_counter()

    def on_phase(self, phase: str) -> None:
        self.inner.on_phase(phase)

    def on_eval(self, info: EvalInfo) -> None:
        self.inner.on_eval(info)

    def on_validation(self, info: ValidationInfo) -> None:
        self.inner.on_validation(info)

    def on_log(self, message: str) -> None:
        self.inner.on_log(message)

    def should_stop(self) -> bool:
        return self.inner.should_stop()
