"""The one-click demo: a LoRA run on synthetic arithmetic that visibly learns (docs/demo.md)."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from ...schemas import MAX_ID, JobPublic
from ...services import demo
from ...services import jobs as job_service
from ..deps import CONFLICT, CurrentUser, SessionDep, SettingsDep, resolve_team

router = APIRouter(prefix="/demo", tags=["demo"])


class DemoStart(BaseModel):
    team_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="default: your first team"
    )


@router.post("", response_model=JobPublic, status_code=status.HTTP_201_CREATED, responses=CONFLICT)
def start_demo(
    user: CurrentUser, session: SessionDep, settings: SettingsDep, body: DemoStart | None = None
) -> JobPublic:
    """Queues the demo job: LoRA on the demo model over 480 synthetic two-digit word problems,
    evaluated on 100 held-out ones before training and every 20 steps (the accuracy curve)."""
    team = resolve_team(session, user, body.team_id if body else None)
    job = demo.start_demo(session, settings, user, team)
    return job_service.one_public(session, job)
