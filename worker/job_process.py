"""One job in a process of its own: `python -m worker.job_process JOB_ID` (or --export
JOB_ID FORMAT).

Started by the Celery task; reads the job from the database, calls the engine with a progress
callback that writes to the database in batches, stores results, and sets the final state."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.app.core.db_outage import Backoff, database_unavailable, retry_while_unavailable
from worker.engine import distributed
from worker.engine.progress import (
    EvalInfo,
    EvalProgressInfo,
    ProgressCallback,
    StepInfo,
    ValidationInfo,
)
from worker.progress_journal import JOURNAL_NAME, ProgressJournal, merge_progress, replay

if TYPE_CHECKING:
    from worker.engine.tracking import TrackingSettings

log = logging.getLogger(__name__)


def parent_death_signal() -> None:
    """Runs in the child before exec: die with the worker (Linux), so no job outlives it."""
    with contextlib.suppress(OSError):  # not Linux: the job then relies on the reaper
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class DatabaseProgress(ProgressCallback, logging.Handler):
    """Buffers steps, evals and log lines; writes them at most every `flush_s` seconds.

    The database may be down for a while: training goes on. Each batch goes to the journal
    first, then to the database; a batch the database refused stays buffered (and journaled)
    and is retried with backoff, all buffered batches together in one write."""

    def __init__(self, settings: Any, job_id: int, journal: ProgressJournal | None = None):
        ProgressCallback.__init__(self)
        logging.Handler.__init__(self, logging.INFO)
        self.settings, self.job_id, self.journal = settings, job_id, journal
        self.fields: dict[str, Any] = {}
        self.metrics: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.logs: list[tuple[str, str]] = []
        self.unwritten: list[tuple[int, dict[str, Any]]] = []  # (journal seq, batch)
        self.outage_since: float | None = None
        self.retry_at = 0.0
        self.backoff = Backoff()
        self.last_flush = 0.0
        self.last_cancel_check = 0.0
        self.cancelled = False
        self.parent = os.getppid()
        # The mean training loss so far, over steps (the Trainer's own figure at the end), so the
        # job page shows one from the first logged step on.
        self.loss_sum = 0.0
        self.loss_steps = 0
        self.last_loss_step = 0

    # logging.Handler: engine and library log lines become job log lines.
    def emit(self, record: logging.LogRecord) -> None:
        self.logs.append((record.levelname.lower(), record.getMessage()))

    def flush(self, force: bool = True) -> None:  # also logging.Handler.flush
        """Writes what was buffered; never waits for the database (see `drain`)."""
        if not force and time.monotonic() - self.last_flush < self.settings.metric_flush_s:
            return
        self.last_flush = time.monotonic()
        self._take()
        if self.unwritten and time.monotonic() >= self.retry_at:
            try:
                self._write()
            except Exception as e:
                if not database_unavailable(e):
                    raise
                self._outage(e)

    def drain(self, give_up_after_s: float | None = None) -> None:
        """Writes everything buffered, waiting through an outage (the end of a job)."""
        self._take()
        if self.unwritten:
            retry_while_unavailable(
                self._write,
                what=f"job {self.job_id}: storing progress",
                give_up_after_s=self.settings.db_outage_max_s
                if give_up_after_s is None
                else give_up_after_s,
            )

    def _take(self) -> None:
        """Moves the current buffers into one batch, journaled before the database sees it."""
        if not (self.fields or self.metrics or self.evals or self.logs):
            return
        batch = {"fields": self.fields, "metrics": self.metrics, "evals": self.evals}
        batch["logs"] = self.logs
        self.fields, self.metrics, self.evals, self.logs = {}, [], [], []
        seq = self.journal.append("progress", **batch) if self.journal else 0
        self.unwritten.append((seq, batch))

    def _write(self) -> None:
        from backend.app.services.job_updates import record_progress

        batches = self.unwritten
        if self.outage_since is not None:
            down = time.monotonic() - self.outage_since
            points = sum(len(b["metrics"]) for _, b in batches)
            message = (
                f"the database was unreachable for {down:.0f} s; training went on and the "
                f"{points} metric points kept meanwhile are now stored"
            )
            batches = [*batches, (0, {"logs": [("warning", message)]})]
        record_progress(self.settings, self.job_id, **merge_progress([b for _, b in batches]))
        if self.journal:
            self.journal.ack([seq for seq, _ in self.unwritten if seq])
        if self.outage_since is not None:
            log.warning(
                "job %s: database back; %d buffered batches stored", self.job_id, len(batches) - 1
            )
            self.outage_since = None
            self.backoff.reset()
        self.unwritten = []

    def _outage(self, error: Exception) -> None:
        if self.outage_since is None:
            self.outage_since = time.monotonic()
            log.warning(
                "job %s: database unreachable (%s); training goes on, progress is kept in the "
                "journal",
                self.job_id,
                str(error).splitlines()[0][:300],
            )
        self.retry_at = time.monotonic() + self.backoff.next()

    def on_phase(self, phase: str) -> None:
        self.fields["phase"] = phase
        self.logs.append(("info", f"phase: {phase}"))
        self.flush()

    def on_parameters(self, trainable: int, total: int) -> None:
        self.fields.update(trainable_parameters=trainable, total_parameters=total)
        self.flush()

    def on_step(self, info: StepInfo) -> None:
        self.fields.update(
            step=info.step, total_steps=info.total_steps, eta_seconds=info.eta_seconds
        )
        if info.loss is not None and info.step > self.last_loss_step:
            # A logged loss is the mean over the steps since the last one logged.
            steps = info.step - self.last_loss_step
            self.loss_sum += info.loss * steps
            self.loss_steps += steps
            self.last_loss_step = info.step
            self.fields["train_loss"] = self.loss_sum / self.loss_steps
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

    def on_eval_progress(self, info: EvalProgressInfo) -> None:
        self.fields["eval_progress"] = {
            "benchmark": info.benchmark,
            "step": info.step,
            "done": info.done,
            "total": info.total,
        }
        if info.eta_seconds is not None:
            self.fields["eta_seconds"] = info.eta_seconds
        self.flush(force=info.done == info.total)

    def on_log(self, message: str) -> None:
        self.logs.append(("info", message))

    def should_stop(self) -> bool:
        if os.getppid() != self.parent:
            return True  # the worker is gone; stop rather than run unsupervised
        if not self.cancelled and time.monotonic() - self.last_cancel_check >= 1.0:
            from backend.app.services.job_updates import cancel_requested

            self.last_cancel_check = time.monotonic()
            try:
                self.cancelled = cancel_requested(self.settings, self.job_id)
            except Exception as e:
                if not database_unavailable(e):
                    raise  # during an outage a cancel waits until the database answers
        return self.cancelled


def checkpoints(folder: Path) -> dict[int, Path]:
    """transformers' `checkpoint-N` folders under `folder`, by step N."""
    found = {}
    for path in folder.glob("checkpoint-*"):
        suffix = path.name.split("-", 1)[1]
        if path.is_dir() and suffix.isdigit():
            found[int(suffix)] = path
    return found


def last_checkpoint_step(folder: Path) -> int:
    """The step of the newest complete checkpoint (one with its trainer_state.json)."""
    complete = [n for n, p in checkpoints(folder).items() if (p / "trainer_state.json").is_file()]
    return max(complete, default=0)


def report_device(settings: Any, worker: str | None) -> None:
    """Measures this machine's device (the engine keeps the best figure seen on disk) and stores
    it for the API's time estimates. Before the model loads, so the profile's resident size is the
    process's own (what a CPU job adds its model to). Never fails the job."""
    if not worker:
        return
    try:
        import transformers  # noqa: F401 - part of the process's own size, as in a job

        from backend.app.services.job_updates import record_device_profile
        from worker.engine.estimate import measure_device

        record_device_profile(settings, worker, measure_device(refresh=True).to_dict())
    except Exception as e:  # noqa: BLE001 - an estimate's input, not the job's business
        log.warning("could not report the device profile: %s", e)


def drop_checkpoints_after(folder: Path, step: int) -> None:
    """Removes the checkpoints of steps after `step` (the resumed run starts no later)."""
    for n, path in checkpoints(folder).items():
        if n > step:
            shutil.rmtree(path, ignore_errors=True)


def tracking_settings(settings: Any) -> TrackingSettings:
    """The studio's tracking settings for the engine (WANDB_API_KEY stands in for the studio's
    own key setting, as wandb users expect)."""
    from worker.engine.tracking import TrackingSettings

    return TrackingSettings(
        mlflow_tracking_uri=settings.mlflow_tracking_uri,
        mlflow_experiment=settings.mlflow_experiment,
        wandb_api_key=settings.wandb_api_key or os.environ.get("WANDB_API_KEY") or None,
        wandb_project=settings.wandb_project,
        wandb_mode=settings.wandb_mode,
        timeout_s=settings.tracking_timeout_s,
    )


def run(job_id: int) -> int:
    from backend.app.core.config import settings
    from backend.app.services import job_updates
    from backend.app.services.storage import read_dataset_file
    from worker.engine.config import JobConfig
    from worker.engine.errors import ConfigError, DataError
    from worker.engine.evaluation.shared_baseline import BaselineStore
    from worker.engine.runner import run_job

    def patiently(what: str, write: Any) -> Any:
        return retry_while_unavailable(
            write, what=f"job {job_id}: {what}", give_up_after_s=settings.db_outage_max_s
        )

    snap = patiently("reading the job", lambda: job_updates.job_snapshot(settings, job_id))
    if snap is None or snap["status"] != "running":
        return 0
    if not distributed.is_main_process():
        return run_other_rank(job_id, snap)
    out = settings.storage_dir / snap["artifact_dir"]
    journal = ProgressJournal(out / JOURNAL_NAME)
    # A previous process of this job may have died with progress the database never got.
    if replayed := patiently("replaying the journal", lambda: replay(settings, job_id, journal)):
        log.info("job %s: %d journal entries of an earlier process stored", job_id, replayed)
    progress = DatabaseProgress(settings, job_id, journal)
    engine_log = logging.getLogger("worker.engine")
    engine_log.setLevel(logging.INFO)
    engine_log.addHandler(progress)

    def end(status: str, error: str | None = None, summary: dict[str, Any] | None = None) -> None:
        """Buffered progress, results and the final state, waiting through an outage (bounded by
        settings.db_outage_max_s); journaled first, so the record survives this process."""
        progress.drain()
        seqs = [journal.append("results", summary=summary)] if summary is not None else []
        seqs.append(journal.append("finish", status=status, error=error))

        def write() -> None:
            if summary is not None:
                job_updates.store_results(settings, job_id, out, summary)
            job_updates.finish(settings, job_id, status, error)

        patiently("storing the final state", write)
        journal.ack(seqs)

    try:
        config = JobConfig.from_dict(snap["config"])
        config.evaluation.data_dir = str(settings.benchmarks_store)
        # Checkpoints by default, so that a run whose worker is lost resumes instead of
        # starting over (the reaper re-queues it; backend/app/services/reaper.py).
        if config.training.save_steps is None:
            config.training.save_steps = settings.default_save_steps
        if snap.get("attempts", 1) > 1:
            config.training.resume = True
            # Steps the lost run trained after its last stored point were never recorded: resume
            # from a checkpoint no newer than that point, so they are trained and stored again.
            stored = patiently(
                "reading the stored steps", lambda: job_updates.last_train_step(settings, job_id)
            )
            drop_checkpoints_after(out / "checkpoints", stored)
            step = last_checkpoint_step(out / "checkpoints")
            patiently(
                "dropping the lost run's points",
                lambda: job_updates.forget_after(settings, job_id, step),
            )
            progress.on_log(
                f"run {snap['attempts']} of this job (its earlier worker was lost): "
                + (
                    f"resuming from the checkpoint at step {step}"
                    if step
                    else "no checkpoint was saved, so training starts over"
                )
            )
        if snap["dataset_path"] is None:
            raise DataError(f"dataset {snap['dataset_id']} no longer exists")
        records = read_dataset_file(settings, snap["dataset_path"])
        report_device(settings, snap.get("worker"))
        summary = run_job(
            config,
            out,
            progress,
            train_records=records,
            baseline_store=BaselineStore(settings.storage_dir / "shared-baselines"),
            run_label=f"job {job_id}",
            tracking=tracking_settings(settings),
        )
        end(summary.status, summary=asdict(summary))
        return 0
    except (ConfigError, DataError) as e:
        end("failed", str(e))
        return 0
    except Exception as e:  # noqa: BLE001 - recorded on the job, then the process fails
        progress.logs.append(("error", traceback.format_exc()))
        try:
            end("failed", f"{type(e).__name__}: {e}")
        except Exception:  # noqa: BLE001 - e.g. the database stayed away; the task records it
            log.exception("job %s: could not store the failure", job_id)
        return 1
    finally:
        engine_log.removeHandler(progress)
        journal.close()


def export(job_id: int, fmt: str) -> int:
    """A finished job's adapter exported (merged or GGUF) into its artifacts' exports/FORMAT/;
    the state is in status.json there, which the API reads."""
    from backend.app.core.config import settings
    from backend.app.core.db import session_scope
    from backend.app.models import Job
    from worker.engine.export import ExportStatusFile, export_adapter

    with session_scope(settings.sqlalchemy_url) as s:
        job = s.get(Job, job_id)
        if job is None or not job.artifact_dir:
            return 0
        artifact, base_model = settings.storage_dir / job.artifact_dir, job.base_model
    folder = artifact / "exports" / fmt
    status = ExportStatusFile(folder)
    status.update(status="running", started_at=time.time(), error=None)
    try:
        result = export_adapter(
            artifact, folder / "model", fmt, base_model=base_model, progress=status
        )
    except Exception as e:  # noqa: BLE001 - shown to the user on the job page
        status.update(status="failed", error=str(e), finished_at=time.time())
        return 0
    status.update(
        status="succeeded",
        message=None,  # it names the worker's folders, which are no business of the API's
        finished_at=time.time(),
        file=Path(result.path).relative_to(folder).as_posix(),
        size_bytes=result.size_bytes,
        seconds=result.seconds,
    )
    return 0


def run_other_rank(job_id: int, snap: dict[str, Any]) -> int:
    """A process of a several-process job other than the first (torchrun): it trains its share
    and writes nothing; the first process reports, evaluates, stores and sets the final state,
    and its stop (a cancel) reaches this one at the step's end (distributed.agreed)."""
    from backend.app.core.config import settings
    from backend.app.services.storage import read_dataset_file
    from worker.engine.config import JobConfig
    from worker.engine.runner import run_job

    out = settings.storage_dir / snap["artifact_dir"]
    config = JobConfig.from_dict(snap["config"])
    config.evaluation.data_dir = str(settings.benchmarks_store)
    if config.training.save_steps is None:
        config.training.save_steps = settings.default_save_steps
    config.training.resume = snap.get("attempts", 1) > 1
    if snap["dataset_path"] is None:
        return 1  # the first process records why
    records = read_dataset_file(settings, snap["dataset_path"])
    summary = run_job(config, out, ProgressCallback(), train_records=records)
    return 0 if summary.status in ("succeeded", "cancelled") else 1


def main(argv: list[str]) -> int:
    if distributed.in_launched_world():
        parent_death_signal()  # die with torchrun's agent, as the agent dies with the worker
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if argv[:1] == ["--export"]:
        return export(int(argv[1]), argv[2])
    return run(int(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
