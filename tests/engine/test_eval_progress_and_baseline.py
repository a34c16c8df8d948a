"""A job reports evaluation progress with an ETA that counts evaluations still to come, and
shares the step-0 evaluation of identity-at-init adapters through a BaselineStore."""

import json
from pathlib import Path

import pytest

from worker.engine.config import JobConfig
from worker.engine.eta import JobEta
from worker.engine.evaluation.shared_baseline import BaselineStore
from worker.engine.progress import EvalInfo, EvalProgressInfo, ProgressCallback, StepInfo
from worker.engine.runner import run_job

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "llm-adapters"
needs_data = pytest.mark.skipif(not SHARED.is_dir(), reason="shared LLM-Adapters data not present")


class Recorder(ProgressCallback):
    def __init__(self) -> None:
        self.progress: list[EvalProgressInfo] = []
        self.evals: list[EvalInfo] = []
        self.steps: list[StepInfo] = []
        self.logs: list[str] = []

    def on_eval_progress(self, info: EvalProgressInfo) -> None:
        self.progress.append(info)

    def on_eval(self, info: EvalInfo) -> None:
        self.evals.append(info)

    def on_step(self, info: StepInfo) -> None:
        self.steps.append(info)

    def on_log(self, message: str) -> None:
        self.logs.append(message)


def _config(tmp_path: Path, params: dict) -> JobConfig:
    rows = [
        {"instruction": f"What is {a} + 1?", "output": f"{a + 1}", "answer": str(a + 1)}
        for a in range(8)
    ]
    data = tmp_path / "train.json"
    data.write_text(json.dumps(rows))
    return JobConfig.from_dict(
        {
            "name": "tiny",
            "base_model": "tiny:llama",
            "dataset_path": str(data),
            "adapter": {"method": "lora", "placement": {"modules": ["q", "v"]}, "params": params},
            "training": {
                "max_steps": 4,
                "batch_size": 2,
                "micro_batch_size": 2,
                "warmup_steps": 0,
                "val_set_size": 0,
                "cutoff_len": 64,
                "precision": "fp32",
            },
            "evaluation": {
                "benchmarks": ["svamp", "boolq"],
                "every_n_steps": 2,
                "max_examples": 3,
                "data_dir": str(SHARED),
                "batch_size": 2,
                "decoding": {"max_new_tokens": 6},
            },
        }
    )


@needs_data
def test_eval_progress_eta_and_a_shared_baseline(tmp_path):
    store = BaselineStore(tmp_path / "baselines")
    first, second, other = Recorder(), Recorder(), Recorder()
    run_job(
        _config(tmp_path, {"r": 4}), tmp_path / "a", first, baseline_store=store, run_label="job 1"
    )
    # Progress: every example of every benchmark at every round (0, 2, end=4), counted up.
    rounds = {(p.step, p.benchmark) for p in first.progress}
    assert rounds == {(s, b) for s in (0, 2, 4) for b in ("svamp", "boolq")}
    for key in rounds:
        done = [p.done for p in first.progress if (p.step, p.benchmark) == key]
        assert done == sorted(done) and done[-1] == 3
    # The ETA counts what is left: after step 0's evaluation is measured, a step's ETA is more
    # than the training alone needs (two more rounds of 6 examples wait).
    measured = [p.eta_seconds for p in first.progress if p.eta_seconds is not None]
    assert measured and all(e >= 0 for e in measured)
    eta = JobEta(ProgressCallback(), {"svamp": 3, "boolq": 3}, 2, True)
    eta.total_steps, eta.eval_seconds, eta.eval_examples = 4, 6.0, 6
    assert eta.eval_seconds_left(1, 0) == pytest.approx(1.0 * 12)  # rounds at 2 and 4
    assert eta.eval_seconds_left(4, 2) == pytest.approx(2.0)  # the last round, 2 to go
    assert len(list((tmp_path / "baselines").glob("*.json"))) == 2  # one per benchmark

    # The same base model, examples, decoding, template, rule and precision: shared.
    run_job(
        _config(tmp_path, {"r": 8}), tmp_path / "b", second, baseline_store=store, run_label="job 2"
    )
    step0 = {e.benchmark: e for e in second.evals if e.step == 0}
    mine = {e.benchmark: e for e in first.evals if e.step == 0}
    assert {b: e.extra.get("shared_baseline") for b, e in step0.items()} == {
        "svamp": {"computed_by": "job 1"},
        "boolq": {"computed_by": "job 1"},
    }
    assert {b: e.accuracy for b, e in step0.items()} == {b: e.accuracy for b, e in mine.items()}
    assert any("shared baseline (computed by job 1)" in m for m in second.logs)
    assert all("shared_baseline" not in e.extra for e in second.evals if e.step > 0)

    # An adapter that is not the identity at init computes its own.
    run_job(
        _config(tmp_path, {"r": 4, "init_lora_weights": False}),
        tmp_path / "c",
        other,
        baseline_store=store,
        run_label="job 3",
    )
    assert all("shared_baseline" not in e.extra for e in other.evals)
