"""Training datasets of a team: upload (validated whole), list, preview, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import JSONResponse
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ...models import Dataset, Job, User
from ...schemas import (
    DatasetPreview,
    DatasetPublic,
    DatasetRecord,
    DatasetsPublic,
    Message,
    TokenStatsPublic,
    UploadError,
    UploadProblem,
)
from ...services import storage
from ...services.datasets import UploadRejected, store_upload
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

router = APIRouter(prefix="/datasets", tags=["datasets"])


def _public(ds: Dataset, in_use: bool) -> DatasetPublic:
    return DatasetPublic(
        id=ds.id,
        team_id=ds.team_id,
        name=ds.name,
        filename=ds.filename,
        format=ds.format,
        size_bytes=ds.size_bytes,
        row_count=ds.row_count,
        dropped_rows=ds.dropped_rows,
        token_stats=TokenStatsPublic.model_validate(ds.stats or {"count": 0}),
        created_at=ds.created_at,
        in_use=in_use,
    )


def _in_use(session: Session, dataset_id: int) -> bool:
    return bool(session.scalar(select(exists().where(Job.dataset_id == dataset_id))))


def get_team_dataset(session: Session, user: User, dataset_id: int) -> Dataset:
    return team_object(session, user, Dataset, dataset_id, "dataset")


@router.post(
    "",
    response_model=DatasetPublic,
    status_code=status.HTTP_201_CREATED,
    responses={413: {"model": UploadError}, 422: {"model": UploadError}},
)
def upload_dataset(
    file: Annotated[UploadFile, File(description="JSON array, JSON Lines or CSV")],
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    name: Annotated[str | None, Form(max_length=255)] = None,
    team_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> DatasetPublic | JSONResponse:
    team = resolve_team(session, user, team_id)
    filename = file.filename or "upload"
    try:
        up = store_upload(settings, team, filename, name, file.file)
    except UploadRejected as e:
        body = UploadError(
            detail=e.detail,
            problems=[
                UploadProblem(row=p.row, field=p.field, message=p.message) for p in e.problems
            ],
        )
        return JSONResponse(body.model_dump(), status_code=e.status)
    try:
        ds = Dataset(
            team_id=team,
            owner_id=user.id,
            name=(name or filename).strip() or filename,
            filename=filename,
            format=up.format,
            path=up.path,
            size_bytes=up.size_bytes,
            row_count=up.row_count,
            dropped_rows=up.dropped_rows,
            stats=up.stats,
        )
        session.add(ds)
        session.commit()
    except BaseException:
        storage.delete_stored(settings, up.path)  # no orphan file when the row is not stored
        raise
    return _public(ds, False)


@router.get("", response_model=DatasetsPublic)
def list_datasets(
    user: CurrentUser,
    session: SessionDep,
    team_id: TeamFilter = None,
    skip: Skip = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DatasetsPublic:
    teams = [membership(session, user, team_id).team_id] if team_id else team_ids(session, user)
    where = Dataset.team_id.in_(teams)
    count = session.scalar(select(func.count()).select_from(Dataset).where(where)) or 0
    rows = session.scalars(
        select(Dataset).where(where).order_by(Dataset.id.desc()).offset(skip).limit(limit)
    ).all()
    used = set(
        session.scalars(
            select(Job.dataset_id).where(Job.dataset_id.in_([d.id for d in rows])).distinct()
        )
    )
    return DatasetsPublic(data=[_public(d, d.id in used) for d in rows], count=count)


@router.get("/{dataset_id}", response_model=DatasetPublic)
def read_dataset(dataset_id: Id, user: CurrentUser, session: SessionDep) -> DatasetPublic:
    ds = get_team_dataset(session, user, dataset_id)
    return _public(ds, _in_use(session, ds.id))


@router.get("/{dataset_id}/preview", response_model=DatasetPreview)
def preview_dataset(
    dataset_id: Id,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    skip: Skip = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> DatasetPreview:
    ds = get_team_dataset(session, user, dataset_id)
    records = storage.read_dataset_file(settings, ds.path)
    page = [DatasetRecord(**r) for r in records[skip : skip + limit]]
    return DatasetPreview(data=page, count=len(records))


@router.delete("/{dataset_id}", response_model=Message, responses=CONFLICT)
def delete_dataset(
    dataset_id: Id, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> Message:
    ds = get_team_dataset(session, user, dataset_id)
    if _in_use(session, ds.id):
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"dataset {dataset_id} is used by a job; delete those jobs first",
        )
    path = ds.path
    session.delete(ds)
    session.commit()
    storage.delete_stored(settings, path)
    return Message(message=f"dataset {dataset_id} deleted")
