"""A job's recorded series, read after a cursor or by page: training metrics, accuracy per
benchmark, final results (JSON or CSV, each score with its scoring rule), predictions and logs."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import func, select

from ...models import EvalPoint, JobLog, JobResult, MetricPoint, Prediction
from ...schemas import (
    AccuracyPointPublic,
    JobAccuracy,
    JobLogPublic,
    JobLogsPublic,
    JobMetrics,
    JobResultPublic,
    JobResultsPublic,
    MetricPointPublic,
    PredictionPublic,
    PredictionsPublic,
)
from ..deps import MAX_ID, CurrentUser, Id, SessionDep, Skip, TextFilter
from .jobs import get_team_job

router = APIRouter(prefix="/jobs", tags=["jobs"])


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
            AccuracyPointPublic(
                step=p.step,
                accuracy=p.accuracy,
                correct=p.correct,
                total=p.total,
                scoring=p.scoring,
            )
        )
    return JobAccuracy(benchmarks=series)


RESULT_COLUMNS = ("benchmark", "suite", "accuracy", "correct", "total", "scoring")


@router.get(
    "/{job_id}/results",
    response_model=JobResultsPublic,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def read_results(
    job_id: Id,
    user: CurrentUser,
    session: SessionDep,
    as_format: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> JobResultsPublic | Response:
    """The final score per benchmark, each with the rule it was read with, so a score taken
    out of the studio still says whether it compares with the paper's tables."""
    job = get_team_job(session, user, job_id)
    rows = session.scalars(
        select(JobResult).where(JobResult.job_id == job_id).order_by(JobResult.benchmark)
    ).all()
    data = [JobResultPublic.model_validate(r, from_attributes=True) for r in rows]
    if as_format == "json":
        return JobResultsPublic(data=data, count=len(data))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=RESULT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in data:
        writer.writerow(r.model_dump())
    name = f"job-{job.id}-results.csv"
    return Response(
        buf.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/{job_id}/predictions", response_model=PredictionsPublic)
def read_predictions(
    job_id: Id,
    user: CurrentUser,
    session: SessionDep,
    benchmark: TextFilter = None,
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
