"""The outbox between the job table and the broker: submitting never strands a job.

A job is committed first, then sent (committed with `dispatched_at` set, so the dispatcher does
not send it too meanwhile); if the broker does not take the message, `dispatched_at` is unset,
the job stays queued with a `queue_reason` and the dispatcher (a loop in the API
process, `backend/app/main.py`) sends it once the broker is back. A queued job that nobody takes
for `queue_stale_s` says why, and is sent again when its message is no longer in the broker
(lost by a broker restart without persistence, or taken by a worker that died before claiming
it). Sending twice is safe: the message carries the job's nonce, and `job_updates.claim` lets one
message run a queued job and refuses every other (at-least-once dispatch, at-most-once claim)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..core.config import Settings
from ..core.db import session_scope
from ..models import Job, JobLog, WorkerEntry
from . import broker

log = logging.getLogger(__name__)

BROKER_DOWN = (
    "waiting for the queue: the broker is unreachable ({error}); it is sent once it answers"
)


def job_processes(job: Job) -> int:
    """The processes (one device each) the job trains in: training.processes, 1 by default."""
    try:
        return max(int((job.config.get("training") or {}).get("processes") or 1), 1)
    except (TypeError, ValueError, AttributeError):
        return 1


def devices_reason(session: Session, processes: int) -> str | None:
    """Why a job of `processes` processes may wait beyond the queue: no worker that announced
    itself has that many devices (None when one has, or the job needs one)."""
    if processes <= 1:
        return None
    most = session.scalar(select(func.max(WorkerEntry.devices))) or 0
    if most >= processes:
        return None
    seen = f"the largest worker seen has {most}" if most else "no worker has announced itself"
    return (
        f"waiting for a worker with {processes} devices (training.processes is {processes}; "
        f"{seen}): start one on a machine with {processes} GPUs, or with "
        f"STUDIO_WORKER_DEVICES={processes} on a CPU"
    )


def send(session: Session, settings: Settings, job: Job) -> bool:
    """Sends the job's current dispatch to the queue of workers that can hold it; True when the
    broker took it. Commits either way."""
    processes = job_processes(job)
    try:
        broker.send(
            settings,
            broker.TRAIN_TASK,
            [job.id, job.task_id],
            task_id=job.task_id,
            queue=broker.queue_for(processes),
        )
    except Exception as e:  # noqa: BLE001 - any failure to hand over means "not dispatched yet"
        job.dispatched_at = None  # in the outbox: the dispatcher sends it once the broker answers
        job.queue_reason = BROKER_DOWN.format(error=_short(e))
        session.commit()
        log.warning("job %s not dispatched: %s", job.id, e)
        return False
    job.dispatched_at = datetime.now(UTC)
    job.queue_reason = devices_reason(session, processes)
    session.commit()
    return True


def dispatch_pending(settings: Settings) -> list[int]:
    """Sends queued jobs whose dispatch has not reached the broker; stops at the first refusal
    (the broker is down: the rest wait for the next pass). Safe with several API processes: rows
    are claimed with SKIP LOCKED on PostgreSQL (SQLite serialises writers)."""
    sent: list[int] = []
    with session_scope(settings.sqlalchemy_url) as session:
        pending = session.scalars(
            select(Job)
            .where(Job.status == "queued", Job.dispatched_at.is_(None))
            .order_by(Job.created_at, Job.id)
            .with_for_update(skip_locked=True)
        ).all()
        for job in pending:
            if not send(session, settings, job):
                break
            sent.append(job.id)
    if sent:
        log.info("dispatched queued jobs %s", sent)
    return sent


def pending_task_ids(
    settings: Settings, queues: set[str] | frozenset[str] = frozenset({broker.QUEUE})
) -> set[str] | None:
    """Ids of the train messages the broker holds in `queues` (waiting, or taken but not
    acknowledged); None when this transport cannot be inspected."""
    try:
        if settings.broker_url.startswith(("redis://", "rediss://")):
            return _redis_task_ids(settings.broker_url, queues)
        if not settings.broker_url:
            return _folder_task_ids(broker.broker_folders(settings)["queue"])
    except Exception as e:  # noqa: BLE001 - unknown is answered as unknown, never as "lost"
        log.info("could not inspect the broker's queue: %s", e)
    return None


def _redis_task_ids(url: str, queues: set[str] | frozenset[str]) -> set[str]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        ids = {_message_id(raw) for queue in queues for raw in client.lrange(queue, 0, -1)}
        # Messages a worker has taken but not acknowledged: [message, exchange, routing key].
        for raw in client.hvals("unacked"):
            entry = json.loads(raw)
            ids.add(_message_id(json.dumps(entry[0]) if isinstance(entry, list) else raw))
    finally:
        client.close()
    ids.discard("")
    return ids


def _folder_task_ids(folder: Path) -> set[str]:
    ids = set()
    for path in folder.glob("*.msg"):
        try:
            ids.add(_message_id(path.read_bytes()))
        except OSError:
            continue  # taken meanwhile
    ids.discard("")
    return ids


def _message_id(raw: Any) -> str:
    try:
        message = json.loads(raw)
    except (ValueError, TypeError):
        return ""
    headers = message.get("headers") or {}
    return str(headers.get("id") or (message.get("properties") or {}).get("correlation_id") or "")


def watch_queued(settings: Settings, now: datetime | None = None) -> list[int]:
    """Queued jobs nobody has taken for queue_stale_s: each says why, and one whose message the
    broker no longer holds is sent again (same nonce: whichever copy comes first runs it)."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(seconds=settings.queue_stale_s)
    resent: list[int] = []
    with session_scope(settings.sqlalchemy_url) as session:
        stale = session.scalars(
            select(Job)
            .where(Job.status == "queued", Job.dispatched_at.is_not(None))
            .where(Job.dispatched_at < cutoff)
            .order_by(Job.created_at, Job.id)
            .with_for_update(skip_locked=True)
        ).all()
        if not stale:
            return resent
        held = pending_task_ids(settings, {broker.queue_for(job_processes(j)) for j in stale})
        running = session.scalar(select(func.count()).where(Job.status == "running")) or 0
        for job in stale:
            waited = _minutes(now - (job.dispatched_at or now))
            if held is not None and job.task_id not in held:
                session.add(
                    JobLog(
                        job_id=job.id,
                        level="warning",
                        message=f"its queue message was lost after {waited} (broker restarted?); "
                        "sent again",
                    )
                )
                if send(session, settings, job):
                    resent.append(job.id)
                continue
            ahead = (
                session.scalar(
                    select(func.count()).where(
                        Job.status == "queued",
                        (Job.created_at < job.created_at)
                        | ((Job.created_at == job.created_at) & (Job.id < job.id)),
                    )
                )
                or 0
            )
            if reason := devices_reason(session, job_processes(job)):
                job.queue_reason = f"{reason}; waited {waited}"
            elif running:
                job.queue_reason = (
                    f"waiting {waited} for a free worker: {running} job(s) running, "
                    f"{ahead} queued ahead of it"
                )
            else:
                job.queue_reason = (
                    f"no worker has taken it for {waited}: is a worker running and listening "
                    f"on queue {broker.queue_for(job_processes(job))!r}?"
                )
        session.commit()
    if resent:
        log.warning("re-sent queued jobs whose message was lost: %s", resent)
    return resent


def _minutes(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min" if seconds >= 120 else f"{seconds} s"


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text[:160]}" if text else type(error).__name__
