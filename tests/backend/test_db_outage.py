"""A PostgreSQL outage in the middle of a job, on servers of the test's own: PostgreSQL stopped
for ~10 s while a real Celery worker trains, then started again.

During the outage the API answers 503 with Retry-After in its error shape and /health is 503
"degraded" (database down, broker up); the job process trains on and keeps its progress in the
journal. Afterwards the job succeeds, with one train point per step trained, its evaluations
and its log lines — nothing lost, nothing doubled."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backend.app.core.config import Settings
from backend.app.core.db import dispose_engines
from backend.app.embedded import migrate
from worker.progress_journal import JOURNAL_NAME

from .conftest import (
    Users,
    arithmetic_jsonl,
    prepare_catalogue,
    seed_users,
    tiny_job_config,
    upload,
)
from .servers import PostgresServer, RedisServer
from .stack import Server, Worker, stack_env, wait_for

STEPS = 400  # ~25 s on 2 cores: training goes on well past the outage
OUTAGE_S = 10.0


@dataclass
class OutageStack:
    client: httpx.Client
    postgres: PostgresServer
    users: Users
    dataset_id: int
    data_dir: Path


@pytest.fixture(scope="module")
def outage_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutageStack]:
    tmp = tmp_path_factory.mktemp("outage")
    postgres = PostgresServer()
    broker = RedisServer(tmp)
    server = worker = client = None
    try:
        settings = Settings(
            environment="test",
            data_dir=tmp / "data",
            database_url=postgres.url,
            broker_url=broker.url,
            stats_tokenizer="bytes",
        )
        settings.data_dir.mkdir(parents=True)
        migrate(settings)
        users = seed_users(settings)
        dispose_engines()
        env = stack_env(settings.data_dir, postgres.url, broker.url)
        server = Server(env, tmp / "api.log")
        worker = Worker(env, tmp / "worker.log")
        client = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {users.member}"}, timeout=30
        )
        prepare_catalogue(client, users.admin)
        r = upload(client, users.member, arithmetic_jsonl())
        assert r.status_code == 201, r.text
        yield OutageStack(client, postgres, users, r.json()["id"], settings.data_dir)
    finally:
        if client is not None:
            client.close()
        if worker is not None:
            worker.stop()
        if server is not None:
            server.stop()
        broker.close()
        postgres.close()
        dispose_engines()


def journal_steps(data_dir: Path) -> list[int]:
    """The train steps the job process has journaled so far (read while the database is down)."""
    steps = []
    for path in data_dir.glob(f"storage/**/{JOURNAL_NAME}"):
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written
            steps += [m["step"] for m in entry.get("metrics", ()) if m["kind"] == "train"]
    return steps


def test_a_database_outage_mid_job_loses_nothing(outage_stack: OutageStack):
    c = outage_stack.client
    cfg = tiny_job_config(outage_stack.dataset_id, name="rides-out-an-outage")
    cfg["training"]["max_steps"] = STEPS
    cfg["evaluation"]["every_n_steps"] = STEPS // 4
    r = c.post("/api/v1/jobs", json={"config": cfg})
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    wait_for(lambda: c.get(f"/api/v1/jobs/{job_id}").json()["step"] >= 5, 120, "never trained")

    outage_stack.postgres.stop()
    stopped = time.monotonic()
    steps_before = max(journal_steps(outage_stack.data_dir))
    answers, healths = [], []
    while time.monotonic() - stopped < OUTAGE_S:
        answers.append(c.get(f"/api/v1/jobs/{job_id}"))
        healths.append(c.get("/api/v1/health"))
        time.sleep(0.5)
    steps_during = max(journal_steps(outage_stack.data_dir))
    outage_stack.postgres.start()
    restarted = time.monotonic()

    # The API during the outage: 503 in the error shape, with Retry-After, never a plain 500.
    assert {a.status_code for a in answers} == {503}, [a.text for a in answers[:3]]
    assert all(a.headers["Retry-After"].isdigit() for a in answers)
    assert "database is unreachable" in answers[0].json()["detail"]
    assert {h.status_code for h in healths} == {503}
    body = healths[-1].json()
    assert body["status"] == "degraded" and "database" in body["message"]
    assert body["database"]["ok"] is False and body["broker"]["ok"] is True
    # The job process trained on while the database was down.
    assert steps_during > steps_before, (steps_before, steps_during)

    assert wait_for(lambda: c.get("/api/v1/health").status_code == 200, 30, "/health stayed 503")
    # What was trained during the outage reaches the database soon after (the backoff is ≤ 5 s).
    wait_for(
        lambda: c.get(f"/api/v1/jobs/{job_id}").json()["step"] >= steps_during,
        30,
        "the buffered progress was not written after the outage",
    )
    caught_up = time.monotonic() - restarted
    job = wait_for(
        lambda: (
            (j := c.get(f"/api/v1/jobs/{job_id}").json())["status"] not in ("queued", "running")
            and j
        ),
        180,
        "the job never ended after the outage",
    )
    assert job["status"] == "succeeded", job["error"]
    assert job["step"] == job["total_steps"] == STEPS
    assert [h["status"] for h in job["history"]] == ["queued", "running", "succeeded"]
    metrics = c.get(f"/api/v1/jobs/{job_id}/metrics").json()
    assert [p["step"] for p in metrics["train"]] == list(range(1, STEPS + 1))  # each step once
    curve = c.get(f"/api/v1/jobs/{job_id}/accuracy").json()["benchmarks"]["svamp"]
    assert [p["step"] for p in curve] == [0, 100, 200, 300, 400]
    logs = [x["message"] for x in c.get(f"/api/v1/jobs/{job_id}/logs").json()["data"]]
    assert any("trainable parameters" in m for m in logs)
    assert sum("the database was unreachable" in m for m in logs) == 1
    assert "svamp" in job["results"]
    print(
        f"\noutage {restarted - stopped:.1f} s; steps {steps_before}..{steps_during} trained "
        f"during it; stored {caught_up:.1f} s after the restart; job ended "
        f"{time.monotonic() - restarted:.1f} s after the restart"
    )
