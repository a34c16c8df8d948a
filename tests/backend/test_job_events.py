"""The job event stream without a worker: the rows a worker writes, sent once each in order,
the job's state when it changes, and `end` when the job is final or gone."""

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.app.core.config import Settings
from backend.app.core.db import session_scope
from backend.app.models import Job
from backend.app.services import job_updates
from backend.app.services.job_events import STREAMED, poll

from .conftest import Users, arithmetic_jsonl, auth, prepare_catalogue, tiny_job_config, upload


def parse(chunks: list[str]) -> list[tuple[str, object]]:
    out = []
    for chunk in chunks:
        lines = dict(line.split(": ", 1) for line in chunk.strip().split("\n"))
        out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.fixture
def running_job(app_client: TestClient, users: Users, settings: Settings) -> int:
    """A job the test claims as its worker would (no worker runs here)."""
    prepare_catalogue(app_client, users.admin)
    r = upload(app_client, users.member, arithmetic_jsonl())
    cfg = tiny_job_config(r.json()["id"])
    r = app_client.post("/api/v1/jobs", json={"config": cfg}, headers=auth(users.member))
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    with session_scope(settings.sqlalchemy_url) as s:
        nonce = s.scalar(select(Job.task_id).where(Job.id == job_id))
    assert job_updates.claim(settings, job_id, nonce, "test-worker") is None
    return job_id


def progress(settings: Settings, job_id: int, step: int, **rows: list) -> None:
    job_updates.record_progress(
        settings,
        job_id,
        fields={"step": step},
        metrics=rows.get("metrics", []),
        evals=rows.get("evals", []),
        logs=rows.get("logs", []),
    )


def test_poll_sends_each_row_once_and_the_state_when_it_changes(
    running_job: int, settings: Settings
):
    job_id = running_job
    progress(
        settings,
        job_id,
        1,
        metrics=[{"kind": "train", "step": 1, "loss": 2.5, "learning_rate": 1e-4}],
        evals=[{"benchmark": "svamp", "step": 1, "accuracy": 0.25, "correct": 1, "total": 4}],
        logs=[("info", "step 1")],
    )
    cursor = {event: 0 for event, _, _ in STREAMED}
    first = parse(poll(settings, job_id, cursor))
    assert [e for e, _ in first] == ["job", "metrics", "accuracy", "log"]
    assert first[0][1]["status"] == "running" and first[0][1]["step"] == 1
    assert first[1][1] == [
        {
            "kind": "train",
            "step": 1,
            "epoch": None,
            "loss": 2.5,
            "learning_rate": 1e-4,
            "tokens_per_second": None,
        }
    ]
    assert first[2][1] == [
        {"benchmark": "svamp", "step": 1, "accuracy": 0.25, "correct": 1, "total": 4}
    ]
    assert [x["message"] for x in first[3][1]] == ["step 1"]
    assert poll(settings, job_id, cursor) == []  # nothing new, nothing sent

    progress(settings, job_id, 2, logs=[("info", "step 2"), ("warning", "slow")])
    second = parse(poll(settings, job_id, cursor))
    assert [e for e, _ in second] == ["job", "log"]
    assert second[0][1]["step"] == 2
    assert [(x["level"], x["message"]) for x in second[1][1]] == [
        ("info", "step 2"),
        ("warning", "slow"),
    ]

    assert job_updates.finish(settings, job_id, "failed", "out of memory")
    last = parse(poll(settings, job_id, cursor))
    assert [e for e, _ in last] == ["job", "log", "end"]
    assert last[-1][1] == {"status": "failed"}


def test_stream_replays_a_finished_job_then_ends(
    app_client: TestClient, users: Users, running_job: int, settings: Settings
):
    job_id = running_job
    progress(settings, job_id, 1, logs=[("info", "step 1")])
    assert job_updates.finish(settings, job_id, "succeeded")
    url = f"/api/v1/jobs/{job_id}/events"
    assert app_client.get(url, headers=auth(users.outsider)).status_code == 404
    with app_client.stream("GET", url, headers=auth(users.member)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    retry, *chunks = text.split("\n\n")
    assert retry == "retry: 2000"
    events = parse([c for c in chunks if c])
    assert [e for e, _ in events] == ["job", "log", "end"]
    assert events[0][1]["status"] == "succeeded"
    assert events[-1][1] == {"status": "succeeded"}


def test_a_deleted_job_ends_its_stream(running_job: int, settings: Settings):
    with session_scope(settings.sqlalchemy_url) as s:
        s.delete(s.get(Job, running_job))
    cursor = {event: 0 for event, _, _ in STREAMED}
    assert parse(poll(settings, running_job, cursor)) == [("end", {"status": "deleted"})]
