"""Playground: one prompt answered by the base model and by a job's adapter, side by side.

Generation needs the model, so it runs on a worker (`jobs.generate`); the browser polls or
waits on the returned id."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from ...models import Generation
from ...schemas import ErrorMessage, GenerationCreate, GenerationPublic
from ...services import broker
from ..deps import CONFLICT, CurrentUser, Id, SessionDep, SettingsDep, team_object
from .jobs import get_team_job

router = APIRouter(prefix="/playground", tags=["playground"])


@router.post(
    "",
    response_model=GenerationPublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        **CONFLICT,
        503: {"model": ErrorMessage, "description": "the queue (broker) is unreachable"},
    },
)
def create_generation(
    body: GenerationCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> GenerationPublic:
    job = get_team_job(session, user, body.job_id)
    if job.status != "succeeded":
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"job {job.id} is {job.status}: it has no finished adapter"
        )
    gen = Generation(
        team_id=job.team_id, job_id=job.id, prompt=body.prompt, max_new_tokens=body.max_new_tokens
    )
    session.add(gen)
    session.commit()
    try:
        broker.send(settings, broker.GENERATE_TASK, [gen.id])
    except Exception as e:  # noqa: BLE001 - a playground answer is not worth queueing for later
        gen.status, gen.error = "failed", f"the queue (broker) is unreachable: {e}"
        session.commit()
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the queue (broker) is unreachable; try again shortly",
            headers={"Retry-After": str(settings.db_retry_after_s)},
        ) from e
    return GenerationPublic.model_validate(gen, from_attributes=True)


@router.get("/{generation_id}", response_model=GenerationPublic)
def read_generation(generation_id: Id, user: CurrentUser, session: SessionDep) -> GenerationPublic:
    gen = team_object(session, user, Generation, generation_id, "generation")
    return GenerationPublic.model_validate(gen, from_attributes=True)
