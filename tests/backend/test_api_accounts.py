"""Sign-in, tokens (shown once, hashed, revocable), teams and members."""

from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.app.core.db import session_scope
from backend.app.models import ApiToken

from .conftest import Users, auth


def test_login_sets_a_session_cookie_and_logout_revokes_it(app_client: TestClient, users: Users):
    r = app_client.post(
        "/api/v1/auth/login", json={"email": "member@example.com", "password": "member-password"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["user"]["teams"][0]["name"] == "team-a"
    assert app_client.get("/api/v1/users/me").json()["email"] == "member@example.com"  # cookie
    assert app_client.post("/api/v1/auth/logout").status_code == 200
    app_client.cookies.clear()
    bearer = r.json()["access_token"]
    assert app_client.get("/api/v1/users/me", headers=auth(bearer)).status_code == 401


def test_wrong_password_is_refused(app_client: TestClient, users: Users):
    r = app_client.post(
        "/api/v1/auth/login", json={"email": "member@example.com", "password": "nope-nope"}
    )
    assert r.status_code == 401 and "wrong email or password" in r.json()["detail"]


def test_no_token_and_bad_token_are_401(app_client: TestClient, users: Users):
    assert app_client.get("/api/v1/jobs").status_code == 401
    assert app_client.get("/api/v1/jobs", headers=auth("sst_not-a-token")).status_code == 401


def test_token_is_shown_once_stored_hashed_and_revocable(app_client, users: Users, settings):
    r = app_client.post("/api/v1/tokens", json={"name": "ci"}, headers=auth(users.member))
    assert r.status_code == 201
    token = r.json()["token"]
    assert token.startswith("sst_")
    listed = app_client.get("/api/v1/tokens", headers=auth(users.member)).json()["data"]
    assert all("token" not in t for t in listed) and any(t["name"] == "ci" for t in listed)
    with session_scope(settings.sqlalchemy_url) as s:
        hashes = list(s.scalars(select(ApiToken.token_hash)))
    assert token not in hashes and all(len(h) == 64 for h in hashes)
    assert app_client.get("/api/v1/users/me", headers=auth(token)).status_code == 200
    tid = r.json()["id"]
    assert app_client.delete(f"/api/v1/tokens/{tid}", headers=auth(users.member)).status_code == 200
    assert app_client.get("/api/v1/users/me", headers=auth(token)).status_code == 401
    # Another user's token cannot be revoked (or even seen).
    assert (
        app_client.delete(f"/api/v1/tokens/{tid}", headers=auth(users.outsider)).status_code == 404
    )


def test_teams_and_members(app_client: TestClient, users: Users):
    r = app_client.post("/api/v1/teams", json={"name": "research"}, headers=auth(users.member))
    assert r.status_code == 201 and r.json()["role"] == "owner"
    team = r.json()["id"]
    r = app_client.post(
        f"/api/v1/teams/{team}/members",
        json={"email": "outsider@example.com"},
        headers=auth(users.member),
    )
    assert r.status_code == 201
    names = [
        t["name"]
        for t in app_client.get("/api/v1/teams", headers=auth(users.outsider)).json()["data"]
    ]
    assert names == ["team-b", "research"]
    # A plain member cannot change membership; the last owner cannot leave.
    r = app_client.post(
        f"/api/v1/teams/{users.team_a}/members",
        json={"email": "outsider@example.com"},
        headers=auth(users.member),
    )
    assert r.status_code == 403
    me = app_client.get("/api/v1/users/me", headers=auth(users.member)).json()["id"]
    r = app_client.delete(f"/api/v1/teams/{team}/members/{me}", headers=auth(users.member))
    assert r.status_code == 409 and "at least one owner" in r.json()["detail"]
    assert (
        app_client.post(
            "/api/v1/teams", json={"name": "research"}, headers=auth(users.admin)
        ).status_code
        == 409
    )


def test_only_admins_create_users(app_client: TestClient, users: Users):
    body = {"email": "new@example.com", "password": "long-enough"}
    assert (
        app_client.post("/api/v1/users", json=body, headers=auth(users.member)).status_code == 403
    )
    assert app_client.post("/api/v1/users", json=body, headers=auth(users.admin)).status_code == 201
    r = app_client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 200
