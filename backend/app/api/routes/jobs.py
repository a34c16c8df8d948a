"""Jobs: create, list (with filters), read, cancel, clone, delete. A job's series and logs are
in `job_series`, its adapter download in `job_artifacts`, its live updates in `job_events`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ...core.config import Settings
from ...models import FINAL_STATES, Job, JobStatus, User
from ...schemas import ApiText, JobCreate, JobDefaults, JobPublic, JobsPublic, Message
from ...services import jobs as job_service
from ...services import storage
from ..deps import (
    CONFLICT,
    CurrentUser,
    Id,
    SessionDep,
    SettingsDep,
    Skip,
    TeamFilter,
    TextFilter,
    membership,
    resolve_team,
    team_ids,
    team_object,
)

router = APIRouter(prefix="/jobs", tags=["jobs"])


class JobClone(BaseModel):
    name: ApiText | None = Field(default=None, max_length=255)
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="merged into the copied config (nested objects merge; a new adapter "
        "method starts from its defaults)",
    )


def get_team_job(session: Session, user: User, job_id: int) -> Job:
    return team_object(session, user, Job, job_id, "job")


# A job stored while the broker is down: accepted, queued, sent once the broker answers.
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {
        "model": JobPublic,
        "description": "stored and queued, but the queue (broker) is unreachable: the job is "
        "sent once it answers; `queue_reason` says so",
    }
}


def _create(
    session: Session,
    settings: Settings,
    user: User,
    team_id: int | None,
    config: dict[str, Any],
    response: Response,
) -> JobPublic:
    team = resolve_team(session, user, team_id)
    job = job_service.create_job(session, settings, user, team, config)
    if job.dispatched_at is None:
        response.status_code = status.HTTP_202_ACCEPTED
    return job_service.one_public(session, job)


@router.post("", response_model=JobPublic, status_code=status.HTTP_201_CREATED, responses=ACCEPTED)
def create_job(
    body: JobCreate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> JobPublic:
    return _create(session, settings, user, body.team_id, body.config.to_dict(), response)


@router.get("/defaults", response_model=JobDefaults)
def read_defaults(user: CurrentUser) -> JobDefaults:
    """The config a new job starts from: every field at the engine's default."""
    return JobDefaults()


@router.get("", response_model=JobsPublic)
def list_jobs(
    user: CurrentUser,
    session: SessionDep,
    team_id: TeamFilter = None,
    status_: Annotated[JobStatus | None, Query(alias="status")] = None,
    method: TextFilter = None,
    base_model: TextFilter = None,
    skip: Skip = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JobsPublic:
    teams = [membership(session, user, team_id).team_id] if team_id else team_ids(session, user)
    where: list[ColumnElement[bool]] = [Job.team_id.in_(teams)]
    if status_:
        where.append(Job.status == status_)
    if method:
        where.append(Job.method == method.lower())
    if base_model:
        where.append(Job.base_model == base_model)
    count = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    rows = session.scalars(
        select(Job)
        .where(*where)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .offset(skip)
        .limit(limit)
    ).all()
    return JobsPublic(data=job_service.public_jobs(session, list(rows)), count=count)


@router.get("/{job_id}", response_model=JobPublic)
def read_job(job_id: Id, user: CurrentUser, session: SessionDep) -> JobPublic:
    return job_service.one_public(session, get_team_job(session, user, job_id))


@router.post("/{job_id}/cancel", response_model=JobPublic, responses=CONFLICT)
def cancel_job(
    job_id: Id, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> JobPublic:
    job = get_team_job(session, user, job_id)
    job_service.cancel_job(session, settings, job)
    return job_service.one_public(session, job)


@router.post(
    "/{job_id}/clone",
    response_model=JobPublic,
    status_code=status.HTTP_201_CREATED,
    responses=ACCEPTED,
)
def clone_job(
    job_id: Id,
    body: JobClone,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> JobPublic:
    job = get_team_job(session, user, job_id)
    config = job_service.clone_config(job.config, body.overrides)
    config["name"] = body.name or body.overrides.get("name") or f"{job.name} (copy)"
    return _create(session, settings, user, job.team_id, config, response)


@router.delete("/{job_id}", response_model=Message, responses=CONFLICT)
def delete_job(
    job_id: Id, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> Message:
    job = get_team_job(session, user, job_id)
    if job.status not in FINAL_STATES:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"job {job_id} is {job.status}: cancel it first"
        )
    folder = job.artifact_dir
    session.delete(job)
    session.commit()
    storage.delete_stored(settings, folder)
    return Message(message=f"job {job_id} deleted")
