"""Job creation (validated with the engine's own rules), state changes, cancel, public view."""

from __future__ import annotations

import copy
import logging
import uuid
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from worker.engine.adapters import validate_adapter
from worker.engine.config import JobConfig, ScoringRule
from worker.engine.errors import ConfigError
from worker.engine.runner import validate_settings

from ..core.config import Settings
from ..core.errors import ConflictError
from ..models import FINAL_STATES, BaseModelEntry, Benchmark, Dataset, Job, JobResult, User
from ..schemas import EvalProgress, JobEstimatePublic, JobPublic, StateChange
from . import broker, catalogue, dispatch
from .estimates import estimate_for_new_job

log = logging.getLogger(__name__)


def validate_config(session: Session, team_id: int, data: dict[str, Any]) -> JobConfig:
    """The stored form of a submitted config; ConfigError names what is wrong."""
    config = JobConfig.from_dict(data)
    if config.dataset_path:
        raise ConfigError("the API takes dataset_id (upload the file first), not dataset_path")
    if config.dataset_id is None:
        raise ConfigError("dataset_id is required: the id of an uploaded dataset")
    ds = session.get(Dataset, config.dataset_id)
    if ds is None or ds.team_id != team_id:
        raise ConfigError(f"dataset {config.dataset_id} not found in this team")
    entry = session.scalar(
        select(BaseModelEntry).where(BaseModelEntry.reference == config.base_model)
    )
    if entry is None:
        known = ", ".join(session.scalars(select(BaseModelEntry.reference))) or "none"
        raise ConfigError(
            f"base_model {config.base_model!r} is not in the catalogue (registered: {known}); "
            "an administrator adds models with POST /api/v1/models"
        )
    validate_adapter(config.adapter, entry.family, entry.num_layers)
    validate_settings(config)
    imported = set(session.scalars(select(Benchmark.name)))
    missing = [b for b in config.evaluation.benchmarks if b not in imported]
    if missing:
        raise ConfigError(
            f"benchmark(s) {', '.join(missing)} not imported in this installation "
            f"(imported: {', '.join(sorted(imported)) or 'none'})"
        )
    # Benchmark files come from the installation's store, never from a client-given path.
    config.evaluation.data_dir = None
    return config


def transition(job: Job, status: str, reason: str | None = None) -> None:
    now = datetime.now(UTC)
    job.status = status
    job.updated_at = now
    entry: dict[str, Any] = {"status": status, "at": now.isoformat()}
    if reason:
        entry["reason"] = reason
    if status == "running":
        entry["attempt"], entry["worker"] = job.attempts, job.worker
    job.history = [*(job.history or []), entry]
    if status == "running":
        job.started_at = now
    if status in FINAL_STATES:
        job.finished_at = now
        job.phase = None
        job.eta_seconds = None


def compare_and_set(session: Session, job: Job, expected: str, new: str) -> bool:
    """Moves `job` from `expected` to `new` only if the row still says `expected`. SQLite ignores
    FOR UPDATE, so a claim and a cancel that both read "queued" must not both win: the second
    conditional UPDATE matches no row and its caller reads the job again."""
    result = session.execute(
        update(Job).where(Job.id == job.id, Job.status == expected).values(status=new)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def create_job(
    session: Session, settings: Settings, user: User, team_id: int, data: dict[str, Any]
) -> Job:
    config = validate_config(session, team_id, data)
    job = Job(
        team_id=team_id,
        owner_id=user.id,
        dataset_id=config.dataset_id,
        name=config.name,
        base_model=config.base_model,
        method=config.adapter.method.strip().lower(),
        config=config.to_dict(),
        estimate=estimate_for_new_job(session, team_id, config, config.dataset_id),
        status="queued",
        task_id=uuid.uuid4().hex,
        history=[],
    )
    transition(job, "queued")
    # The row and its dispatch are one unit: committed, then sent. It is committed as sent
    # already, or the dispatcher loop (it sends rows not yet sent) could send it too between
    # this commit and this send. If the broker refuses, send() puts it back in the outbox; if
    # this process dies first, watch_queued finds no message after queue_stale_s and sends it.
    job.dispatched_at = datetime.now(UTC)
    session.add(job)
    session.commit()
    dispatch.send(session, settings, job)
    return job


def cancel_job(session: Session, settings: Settings, job: Job) -> None:
    """Queued: cancelled now (the worker skips its message). Running: stops at the next step."""
    if job.status == "queued" and compare_and_set(session, job, "queued", "cancelled"):
        transition(job, "cancelled", "cancelled before it started")
        session.commit()
        try:
            if job.task_id:  # every enqueued job has one
                broker.revoke(settings, job.task_id)
        except Exception as e:  # noqa: BLE001 - the status check in the task is what counts
            log.info("revoke of %s not delivered: %s", job.task_id, e)
        return
    session.refresh(job)  # a worker may have claimed it since it was read
    if job.status == "running":
        job.cancel_requested = True
        job.updated_at = datetime.now(UTC)
        session.commit()
    else:
        raise ConflictError(f"job {job.id} is already {job.status}")


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep merge for clone-and-edit: nested objects merge, everything else replaces."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def clone_config(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `overrides` merged; a new adapter method starts from its own
    defaults (the old method's params and placement rarely make sense for it)."""
    new_method = (overrides.get("adapter") or {}).get("method")
    if new_method and new_method != (base.get("adapter") or {}).get("method"):
        base = {**base, "adapter": {"method": new_method}}
    return merge(base, overrides)


class JobScores(NamedTuple):
    """A job's final accuracy per benchmark and the scoring rule they were read with."""

    results: dict[str, float]
    scoring: str | None  # None until the job has results


def results_of(session: Session, job_ids: list[int]) -> dict[int, JobScores]:
    found: dict[int, dict[str, float]] = {i: {} for i in job_ids}
    rules: dict[int, str | None] = dict.fromkeys(job_ids)
    if job_ids:
        rows = session.execute(
            select(
                JobResult.job_id, JobResult.benchmark, JobResult.accuracy, JobResult.scoring
            ).where(JobResult.job_id.in_(job_ids))
        )
        for job_id, benchmark, accuracy, scoring in rows:
            found[job_id][benchmark] = accuracy
            # The job's rule is that of its paper benchmarks; harness scores name their metric.
            if not (scoring or "").startswith("harness:"):
                rules[job_id] = rules[job_id] or scoring
    return {i: JobScores(found[i], rules[i]) for i in job_ids}


def job_public(
    job: Job,
    owner_email: str | None,
    scores: JobScores,
    base_parameters: int | None = None,
    queue_position: int | None = None,
) -> JobPublic:
    total = job.total_steps or 0
    fraction = 1.0 if job.status == "succeeded" else (job.step / total if total else 0.0)
    pct = catalogue.trainable_percent(job.trainable_parameters, base_parameters)
    config = JobConfig.model_validate(job.config)
    return JobPublic(
        id=job.id,
        team_id=job.team_id,
        owner_id=job.owner_id,
        owner_email=owner_email,
        name=job.name,
        base_model=job.base_model,
        method=job.method,
        dataset_id=job.dataset_id,
        config=config,
        status=job.status,  # type: ignore[arg-type]
        phase=job.phase,
        step=job.step,
        total_steps=job.total_steps,
        fraction=min(1.0, fraction),
        eta_seconds=job.eta_seconds,
        eval_progress=EvalProgress.model_validate(job.eval_progress) if job.eval_progress else None,
        cancel_requested=job.cancel_requested,
        queue_reason=job.queue_reason if job.status == "queued" else None,
        dispatched=job.dispatched_at is not None,
        attempts=job.attempts,
        worker=job.worker,
        error=job.error,
        trainable_parameters=job.trainable_parameters,
        total_parameters=job.total_parameters,
        trainable_percent=pct,
        queue_position=queue_position,
        peak_memory_bytes=job.peak_memory_bytes,
        wall_seconds=job.wall_seconds,
        seconds_per_step=job.seconds_per_step,
        dtype=job.dtype,
        estimate=JobEstimatePublic.model_validate(job.estimate) if job.estimate else None,
        train_loss=job.train_loss,
        best_accuracy=job.best_accuracy,
        results=scores.results,
        # One job scores every benchmark with one rule; before results exist, the one it will use.
        scoring=cast(ScoringRule, scores.scoring or config.evaluation.scoring),
        history=[StateChange.model_validate(h) for h in job.history or []],
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        updated_at=job.updated_at,
    )


def public_jobs(session: Session, jobs: list[Job]) -> list[JobPublic]:
    """One query each for owners and results, whatever the page size."""
    owners = {
        u.id: u.email
        for u in session.scalars(
            select(User).where(User.id.in_({j.owner_id for j in jobs if j.owner_id}))
        )
    }
    results = results_of(session, [j.id for j in jobs])
    sizes = catalogue.base_parameters(session, {j.base_model for j in jobs})
    places = queue_positions(session) if any(j.status == "queued" for j in jobs) else {}
    return [
        job_public(
            j,
            owners.get(j.owner_id or -1),
            results[j.id],
            catalogue.job_base_parameters(
                sizes, j.base_model, j.trainable_parameters, j.total_parameters
            ),
            places.get(j.id),
        )
        for j in jobs
    ]


def queue_positions(session: Session) -> dict[int, int]:
    """Each queued job's place in the one training queue (1 = the next to start): the worker
    takes messages in the order they were sent, and a job is sent as it becomes queued (its
    `updated_at`: created, or re-queued after its worker died)."""
    queued = session.scalars(
        select(Job.id).where(Job.status == "queued").order_by(Job.updated_at, Job.id)
    )
    return {job_id: place for place, job_id in enumerate(queued, 1)}


def one_public(session: Session, job: Job) -> JobPublic:
    return public_jobs(session, [job])[0]
