"""A job's trained adapter, downloaded as a zip of its folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

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
