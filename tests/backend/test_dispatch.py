"""The outbox, the lost-message watch and the reaper's re-queue, pass by pass, on both databases
(no worker: each test drives one pass and reads the rows and the broker's queue)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.app.core.config import Settings
from backend.app.core.db import session_scope
from backend.app.main import create_app
from backend.app.models import Job, JobLog
from backend.app.services import job_updates
from backend.app.services.broker import QUEUE
from backend.app.services.dispatch import dispatch_pending, pending_task_ids, watch_queued
from backend.app.services.reaper import reap_stale_jobs

from .conftest import (
    REDIS_URL,
    auth,
    make_settings,
    prepare_catalogue,
    seed_users,
    tiny_job_config,
    upload,
)
from .stack import free_port

LONG_AGO = timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def down_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """A broker nobody listens on (a free port)."""
    return make_settings(
        request.param, tmp_path, broker_url=f"redis://127.0.0.1:{free_port()}/0", queue_stale_s=60
    )


def submit(settings: Settings) -> tuple[TestClient, dict]:
    users = seed_users(settings)
    client = TestClient(create_app(settings))
    prepare_catalogue(client, users.admin)
    r = upload(client, users.member, "\n".join(['{"instruction": "1+1?", "output": "2"}'] * 8))
    assert r.status_code == 201, r.text
    cfg = tiny_job_config(r.json()["id"])
    r = client.post("/api/v1/jobs", json={"config": cfg}, headers=auth(users.member))
    return client, r.json() | {"_status": r.status_code, "_token": users.member}


def test_a_submit_while_the_broker_is_down_is_accepted_and_kept(down_settings: Settings):
    _, job = submit(down_settings)
    assert job["_status"] == 202
    assert job["status"] == "queued" and job["dispatched"] is False
    assert job["queue_reason"].startswith("waiting for the queue: the broker is unreachable")
    assert dispatch_pending(down_settings) == []  # still down: nothing sent, nothing lost
    with session_scope(down_settings.sqlalchemy_url) as s:
        row = s.get(Job, job["id"])
        assert row is not None and row.status == "queued" and row.dispatched_at is None
    # The broker "comes back": the same settings pointed at a live one.
    up = down_settings.model_copy(update={"broker_url": REDIS_URL})
    redis.Redis.from_url(REDIS_URL).delete(QUEUE)
    assert dispatch_pending(up) == [job["id"]]
    assert dispatch_pending(up) == []  # sent once
    with session_scope(up.sqlalchemy_url) as s:
        row = s.get(Job, job["id"])
        assert row is not None and row.dispatched_at is not None and row.queue_reason is None
        assert row.task_id in (pending_task_ids(up) or set())


def test_the_dispatcher_never_sends_a_job_its_submitter_is_sending(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """The dispatcher's pass lands between the submit's commit and its send (CI saw two copies of
    one job in the queue): it must leave the row to its submitter, one message in all."""
    from backend.app.services import broker

    real_send = broker.send
    passes: list[list[int]] = []

    def send_after_a_dispatcher_pass(*args, **kwargs):
        passes.append(dispatch_pending(settings))
        return real_send(*args, **kwargs)

    monkeypatch.setattr(broker, "send", send_after_a_dispatcher_pass)
    redis.Redis.from_url(REDIS_URL).delete(QUEUE)
    _, job = submit(settings)
    assert job["_status"] == 201 and job["dispatched"] is True
    assert passes == [[]]  # the pass ran inside the submit and sent nothing
    assert redis.Redis.from_url(REDIS_URL).llen(QUEUE) == 1


def test_a_job_whose_submitter_died_before_sending_is_sent_by_the_watch(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """The API process dies between the commit and the send: the row says sent, the broker holds
    nothing; after queue_stale_s the watch finds the message missing and sends it."""
    from backend.app.services import broker

    class Killed(BaseException):
        """Not an Exception: send() cannot catch it, as it cannot catch a kill."""

    def die(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(broker, "send", die)
    redis.Redis.from_url(REDIS_URL).delete(QUEUE)
    with pytest.raises(BaseException) as raised:  # the test client wraps it in a group
        submit(settings)
    assert raised.group_contains(Killed) if raised.type is not Killed else True
    monkeypatch.undo()
    with session_scope(settings.sqlalchemy_url) as s:
        row = s.scalars(select(Job).order_by(Job.id.desc())).first()
        assert row is not None and row.status == "queued" and row.dispatched_at is not None
        job_id, nonce = row.id, row.task_id
    assert dispatch_pending(settings) == []
    assert watch_queued(settings, now=datetime.now(UTC) + LONG_AGO) == [job_id]
    assert pending_task_ids(settings) == {nonce}


def test_a_lost_message_is_sent_again_and_a_waiting_job_says_why(settings: Settings):
    _, job = submit(settings)
    assert job["_status"] == 201 and job["dispatched"] is True
    with session_scope(settings.sqlalchemy_url) as s:
        row = s.get(Job, job["id"])
        assert row is not None
        nonce = row.task_id
        row.dispatched_at = datetime.now(UTC) - LONG_AGO
    assert nonce in (pending_task_ids(settings) or set())
    # Its message is still in the queue: nobody took it, and the reason says so.
    assert watch_queued(settings) == []
    reason = _job(settings, job["id"]).queue_reason or ""
    assert reason.startswith("no worker has taken it for 60 min"), reason
    # The broker lost it (a restart without persistence): sent again with the same nonce.
    redis.Redis.from_url(REDIS_URL).delete(QUEUE)
    assert watch_queued(settings) == [job["id"]]
    assert pending_task_ids(settings) == {nonce}
    with session_scope(settings.sqlalchemy_url) as s:
        logs = s.scalars(select(JobLog.message).where(JobLog.job_id == job["id"])).all()
    assert any("message was lost" in m for m in logs)


def test_a_second_copy_of_a_message_never_runs_or_fails_the_job(settings: Settings):
    _, job = submit(settings)
    nonce = _job(settings, job["id"]).task_id or ""
    assert job_updates.claim(settings, job["id"], nonce, "w1") is None
    refused = job_updates.claim(settings, job["id"], nonce, "w2")
    assert refused == f"job {job['id']} is already running on w1"
    row = _job(settings, job["id"])
    assert row.status == "running" and row.worker == "w1" and row.attempts == 1
    assert job_updates.claim(settings, job["id"], uuid.uuid4().hex, "w3") is not None  # stale


def test_a_cancel_and_a_claim_that_both_read_queued_never_both_win(settings: Settings):
    """The API reads the job queued, a worker claims it, then the cancel lands: the job keeps
    running with its cancel requested (it stops at its next step), not "cancelled" on record
    while it runs to success. And the other order: a claim after the cancel is refused."""
    from backend.app.core.db import session_factory
    from backend.app.services.jobs import cancel_job

    client, job = submit(settings)
    nonce = _job(settings, job["id"]).task_id or ""
    session = session_factory(settings.sqlalchemy_url)()
    try:
        stale = session.get(Job, job["id"])
        assert stale is not None and stale.status == "queued"
        session.commit()  # ends the read; SQLite would otherwise hold its snapshot
        assert job_updates.claim(settings, job["id"], nonce, "w1") is None
        cancel_job(session, settings, stale)
    finally:
        session.close()
    row = _job(settings, job["id"])
    assert row.status == "running" and row.cancel_requested is True

    cfg = tiny_job_config(job["config"]["dataset_id"])
    r = client.post("/api/v1/jobs", json={"config": cfg}, headers=auth(job["_token"]))
    assert r.status_code == 201, r.text
    second = r.json()
    nonce = _job(settings, second["id"]).task_id or ""
    with session_scope(settings.sqlalchemy_url) as s:
        cancel_job(s, settings, s.get(Job, second["id"]))
    refused = job_updates.claim(settings, second["id"], nonce, "w1")
    assert refused == f"job {second['id']} is cancelled"


@pytest.mark.parametrize("attempts, expected", [(1, "queued"), (2, "queued"), (3, "failed")])
def test_the_reaper_requeues_within_the_retry_budget(settings: Settings, attempts, expected):
    assert settings.job_max_retries == 2  # the documented default
    _, job = submit(settings)
    nonce = _job(settings, job["id"]).task_id
    with session_scope(settings.sqlalchemy_url) as s:
        row = s.get(Job, job["id"])
        assert row is not None
        row.status, row.worker, row.attempts = "running", "w1@host", attempts
        row.heartbeat_at = datetime.now(UTC) - LONG_AGO
    assert reap_stale_jobs(settings) == [job["id"]]
    row = _job(settings, job["id"])
    assert row.status == expected
    reason = row.history[-1]["reason"]
    assert "w1@host stopped sending heartbeats" in reason
    if expected == "queued":
        assert row.task_id != nonce and row.dispatched_at is None  # fresh nonce, in the outbox
        assert f"run {attempts + 1} of at most 3" in reason
        assert dispatch_pending(settings) == [job["id"]]
    else:
        assert "lost 3 times" in (row.error or "") and "retry budget" in (row.error or "")


def _job(settings: Settings, job_id: int) -> Job:
    with session_scope(settings.sqlalchemy_url) as s:
        row = s.get(Job, job_id)
        assert row is not None
        s.expunge(row)
        return row
