"""Jobs whose worker vanished: a running job with no heartbeat for too long is re-queued (a fresh
nonce; the next worker resumes it from its last checkpoint) while its retry budget lasts
(`job_max_retries`), then failed with the reason."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select

from ..core.config import Settings
from ..core.db import session_scope
from ..models import Job, JobLog
from .jobs import transition

log = logging.getLogger(__name__)


def reap_stale_jobs(settings: Settings, now: datetime | None = None) -> list[int]:
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=settings.heartbeat_timeout_s)
    reaped = []
    with session_scope(settings.sqlalchemy_url) as session:
        stale = session.scalars(
            select(Job)
            .where(
                Job.status == "running",
                or_(Job.heartbeat_at < cutoff, Job.heartbeat_at.is_(None)),
            )
            .with_for_update(skip_locked=True)
        ).all()
        for job in stale:
            last = job.heartbeat_at.isoformat() if job.heartbeat_at else "never"
            lost = (
                f"worker {job.worker or '?'} stopped sending heartbeats (last: {last}); "
                "it was probably killed or lost its machine"
            )
            if job.cancel_requested:
                transition(job, "cancelled", f"{lost}; it was being cancelled")
            elif job.attempts <= settings.job_max_retries:
                requeue(
                    job,
                    f"{lost}; re-queued to resume from its last checkpoint "
                    f"(run {job.attempts + 1} of at most {settings.job_max_retries + 1})",
                )
                session.add(
                    JobLog(job_id=job.id, level="warning", message=job.history[-1]["reason"])
                )
                log.warning("job %s re-queued: %s", job.id, lost)
            else:
                reason = (
                    f"{lost}; the worker was lost {job.attempts} times, the retry budget "
                    f"(job_max_retries = {settings.job_max_retries}) is spent"
                )
                job.error = reason
                transition(job, "failed", reason)
                session.add(JobLog(job_id=job.id, level="error", message=reason))
                log.warning("job %s failed: %s", job.id, reason)
            reaped.append(job.id)
    return reaped


def requeue(job: Job, reason: str) -> None:
    """Back to the queue under a fresh nonce (a late message of the lost run is stale), not yet
    dispatched: the dispatcher sends it (services/dispatch.py)."""
    job.task_id = uuid.uuid4().hex
    job.dispatched_at = None
    job.queue_reason = None
    job.heartbeat_at = None
    job.phase = None
    job.eta_seconds = None
    transition(job, "queued", reason)
