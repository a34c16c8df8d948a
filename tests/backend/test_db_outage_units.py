"""Database outages without servers: a SQLite database whose folder is moved away is the outage
(SQLite "unable to open database file"). The job process's journal and its retries, and the
API's 503s (tests/backend/test_db_outage.py does it all on PostgreSQL with a real worker)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.app.core.config import Settings
from backend.app.core.db import dispose_engines, get_engine, session_scope
from backend.app.core.db_outage import database_unavailable, retry_while_unavailable
from backend.app.main import create_app
from backend.app.models import EvalPoint, Job, JobLog, JobResult, MetricPoint
from backend.app.services import job_updates
from worker.engine.progress import EvalInfo, StepInfo
from worker.job_process import DatabaseProgress
from worker.progress_journal import JOURNAL_NAME, ProgressJournal, replay

from .conftest import auth, make_settings, seed_users


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    # The database in a folder of its own, so the test can take the folder away.
    s = make_settings(
        "sqlite",
        tmp_path,
        database_url=f"sqlite:///{tmp_path / 'db' / 'studio.db'}",
        broker_url="",  # the embedded broker: no server
    )
    yield s
    dispose_engines()


@pytest.fixture
def job_id(sqlite_settings: Settings) -> int:
    users = seed_users(sqlite_settings)
    with session_scope(sqlite_settings.sqlalchemy_url) as s:
        job = Job(
            team_id=users.team_a,
            name="j",
            base_model="tiny:llama",
            method="lora",
            config={},
            status="running",
        )
        s.add(job)
        s.flush()
        return job.id


class Outage:
    """Takes the SQLite database's folder away (and its pooled connections), then back."""

    def __init__(self, settings: Settings):
        self.url = settings.sqlalchemy_url
        self.folder = Path(self.url.split("///", 1)[1]).parent
        self.away = self.folder.with_name("db-away")

    def __enter__(self) -> Outage:
        # The engine stays (a new one would create the folder again); its connections go.
        get_engine(self.url).dispose()
        self.folder.rename(self.away)
        return self

    def end(self) -> None:
        self.away.rename(self.folder)

    def __exit__(self, *exc: object) -> None:
        if self.away.exists():
            self.end()


def stored(settings: Settings, job_id: int) -> tuple[list[int], list[tuple[str, int]], list[str]]:
    with session_scope(settings.sqlalchemy_url) as s:
        steps = s.scalars(
            select(MetricPoint.step)
            .where(MetricPoint.job_id == job_id, MetricPoint.kind == "train")
            .order_by(MetricPoint.step)
        ).all()
        evals = s.execute(
            select(EvalPoint.benchmark, EvalPoint.step).where(EvalPoint.job_id == job_id)
        ).all()
        logs = s.scalars(select(JobLog.message).where(JobLog.job_id == job_id)).all()
    return list(steps), [tuple(e) for e in evals], list(logs)


def step(n: int) -> StepInfo:
    return StepInfo(step=n, total_steps=20, epoch=n / 20, loss=1.0 / n, learning_rate=1e-3)


def test_only_connection_errors_count_as_an_outage(sqlite_settings: Settings, job_id: int):
    with Outage(sqlite_settings), pytest.raises(Exception) as outage:
        job_updates.heartbeat(sqlite_settings, job_id)
    assert database_unavailable(outage.value)
    # A second result for the same benchmark: a bug, not an outage.
    with pytest.raises(Exception) as integrity, session_scope(sqlite_settings.sqlalchemy_url) as s:
        for _ in range(2):
            s.add(JobResult(job_id=job_id, benchmark="svamp", suite="arithmetic",
                            accuracy=1.0, correct=1, total=1))  # fmt: skip
    assert not database_unavailable(integrity.value)
    calls = []

    def buggy_write() -> None:
        calls.append(1)
        raise integrity.value

    with pytest.raises(type(integrity.value)):  # a bug is raised at once, never retried
        retry_while_unavailable(buggy_write, what="test", give_up_after_s=5)
    assert calls == [1]


def test_training_goes_on_through_an_outage_and_every_step_is_stored_once(
    sqlite_settings: Settings, job_id: int, tmp_path: Path
):
    sqlite_settings.metric_flush_s = 0.0
    journal = ProgressJournal(tmp_path / "job" / JOURNAL_NAME)
    progress = DatabaseProgress(sqlite_settings, job_id, journal)
    for n in (1, 2):
        progress.on_step(step(n))
    assert stored(sqlite_settings, job_id)[0] == [1, 2]
    with Outage(sqlite_settings) as outage:
        for n in range(3, 11):  # none of these raise: the callback keeps them
            progress.on_step(step(n))
            assert not progress.should_stop()
        progress.on_eval(EvalInfo(benchmark="svamp", step=10, accuracy=0.5, correct=2, total=4))
        progress.on_phase("evaluating")
        assert progress.outage_since is not None
        pending = [e for e in journal.pending() if e["kind"] == "progress"]
        assert sorted(m["step"] for e in pending for m in e["metrics"]) == list(range(3, 11))
        outage.end()
        progress.retry_at = 0.0  # skip the backoff wait
        for n in range(11, 13):
            progress.on_step(step(n))
    progress.drain()
    steps, evals, logs = stored(sqlite_settings, job_id)
    assert steps == list(range(1, 13))
    assert evals == [("svamp", 10)]
    assert sum("the database was unreachable" in m for m in logs) == 1
    assert journal.pending() == []
    with session_scope(sqlite_settings.sqlalchemy_url) as s:
        job = s.get(Job, job_id)
        assert (job.step, job.phase, job.best_accuracy) == (12, "evaluating", 0.5)


def test_a_journal_left_by_a_dead_process_is_replayed_once(
    sqlite_settings: Settings, job_id: int, tmp_path: Path
):
    path = tmp_path / "job" / JOURNAL_NAME
    journal = ProgressJournal(path)
    metrics = [{"kind": "train", "step": n, "epoch": 0.1, "loss": 1.0, "learning_rate": 1e-3,
                "tokens_per_second": None} for n in (1, 2, 3)]  # fmt: skip
    first = journal.append("progress", fields={"step": 3}, metrics=metrics, evals=[],
                           logs=[["info", "three steps"]])  # fmt: skip
    journal.ack([first])  # this one reached the database...
    job_updates.record_progress(sqlite_settings, job_id, fields={"step": 3}, metrics=metrics,
                                evals=[], logs=[("info", "three steps")])  # fmt: skip
    more = [{**m, "step": n} for m, n in zip(metrics, (3, 4, 5), strict=True)]  # 3 again
    journal.append("progress", fields={"step": 5}, metrics=more, evals=[],
                   logs=[["warning", "two more"]])  # fmt: skip
    journal.append("finish", status="succeeded", error=None)
    journal.close()
    with path.open("a") as f:
        f.write('{"seq": 4, "kind": "progr')  # the process died mid-line

    again = ProgressJournal(path)  # the next process of this job
    assert [e["seq"] for e in again.pending()] == [2, 3]
    assert replay(sqlite_settings, job_id, again) == 2
    assert replay(sqlite_settings, job_id, again) == 0  # acknowledged: nothing twice
    steps, _, logs = stored(sqlite_settings, job_id)
    assert steps == [1, 2, 3, 4, 5]
    assert logs == ["three steps", "two more"]
    with session_scope(sqlite_settings.sqlalchemy_url) as s:
        job = s.get(Job, job_id)
        assert job.step == 5 and job.status == "running"  # the finish entry is the old run's
    assert again.append("progress", fields={}) == 4  # numbering goes on after the torn line
    lines = path.read_text().splitlines()
    assert lines[4] == '{"seq": 4, "kind": "progr'  # the torn line stays as it was
    assert [json.loads(x) for x in lines[5:]] == [
        {"ack": [2, 3]},
        {"seq": 4, "kind": "progress", "fields": {}},
    ]


def test_the_final_write_waits_for_the_database(sqlite_settings: Settings, job_id: int):
    with Outage(sqlite_settings) as outage:
        threading.Timer(1.5, outage.end).start()
        started = time.monotonic()
        retry_while_unavailable(
            lambda: job_updates.finish(sqlite_settings, job_id, "succeeded"),
            what="test",
            give_up_after_s=30,
        )
        waited = time.monotonic() - started
    assert 1.4 < waited < 10
    with session_scope(sqlite_settings.sqlalchemy_url) as s:
        assert s.get(Job, job_id).status == "succeeded"
    with Outage(sqlite_settings), pytest.raises(Exception) as gave_up:
        retry_while_unavailable(
            lambda: job_updates.heartbeat(sqlite_settings, job_id), what="test", give_up_after_s=1
        )
    assert database_unavailable(gave_up.value)


def test_the_api_answers_503_with_retry_after_while_the_database_is_unreachable(
    sqlite_settings: Settings,
):
    users = seed_users(sqlite_settings)
    member = auth(users.member)
    with TestClient(create_app(sqlite_settings)) as c:
        health = c.get("/api/v1/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert health.json()["message"] == "ok" and health.json()["database"]["ok"] is True
        with Outage(sqlite_settings):
            r = c.get("/api/v1/jobs", headers=member)
            assert r.status_code == 503 and r.headers["Retry-After"] == "5"
            assert r.json() == {"detail": "the database is unreachable; try again shortly"}
            health = c.get("/api/v1/health")
            assert health.status_code == 503 and health.headers["Retry-After"] == "5"
            body = health.json()
            assert (body["status"], body["message"]) == ("degraded", "database unreachable")
            assert (
                body["database"]["ok"] is False and "unable to open" in body["database"]["detail"]
            )
            assert body["broker"] == {**body["broker"], "ok": True, "detail": "ok"}
        assert c.get("/api/v1/jobs", headers=member).status_code == 200
