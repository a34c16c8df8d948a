"""Jobs: create, list, read, cancel, clone, delete; their series, predictions, logs, artifact
and a live stream of updates (server-sent events)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from starlette.background import BackgroundTask

from worker.engine.errors import ConfigError

from ...core.db import session_factory
from ...models import FINAL_STATES, EvalPoint, Job, JobLog, JobStatus, MetricPoint, Prediction
from ...schemas import (
    AccuracyPointPublic,
    JobAccuracy,
    JobCreate,
    JobDefaults,
    JobLogPublic,
    JobLogsPublic,
    JobMetrics,
    JobPublic,
    JobsPublic,
    Message,
    MetricPointPublic,
    PredictionPublic,
    PredictionsPublic,
)
from ...services import jobs as job_service
from ...services import storage
from ..deps import (
    CONFLICT,
    MAX_ID,
    CurrentUser,
    Id,
    SessionDep,
    SettingsDep,
    Skip,
    TeamFilter,
    membership,
    resolve_team,
    team_ids,
    team_object,
)

router = APIRouter(prefix="/jobs", tags=["jobs"])


class JobClone(BaseModel):
    name: str | None = Field(default=None, max_length=255)
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="merged into the copied config (nested objects merge; a new adapter "
        "method starts from its defaults)",
    )


def get_team_job(session, user, job_id: int) -> Job:  # noqa: ANN001
    return team_object(session, user, Job, job_id, "job")


def _create(session, settings, user, team_id: int | None, config: dict) -> JobPublic:  # noqa: ANN001
    team = resolve_team(session, user, team_id)
    try:
        job = job_service.create_job(session, settings, user, team, config)
    except ConfigError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    return job_service.one_public(session, job)


@router.post("", response_model=JobPublic, status_code=status.HTTP_201_CREATED)
def create_job(
    body: JobCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> JobPublic:
    return _create(session, settings, user, body.team_id, body.config.to_dict())


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
    method: str | None = None,
    base_model: str | None = None,
    skip: Skip = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JobsPublic:
    teams = [membership(session, user, team_id).team_id] if team_id else team_ids(session, user)
    where = [Job.team_id.in_(teams)]
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
    try:
        job_service.cancel_job(session, settings, job)
    except ConfigError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    return job_service.one_public(session, job)


@router.post("/{job_id}/clone", response_model=JobPublic, status_code=status.HTTP_201_CREATED)
def clone_job(
    job_id: Id, body: JobClone, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> JobPublic:
    job = get_team_job(session, user, job_id)
    config = job_service.clone_config(job.config, body.overrides)
    config["name"] = body.name or body.overrides.get("name") or f"{job.name} (copy)"
    return _create(session, settings, user, job.team_id, config)


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


@router.get("/{job_id}/metrics", response_model=JobMetrics)
def read_metrics(
    job_id: Id,
    user: CurrentUser,
    session: SessionDep,
    since_step: Annotated[int, Query(ge=-1, le=MAX_ID)] = -1,
) -> JobMetrics:
    get_team_job(session, user, job_id)
    rows = session.execute(
        select(
            MetricPoint.kind,
            MetricPoint.step,
            MetricPoint.epoch,
            MetricPoint.loss,
            MetricPoint.learning_rate,
            MetricPoint.tokens_per_second,
        )
        .where(MetricPoint.job_id == job_id, MetricPoint.step > since_step)
        .order_by(MetricPoint.step, MetricPoint.id)
    ).all()
    out: dict[str, list[MetricPointPublic]] = {"train": [], "validation": []}
    for kind, step, epoch, loss, lr, tps in rows:
        out.setdefault(kind, []).append(
            MetricPointPublic(
                step=step, epoch=epoch, loss=loss, learning_rate=lr, tokens_per_second=tps
            )
        )
    return JobMetrics(train=out["train"], validation=out["validation"])


@router.get("/{job_id}/accuracy", response_model=JobAccuracy)
def read_accuracy(job_id: Id, user: CurrentUser, session: SessionDep) -> JobAccuracy:
    get_team_job(session, user, job_id)
    rows = session.scalars(
        select(EvalPoint).where(EvalPoint.job_id == job_id).order_by(EvalPoint.step, EvalPoint.id)
    )
    series: dict[str, list[AccuracyPointPublic]] = {}
    for p in rows:
        series.setdefault(p.benchmark, []).append(
            AccuracyPointPublic(step=p.step, accuracy=p.accuracy, correct=p.correct, total=p.total)
        )
    return JobAccuracy(benchmarks=series)


@router.get("/{job_id}/predictions", response_model=PredictionsPublic)
def read_predictions(
    job_id: Id,
    user: CurrentUser,
    session: SessionDep,
    benchmark: str | None = None,
    wrong_only: bool = False,
    skip: Skip = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PredictionsPublic:
    get_team_job(session, user, job_id)
    where = [Prediction.job_id == job_id]
    if benchmark:
        where.append(Prediction.benchmark == benchmark)
    if wrong_only:
        where.append(Prediction.correct.is_(False))
    count = session.scalar(select(func.count()).select_from(Prediction).where(*where)) or 0
    rows = session.scalars(
        select(Prediction)
        .where(*where)
        .order_by(Prediction.benchmark, Prediction.index)
        .offset(skip)
        .limit(limit)
    ).all()
    data = [PredictionPublic.model_validate(p, from_attributes=True) for p in rows]
    return PredictionsPublic(data=data, count=count)


@router.get("/{job_id}/logs", response_model=JobLogsPublic)
def read_logs(
    job_id: Id,
    user: CurrentUser,
    session: SessionDep,
    after_id: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> JobLogsPublic:
    get_team_job(session, user, job_id)
    where = [JobLog.job_id == job_id, JobLog.id > after_id]
    count = session.scalar(select(func.count()).select_from(JobLog).where(*where)) or 0
    rows = session.scalars(select(JobLog).where(*where).order_by(JobLog.id).limit(limit)).all()
    data = [JobLogPublic.model_validate(x, from_attributes=True) for x in rows]
    return JobLogsPublic(data=data, count=count)


@router.get(
    "/{job_id}/artifact",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "the adapter folder"}},
)
def download_artifact(
    job_id: Id, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    job = get_team_job(session, user, job_id)
    folder = settings.storage_dir / job.artifact_dir / "adapter" if job.artifact_dir else None
    if folder is None or not (folder / "adapter_config.json").is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} has no saved adapter yet")
    tmp = Path(tempfile.mkstemp(suffix=".zip")[1])
    storage.zip_folder(folder, tmp)
    return FileResponse(
        tmp,
        media_type="application/zip",
        filename=f"job-{job_id}-{job.method}-adapter.zip",
        background=BackgroundTask(tmp.unlink, missing_ok=True),
    )


# Event name, table, and the columns each new row is sent with (in id order, after a cursor).
_STREAMED = (
    (
        "metrics",
        MetricPoint,
        ("kind", "step", "epoch", "loss", "learning_rate", "tokens_per_second"),
    ),
    ("accuracy", EvalPoint, ("benchmark", "step", "accuracy", "correct", "total")),
    ("log", JobLog, ("id", "time", "level", "message")),
)


def _columns(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


def _json_value(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=_json_value)}\n\n"


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
    make_session = session_factory(settings.sqlalchemy_url)

    def poll(cursor: dict[str, Any]) -> list[str]:
        out = []
        with make_session() as s:
            job = s.get(Job, job_id)
            if job is None:
                return [_sse("end", {"status": "deleted"})]
            if job.updated_at != cursor.get("updated"):
                cursor["updated"] = job.updated_at
                out.append(_sse("job", job_service.one_public(s, job).model_dump(mode="json")))
            for event, model, columns in _STREAMED:
                rows = s.scalars(
                    select(model)
                    .where(model.job_id == job_id, model.id > cursor[event])
                    .order_by(model.id)
                ).all()
                if rows:
                    cursor[event] = rows[-1].id
                    out.append(_sse(event, [_columns(r, columns) for r in rows]))
            if job.status in FINAL_STATES:
                out.append(_sse("end", {"status": job.status}))
        return out

    async def events() -> AsyncIterator[str]:
        cursor: dict[str, Any] = {event: 0 for event, _, _ in _STREAMED}
        idle = 0.0
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            chunks = await run_in_threadpool(poll, cursor)
            for chunk in chunks:
                yield chunk
            if any(c.startswith("event: end") for c in chunks):
                return
            idle = 0.0 if chunks else idle + 0.5
            if idle >= 15:
                idle = 0.0
                yield ": keep-alive\n\n"
            await asyncio.sleep(0.5)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
