"""One job in a process of its own: `python -m worker.job_process JOB_ID` (or --generate ID).

Started by the Celery task; reads the job from the database, calls the engine with a progress
callback that writes to the database in batches, stores results, and sets the final state."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import time
import traceback
from dataclasses import asdict
from typing import Any

from worker.engine.progress import EvalInfo, ProgressCallback, StepInfo, ValidationInfo

log = logging.getLogger(__name__)


def parent_death_signal() -> None:
    """Runs in the child before exec: die with the worker (Linux), so no job outlives it."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class DatabaseProgress(ProgressCallback, logging.Handler):
    """Buffers steps, evals and log lines; writes them at most every `flush_s` seconds."""

    def __init__(self, settings: Any, job_id: int):
        ProgressCallback.__init__(self)
        logging.Handler.__init__(self, logging.INFO)
        self.settings, self.job_id = settings, job_id
        self.fields: dict[str, Any] = {}
        self.metrics: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.logs: list[tuple[str, str]] = []
        self.last_flush = 0.0
        self.last_cancel_check = 0.0
        self.cancelled = False
        self.parent = os.getppid()

    # logging.Handler: engine and library log lines become job log lines.
    def emit(self, record: logging.LogRecord) -> None:
        self.logs.append((record.levelname.lower(), record.getMessage()))

    def flush(self, force: bool = True) -> None:  # noqa: D401 - also logging.Handler.flush
        if not force and time.monotonic() - self.last_flush < self.settings.metric_flush_s:
            return
        from backend.app.services.job_updates import record_progress

        fields, metrics, evals, logs = self.fields, self.metrics, self.evals, self.logs
        self.fields, self.metrics, self.evals, self.logs = {}, [], [], []
        if fields or metrics or evals or logs:
            record_progress(
                self.settings, self.job_id, fields=fields, metrics=metrics, evals=evals, logs=logs
            )
        self.last_flush = time.monotonic()

    def on_phase(self, phase: str) -> None:
        self.fields["phase"] = phase
        self.logs.append(("info", f"phase: {phase}"))
        self.flush()

    def on_step(self, info: StepInfo) -> None:
        self.fields.update(
            step=info.step, total_steps=info.total_steps, eta_seconds=info.eta_seconds
        )
        if info.loss is not None or info.learning_rate is not None:
            self.metrics.append(
                {
                    "kind": "train",
                    "step": info.step,
                    "epoch": info.epoch,
                    "loss": info.loss,
                    "learning_rate": info.learning_rate,
                    "tokens_per_second": info.tokens_per_second,
                }
            )
        self.flush(force=False)

    def on_validation(self, info: ValidationInfo) -> None:
        self.metrics.append({"kind": "validation", "step": info.step, "loss": info.loss})
        self.flush(force=False)

    def on_eval(self, info: EvalInfo) -> None:
        self.evals.append(
            {
                "benchmark": info.benchmark,
                "step": info.step,
                "accuracy": info.accuracy,
                "correct": info.correct,
                "total": info.total,
                "scoring": info.extra.get("rule"),
            }
        )
        rule = info.extra.get("rule")
        self.logs.append(
            (
                "info",
                f"step {info.step}: {info.benchmark} accuracy {100 * info.accuracy:.1f} % "
                f"({info.correct}/{info.total}{f', {rule} rule' if rule else ''})",
            )
        )
        self.flush()

    def on_log(self, message: str) -> None:
        self.logs.append(("info", message))

    def should_stop(self) -> bool:
        if os.getppid() != self.parent:
            return True  # the worker is gone; stop rather than run unsupervised
        if not self.cancelled and time.monotonic() - self.last_cancel_check >= 1.0:
            from backend.app.services.job_updates import cancel_requested

            self.cancelled = cancel_requested(self.settings, self.job_id)
            self.last_cancel_check = time.monotonic()
        return self.cancelled


def run(job_id: int) -> int:
    from backend.app.core.config import settings
    from backend.app.services import job_updates
    from backend.app.services.storage import read_dataset_file
    from worker.engine.config import JobConfig
    from worker.engine.errors import ConfigError, DataError
    from worker.engine.runner import run_job

    snap = job_updates.job_snapshot(settings, job_id)
    if snap is None or snap["status"] != "running":
        return 0
    progress = DatabaseProgress(settings, job_id)
    engine_log = logging.getLogger("worker.engine")
    engine_log.setLevel(logging.INFO)
    engine_log.addHandler(progress)
    out = settings.storage_dir / snap["artifact_dir"]
    try:
        config = JobConfig.from_dict(snap["config"])
        config.evaluation.data_dir = str(settings.benchmarks_store)
        if snap["dataset_path"] is None:
            raise DataError(f"dataset {snap['dataset_id']} no longer exists")
        records = read_dataset_file(settings, snap["dataset_path"])
        summary = run_job(config, out, progress, train_records=records)
        progress.flush()
        job_updates.store_results(settings, job_id, out, asdict(summary))
        job_updates.finish(settings, job_id, summary.status)
        return 0
    except (ConfigError, DataError) as e:
        progress.flush()
        job_updates.finish(settings, job_id, "failed", str(e))
        return 0
    except Exception as e:  # noqa: BLE001 - recorded on the job, then the process fails
        progress.logs.append(("error", traceback.format_exc()))
        progress.flush()
        job_updates.finish(settings, job_id, "failed", f"{type(e).__name__}: {e}")
        return 1


def generate(generation_id: int) -> int:
    """The playground: the prompt through the base model and through the job's adapter."""
    from backend.app.core.config import settings
    from backend.app.core.db import session_scope
    from backend.app.models import Generation, Job
    from backend.app.services.job_updates import set_generation
    from worker.engine.adapters import load_adapter
    from worker.engine.config import DecodingConfig, JobConfig
    from worker.engine.evaluation import generate_batch
    from worker.engine.models import load_model
    from worker.engine.prompts import build_prompt

    with session_scope(settings.sqlalchemy_url) as s:
        gen = s.get(Generation, generation_id)
        job = s.get(Job, gen.job_id) if gen else None
        if gen is None or job is None or not job.artifact_dir:
            return 0
        prompt_text, max_new = gen.prompt, gen.max_new_tokens
        config, artifact = JobConfig.from_dict(job.config), job.artifact_dir
    set_generation(settings, generation_id, status="running")
    try:
        loaded = load_model(config.base_model, config.training.precision)
        model = load_adapter(loaded.model, settings.storage_dir / artifact / "adapter")
        model.eval()
        prompt = build_prompt(prompt_text, "", config.training.prompt_template, loaded.tokenizer)
        decoding = DecodingConfig(max_new_tokens=max_new)
        [adapted] = generate_batch(model, loaded.tokenizer, [prompt], decoding)
        with model.disable_adapter():
            [base] = generate_batch(model, loaded.tokenizer, [prompt], decoding)
    except Exception as e:  # noqa: BLE001 - shown to the user in the playground
        set_generation(settings, generation_id, status="failed", error=f"{type(e).__name__}: {e}")
        return 0
    set_generation(
        settings, generation_id, status="succeeded", base_output=base, adapter_output=adapted
    )
    return 0


def main(argv: list[str]) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if argv[:1] == ["--generate"]:
        return generate(int(argv[1]))
    return run(int(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
