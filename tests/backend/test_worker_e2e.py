"""End to end on the distributed setup: PostgreSQL, Redis, a uvicorn server, real Celery workers.

Upload → job on a tiny model with evaluation every 2 steps → follow the SSE stream → results,
curve, predictions, leaderboard, zip → load the adapter. Then cancel a running job, and kill a
worker mid-job: the job must end failed with the reason, never stay "running"."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
import torch

from backend.app.core.db import dispose_engines
from worker.engine.adapters import load_adapter
from worker.engine.tiny import build_tiny_model

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
from .stack import Inference, Server, Worker, stack_env, wait_for

BROKER = "redis://127.0.0.1:6379/14"


@dataclass
class Stack:
    client: httpx.Client
    server: Server
    worker: Worker
    users: Users
    dataset_id: int
    data_dir: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    redis.Redis.from_url(BROKER).flushdb()
    settings = make_settings("postgresql", tmp)
    users = seed_users(settings)
    dispose_engines()
    env = stack_env(settings.data_dir, PG_URL, BROKER)
    # No retries here: a lost worker's job fails at once (test_faults.py covers the re-queue).
    env["STUDIO_JOB_MAX_RETRIES"] = "0"
    inference = Inference(env, tmp / "inference.log", settings.data_dir)
    env["STUDIO_INFERENCE_URL"] = inference.url
    server = Server(env, tmp / "api.log")
    worker = Worker(env, tmp / "worker.log")
    client = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {users.member}"}, timeout=30
    )
    try:
        prepare_catalogue(client, users.admin)
        r = upload(client, users.member, arithmetic_jsonl())
        assert r.status_code == 201, r.text
        yield Stack(client, server, worker, users, r.json()["id"], settings.data_dir)
    finally:
        client.close()
        worker.stop()
        server.stop()
        inference.stop()


def follow(client: httpx.Client, job_id: int, timeout: float = 180) -> list[tuple[str, object]]:
    """Reads the job's SSE stream until its `end` event; returns (event, data) pairs."""
    events: list[tuple[str, object]] = []
    event = None
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events", timeout=timeout) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event, json.loads(line[6:])))
                if event == "end":
                    break
    return events


def test_job_runs_to_success_with_live_stream_and_results(stack: Stack, tmp_path: Path):
    c = stack.client
    r = c.post("/api/v1/jobs", json={"config": tiny_job_config(stack.dataset_id)})
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    events = follow(c, job_id)
    kinds = [e for e, _ in events]
    assert kinds[-1] == "end" and events[-1][1] == {"status": "succeeded"}
    states = [d["status"] for e, d in events if e == "job"]
    assert states[0] in ("queued", "running") and states[-1] == "succeeded"
    fractions = [d["fraction"] for e, d in events if e == "job"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "metrics" in kinds and "accuracy" in kinds and "log" in kinds

    job = c.get(f"/api/v1/jobs/{job_id}").json()
    assert job["status"] == "succeeded" and job["step"] == job["total_steps"] == 6
    assert job["worker"].startswith("w1@")
    assert 0 < job["trainable_parameters"] < job["total_parameters"]
    assert job["wall_seconds"] > 0 and "svamp" in job["results"]
    assert [h["status"] for h in job["history"]] == ["queued", "running", "succeeded"]
    # The estimate made at creation sits beside what the run measured, and the worker reported
    # its device, which the next estimate uses.
    assert job["estimate"]["trainable_parameters"] == job["trainable_parameters"]
    assert job["estimate"]["device"]["source"] == "api"
    assert 0 < job["seconds_per_step"] * job["step"] < job["wall_seconds"]
    # The precision it ran in is recorded (the suite keeps fp32: STUDIO_CPU_BF16=off) and agrees
    # with the one estimated.
    assert job["dtype"] == job["estimate"]["dtype"] == "float32"
    again = c.post("/api/v1/estimates", json={"config": tiny_job_config(stack.dataset_id)}).json()
    assert again["device"]["source"] == "worker" and again["device"]["worker"] == job["worker"]
    assert again["device"]["matmul_flops"] > 0 and again["device"]["runtime_bytes"] > 0

    metrics = c.get(f"/api/v1/jobs/{job_id}/metrics").json()
    assert [p["step"] for p in metrics["train"]] == [1, 2, 3, 4, 5, 6]
    assert all(p["loss"] > 0 and p["learning_rate"] > 0 for p in metrics["train"])
    curve = c.get(f"/api/v1/jobs/{job_id}/accuracy").json()["benchmarks"]["svamp"]
    assert [p["step"] for p in curve] == [0, 2, 4, 6] and all(p["total"] == 4 for p in curve)
    assert job["scoring"] == "paper" and all(p["scoring"] == "paper" for p in curve)
    # The job process wrote the first example as rendered with the job's template.
    prompts = c.get(f"/api/v1/jobs/{job_id}/prompts").json()
    assert prompts["template"] == "alpaca" and "What is" in prompts["evaluation"]
    assert (
        prompts["training"].startswith(prompts["evaluation"])
        and "The answer is" in (prompts["training"][len(prompts["evaluation"]) :])
    )

    preds = c.get(f"/api/v1/jobs/{job_id}/predictions?benchmark=svamp").json()
    assert preds["count"] == 4 and {"prompt", "output", "extracted", "gold"} <= set(
        preds["data"][0]
    )
    # Scored with the default rule (paper), both rules' readings kept.
    assert all(
        p["scoring"] == "paper" and p["correct"] == p["correct_paper"]
        and isinstance(p["correct_strict"], bool)
        for p in preds["data"]
    )  # fmt: skip
    wrong = c.get(f"/api/v1/jobs/{job_id}/predictions?wrong_only=true").json()
    assert wrong["count"] == sum(not p["correct"] for p in preds["data"])

    board = c.get("/api/v1/leaderboard?scope=svamp").json()["data"]
    row = next(r for r in board if r["job_id"] == job_id)
    assert row["method"] == "adapterp" and row["owner_email"] == "member@example.com"
    assert row["trainable_percent"] > 0 and row["accuracy"] == 100 * job["results"]["svamp"]

    logs = c.get(f"/api/v1/jobs/{job_id}/logs").json()["data"]
    assert any("trainable parameters" in x["message"] for x in logs)

    r = c.get(f"/api/v1/jobs/{job_id}/artifact")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    folder = tmp_path / "adapter"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(folder)
    assert (folder / "adapter_config.json").is_file()
    torch.manual_seed(0)
    base = build_tiny_model("llama")
    ids = torch.tensor([[5, 6, 7, 8]])
    before = base(ids).logits
    model = load_adapter(base, folder)
    after = model(ids).logits
    assert not torch.equal(before, after)  # the trained adapter changes the output

    # The playground: the same prompt through the adapter and the base model, answered at once
    # by the inference service (not the training queue), stored with its settings.
    r = c.post(
        "/api/v1/playground",
        json={"job_id": job_id, "prompt": "What is 2 + 3?", "max_new_tokens": 8},
    )
    assert r.status_code == 201, r.text
    gen = r.json()
    assert gen["status"] == "succeeded", gen["error"]
    assert isinstance(gen["base_output"], str) and isinstance(gen["adapter_output"], str)
    assert c.get(f"/api/v1/playground/{gen['id']}").json() == gen


def start_long_job(stack: Stack, name: str) -> int:
    """A 400-step job without evaluation, returned once it has trained two steps."""
    cfg = tiny_job_config(stack.dataset_id, name=name)
    cfg["training"]["max_steps"] = 400
    cfg["evaluation"] = {"benchmarks": []}
    c = stack.client
    job_id = c.post("/api/v1/jobs", json={"config": cfg}).json()["id"]
    wait_for(lambda: c.get(f"/api/v1/jobs/{job_id}").json()["step"] >= 2, 120, "never trained")
    return job_id


def until_not_running(c: httpx.Client, job_id: int, message: str) -> dict:
    return wait_for(
        lambda: (j := c.get(f"/api/v1/jobs/{job_id}").json())["status"] != "running" and j,
        60,
        message,
    )


def test_cancel_a_running_job(stack: Stack):
    c = stack.client
    job_id = start_long_job(stack, "long")
    r = c.post(f"/api/v1/jobs/{job_id}/cancel")
    assert r.status_code == 200 and r.json()["cancel_requested"]
    job = until_not_running(c, job_id, "the job did not stop")
    assert job["status"] == "cancelled" and job["step"] < 400
    # What was trained is kept: the adapter of the steps done can be downloaded.
    assert c.get(f"/api/v1/jobs/{job_id}/artifact").status_code == 200


def test_killed_worker_out_of_retries_leaves_the_job_failed_with_a_reason(stack: Stack):
    c = stack.client
    job_id = start_long_job(stack, "doomed")
    stack.worker.kill()
    job = until_not_running(c, job_id, "the job stayed running after its worker was killed")
    assert job["status"] == "failed"
    assert "stopped sending heartbeats" in job["error"]
    assert "retry budget (job_max_retries = 0) is spent" in job["error"]
    step = job["step"]
    time.sleep(2)  # the job's own process died with its worker: no more progress
    assert c.get(f"/api/v1/jobs/{job_id}").json()["step"] == step
