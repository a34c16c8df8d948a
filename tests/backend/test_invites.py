"""A team owner invites someone without an account: a one-time password shown once, nothing but
setting a new password until it is replaced, then the team's work as a member."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.app.core.db import session_scope
from backend.app.models import User

from .conftest import Users, auth


def sign_in(client: TestClient, email: str, password: str) -> tuple[int, dict]:
    r = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    return r.status_code, r.json()


def test_an_invited_person_must_set_a_password_first(
    app_client: TestClient, users: Users, settings
):
    c = app_client
    r = c.post(
        f"/api/v1/teams/{users.team_a}/invites",
        json={"email": "New.Person@example.com", "full_name": "Nia", "role": "member"},
        headers=auth(users.admin),
    )
    assert r.status_code == 201, r.text
    invite = r.json()
    one_time = invite["one_time_password"]
    assert len(one_time) >= 12 and invite["member"]["email"] == "new.person@example.com"
    with session_scope(settings.sqlalchemy_url) as s:
        stored = s.scalar(select(User).where(User.email == "new.person@example.com"))
        assert stored is not None and one_time not in stored.password_hash  # never in clear
    members = c.get(f"/api/v1/teams/{users.team_a}/members", headers=auth(users.admin)).json()
    assert "new.person@example.com" in [m["email"] for m in members["data"]]

    code, body = sign_in(c, "new.person@example.com", one_time)
    assert code == 200 and body["user"]["must_change_password"] is True
    token = body["access_token"]
    # Until the password is replaced: who am I, set the password, sign out; nothing else.
    assert c.get("/api/v1/users/me", headers=auth(token)).status_code == 200
    refused = c.get("/api/v1/jobs", headers=auth(token))
    assert refused.status_code == 403 and "set a new password first" in refused.json()["detail"]
    r = c.post(
        "/api/v1/users/me/password",
        json={"current_password": "not-it-at-all", "new_password": "a-long-fresh-phrase"},
        headers=auth(token),
    )
    assert r.status_code == 400 and "current password is wrong" in r.json()["detail"]
    r = c.post(
        "/api/v1/users/me/password",
        json={"current_password": one_time, "new_password": "password"},
        headers=auth(token),
    )
    assert r.status_code == 422 and "too weak" in r.json()["detail"]
    r = c.post(
        "/api/v1/users/me/password",
        json={"current_password": one_time, "new_password": "a-long-fresh-phrase"},
        headers=auth(token),
    )
    assert r.status_code == 200 and r.json()["must_change_password"] is False
    assert c.get("/api/v1/jobs", headers=auth(token)).status_code == 200
    # The one-time password is spent; the new one signs in.
    assert sign_in(c, "new.person@example.com", one_time)[0] == 401
    code, body = sign_in(c, "new.person@example.com", "a-long-fresh-phrase")
    assert code == 200 and body["user"]["must_change_password"] is False
    assert [t["id"] for t in body["user"]["teams"]] == [users.team_a]


def test_only_owners_invite_and_only_new_people(app_client: TestClient, users: Users):
    c = app_client
    new = {"email": "someone@example.com"}
    r = c.post(f"/api/v1/teams/{users.team_a}/invites", json=new, headers=auth(users.member))
    assert r.status_code == 403
    r = c.post(f"/api/v1/teams/{users.team_a}/invites", json=new, headers=auth(users.outsider))
    assert r.status_code in (403, 404)
    existing = {"email": "member@example.com"}
    r = c.post(f"/api/v1/teams/{users.team_a}/invites", json=existing, headers=auth(users.admin))
    assert r.status_code == 409 and "already has an account" in r.json()["detail"]
    r = c.post(
        f"/api/v1/teams/{users.team_a}/invites",
        json={"email": "no-at-sign"},
        headers=auth(users.admin),
    )
    assert r.status_code == 422
