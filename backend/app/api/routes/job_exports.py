"""A finished job's adapter exported as a merged model or a GGUF file.

Export loads the base model, so it runs on a worker (`jobs.export`, by name through the
broker), in a process of its own like training. Its state lives in `status.json` beside the
output in the job's artifacts (`exports/<format>/`), written by the worker and read here: no
table, and the shared artifacts folder is all the two sides share."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse
from sqlalchemy import select
from starlette.background import BackgroundTask

from worker.engine.errors import ConfigError
from worker.engine.export import (
    EXPORT_FORMATS,
    ExportStatusFile,
    gguf_refusal,
    method_refusal,
)

from ...core.config import Settings
from ...core.errors import ConflictError
from ...models import BaseModelEntry, Job
from ...schemas import ErrorMessage, ExportCreate, ExportPublic, ExportsPublic
from ...services import broker, storage
from ..deps import CONFLICT, CurrentUser, Id, SessionDep, SettingsDep
from .jobs import get_team_job

router = APIRouter(prefix="/jobs", tags=["jobs"])

# A queued export the worker has not picked up after this long may be asked for again.
_STALE_QUEUED_S = 600


def _folder(settings: Settings, job: Job, fmt: str) -> Path:
    return settings.storage_dir / (job.artifact_dir or "") / "exports" / fmt


def _public(fmt: str, state: dict) -> ExportPublic:
    return ExportPublic.model_validate(
        {**{k: state.get(k) for k in ExportPublic.model_fields}, "format": fmt}
    )


@router.post(
    "/{job_id}/exports",
    response_model=ExportPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **CONFLICT,
        503: {"model": ErrorMessage, "description": "the queue (broker) is unreachable"},
    },
)
def create_export(
    job_id: Id, body: ExportCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ExportPublic:
    job = get_team_job(session, user, job_id)
    if job.status != "succeeded" or not job.artifact_dir:
        raise ConflictError(f"job {job.id} is {job.status}: it has no finished adapter to export")
    reason = method_refusal(job.method)
    if reason is None and body.format == "gguf":
        entry = session.scalar(
            select(BaseModelEntry).where(BaseModelEntry.reference == job.base_model)
        )
        # A model the catalogue does not know is judged by the worker, which loads its config.
        reason = gguf_refusal(entry.family) if entry is not None else None
    if reason:
        raise ConfigError(reason)
    status_file = ExportStatusFile(_folder(settings, job, body.format))
    state = status_file.read() or {}
    busy = state.get("status") == "running" or (
        state.get("status") == "queued"
        and time.time() - float(state.get("updated_at") or 0) < _STALE_QUEUED_S
    )
    if busy:
        raise ConflictError(f"a {body.format} export of job {job.id} is already {state['status']}")
    state = status_file.update(
        status="queued", phase=None, message=None, error=None, size_bytes=None, seconds=None
    )
    try:
        broker.send(settings, broker.EXPORT_TASK, [job.id, body.format])
    except Exception as e:  # noqa: BLE001 - the user may simply ask again
        status_file.update(status="failed", error=f"the queue (broker) is unreachable: {e}")
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "the queue (broker) is unreachable; try again shortly",
            headers={"Retry-After": str(settings.db_retry_after_s)},
        ) from e
    return _public(body.format, state)


@router.get("/{job_id}/exports", response_model=ExportsPublic)
def list_exports(
    job_id: Id, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ExportsPublic:
    """The exports asked for so far (one per format), with their state and progress."""
    job = get_team_job(session, user, job_id)
    data = [
        _public(fmt, state)
        for fmt in EXPORT_FORMATS
        if job.artifact_dir and (state := ExportStatusFile(_folder(settings, job, fmt)).read())
    ]
    return ExportsPublic(data=data, count=len(data))


@router.get(
    "/{job_id}/exports/{fmt}/download",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"application/zip": {}, "application/octet-stream": {}},
            "description": "merged: a zip of the model folder; gguf: the .gguf file",
        },
        404: {"model": ErrorMessage, "description": "no finished export of this format"},
    },
)
def download_export(
    job_id: Id, fmt: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    job = get_team_job(session, user, job_id)
    if fmt not in EXPORT_FORMATS:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}",
        )
    folder = _folder(settings, job, fmt)
    state = ExportStatusFile(folder).read() if job.artifact_dir else None
    if not state or state.get("status") != "succeeded" or not state.get("file"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} has no finished {fmt} export")
    path = folder / state["file"]
    if fmt == "gguf":
        return FileResponse(
            path, media_type="application/octet-stream", filename=f"job-{job_id}-{path.name}"
        )
    fd, name = tempfile.mkstemp(suffix=".zip")
    os.close(fd)
    storage.zip_folder(path, Path(name))
    return FileResponse(
        name,
        media_type="application/zip",
        filename=f"job-{job_id}-{job.method}-merged.zip",
        background=BackgroundTask(Path(name).unlink, missing_ok=True),
    )
