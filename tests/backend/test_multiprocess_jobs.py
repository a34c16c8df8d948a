"""Jobs of several processes on the queue: a worker announces its devices and takes only the jobs
it can hold; a job that needs more waits, saying why, until a worker that has them starts.

On this CPU the same path runs as on a GPU machine: the worker starts the job under torchrun with
two processes over gloo (STUDIO_WORKER_DEVICES=2 stands for two GPUs); the first process reports,
evaluates and stores, the second trains its share."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from backend.app.core.db import dispose_engines
from backend.app.services.broker import queue_for, worker_queues

from .conftest import (
    PG_URL,
    Users,
    arithmetic_jsonl,
    make_settings,
    prepare_catalogue,
    seed_users,
    tiny_job_config,
    upload,
)
from .stack import Server, Worker, stack_env, wait_for

BROKER = os.environ.get("STUDIO_TEST_E2E_REDIS_URL", "redis://127.0.0.1:6379/14")


def test_queues_by_devices():
    assert queue_for(1) == "gpu" and queue_for(4) == "gpu-x4"
    assert worker_queues(1) == ["gpu"]
    assert worker_queues(3) == ["gpu", "gpu-x2", "gpu-x3"]


@dataclass
class Stack:
    client: httpx.Client
    env: dict[str, str]
    tmp: Path
    users: Users
    dataset_id: int
    workers: list[Worker]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("multiprocess")
    redis.Redis.from_url(BROKER).flushdb()
    settings = make_settings("postgresql", tmp)
    users = seed_users(settings)
    dispose_engines()
    env = stack_env(settings.data_dir, PG_URL, BROKER)
    env.update(
        STUDIO_JOB_MAX_RETRIES="0", STUDIO_QUEUE_STALE_S="2", STUDIO_DISPATCH_INTERVAL_S="0.5"
    )
    server = Server(env, tmp / "api.log")
    workers = [Worker(env, tmp / "w1.log", name="w1")]  # one device (this CPU)
    client = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {users.member}"}, timeout=120
    )
    try:
        prepare_catalogue(client, users.admin)
        r = upload(client, users.member, arithmetic_jsonl())
        assert r.status_code == 201, r.text
        yield Stack(client, env, tmp, users, r.json()["id"], workers)
    finally:
        client.close()
        for worker in workers:
            worker.stop()
        server.stop()


def test_a_two_process_job_waits_for_a_worker_with_two_devices_then_trains_there(stack: Stack):
    c = stack.client
    cfg = tiny_job_config(stack.dataset_id, name="two-processes")
    cfg["training"]["processes"] = 2  # batch 4 = micro-batch 2 x 2 processes, no accumulation
    r = c.post("/api/v1/jobs", json={"config": cfg})
    assert r.status_code == 201, r.text
    job = r.json()
    job_id = job["id"]
    # Sent to the queue only workers with two devices consume, and says why it waits there.
    assert job["status"] == "queued" and job["dispatched"] is True
    assert "a worker with 2 devices" in job["queue_reason"]
    assert "the largest worker seen has 1" in job["queue_reason"]
    broker = redis.Redis.from_url(BROKER)
    assert broker.llen("gpu-x2") == 1 and broker.llen("gpu") == 0
    time.sleep(3)  # w1 (one device) never takes it; past queue_stale_s it still says why
    job = c.get(f"/api/v1/jobs/{job_id}").json()
    assert job["status"] == "queued" and "a worker with 2 devices" in job["queue_reason"]
    assert broker.llen("gpu-x2") == 1  # not lost, not re-sent twice

    start_two_device_worker(stack)
    job = wait_for(
        lambda: (
            (j := c.get(f"/api/v1/jobs/{job_id}").json())["status"] not in ("queued", "running")
            and j
        ),
        240,
        f"the two-process job never ended; see {stack.tmp}",
    )
    log = (stack.tmp / "w2.log").read_text(errors="replace")
    assert job["status"] == "succeeded", (job["error"], log[-3000:])
    assert job["worker"].startswith("w2@") and job["queue_reason"] is None
    # The first process alone reported: each step once, the curve at 0, 2, 4, 6.
    metrics = c.get(f"/api/v1/jobs/{job_id}/metrics").json()
    assert [p["step"] for p in metrics["train"]] == [1, 2, 3, 4, 5, 6]
    curve = c.get(f"/api/v1/jobs/{job_id}/accuracy").json()["benchmarks"]["svamp"]
    assert [p["step"] for p in curve] == [0, 2, 4, 6]
    # Both processes ran: torchrun's two ranks in the job's process log.
    logs = c.get(f"/api/v1/jobs/{job_id}/logs").json()["data"]
    assert any("trainable parameters" in x["message"] for x in logs)
    assert "w2" in log and "gpu-x2" in log  # the worker said which queues it consumes


def start_two_device_worker(stack: Stack) -> None:
    """w2, announcing two devices; started once, so each test can run alone."""
    if len(stack.workers) < 2:
        env = dict(stack.env, STUDIO_WORKER_DEVICES="2")
        stack.workers.append(Worker(env, stack.tmp / "w2.log", name="w2"))


def test_cancel_stops_every_process_of_the_job_at_the_same_step(stack: Stack):
    """The cancel reaches only the first process (it reads the database); the others learn of it
    at the step's end (distributed.agreed), so none waits forever in a gradient all-reduce."""
    c = stack.client
    start_two_device_worker(stack)
    cfg = tiny_job_config(stack.dataset_id, name="two-processes-cancelled")
    cfg["training"].update(processes=2, max_steps=400)
    cfg["evaluation"] = {"benchmarks": []}
    job_id = c.post("/api/v1/jobs", json={"config": cfg}).json()["id"]
    wait_for(lambda: c.get(f"/api/v1/jobs/{job_id}").json()["step"] >= 2, 120, "never trained")
    r = c.post(f"/api/v1/jobs/{job_id}/cancel")
    assert r.status_code == 200, r.text
    job = wait_for(
        lambda: (j := c.get(f"/api/v1/jobs/{job_id}").json())["status"] != "running" and j,
        60,
        "the cancelled two-process job kept running",
    )
    assert job["status"] == "cancelled" and job["step"] < 400
    # Both ranks ended: the worker takes the next job at once.
    cfg = tiny_job_config(stack.dataset_id, name="after-the-cancel")
    cfg["training"]["processes"] = 2
    cfg["evaluation"] = {"benchmarks": []}
    next_id = c.post("/api/v1/jobs", json={"config": cfg}).json()["id"]
    done = wait_for(
        lambda: (
            (j := c.get(f"/api/v1/jobs/{next_id}").json())["status"] not in ("queued", "running")
            and j
        ),
        120,
        "the worker did not take the next job after the cancel",
    )
    assert done["status"] == "succeeded", done["error"]
