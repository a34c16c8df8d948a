"""Liveness for health checks (docker-compose, load balancers)."""

from fastapi import APIRouter
from sqlalchemy import text

from ...schemas import Message
from ..deps import SessionDep

router = APIRouter(tags=["utils"])


@router.get("/health", response_model=Message)
def health(session: SessionDep) -> Message:
    session.execute(text("SELECT 1"))
    return Message(message="ok")
