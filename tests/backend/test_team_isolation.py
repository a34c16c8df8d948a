"""Every read and write of another team's objects is refused (as not found: they are invisible)."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from backend.app.core.config import Settings
from backend.app.core.db import session_scope
from backend.app.models import Job

from .conftest import Users, arithmetic_jsonl, auth, prepare_catalogue, tiny_job_config, upload

# (method, path template, json body) — {d} is team A's dataset, {j} team A's job, {t} team A
REQUESTS = [
    ("GET", "/api/v1/datasets/{d}", None),
    ("GET", "/api/v1/datasets/{d}/preview", None),
    ("DELETE", "/api/v1/datasets/{d}", None),
    ("GET", "/api/v1/jobs/{j}", None),
    ("POST", "/api/v1/jobs/{j}/cancel", None),
    ("POST", "/api/v1/jobs/{j}/clone", {}),
    ("DELETE", "/api/v1/jobs/{j}", None),
    ("GET", "/api/v1/jobs/{j}/metrics", None),
    ("GET", "/api/v1/jobs/{j}/accuracy", None),
    ("GET", "/api/v1/jobs/{j}/predictions", None),
    ("GET", "/api/v1/jobs/{j}/logs", None),
    ("GET", "/api/v1/jobs/{j}/artifact", None),
    ("GET", "/api/v1/jobs/{j}/tensorboard", None),
    ("GET", "/api/v1/jobs/{j}/events", None),
    ("POST", "/api/v1/playground", {"job_id": "{j}", "prompt": "hi"}),
    ("GET", "/api/v1/teams/{t}/members", None),
    ("POST", "/api/v1/teams/{t}/members", {"email": "outsider@example.com"}),
    ("GET", "/api/v1/jobs?team_id={t}", None),
    ("GET", "/api/v1/datasets?team_id={t}", None),
    ("GET", "/api/v1/leaderboard?team_id={t}", None),
    ("POST", "/api/v1/jobs", {"team_id": "{t}", "config": "{config}"}),
    ("POST", "/api/v1/jobs", {"config": "{config}"}),  # team A's dataset from team B's job
]


@pytest.fixture
def team_a_objects(app_client: TestClient, users: Users, settings: Settings) -> dict:
    prepare_catalogue(app_client, users.admin)
    d = upload(app_client, users.member, arithmetic_jsonl()).json()["id"]
    j = app_client.post(
        "/api/v1/jobs", json={"config": tiny_job_config(d)}, headers=auth(users.member)
    ).json()["id"]
    # Make the job look finished so every route has something to refuse beyond "not ready".
    with session_scope(settings.sqlalchemy_url) as s:
        s.execute(update(Job).where(Job.id == j).values(status="succeeded"))
    return {"d": d, "j": j, "t": users.team_a, "config": tiny_job_config(d)}


def _fill(value, objs):
    if isinstance(value, str):
        if value == "{config}":
            return objs["config"]
        if value.startswith("{") and value.endswith("}") and value[1:-1] in objs:
            return objs[value[1:-1]]
        return value.format(**objs)
    if isinstance(value, dict):
        return {k: _fill(v, objs) for k, v in value.items()}
    return value


@pytest.mark.parametrize("method,path,body", REQUESTS, ids=[f"{m} {p}" for m, p, _ in REQUESTS])
def test_other_team_is_refused(
    app_client: TestClient, users: Users, team_a_objects: dict, method, path, body
):
    url = _fill(path, team_a_objects)
    kwargs = {"json": _fill(body, team_a_objects)} if body is not None else {}
    r = app_client.request(method, url, headers=auth(users.outsider), **kwargs)
    assert r.status_code in (404, 422), (r.status_code, r.text)
    if r.status_code == 422:
        assert "not found" in r.json()["detail"]
    # The same request by a member of team A is not refused as "not found".
    if method == "GET":
        assert (
            app_client.get(url, headers=auth(users.member)).status_code != 404
            or "artifact" in url
            or "tensorboard" in url  # the job never ran: nothing to download, for anyone
        )


def test_lists_show_only_own_team(app_client: TestClient, users: Users, team_a_objects: dict):
    h = auth(users.outsider)
    assert app_client.get("/api/v1/jobs", headers=h).json()["count"] == 0
    assert app_client.get("/api/v1/datasets", headers=h).json()["count"] == 0
    rows = app_client.get("/api/v1/leaderboard?scope=svamp", headers=h).json()["data"]
    assert all(r["published"] for r in rows)
    # Nothing was changed by the refused writes.
    ha = auth(users.member)
    assert app_client.get(f"/api/v1/jobs/{team_a_objects['j']}", headers=ha).status_code == 200
    assert app_client.get(f"/api/v1/datasets/{team_a_objects['d']}", headers=ha).status_code == 200
    assert app_client.get("/api/v1/jobs", headers=ha).json()["count"] == 1
