"""Users, teams and tokens: the few writes that several routes and `studio up` share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.security import hash_password, hash_token, new_token
from ..models import ApiToken, Membership, Team, User
from ..schemas import TeamMembershipPublic, UserPublic


def create_user(
    session: Session, email: str, password: str, full_name: str = "", is_admin: bool = False
) -> User:
    user = User(
        email=email.strip().lower(),
        full_name=full_name,
        password_hash=hash_password(password),
        is_admin=is_admin,
    )
    session.add(user)
    session.flush()
    return user


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def create_team(session: Session, name: str, owner: User) -> Team:
    team = Team(name=name.strip())
    session.add(team)
    session.flush()
    session.add(Membership(user_id=owner.id, team_id=team.id, role="owner"))
    session.flush()
    return team


def issue_token(
    session: Session, user: User, name: str, kind: str = "api", days: int | None = None
) -> tuple[ApiToken, str]:
    raw = new_token()
    token = ApiToken(
        user_id=user.id,
        name=name,
        kind=kind,
        token_hash=hash_token(raw),
        prefix=raw[:10],
        expires_at=datetime.now(UTC) + timedelta(days=days) if days else None,
    )
    session.add(token)
    session.flush()
    return token, raw


def user_public(session: Session, user: User) -> UserPublic:
    rows = session.execute(
        select(Team.id, Team.name, Membership.role)
        .join(Membership, Membership.team_id == Team.id)
        .where(Membership.user_id == user.id)
        .order_by(Team.id)
    ).all()
    return UserPublic(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        is_admin=user.is_admin,
        must_change_password=user.must_change_password,
        teams=[TeamMembershipPublic(id=i, name=n, role=r) for i, n, r in rows],
    )
