"""Dependencies as named aliases, so a handler's signature reads like a sentence."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.config import Settings
from ..core.db import session_factory
from ..core.errors import NotFoundError
from ..core.ratelimit import LoginLimits
from ..core.security import hash_token
from ..models import ApiToken, Membership, User
from ..schemas import MAX_ID, ApiText

SESSION_COOKIE = "studio_session"


class TeamOwned(Protocol):
    @property
    def team_id(self) -> int: ...


T = TypeVar("T", bound=TeamOwned)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
TeamFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="one of your teams")]
Skip = Annotated[int, Query(ge=0, le=10**9)]
# An optional text filter of a list (method, base model, benchmark): bounded, no NUL.
TextFilter = Annotated[ApiText | None, Query(max_length=512)]


def _error(description: str) -> dict[str, Any]:
    from ..schemas import ErrorMessage

    return {"model": ErrorMessage, "description": description}


# Extra documented responses of a route (`responses=`), as FastAPI types them.
Responses = dict[int | str, dict[str, Any]]
CONFLICT: Responses = {409: _error("refused in the object's current state")}
FORBIDDEN: Responses = {403: _error("not allowed for your role")}
_bearer = HTTPBearer(auto_error=False, description="an API token (sst_...)")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


_login_limits_lock = threading.Lock()


def get_login_limits(request: Request, settings: SettingsDep) -> LoginLimits:
    """The app's sign-in limits, made on first use (one per app, so one per test app)."""
    state = request.app.state
    with _login_limits_lock:
        limits = getattr(state, "login_limits", None)
        if limits is None:
            limits = state.login_limits = LoginLimits(
                settings.login_failures_per_account,
                settings.login_failures_per_address,
                settings.login_window_s,
            )
    return limits


LoginLimitsDep = Annotated[LoginLimits, Depends(get_login_limits)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    session = session_factory(settings.sqlalchemy_url)()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


# What an invited person may do before replacing the one-time password.
_ALLOWED_BEFORE_NEW_PASSWORD = frozenset(
    f"/api/v1{p}" for p in ("/users/me", "/users/me/password", "/auth/logout")
)


def get_current_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    raw = credentials.credentials if credentials else request.cookies.get(SESSION_COOKIE)
    if not raw:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "not signed in: send 'Authorization: Bearer <token>' or sign in",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    now = datetime.now(UTC)
    if (
        token is None
        or token.revoked_at is not None
        or (token.expires_at is not None and token.expires_at < now)
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the token is unknown, expired or revoked",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Write last-use at most once a minute: a busy client must not turn reads into writes.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
        session.commit()
    user = session.get(User, token.user_id)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the token's user no longer exists")
    request.state.token_id = token.id
    if user.must_change_password and request.url.path not in _ALLOWED_BEFORE_NEW_PASSWORD:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "set a new password first (you signed in with a one-time password): "
            "POST /api/v1/users/me/password",
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_admin(user: CurrentUser) -> User:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an administrator can do this")
    return user


AdminUser = Annotated[User, Depends(get_admin)]


def team_ids(session: Session, user: User) -> list[int]:
    return list(session.scalars(select(Membership.team_id).where(Membership.user_id == user.id)))


def team_object(session: Session, user: User, model: type[T], object_id: int, what: str) -> T:
    """A team-owned row the user may see; another team's is simply not found."""
    obj = session.get(model, object_id)
    if obj is None or obj.team_id not in team_ids(session, user):
        raise NotFoundError(f"{what} {object_id} not found")
    return obj


def membership(session: Session, user: User, team_id: int) -> Membership:
    """The user's membership of `team_id`; another team's objects are simply not found."""
    m = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.team_id == team_id)
    )
    if m is None:
        raise NotFoundError(f"team {team_id} not found")
    return m


def resolve_team(session: Session, user: User, team_id: int | None) -> int:
    """`team_id` when the user belongs to it; otherwise the user's first team."""
    if team_id is not None:
        return membership(session, user, team_id).team_id
    ids = team_ids(session, user)
    if not ids:
        raise HTTPException(status.HTTP_409_CONFLICT, "you belong to no team: create one first")
    return min(ids)
