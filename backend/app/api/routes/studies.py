"""Studies: create (every cell validated first), list, read (cells, progress, results table),
cancel, resume, retry failed cells, delete, export the table, plot data, and the paper's
study presets. The rules (fair queueing, reuse) are in `services/studies.py`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.engine.study import WRITERS, StudyConfig
from worker.engine.study_presets import PRESETS, StudyScale, build_preset, preset_cell_count

from ...core.errors import NotFoundError
from ...models import Study, User
from ...schemas import (
    ApiText,
    Message,
    StudiesPublic,
    StudyCreate,
    StudyPlanPublic,
    StudyPlotPublic,
    StudyPresetPublic,
    StudyPresetsPublic,
    StudyPublic,
)
from ...services import studies as study_service
from ..deps import (
    CONFLICT,
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

router = APIRouter(prefix="/studies", tags=["studies"])


def get_team_study(session: Session, user: User, study_id: int) -> Study:
    return team_object(session, user, Study, study_id, "study")


@router.get("/presets", response_model=StudyPresetsPublic)
def list_presets(user: CurrentUser) -> StudyPresetsPublic:
    """The paper's studies, each with its finding; build one at your scale with
    POST /studies/presets/{name}."""
    data = [
        StudyPresetPublic(
            name=p.name,
            title=p.title,
            finding=p.finding,
            method=p.method,
            axes=StudyConfig.from_dict({"name": p.name, "base": {}, "axes": list(p.axes)}).axes,
            cells=preset_cell_count(p),
        )
        for p in PRESETS
    ]
    return StudyPresetsPublic(data=data, count=len(data))


@router.post("/presets/{name}", response_model=StudyConfig)
def build_study_preset(
    name: Annotated[ApiText, Path(max_length=64)], scale: StudyScale, user: CurrentUser
) -> StudyConfig:
    """The preset's study at the given scale, ready to post to POST /studies (nothing is
    stored). Give `dataset_id`; `dataset_path` is for the command line."""
    if name not in {p.name for p in PRESETS}:
        known = ", ".join(p.name for p in PRESETS)
        raise NotFoundError(f"no study preset named {name!r}; presets: {known}")
    return build_preset(name, scale)


@router.post("", response_model=StudyPublic, status_code=status.HTTP_201_CREATED)
def create_study(
    body: StudyCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> StudyPublic:
    """Validates every cell as a job config first (a 422 names the cell and the key, and
    nothing is queued), then submits the first cells; the rest follow as cells end."""
    team = resolve_team(session, user, body.team_id)
    spec = body.to_dict()
    spec.pop("team_id"), spec.pop("preset")
    study = study_service.create_study(session, settings, user, team, spec, body.preset)
    return study_service.study_public(session, study, settings)


@router.post("/plan", response_model=StudyPlanPublic)
def plan_study(
    body: StudyCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> StudyPlanPublic:
    """The study checked as POST /studies would check it (a 422 names the cell and the key)
    and sized before launch: its cells, each cell's estimate, the total time and the largest
    peak memory. Nothing is stored or queued."""
    team = resolve_team(session, user, body.team_id)
    spec = body.to_dict()
    spec.pop("team_id"), spec.pop("preset")
    return study_service.plan_study(session, settings, team, spec)


@router.get("", response_model=StudiesPublic)
def list_studies(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    team_id: TeamFilter = None,
    skip: Skip = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> StudiesPublic:
    teams = [membership(session, user, team_id).team_id] if team_id else team_ids(session, user)
    rows = session.scalars(
        select(Study)
        .where(Study.team_id.in_(teams))
        .order_by(Study.created_at.desc(), Study.id.desc())
        .offset(skip)
        .limit(limit)
    ).all()
    return StudiesPublic(
        data=[study_service.study_public(session, s, settings) for s in rows],
        count=study_service.count_studies(session, teams),
    )


@router.get("/{study_id}", response_model=StudyPublic)
def read_study(
    study_id: Id, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> StudyPublic:
    return study_service.study_public(session, get_team_study(session, user, study_id), settings)


@router.post("/{study_id}/cancel", response_model=StudyPublic)
def cancel_study(
    study_id: Id, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> StudyPublic:
    """Cancels the queued and running cells; pending cells wait (POST .../resume continues)."""
    study = get_team_study(session, user, study_id)
    study_service.cancel_study(session, settings, study)
    return study_service.study_public(session, study, settings)


@router.post("/{study_id}/resume", response_model=StudyPublic)
def resume_study(
    study_id: Id, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> StudyPublic:
    """Continues a cancelled study: cancelled cells run again, pending ones in their turn."""
    study = get_team_study(session, user, study_id)
    study_service.resume_study(session, settings, study)
    return study_service.study_public(session, study, settings)


@router.post("/{study_id}/retry", response_model=StudyPublic, responses=CONFLICT)
def retry_study(
    study_id: Id, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> StudyPublic:
    """Runs the failed cells again (each gets a new job; the failed job stays); 409 if none."""
    study = get_team_study(session, user, study_id)
    study_service.retry_failed(session, settings, study)
    return study_service.study_public(session, study, settings)


@router.delete("/{study_id}", response_model=Message, responses=CONFLICT)
def delete_study(
    study_id: Id,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    delete_jobs: Annotated[
        bool,
        Query(
            description="also delete the jobs the study made, with their artifacts (default: "
            "they stay as ordinary jobs)"
        ),
    ] = False,
) -> Message:
    """Deletes the study (409 while cells are queued or running: cancel it first). Its jobs
    stay as ordinary jobs unless `delete_jobs`; jobs it reused are never deleted."""
    study = get_team_study(session, user, study_id)
    deleted = study_service.delete_study(session, settings, study, delete_jobs)
    extra = f" with {deleted} jobs" if delete_jobs else "; its jobs stay"
    return Message(message=f"study {study_id} deleted{extra}")


@router.get(
    "/{study_id}/results",
    response_class=Response,
    responses={
        200: {
            "description": "the results table as CSV, Markdown or LaTeX",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "text/markdown": {"schema": {"type": "string"}},
                "application/x-tex": {"schema": {"type": "string"}},
            },
        }
    },
)
def export_results(
    study_id: Id,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    format: Annotated[Literal["csv", "md", "tex"], Query(description="csv, md or tex")] = "csv",
) -> Response:
    study = get_team_study(session, user, study_id)
    table = study_service.study_public(session, study, settings).results
    writer, media_type = WRITERS[format]
    return Response(
        writer(table),
        media_type=f"{media_type}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="study-{study_id}-results.{format}"'
        },
    )


@router.get("/{study_id}/plot", response_model=StudyPlotPublic)
def read_study_plot(study_id: Id, user: CurrentUser, session: SessionDep) -> StudyPlotPublic:
    """Per cell: swept values, trainable parameters, peak memory, wall time, accuracies, the
    Pareto flags per cost, and the accuracy curve."""
    return study_service.plot_data(session, get_team_study(session, user, study_id))
