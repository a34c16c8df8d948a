"""Broker and worker faults on servers of the test's own (PostgreSQL, Redis, uvicorn, Celery
workers as processes): the broker down at submit, the broker restarted while a job runs and
another waits (its message lost), and a worker SIGKILLed mid-training.

The promises (docs/reliability.md): a submitted job is never stranded (202 and a visible reason
while the broker is down, sent once it is back); a queued job whose message was lost is sent
again; a job whose worker dies is re-queued and resumes from its last checkpoint, its curves
continuous, each step stored once, each run in its history."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from backend.app.core.config import Settings
from backend.app.core.db import dispose_engines
from backend.app.embedded import migrate

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

SAVE_STEPS = 20


@dataclass
class FaultStack:
    client: httpx.Client
    redis: RedisServer
    users: Users
    dataset_id: int
    env: dict[str, str]
    tmp: Path
    workers: list[Worker]

    def job(self, job_id: int) -> dict:
        return self.client.get(f"/api/v1/jobs/{job_id}").json()

    def submit(self, name: str, steps: int) -> httpx.Response:
        cfg = tiny_job_config(self.dataset_id, name=name)
        cfg["training"]["max_steps"] = steps
        cfg["evaluation"]["every_n_steps"] = steps // 2
        return self.client.post("/api/v1/jobs", json={"config": cfg})

    def ended(self, job_id: int, timeout: float = 150) -> dict:
        return wait_for(
            lambda: (j := self.job(job_id))["status"] not in ("queued", "running") and j,
            timeout,
            f"job {job_id} never ended: {self.job(job_id)}",
        )

    def start_worker(self, name: str) -> Worker:
        worker = Worker(self.env, self.tmp / f"{name}.log", name=name)
        self.workers.append(worker)
        return worker


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    tmp = tmp_path_factory.mktemp("faults")
    postgres = PostgresServer()
    broker = RedisServer(tmp)
    server = client = None
    workers: list[Worker] = []
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
        env.update(
            STUDIO_DISPATCH_INTERVAL_S="0.5",
            STUDIO_QUEUE_STALE_S="3",
            STUDIO_DEFAULT_SAVE_STEPS=str(SAVE_STEPS),
            STUDIO_JOB_MAX_RETRIES="1",
        )
        server = Server(env, tmp / "api.log")
        client = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {users.member}"}, timeout=30
        )
        prepare_catalogue(client, users.admin)
        r = upload(client, users.member, arithmetic_jsonl())
        assert r.status_code == 201, r.text
        fs = FaultStack(client, broker, users, r.json()["id"], env, tmp, workers)
        fs.start_worker("w1")
        yield fs
    finally:
        if client is not None:
            client.close()
        for worker in workers:
            worker.stop()
        if server is not None:
            server.stop()
        broker.close()
        postgres.close()
        dispose_engines()


def runs(job: dict) -> list[dict]:
    return [h for h in job["history"] if h["status"] == "running"]


def test_a_job_submitted_while_the_broker_is_down_runs_once_it_is_back(stack: FaultStack):
    stack.redis.stop()
    try:
        started = time.monotonic()
        r = stack.submit("submitted-in-an-outage", steps=4)
        answered = time.monotonic() - started
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status"] == "queued" and job["dispatched"] is False
        assert "broker is unreachable" in job["queue_reason"]
        assert answered < 10, f"the submit took {answered:.1f} s"
        time.sleep(2)  # dispatcher passes while the broker is still down change nothing
        assert stack.job(job["id"])["status"] == "queued"
    finally:
        stack.redis.start()
    back = time.monotonic()
    done = stack.ended(job["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["dispatched"] is True and done["queue_reason"] is None
    assert [h["status"] for h in done["history"]] == ["queued", "running", "succeeded"]
    assert done["attempts"] == 1 and runs(done)[0]["attempt"] == 1
    print(f"\nsubmit answered in {answered:.2f} s; ran {time.monotonic() - back:.1f} s after")


def test_a_broker_restart_mid_job_loses_no_job(stack: FaultStack):
    running = stack.submit("runs-through-a-restart", steps=300).json()
    wait_for(lambda: stack.job(running["id"])["step"] >= 3, 120, "the first job never trained")
    waiting = stack.submit("its-message-is-lost", steps=4).json()
    assert waiting["status"] == "queued" and waiting["dispatched"] is True
    # No persistence: the waiting job's message (and the running one's unacked copy) are gone.
    stack.redis.stop()
    stack.redis.start()
    restarted = time.monotonic()

    first = stack.ended(running["id"])
    assert first["status"] == "succeeded", first["error"]
    assert len(runs(first)) == 1
    second = stack.ended(waiting["id"])
    assert second["status"] == "succeeded", second["error"]
    assert len(runs(second)) == 1
    logs = [
        x["message"] for x in stack.client.get(f"/api/v1/jobs/{waiting['id']}/logs").json()["data"]
    ]
    assert any("message was lost" in m and "sent again" in m for m in logs), logs
    print(f"\nthe lost job ended {time.monotonic() - restarted:.1f} s after the restart")


def test_a_job_whose_worker_is_killed_resumes_from_its_checkpoint(stack: FaultStack):
    steps = 200
    r = stack.submit("outlives-its-worker", steps=steps)
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    wait_for(lambda: stack.job(job_id)["step"] >= SAVE_STEPS + 5, 120, "never passed a checkpoint")
    [victim] = [w for w in stack.workers if w.proc.poll() is None]
    victim.kill()  # the job process dies with it (PR_SET_PDEATHSIG)
    killed = time.monotonic()
    stack.start_worker("w2")

    requeued = wait_for(
        lambda: (j := stack.job(job_id))["attempts"] == 2 and j["status"] == "running" and j,
        60,
        "the job was not re-queued and taken again",
    )
    resumed_after = time.monotonic() - killed
    done = stack.ended(job_id)
    assert done["status"] == "succeeded", done["error"]
    assert [h["status"] for h in done["history"]] == [
        "queued", "running", "queued", "running", "succeeded",
    ]  # fmt: skip
    assert [(h["attempt"], h["worker"].split("@")[0]) for h in runs(done)] == [(1, "w1"), (2, "w2")]
    assert "stopped sending heartbeats" in done["history"][2]["reason"]
    assert requeued["worker"].startswith("w2")

    metrics = stack.client.get(f"/api/v1/jobs/{job_id}/metrics").json()
    assert [p["step"] for p in metrics["train"]] == list(range(1, steps + 1))  # each step once
    curve = stack.client.get(f"/api/v1/jobs/{job_id}/accuracy").json()["benchmarks"]["svamp"]
    assert [p["step"] for p in curve] == [0, steps // 2, steps]
    logs = [x["message"] for x in stack.client.get(f"/api/v1/jobs/{job_id}/logs").json()["data"]]
    resumed = [m for m in logs if "resuming from the checkpoint at step" in m]
    assert len(resumed) == 1, logs
    checkpoint = int(resumed[0].rsplit(" ", 1)[1])
    assert checkpoint >= SAVE_STEPS and checkpoint % SAVE_STEPS == 0
    print(
        f"\nworker killed; job running again on w2 {resumed_after:.1f} s later, resumed from "
        f"step {checkpoint}; finished {time.monotonic() - killed:.1f} s after the kill"
    )


def job_process_pid(job_id: int) -> int | None:
    """The pid of `python -m worker.job_process JOB_ID` (the job's own process)."""
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker.job_process" in argv and str(job_id).encode() in argv:
            return int(proc.name)
    return None


def test_a_killed_job_process_fails_its_job_at_once_and_the_worker_goes_on(stack: FaultStack):
    job_id = stack.submit("its-process-is-killed", steps=300).json()["id"]
    wait_for(lambda: stack.job(job_id)["step"] >= 3, 120, "never trained")
    pid = job_process_pid(job_id)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    done = stack.ended(job_id, timeout=30)
    failed_after = time.monotonic() - killed
    # The crash is the job's own (the worker is alive): failed with the exit code, no retry.
    assert done["status"] == "failed" and "exited with code -9" in done["error"]
    assert done["attempts"] == 1
    after = stack.submit("the-worker-goes-on", steps=4).json()
    assert stack.ended(after["id"])["status"] == "succeeded"
    print(f"\njob process SIGKILLed; the job failed {failed_after:.1f} s later")
