"""A job's live updates as server-sent events (the stream itself is services/job_events)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ...services.job_events import job_events
from ..deps import CurrentUser, Id, SessionDep, SettingsDep
from .jobs import get_team_job

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events"}},
)
async def stream_events(
    job_id: Id, request: Request, user: CurrentUser, settings: SettingsDep, session: SessionDep
) -> StreamingResponse:
    """Events: `job` (state and progress), `metrics`, `accuracy`, `log`; `end` when final."""
    get_team_job(session, user, job_id)
    return StreamingResponse(
        job_events(settings, job_id, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
