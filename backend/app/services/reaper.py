"""Jobs whose worker vanished: a running job with no heartbeat for too long is failed."""

from __future__ import annotations

import logging
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
            reason = (
                f"worker {job.worker or '?'} stopped sending heartbeats (last: {last}); "
                "it was probably killed or lost its machine"
            )
            job.error = reason
            transition(job, "failed", reason)
            session.add(JobLog(job_id=job.id, level="error", message=reason))
            reaped.append(job.id)
            log.warning("job %s failed: %s", job.id, reason)
    return reaped
