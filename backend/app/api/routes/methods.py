"""Adapter methods with their parameter schema, defaults and placements per family."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from ...models import BaseModelEntry
from ...schemas import EstimatePublic, EstimateRequest, MethodPublic, MethodsPublic
from ...services import catalogue
from ..deps import CurrentUser, SessionDep

router = APIRouter(prefix="/methods", tags=["methods"])


@router.get("", response_model=MethodsPublic)
def list_methods(user: CurrentUser) -> MethodsPublic:
    data = [MethodPublic.model_validate(m) for m in catalogue.methods()]
    return MethodsPublic(data=data, count=len(data))


@router.post("/estimate", response_model=EstimatePublic)
def estimate_parameters(
    body: EstimateRequest, user: CurrentUser, session: SessionDep
) -> EstimatePublic:
    """Trainable parameters an adapter would have on a registered model (exact, no weights)."""
    entry = session.scalar(
        select(BaseModelEntry).where(BaseModelEntry.reference == body.base_model)
    )
    if entry is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"base model {body.base_model!r} is not registered"
        )
    trainable = catalogue.estimate(entry, body.adapter)
    total = entry.parameters
    pct = catalogue.trainable_percent(trainable, total)
    note = None
    if trainable is None:
        method = str(body.adapter.get("method", "this method"))
        note = (
            f"{method} computes its shape from the model's weights, so it has no estimate "
            "before training; the job shows the exact count once its model is loaded"
        )
    return EstimatePublic(
        trainable_parameters=trainable, total_parameters=total, trainable_percent=pct, note=note
    )
