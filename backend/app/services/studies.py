"""Studies: create (validated as a whole), submit cells a few at a time, cancel, resume, retry
failed cells, reuse finished runs, and the public view with its results table and plot data.

Fair queueing: a study keeps at most `settings.study_max_active_cells` of its cells queued or
running. The others are pending cells with no job row; `advance` submits the next ones when
cells end (the API's reaper loop calls `advance_all` every `reaper_interval_s`). The broker's
queue is FIFO, so another team's job sent meanwhile runs before the study's later cells.
Each submitted cell is an ordinary job made by `jobs.create_job` (one call per cell).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from worker.engine.config import JobConfig
from worker.engine.errors import ConfigError
from worker.engine.study import (
    CellResult,
    StudyConfig,
    aggregate,
    expand,
    pareto_front,
    run_fingerprint,
    validate_cells,
)
from worker.engine.study_presets import PRESETS

from ..core.config import Settings
from ..core.db import session_scope
from ..core.errors import ConflictError
from ..models import Dataset, EvalPoint, Job, JobResult, Study, StudyCell, User
from ..schemas import (
    JobEstimatePublic,
    StudyCellPublic,
    StudyCurvePoint,
    StudyPlanCell,
    StudyPlanPublic,
    StudyPlotPoint,
    StudyPlotPublic,
    StudyProgress,
    StudyPublic,
)
from . import jobs as job_service
from . import storage

log = logging.getLogger(__name__)

ACTIVE_JOB_STATES = ("queued", "running")


def data_digest(settings: Settings, dataset: Dataset) -> str:
    """sha256 of a stored dataset's file (two uploads of the same records share it)."""
    digest = hashlib.sha256()
    with (settings.storage_dir / dataset.path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def create_study(
    session: Session,
    settings: Settings,
    user: User,
    team_id: int,
    spec: dict[str, Any],
    preset: str | None = None,
) -> Study:
    """Validates every cell first (a ConfigError names the cell and the key; nothing is stored
    or queued then), stores the study and its cells, and submits the first cells."""
    study = StudyConfig.from_dict(spec)
    cells = expand(study)
    configs: list[JobConfig] = validate_cells(
        cells, lambda data: job_service.validate_config(session, team_id, data)
    )
    digests: dict[int, str] = {}
    for config in configs:
        assert config.dataset_id is not None  # validate_config requires it
        if config.dataset_id not in digests:
            dataset = session.get(Dataset, config.dataset_id)
            assert dataset is not None
            digests[config.dataset_id] = data_digest(settings, dataset)
    row = Study(
        team_id=team_id,
        owner_id=user.id,
        name=study.name,
        description=study.description,
        preset=preset,
        spec=study.to_dict(),
        status="active",
    )
    session.add(row)
    session.flush()
    for cell, config in zip(cells, configs, strict=True):
        stored = config.to_dict()
        session.add(
            StudyCell(
                study_id=row.id,
                index=cell.index,
                labels=cell.labels,
                values=cell.values,
                config=stored,
                state="pending",
                fingerprint=run_fingerprint(stored, digests[config.dataset_id or 0]),
            )
        )
    session.commit()
    advance(session, settings, row.id)
    return row


def plan_study(
    session: Session, settings: Settings, team_id: int, spec: dict[str, Any]
) -> StudyPlanPublic:
    """What create_study would make, checked the same way (a ConfigError names the cell and the
    key), with each cell's estimate; nothing is stored."""
    from . import estimates

    study = StudyConfig.from_dict(spec)
    cells = expand(study)
    configs: list[JobConfig] = validate_cells(
        cells, lambda data: job_service.validate_config(session, team_id, data)
    )
    planned: list[StudyPlanCell] = []
    for cell, config in zip(cells, configs, strict=True):
        try:
            data = estimates.estimate(session, team_id, config, config.dataset_id)
            planned.append(
                StudyPlanCell(
                    index=cell.index,
                    labels=cell.labels,
                    title=cell.title,
                    estimate=JobEstimatePublic.model_validate(data),
                )
            )
        except ConfigError as e:  # e.g. a model class that cannot be sized without weights
            planned.append(
                StudyPlanCell(
                    index=cell.index,
                    labels=cell.labels,
                    title=cell.title,
                    estimate=None,
                    note=str(e),
                )
            )
    times = [c.estimate.total_seconds if c.estimate else None for c in planned]
    peaks = [c.estimate.memory.total for c in planned if c.estimate]
    return StudyPlanPublic(
        cells=planned,
        count=len(planned),
        total_seconds=None if any(t is None for t in times) else sum(t or 0.0 for t in times),
        peak_memory_bytes=max(peaks, default=None),
        max_active_cells=settings.study_max_active_cells,
    )


def _claim(session: Session, settings: Settings, study_id: int) -> list[int]:
    """Links pending cells that an earlier succeeded job of the team already ran, and marks as
    many pending cells `submitting` as the study has free slots; returns the claimed cells' ids
    (committed, so no other advancer takes them).

    The first statement writes the study row: on PostgreSQL that locks it, on SQLite it takes
    the write lock, so two advancers (the reaper loop, a request) count the slots one after
    the other and never both fill the same free slot."""
    session.commit()  # end any read transaction: the write below must start a fresh one
    locked = session.execute(
        update(Study)
        .where(Study.id == study_id, Study.status == "active")
        .values(updated_at=datetime.now(UTC))
    )
    if getattr(locked, "rowcount", 0) != 1:
        session.rollback()
        return []
    team_id = session.scalar(select(Study.team_id).where(Study.id == study_id))
    cells = session.scalars(
        select(StudyCell).where(StudyCell.study_id == study_id).order_by(StudyCell.index)
    ).all()
    job_ids = [c.job_id for c in cells if c.state == "submitted" and c.job_id is not None]
    status_of = dict(
        session.execute(select(Job.id, Job.status).where(Job.id.in_(job_ids))).tuples().all()
    )
    active = sum(
        1
        for c in cells
        if c.state == "submitting"
        or (c.state == "submitted" and status_of.get(c.job_id or -1) in ACTIVE_JOB_STATES)
    )
    claimed = []
    for cell in cells:
        if cell.state != "pending":
            continue
        earlier = session.scalar(
            select(Job.id)
            .where(
                Job.team_id == team_id,
                Job.fingerprint == cell.fingerprint,
                Job.status == "succeeded",
            )
            .order_by(Job.id.desc())
            .limit(1)
        )
        if earlier is not None:
            cell.state, cell.job_id, cell.error = "reused", earlier, None
            continue
        if active >= settings.study_max_active_cells:
            continue  # keep looking: later pending cells may still be reused
        cell.state = "submitting"
        claimed.append(cell.id)
        active += 1
    session.commit()
    return claimed


def advance(session: Session, settings: Settings, study_id: int) -> int:
    """Submits the study's next cells as far as its slots allow; returns how many."""
    claimed = _claim(session, settings, study_id)
    study = session.get(Study, study_id)
    if study is None:
        return 0
    owner = session.get(User, study.owner_id) if study.owner_id else None
    for cell_id in claimed:
        cell = session.get(StudyCell, cell_id)
        assert cell is not None
        try:
            # The one way jobs are made (validation and dispatch are the jobs service's).
            job = job_service.create_job(
                session, settings, owner or User(id=None), study.team_id, dict(cell.config)
            )
        except ConfigError as e:
            session.rollback()
            cell = session.get(StudyCell, cell_id)
            assert cell is not None
            cell.state, cell.error = "error", str(e)
            session.commit()
            continue
        job.study_id, job.study_cell, job.fingerprint = study_id, cell.index, cell.fingerprint
        cell.state, cell.job_id, cell.error = "submitted", job.id, None
        session.commit()
    return len(claimed)


def advance_all(settings: Settings) -> int:
    """One pass over the active studies with pending cells (the reaper loop calls it)."""
    submitted = 0
    with session_scope(settings.sqlalchemy_url) as session:
        ids = session.scalars(
            select(Study.id)
            .where(
                Study.status == "active",
                Study.id.in_(
                    select(StudyCell.study_id).where(StudyCell.state.in_(("pending", "submitting")))
                ),
            )
            .order_by(Study.id)
        ).all()
        session.commit()
        for study_id in ids:
            submitted += advance(session, settings, study_id)
    return submitted


def _cells_and_jobs(session: Session, study: Study) -> tuple[list[StudyCell], dict[int, Job]]:
    cells = list(
        session.scalars(
            select(StudyCell).where(StudyCell.study_id == study.id).order_by(StudyCell.index)
        )
    )
    ids = [c.job_id for c in cells if c.job_id is not None]
    jobs = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(ids)))} if ids else {}
    return cells, jobs


def cancel_study(session: Session, settings: Settings, study: Study) -> None:
    """Stops the study: pending cells stay unsubmitted, queued and running cells are cancelled
    (a running one stops at its next step)."""
    study.status = "cancelled"
    study.updated_at = datetime.now(UTC)
    session.commit()
    cells, jobs = _cells_and_jobs(session, study)
    for cell in cells:
        job = jobs.get(cell.job_id or -1)
        if cell.state == "submitted" and job is not None and job.status in ACTIVE_JOB_STATES:
            with contextlib.suppress(ConflictError):  # it ended meanwhile
                job_service.cancel_job(session, settings, job)


def _reopen(session: Session, settings: Settings, study: Study, statuses: tuple[str, ...]) -> int:
    """Cells whose job ended in one of `statuses` (or, for 'failed', that could not be
    created) go back to pending; the study becomes active and submits them in its turn."""
    cells, jobs = _cells_and_jobs(session, study)
    reopened = 0
    for cell in cells:
        job = jobs.get(cell.job_id or -1)
        failed_to_create = cell.state == "error" and "failed" in statuses
        ended = cell.state == "submitted" and job is not None and job.status in statuses
        if failed_to_create or ended:
            # The earlier job stays (its page, logs and error); the cell gets a new one.
            cell.state, cell.job_id, cell.error = "pending", None, None
            reopened += 1
    study.status = "active"
    study.updated_at = datetime.now(UTC)
    session.commit()
    advance(session, settings, study.id)
    return reopened


def resume_study(session: Session, settings: Settings, study: Study) -> int:
    """Continues a cancelled study: its cancelled cells run again, pending ones in turn."""
    return _reopen(session, settings, study, ("cancelled",))


def retry_failed(session: Session, settings: Settings, study: Study) -> int:
    reopened = _reopen(session, settings, study, ("failed",))
    if reopened == 0:
        raise ConflictError(f"study {study.id} has no failed cells")
    return reopened


def delete_study(session: Session, settings: Settings, study: Study, delete_jobs: bool) -> int:
    """Deletes the study and its cells. Its jobs stay as ordinary jobs (pages, leaderboard)
    unless `delete_jobs`: then the jobs it made are deleted with their artifacts (reused jobs
    belong to whoever made them and stay). Refused while any of its cells is queued or running."""
    cells, jobs = _cells_and_jobs(session, study)
    busy = [
        c.index for c in cells if (j := jobs.get(c.job_id or -1)) and j.status in ACTIVE_JOB_STATES
    ]
    if busy:
        raise ConflictError(
            f"study {study.id} has cells queued or running ({', '.join(map(str, busy))}): "
            "cancel it first"
        )
    own = list(session.scalars(select(Job).where(Job.study_id == study.id)))
    folders = []
    for job in own:
        if delete_jobs:
            folders.append(job.artifact_dir)
            session.delete(job)
        else:
            job.study_id, job.study_cell = None, None
    session.delete(study)
    session.commit()
    for folder in folders:
        storage.delete_stored(settings, folder)
    return len(own) if delete_jobs else 0


# --- the public view --------------------------------------------------------------------------


def _results(session: Session, job_ids: list[int]) -> dict[int, list[JobResult]]:
    out: dict[int, list[JobResult]] = {i: [] for i in job_ids}
    if job_ids:
        for r in session.scalars(select(JobResult).where(JobResult.job_id.in_(job_ids))):
            out[r.job_id].append(r)
    return out


def _cell_status(cell: StudyCell, job: Job | None) -> str:
    if cell.state == "error":
        return "error"
    if cell.state in ("pending", "submitting") or job is None:
        return "pending"
    return job.status


def _cell_views(
    session: Session, study: Study
) -> list[tuple[StudyCell, Job | None, list[JobResult], str]]:
    cells, jobs = _cells_and_jobs(session, study)
    results = _results(session, list(jobs))
    return [
        (c, job, results.get(c.job_id, []) if c.job_id else [], _cell_status(c, job))
        for c in cells
        for job in [jobs.get(c.job_id or -1)]
    ]


def _fraction(job: Job | None, status: str) -> float:
    if status == "succeeded":
        return 1.0
    if job is None or not job.total_steps:
        return 0.0
    return min(1.0, job.step / job.total_steps)


def study_public(session: Session, study: Study, settings: Settings) -> StudyPublic:
    spec = StudyConfig.model_validate(study.spec)
    views = _cell_views(session, study)
    cells_out, results_in = [], []
    for cell, job, results, status in views:
        accuracy = {r.benchmark: r.accuracy for r in results}
        examples = {r.benchmark: r.total for r in results}
        scoring = next((r.scoring for r in results if r.scoring), None)
        cells_out.append(
            StudyCellPublic(
                index=cell.index,
                labels=cell.labels,
                values=cell.values,
                state=cell.state,  # type: ignore[arg-type]
                status=status,  # type: ignore[arg-type]
                job_id=cell.job_id,
                error=cell.error or (job.error if job is not None else None),
                phase=job.phase if job is not None else None,
                fraction=_fraction(job, status),
                trainable_parameters=job.trainable_parameters if job else None,
                total_parameters=job.total_parameters if job else None,
                peak_memory_bytes=job.peak_memory_bytes if job else None,
                wall_seconds=job.wall_seconds if job else None,
                accuracy=accuracy,
                examples=examples,
                scoring=scoring,
                config=JobConfig.model_validate(cell.config),
            )
        )
        results_in.append(
            CellResult(
                index=cell.index,
                labels=cell.labels,
                status=status,
                trainable_parameters=job.trainable_parameters if job else None,
                total_parameters=job.total_parameters if job else None,
                peak_memory_bytes=job.peak_memory_bytes if job else None,
                wall_seconds=job.wall_seconds if job else None,
                accuracy=accuracy,
                examples=examples,
                scoring=scoring,
            )
        )
    statuses = [status for *_, status in views]
    ended = sum(s in ("succeeded", "failed", "cancelled", "error") for s in statuses)
    progress = StudyProgress(
        total=len(views),
        pending=statuses.count("pending"),
        queued=statuses.count("queued"),
        running=statuses.count("running"),
        succeeded=statuses.count("succeeded"),
        reused=sum(c.state == "reused" for c, *_ in views),
        failed=statuses.count("failed") + statuses.count("error"),
        cancelled=statuses.count("cancelled"),
        fraction=ended / len(views) if views else 1.0,
    )
    busy = progress.queued + progress.running
    if busy or (study.status == "active" and progress.pending):
        state = "running"
    elif progress.pending or progress.cancelled:
        state = "cancelled" if study.status == "cancelled" else "finished"
    else:
        state = "finished"
    owner = session.get(User, study.owner_id) if study.owner_id else None
    preset = next((p for p in PRESETS if p.name == study.preset), None)
    return StudyPublic(
        id=study.id,
        team_id=study.team_id,
        owner_id=study.owner_id,
        owner_email=owner.email if owner else None,
        name=study.name,
        description=study.description,
        preset=study.preset,
        finding=preset.finding if preset else None,
        status=study.status,  # type: ignore[arg-type]
        state=state,  # type: ignore[arg-type]
        max_active_cells=settings.study_max_active_cells,
        spec=spec,
        axes=spec.axis_names(),
        seed_axis=spec.seed_axis(),
        progress=progress,
        cells=cells_out,
        results=aggregate(results_in, spec.axis_names(), spec.seed_axis()),
        created_at=study.created_at,
        updated_at=study.updated_at,
    )


def results_table(session: Session, study: Study, settings: Settings) -> Any:
    return study_public(session, study, settings).results


def plot_data(session: Session, study: Study) -> StudyPlotPublic:
    spec = StudyConfig.model_validate(study.spec)
    views = _cell_views(session, study)
    benchmarks: list[str] = []
    for _, _, results, _ in views:
        benchmarks += [r.benchmark for r in results if r.benchmark not in benchmarks]
    job_ids = [job.id for _, job, _, _ in views if job is not None]
    curves: dict[int, dict[str, list[StudyCurvePoint]]] = {i: {} for i in job_ids}
    if job_ids:
        for p in session.scalars(
            select(EvalPoint)
            .where(EvalPoint.job_id.in_(job_ids))
            .order_by(EvalPoint.job_id, EvalPoint.benchmark, EvalPoint.step)
        ):
            curves[p.job_id].setdefault(p.benchmark, []).append(
                StudyCurvePoint(step=p.step, accuracy=100 * p.accuracy)
            )
    averages: list[float | None] = []
    for _, _, results, status in views:
        acc = {r.benchmark: r.accuracy for r in results}
        complete = status == "succeeded" and benchmarks and all(b in acc for b in benchmarks)
        averages.append(
            100 * sum(acc[b] for b in benchmarks) / len(benchmarks) if complete else None
        )
    costs: dict[str, list[float | None]] = {
        "trainable_parameters": [
            job.trainable_parameters if job else None for _, job, _, _ in views
        ],
        "peak_memory_bytes": [job.peak_memory_bytes if job else None for _, job, _, _ in views],
        "wall_seconds": [job.wall_seconds if job else None for _, job, _, _ in views],
    }
    fronts = {
        name: pareto_front(
            [
                (float(c) if c is not None else None, a)
                for c, a in zip(values, averages, strict=True)
            ]
        )
        for name, values in costs.items()
    }
    data = []
    for i, (cell, job, results, status) in enumerate(views):
        data.append(
            StudyPlotPoint(
                index=cell.index,
                labels=cell.labels,
                values=cell.values,
                status=status,  # type: ignore[arg-type]
                job_id=cell.job_id,
                trainable_parameters=job.trainable_parameters if job else None,
                peak_memory_bytes=job.peak_memory_bytes if job else None,
                wall_seconds=job.wall_seconds if job else None,
                accuracy={r.benchmark: 100 * r.accuracy for r in results},
                average=averages[i],
                pareto={name: flags[i] for name, flags in fronts.items()},
                curves=curves.get(job.id, {}) if job else {},
            )
        )
    return StudyPlotPublic(
        axes=spec.axis_names(), seed_axis=spec.seed_axis(), benchmarks=benchmarks, data=data
    )


def count_studies(session: Session, team_ids: list[int]) -> int:
    return (
        session.scalar(select(func.count()).select_from(Study).where(Study.team_id.in_(team_ids)))
        or 0
    )


__all__ = [
    "advance",
    "advance_all",
    "cancel_study",
    "create_study",
    "delete_study",
    "plot_data",
    "resume_study",
    "retry_failed",
    "study_public",
]
