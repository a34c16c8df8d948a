"""Base models offered in the catalogue (installation-wide)."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from ...models import BaseModelEntry
from ...schemas import BaseModelCreate, BaseModelPublic, BaseModelsPublic
from ...services import catalogue
from ..deps import FORBIDDEN, AdminUser, CurrentUser, SessionDep

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", response_model=BaseModelsPublic)
def list_models(user: CurrentUser, session: SessionDep) -> BaseModelsPublic:
    rows = session.scalars(select(BaseModelEntry).order_by(BaseModelEntry.id)).all()
    data = [BaseModelPublic.model_validate(r, from_attributes=True) for r in rows]
    return BaseModelsPublic(data=data, count=len(data))


@router.post(
    "", response_model=BaseModelPublic, status_code=status.HTTP_201_CREATED, responses=FORBIDDEN
)
def register_model(body: BaseModelCreate, admin: AdminUser, session: SessionDep) -> BaseModelPublic:
    entry = catalogue.register_model(session, body.reference.strip(), body.label)
    session.commit()
    return BaseModelPublic.model_validate(entry, from_attributes=True)
