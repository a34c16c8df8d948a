"""The API's side of inference without an inference service behind it (SQLite and PostgreSQL):
a clear 503 naming why (none configured, or unreachable), in the playground's error shape and
in OpenAI's on /v1; /v1 lists only the caller's teams' finished adapters; OpenAI-shaped 401,
400 and 404; the playground's history per team."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from backend.app.core.config import Settings
from backend.app.core.db import session_scope
from backend.app.models import Generation, Job

from .conftest import Users, arithmetic_jsonl, auth, prepare_catalogue, tiny_job_config, upload


@pytest.fixture
def finished_job(app_client: TestClient, users: Users, settings: Settings) -> int:
    prepare_catalogue(app_client, users.admin)
    d = upload(app_client, users.member, arithmetic_jsonl()).json()["id"]
    config = tiny_job_config(d, name="math-lora")
    job_id = app_client.post("/api/v1/jobs", json={"config": config}, headers=auth(users.member))
    job_id = job_id.json()["id"]
    with session_scope(settings.sqlalchemy_url) as s:
        s.execute(
            update(Job).where(Job.id == job_id).values(status="succeeded", artifact_dir="a/1")
        )
    return job_id


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def test_models_lists_base_models_and_the_teams_finished_adapters(
    app_client: TestClient, users: Users, finished_job: int
):
    r = app_client.get("/v1/models", headers=auth(users.member))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "list"
    by_id = {m["id"]: m for m in body["data"]}
    assert "tiny:llama" in by_id
    adapter = by_id[f"job-{finished_job}"]
    assert adapter["parent"] == "tiny:llama" and adapter["name"] == "math-lora"
    # Another team sees the base models, not this team's adapter, and cannot ask it.
    other = app_client.get("/v1/models", headers=auth(users.outsider)).json()
    assert f"job-{finished_job}" not in {m["id"] for m in other["data"]}
    r = app_client.post(
        "/v1/chat/completions",
        json={"model": f"job-{finished_job}", "messages": [{"role": "user", "content": "hi"}]},
        headers=auth(users.outsider),
    )
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "model_not_found"


def test_openai_errors_have_openai_shape(app_client: TestClient, users: Users):
    r = app_client.get("/v1/models")
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"
    assert "not signed in" in r.json()["error"]["message"]
    r = app_client.post(
        "/v1/chat/completions",
        json={"model": "tiny:llama", "messages": [], "temperature": 5},
        headers=auth(users.member),
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "messages" in error["message"] and "temperature" in error["message"]
    r = app_client.post(
        "/v1/completions",
        json={"model": "tiny:llama", "prompt": "hi", "stop": ["a", "b", "c", "d", "e"]},
        headers=auth(users.member),
    )
    assert r.status_code == 400 and "stop" in r.json()["error"]["message"]


@pytest.mark.parametrize("configured", [False, True], ids=["not configured", "unreachable"])
def test_without_an_inference_service_the_answer_is_503_naming_why(
    app_client: TestClient, users: Users, settings: Settings, finished_job: int, configured: bool
):
    settings.inference_url = f"http://127.0.0.1:{_closed_port()}" if configured else ""
    why = "unreachable" if configured else "no inference service is configured"
    r = app_client.post(
        "/v1/completions",
        json={"model": f"job-{finished_job}", "prompt": "hi", "stream": True},
        headers=auth(users.member),
    )
    assert r.status_code == 503
    assert why in r.json()["error"]["message"]
    r = app_client.post(
        "/api/v1/playground/stream",
        json={"job_id": finished_job, "prompt": "hi", "temperature": 0.5},
        headers=auth(users.member),
    )
    assert r.status_code == 503 and why in r.json()["detail"]
    # The request is kept in the history, failed with the reason and its settings.
    history = app_client.get("/api/v1/playground", headers=auth(users.member)).json()
    [entry] = history["data"]
    assert entry["status"] == "failed" and why in entry["error"]
    assert entry["temperature"] == 0.5 and entry["top_p"] == 1.0
    assert app_client.get("/api/v1/playground", headers=auth(users.outsider)).json()["count"] == 0


def test_playground_refuses_bad_settings_and_unfinished_jobs(
    app_client: TestClient, users: Users, settings: Settings, finished_job: int
):
    for bad in ({"temperature": -1}, {"top_p": 0}, {"max_new_tokens": 0}):
        r = app_client.post(
            "/api/v1/playground",
            json={"job_id": finished_job, "prompt": "hi", **bad},
            headers=auth(users.member),
        )
        assert r.status_code == 422 and next(iter(bad)) in r.json()["detail"]
    with session_scope(settings.sqlalchemy_url) as s:
        s.execute(update(Job).where(Job.id == finished_job).values(status="running"))
    r = app_client.post(
        "/api/v1/playground",
        json={"job_id": finished_job, "prompt": "hi"},
        headers=auth(users.member),
    )
    assert r.status_code == 409 and "no finished adapter" in r.json()["detail"]
    with session_scope(settings.sqlalchemy_url) as s:
        assert s.query(Generation).count() == 0
