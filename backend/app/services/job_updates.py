"""The writes a worker makes while it runs a job: claim, heartbeat, progress, results, finish.

Kept in the backend so there is one schema and one place that writes it."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from worker.engine.evaluation import BENCHMARKS

from ..core.config import Settings
from ..core.db import session_scope
from ..models import (
    Dataset,
    DeviceProfile,
    EvalPoint,
    Job,
    JobLog,
    JobResult,
    MetricPoint,
    Prediction,
    WorkerEntry,
)
from .jobs import compare_and_set, transition
from .leaderboard import record_scores

log = logging.getLogger(__name__)

# Both scoring rules' readings, as the engine's predictions files name them.
_RULE_FIELDS = ("extracted_paper", "correct_paper", "extracted_strict", "correct_strict")


def now() -> datetime:
    return datetime.now(UTC)


def claim(settings: Settings, job_id: int, nonce: str, worker: str) -> str | None:
    """Marks a queued job running on `worker`; returns why it must not run, or None."""
    with session_scope(settings.sqlalchemy_url) as s:
        job = s.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job is None:
            return f"job {job_id} no longer exists"
        if job.task_id != nonce:
            return f"stale message for job {job_id}"
        if job.status == "running":
            # A second copy of the message (the outbox re-sent it, or the broker redelivered
            # it): the job runs once. If its worker is gone, the reaper re-queues it.
            return f"job {job_id} is already running on {job.worker}"
        if job.status != "queued":
            return f"job {job_id} is {job.status}"
        if not compare_and_set(s, job, "queued", "running"):
            s.refresh(job)  # cancelled between the read and now
            return f"job {job_id} is {job.status}"
        job.worker = worker
        job.attempts += 1
        job.heartbeat_at = now()
        job.phase = "starting"
        job.queue_reason = None
        job.error = None
        transition(job, "running")
    return None


def heartbeat(settings: Settings, job_id: int) -> None:
    with session_scope(settings.sqlalchemy_url) as s:
        s.execute(
            update(Job).where(Job.id == job_id, Job.status == "running").values(heartbeat_at=now())
        )


def cancel_requested(settings: Settings, job_id: int) -> bool:
    with session_scope(settings.sqlalchemy_url) as s:
        return bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def _replace_points(s: Session, table: Any, series: str, job_id: int, rows: list[dict]) -> None:
    """Stores `rows` as the job's points, replacing any of the same series (`kind` of a metric,
    `benchmark` of an eval) and step: a retried, replayed or re-trained step is stored once."""
    rows = list({(r[series], r["step"]): r for r in rows}.values())
    for name in {r[series] for r in rows}:
        steps = [r["step"] for r in rows if r[series] == name]
        s.execute(
            delete(table).where(
                table.job_id == job_id, getattr(table, series) == name, table.step.in_(steps)
            )
        )
    s.execute(insert(table), [{"job_id": job_id, **r} for r in rows])


def record_progress(
    settings: Settings,
    job_id: int,
    *,
    fields: dict[str, Any],
    metrics: list[dict[str, Any]],
    evals: list[dict[str, Any]],
    logs: list[tuple[str, str]],
) -> None:
    """One transaction per flush: progress fields, new metric/eval points, log lines.

    Idempotent for points: a metric point replaces the job's point of the same kind and step,
    an eval point the one of the same benchmark and step (a retried or replayed write, or a
    step trained again after a resume, is stored once)."""
    with session_scope(settings.sqlalchemy_url) as s:
        if metrics:
            _replace_points(s, MetricPoint, "kind", job_id, metrics)
        if evals:
            _replace_points(s, EvalPoint, "benchmark", job_id, evals)
        if logs:
            s.execute(
                insert(JobLog),
                [
                    {"job_id": job_id, "level": lvl, "message": msg, "time": now()}
                    for lvl, msg in logs
                ],
            )
        job = s.get(Job, job_id)
        if job is None:
            return
        for key, value in fields.items():
            setattr(job, key, value)
        if evals:
            best = max(e["accuracy"] for e in evals)
            job.best_accuracy = max(best, job.best_accuracy or 0.0)
        job.updated_at = now()


def store_results(
    settings: Settings, job_id: int, output_dir: Path, summary: dict[str, Any]
) -> None:
    """Final accuracy per benchmark, per-sample predictions, and the run's summary figures.

    Replaces what an earlier attempt of this write stored (idempotent when retried)."""
    with session_scope(settings.sqlalchemy_url) as s:
        s.execute(delete(JobResult).where(JobResult.job_id == job_id))
        s.execute(delete(Prediction).where(Prediction.job_id == job_id))
        results_file = output_dir / "eval_results.json"
        if results_file.is_file():
            for name, r in json.loads(results_file.read_text()).items():
                s.add(
                    JobResult(
                        job_id=job_id,
                        benchmark=name,
                        # lm-evaluation-harness scores name their own suite ("harness")
                        suite=r.get("suite") or BENCHMARKS[name].suite,
                        accuracy=r["accuracy"],
                        correct=r["correct"],
                        total=r["total"],
                        scoring=r.get("rule"),
                    )
                )
        for file in sorted((output_dir / "predictions").glob("*.jsonl")):
            rows = []
            with file.open(encoding="utf-8") as f:
                for line in f:
                    p = json.loads(line)
                    rows.append(
                        {
                            "job_id": job_id,
                            "benchmark": p["benchmark"],
                            "index": p["index"],
                            "prompt": p["prompt"],
                            "output": p["output"],
                            "extracted": p["extracted"],
                            "gold": str(p["gold"]),
                            "correct": bool(p["correct"]),
                            "scoring": p.get("rule"),
                            **{key: p.get(key) for key in _RULE_FIELDS},
                        }
                    )
            if rows:
                s.execute(insert(Prediction), rows)
        job = s.get(Job, job_id)
        assert job is not None
        job.trainable_parameters = summary["trainable_parameters"]
        job.total_parameters = summary["total_parameters"]
        job.peak_memory_bytes = summary["peak_memory_bytes"]
        job.wall_seconds = summary["wall_seconds"]
        job.seconds_per_step = summary.get("seconds_per_step")
        job.dtype = summary.get("dtype")
        job.train_loss = summary["train_loss"]
        job.step = summary["steps"]
        job.total_steps = summary["total_steps"]


def finish(settings: Settings, job_id: int, status: str, error: str | None = None) -> bool:
    """Moves a running job to a final state; False if it was not running (e.g. reaped)."""
    with session_scope(settings.sqlalchemy_url) as s:
        job = s.scalar(select(Job).where(Job.id == job_id).with_for_update())
        # Only a running job: one already final (e.g. cancelled) or re-queued after its worker
        # was taken for lost is not this run's to end.
        if job is None or job.status != "running":
            return False
        job.error = error
        transition(job, status, error)
        if status == "succeeded":
            record_scores(s, job)  # on the leaderboard from the moment it succeeds
        if error:
            s.add(JobLog(job_id=job_id, level="error", message=error))
        return True


def set_artifact_dir(settings: Settings, job_id: int, rel: str) -> None:
    with session_scope(settings.sqlalchemy_url) as s:
        s.execute(update(Job).where(Job.id == job_id).values(artifact_dir=rel))


def job_snapshot(settings: Settings, job_id: int) -> dict[str, Any] | None:
    with session_scope(settings.sqlalchemy_url) as s:
        job = s.get(Job, job_id)
        if job is None:
            return None
        dataset = s.get(Dataset, job.dataset_id) if job.dataset_id is not None else None
        return {
            "dataset_path": dataset.path if dataset is not None else None,
            "status": job.status,
            "config": job.config,
            "dataset_id": job.dataset_id,
            "artifact_dir": job.artifact_dir,
            "name": job.name,
            "attempts": job.attempts,
            "worker": job.worker,
        }


def last_train_step(settings: Settings, job_id: int) -> int:
    """The last training step whose point the database holds (0: none)."""
    with session_scope(settings.sqlalchemy_url) as s:
        return int(
            s.scalar(
                select(func.max(MetricPoint.step)).where(
                    MetricPoint.job_id == job_id, MetricPoint.kind == "train"
                )
            )
            or 0
        )


def forget_after(settings: Settings, job_id: int, step: int) -> None:
    """A resumed run starts again after `step` (its checkpoint): the lost run's points beyond
    it are dropped, so the curves are continuous and no step is stored twice."""
    with session_scope(settings.sqlalchemy_url) as s:
        s.execute(delete(MetricPoint).where(MetricPoint.job_id == job_id, MetricPoint.step > step))
        s.execute(delete(EvalPoint).where(EvalPoint.job_id == job_id, EvalPoint.step > step))
        s.execute(update(Job).where(Job.id == job_id).values(step=step))


def record_device_profile(settings: Settings, worker: str, profile: dict[str, Any]) -> None:
    """The worker's device as it measured it (engine DeviceProfile.to_dict()); replaces the
    worker's earlier report for that kind of device."""
    fields = ("name", "dtype", "matmul_flops", "memory_bytes", "runtime_bytes", "threads")
    with session_scope(settings.sqlalchemy_url) as s:
        row = s.scalar(
            select(DeviceProfile).where(
                DeviceProfile.worker == worker, DeviceProfile.kind == profile["kind"]
            )
        )
        if row is None:
            row = DeviceProfile(worker=worker, kind=profile["kind"])
            s.add(row)
        for key in fields:
            setattr(row, key, profile.get(key))
        row.runtime_bytes = int(profile.get("runtime_bytes") or 0)
        row.measured_at = now()


def record_worker(
    settings: Settings, name: str, device_kind: str, devices: int, queues: list[str]
) -> None:
    """A worker announces itself when it starts (replacing its earlier announcement)."""
    with session_scope(settings.sqlalchemy_url) as s:
        row = s.scalar(select(WorkerEntry).where(WorkerEntry.name == name))
        if row is None:
            row = WorkerEntry(name=name)
            s.add(row)
        row.device_kind, row.devices, row.queues = device_kind, devices, ",".join(queues)
        row.started_at = now()
