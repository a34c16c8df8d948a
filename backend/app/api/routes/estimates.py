"""Estimates before launch: parameters, peak memory by part, time per step and in total."""

from __future__ import annotations

from fastapi import APIRouter

from ...schemas import EstimateCreate, JobEstimatePublic
from ...services import estimates
from ..deps import CurrentUser, SessionDep, resolve_team

router = APIRouter(prefix="/estimates", tags=["estimates"])


@router.post("", response_model=JobEstimatePublic)
def estimate_job(body: EstimateCreate, user: CurrentUser, session: SessionDep) -> JobEstimatePublic:
    """What a job config would need on the workers' device (docs/estimates.md): exact trainable
    parameters, the peak memory of a training step by part, and time per step and in total
    (with a dataset). Creates nothing; 422 names what the config gets wrong."""
    team = resolve_team(session, user, body.team_id) if body.config.dataset_id else None
    settings = body.config
    data = estimates.estimate(session, team, settings, settings.dataset_id)
    return JobEstimatePublic.model_validate(data)
