"""A job's live updates as server-sent events: its state when it changes, then each new row of
its metrics, accuracy and logs, until the job ends (or the client goes away).

Events: `job` (the JobPublic), `metrics`, `accuracy`, `log` (lists of new rows), `end` (the
final status, or "deleted"). The stream polls the database, so it follows a job whichever
process writes it; each poll is one short session in a worker thread."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from anyio import to_thread
from sqlalchemy import select

from ..core.config import Settings
from ..core.db import session_factory
from ..models import FINAL_STATES, EvalPoint, Job, JobLog, MetricPoint
from . import jobs as job_service

POLL_S = 0.5
KEEP_ALIVE_S = 15.0  # a comment line after this long without events, so proxies keep it open
RETRY_MS = 2000  # how long the browser's EventSource waits before reconnecting

# Event name, table, and the columns each new row is sent with (in id order, after a cursor).
# (Typed as Any: mypy joins the three model classes to Base, which has no `id` or `job_id`.)
STREAMED: tuple[tuple[str, type[Any], tuple[str, ...]], ...] = (
    (
        "metrics",
        MetricPoint,
        ("kind", "step", "epoch", "loss", "learning_rate", "tokens_per_second"),
    ),
    ("accuracy", EvalPoint, ("benchmark", "step", "accuracy", "correct", "total")),
    ("log", JobLog, ("id", "time", "level", "message")),
)


def _json_value(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=_json_value)}\n\n"


def poll(settings: Settings, job_id: int, cursor: dict[str, Any]) -> list[str]:
    """The events since `cursor` (advanced in place): last seen update time and row ids."""
    out = []
    with session_factory(settings.sqlalchemy_url)() as s:
        job = s.get(Job, job_id)
        if job is None:
            return [sse("end", {"status": "deleted"})]
        if job.updated_at != cursor.get("updated"):
            cursor["updated"] = job.updated_at
            out.append(sse("job", job_service.one_public(s, job).model_dump(mode="json")))
        for event, model, columns in STREAMED:
            rows = s.scalars(
                select(model)
                .where(model.job_id == job_id, model.id > cursor[event])
                .order_by(model.id)
            ).all()
            if rows:
                cursor[event] = rows[-1].id
                out.append(sse(event, [{c: getattr(r, c) for c in columns} for r in rows]))
        if job.status in FINAL_STATES:
            out.append(sse("end", {"status": job.status}))
    return out


async def job_events(
    settings: Settings, job_id: int, is_disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    """The stream's text, chunk by chunk; ends after `end` or once `is_disconnected()`."""
    cursor: dict[str, Any] = {event: 0 for event, _, _ in STREAMED}
    idle = 0.0
    yield f"retry: {RETRY_MS}\n\n"
    while not await is_disconnected():
        chunks = await to_thread.run_sync(poll, settings, job_id, cursor)
        for chunk in chunks:
            yield chunk
        if any(c.startswith("event: end") for c in chunks):
            return
        idle = 0.0 if chunks else idle + POLL_S
        if idle >= KEEP_ALIVE_S:
            idle = 0.0
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_S)
