"""Teams and memberships. Owners add and remove members; every member sees the team's work."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import Membership, Team, User
from ...schemas import (
    InviteCreate,
    InviteCreated,
    MemberAdd,
    MemberPublic,
    MembersPublic,
    Message,
    TeamCreate,
    TeamPublic,
    TeamsPublic,
    UserCreate,
    UserPublic,
)
from ...services import accounts
from ...services.accounts import get_user_by_email, user_public
from ..deps import CONFLICT, FORBIDDEN, AdminUser, CurrentUser, Id, SessionDep, membership

router = APIRouter(tags=["teams"])
users_router = APIRouter(tags=["users"])


@router.get("/teams", response_model=TeamsPublic)
def list_teams(user: CurrentUser, session: SessionDep) -> TeamsPublic:
    rows = session.execute(
        select(Team, Membership.role)
        .join(Membership, Membership.team_id == Team.id)
        .where(Membership.user_id == user.id)
        .order_by(Team.id)
    ).all()
    data = [TeamPublic(id=t.id, name=t.name, role=r, created_at=t.created_at) for t, r in rows]
    return TeamsPublic(data=data, count=len(data))


@router.post(
    "/teams", response_model=TeamPublic, status_code=status.HTTP_201_CREATED, responses=CONFLICT
)
def create_team(body: TeamCreate, user: CurrentUser, session: SessionDep) -> TeamPublic:
    if session.scalar(select(func.count()).where(Team.name == body.name.strip())):
        raise HTTPException(status.HTTP_409_CONFLICT, f"a team named {body.name!r} exists")
    team = accounts.create_team(session, body.name, user)
    session.commit()
    return TeamPublic(id=team.id, name=team.name, role="owner", created_at=team.created_at)


@router.get("/teams/{team_id}/members", response_model=MembersPublic)
def list_members(team_id: Id, user: CurrentUser, session: SessionDep) -> MembersPublic:
    membership(session, user, team_id)
    rows = session.execute(
        select(User, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.team_id == team_id)
        .order_by(User.id)
    ).all()
    data = [
        MemberPublic(user_id=u.id, email=u.email, full_name=u.full_name, role=r) for u, r in rows
    ]
    return MembersPublic(data=data, count=len(data))


def _require_owner(session: Session, user: User, team_id: int) -> None:
    if membership(session, user, team_id).role != "owner":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only a team owner can change members")


@router.post(
    "/teams/{team_id}/members",
    response_model=MemberPublic,
    status_code=status.HTTP_201_CREATED,
    responses=FORBIDDEN,
)
def add_member(
    team_id: Id, body: MemberAdd, user: CurrentUser, session: SessionDep
) -> MemberPublic:
    _require_owner(session, user, team_id)
    other = get_user_by_email(session, body.email)
    if other is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user with email {body.email!r}")
    existing = session.scalar(
        select(Membership).where(Membership.user_id == other.id, Membership.team_id == team_id)
    )
    if existing is not None:
        existing.role = body.role
    else:
        session.add(Membership(user_id=other.id, team_id=team_id, role=body.role))
    session.commit()
    return MemberPublic(
        user_id=other.id, email=other.email, full_name=other.full_name, role=body.role
    )


@router.post(
    "/teams/{team_id}/invites",
    response_model=InviteCreated,
    status_code=status.HTTP_201_CREATED,
    responses={**FORBIDDEN, **CONFLICT},
)
def invite_member(
    team_id: Id, body: InviteCreate, user: CurrentUser, session: SessionDep
) -> InviteCreated:
    """A team owner adds someone who has no account yet: the account is made with a one-time
    password (answered once, never stored in clear) that must be replaced at the first sign-in."""
    _require_owner(session, user, team_id)
    if get_user_by_email(session, body.email) is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"{body.email!r} already has an account: add them with POST /teams/{team_id}/members",
        )
    one_time = secrets.token_urlsafe(12)
    invited = accounts.create_user(session, body.email, one_time, body.full_name)
    invited.must_change_password = True
    session.add(Membership(user_id=invited.id, team_id=team_id, role=body.role))
    session.commit()
    member = MemberPublic(
        user_id=invited.id, email=invited.email, full_name=invited.full_name, role=body.role
    )
    return InviteCreated(member=member, one_time_password=one_time)


@router.delete(
    "/teams/{team_id}/members/{user_id}",
    response_model=Message,
    responses={**FORBIDDEN, **CONFLICT},
)
def remove_member(team_id: Id, user_id: Id, user: CurrentUser, session: SessionDep) -> Message:
    _require_owner(session, user, team_id)
    m = session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.team_id == team_id)
    )
    if m is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"user {user_id} is not in team {team_id}")
    owners = session.scalar(
        select(func.count()).where(Membership.team_id == team_id, Membership.role == "owner")
    )
    if m.role == "owner" and owners == 1:
        raise HTTPException(status.HTTP_409_CONFLICT, "a team keeps at least one owner")
    session.delete(m)
    session.commit()
    return Message(message="member removed")


@users_router.post(
    "/users",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses={**FORBIDDEN, **CONFLICT},
)
def create_user(body: UserCreate, admin: AdminUser, session: SessionDep) -> UserPublic:
    if get_user_by_email(session, body.email) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"a user with email {body.email!r} exists")
    user = accounts.create_user(session, body.email, body.password, body.full_name)
    session.commit()
    return user_public(session, user)
