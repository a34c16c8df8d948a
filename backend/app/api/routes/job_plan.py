"""What a training config will do with a dataset, before a job is made: held-out and training
rows, optimiser steps, warm-up, and the likely mistakes (the New job form shows it)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from worker.engine.config import TrainingConfig
from worker.engine.schedule import plan_training

from ...models import Dataset
from ..deps import MAX_ID, CurrentUser, SessionDep, team_object

router = APIRouter(prefix="/jobs", tags=["jobs"])


class TrainingPlanRequest(BaseModel):
    dataset_id: int = Field(ge=1, le=MAX_ID, description="an uploaded dataset of your teams")
    training: TrainingConfig = Field(
        default_factory=TrainingConfig, description="the job config's training section"
    )


class TrainingPlanPublic(BaseModel):
    rows: int = Field(description="records in the dataset")
    validation_rows: int = Field(description="records held out for the validation loss")
    training_rows: int = Field(description="records trained on")
    steps_per_epoch: int = Field(description="optimiser steps in one pass over the training rows")
    total_steps: int = Field(description="optimiser steps in all (max_steps when set)")
    warmup_steps: int = Field(description="linear warm-up steps")
    peak_fraction: float = Field(
        description="the share of the peak learning rate the schedule reaches (below 1 when "
        "warm-up is as long as training)"
    )
    warnings: list[str] = Field(description="what in the plan is likely a mistake, in words")


@router.post("/plan", response_model=TrainingPlanPublic)
def plan_job_training(
    body: TrainingPlanRequest, user: CurrentUser, session: SessionDep
) -> TrainingPlanPublic:
    """The plan is the one the worker follows (worker/engine/schedule.py); row counts are the
    stored dataset's (examples whose answer falls beyond cutoff_len are dropped at training)."""
    dataset = team_object(session, user, Dataset, body.dataset_id, "dataset")
    plan = plan_training(dataset.row_count, body.training)
    return TrainingPlanPublic(**vars(plan))
