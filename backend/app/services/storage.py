"""Files on disk: stored datasets (canonical JSON Lines) and job artifacts (zipped on request)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterable
from pathlib import Path

from ..core.config import Settings


def write_dataset_file(settings: Settings, team_id: int, records: Iterable[dict]) -> str:
    """Writes records to a new file atomically; returns its path relative to the storage folder."""
    path = settings.datasets_dir / str(team_id) / f"{uuid.uuid4().hex}.jsonl"
    rel = path.relative_to(settings.storage_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for rec in records:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return str(rel)


def read_dataset_file(settings: Settings, rel: str) -> list[dict[str, str]]:
    with (settings.storage_dir / rel).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def delete_stored(settings: Settings, rel: str | None) -> None:
    if not rel:
        return
    path = settings.storage_dir / rel
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def job_artifact_rel(settings: Settings, job_id: int) -> str:
    """A job's artifact folder, relative to the storage folder (as the job row stores it)."""
    return str((settings.artifacts_dir / f"job-{job_id}").relative_to(settings.storage_dir))


def zip_folder(folder: Path, into: Path) -> Path:
    """Zips `folder` (files relative to it) into `into`; returns the zip's path."""
    with zipfile.ZipFile(into, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder))
    return into
