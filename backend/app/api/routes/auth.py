"""Browser sign-in (a session cookie) and API tokens (shown once, stored hashed, revocable)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy import select

from ...core.config import weak_password_reason
from ...core.security import hash_password, verify_sign_in
from ...models import ApiToken
from ...schemas import (
    ErrorMessage,
    LoginRequest,
    LoginResponse,
    Message,
    PasswordChange,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    TokensPublic,
    UserPublic,
)
from ...services.accounts import get_user_by_email, issue_token, user_public
from ..deps import SESSION_COOKIE, CurrentUser, Id, LoginLimitsDep, SessionDep, SettingsDep

router = APIRouter(tags=["auth"])
users_router = APIRouter(tags=["users"])
tokens_router = APIRouter(tags=["tokens"])


@router.post(
    "/auth/login",
    response_model=LoginResponse,
    responses={
        401: {"model": ErrorMessage, "description": "wrong e-mail or password"},
        429: {
            "model": ErrorMessage,
            "description": "too many failed sign-ins for the account or from the address; "
            "the Retry-After header says when to try again",
        },
    },
)
def login(
    body: LoginRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limits: LoginLimitsDep,
    response: Response,
) -> LoginResponse:
    account = body.email.strip().lower()
    address = request.client.host if request.client else "unknown"
    wait = limits.retry_after(account, address)
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed sign-ins; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    user = get_user_by_email(session, body.email)
    matches = verify_sign_in(body.password, user.password_hash if user else None)
    if user is None or not matches:
        limits.failed(account, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    limits.succeeded(account)
    _, raw = issue_token(session, user, "browser session", "session", settings.session_days)
    session.commit()
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.environment == "production",
    )
    return LoginResponse(access_token=raw, user=user_public(session, user))


@router.post("/auth/logout", response_model=Message)
def logout(request: Request, user: CurrentUser, session: SessionDep, response: Response) -> Message:
    token = session.get(ApiToken, request.state.token_id)
    if token is not None and token.kind == "session":
        token.revoked_at = datetime.now(UTC)
        session.commit()
    response.delete_cookie(SESSION_COOKIE)
    return Message(message="signed out")


@users_router.get("/users/me", response_model=UserPublic)
def read_me(user: CurrentUser, session: SessionDep) -> UserPublic:
    return user_public(session, user)


@users_router.post(
    "/users/me/password",
    response_model=UserPublic,
    responses={
        400: {"model": ErrorMessage, "description": "the current password is wrong"},
        422: {"model": ErrorMessage, "description": "the new password is too weak"},
    },
)
def change_password(body: PasswordChange, user: CurrentUser, session: SessionDep) -> UserPublic:
    """Sets a new password (the first thing an invited person does). Other sessions and API
    tokens stay valid; revoke them in Settings if the old password may have leaked."""
    if not verify_sign_in(body.current_password, user.password_hash):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the current password is wrong")
    reason = weak_password_reason(body.new_password, user.email)
    if reason:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"the new password is too weak: {reason}"
        )
    if body.new_password == body.current_password:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "the new password must differ from the current"
        )
    user.password_hash = hash_password(body.new_password)
    user.must_change_password = False
    session.commit()
    return user_public(session, user)


def _token_public(t: ApiToken) -> TokenPublic:
    return TokenPublic.model_validate(t, from_attributes=True)


@tokens_router.get("/tokens", response_model=TokensPublic)
def list_tokens(user: CurrentUser, session: SessionDep) -> TokensPublic:
    rows = session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.kind == "api")
        .order_by(ApiToken.id)
    ).all()
    return TokensPublic(data=[_token_public(t) for t in rows], count=len(rows))


@tokens_router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, user: CurrentUser, session: SessionDep) -> TokenCreated:
    token, raw = issue_token(session, user, body.name)
    session.commit()
    return TokenCreated(**_token_public(token).model_dump(), token=raw)


@tokens_router.delete("/tokens/{token_id}", response_model=Message)
def revoke_token(token_id: Id, user: CurrentUser, session: SessionDep) -> Message:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        session.commit()
    return Message(message=f"token {token.prefix}… revoked")
