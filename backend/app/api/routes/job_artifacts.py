"""Files a job's process wrote: its trained adapter (a zip of its folder) and its first
example rendered with its prompt template."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from ...schemas import JobPromptsPublic
from ...services import storage
from ..deps import CurrentUser, Id, SessionDep, SettingsDep
from .jobs import get_team_job

router = APIRouter(prefix="/jobs", tags=["jobs"])


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
    fd, name = tempfile.mkstemp(suffix=".zip")
    os.close(fd)  # zip_folder opens it by name; an unclosed descriptor leaked per download
    tmp = Path(name)
    storage.zip_folder(folder, tmp)
    return FileResponse(
        tmp,
        media_type="application/zip",
        filename=f"job-{job_id}-{job.method}-adapter.zip",
        background=BackgroundTask(tmp.unlink, missing_ok=True),
    )


@router.get(
    "/{job_id}/tensorboard",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "the TensorBoard event files"},
        404: {"description": "no such job in the team, or it has written no TensorBoard files yet"},
    },
)
def download_tensorboard(
    job_id: Id, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> FileResponse:
    """The job's curves as TensorBoard event files (zip of its `tensorboard/` folder), for
    `tensorboard --logdir` on the unzipped folder; written live, so a running job has them too."""
    job = get_team_job(session, user, job_id)
    folder = settings.storage_dir / job.artifact_dir / "tensorboard" if job.artifact_dir else None
    if folder is None or not any(folder.glob("events.out.tfevents.*")):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"job {job_id} has no TensorBoard files yet")
    fd, name = tempfile.mkstemp(suffix=".zip")
    os.close(fd)
    tmp = Path(name)
    storage.zip_folder(folder, tmp)
    return FileResponse(
        tmp,
        media_type="application/zip",
        filename=f"job-{job_id}-tensorboard.zip",
        background=BackgroundTask(tmp.unlink, missing_ok=True),
    )


@router.get(
    "/{job_id}/prompts",
    response_model=JobPromptsPublic,
    responses={404: {"description": "no such job in the team, or its prompts are not written yet"}},
)
def read_prompts(
    job_id: Id, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> JobPromptsPublic:
    """The first training example as trained on and as asked at evaluation, verbatim (the
    paper's template keeps its source's indentation and trailing spaces)."""
    job = get_team_job(session, user, job_id)
    path = settings.storage_dir / job.artifact_dir / "prompts.json" if job.artifact_dir else None
    if path is None or not path.is_file():
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"job {job_id} has no rendered prompts yet (written when its training starts)",
        )
    return JobPromptsPublic.model_validate(json.loads(path.read_text(encoding="utf-8")))
