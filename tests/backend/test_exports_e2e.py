"""Export through the API on the distributed setup: PostgreSQL, Redis, uvicorn, a real Celery
worker. A finished LoRA job is exported merged and as GGUF; the downloads load with plain
transformers and give the logits of base + adapter. Refusals: an unfinished job (409), a
bottleneck adapter (422 naming why), a download before the export (404)."""

from __future__ import annotations

import io
import os
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
from worker.engine.models import load_model

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

BROKER = os.environ.get("STUDIO_TEST_EXPORT_REDIS_URL", "redis://127.0.0.1:6379/13")
IDS = [[1, 87, 72, 65, 84, 32, 73, 83, 32, 55, 32, 43, 32, 53, 63]]


@dataclass
class Stack:
    client: httpx.Client
    users: Users
    dataset_id: int


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("exports")
    redis.Redis.from_url(BROKER).flushdb()
    settings = make_settings("postgresql", tmp)
    users = seed_users(settings)
    dispose_engines()
    env = stack_env(settings.data_dir, PG_URL, BROKER)
    server = Server(env, tmp / "api.log")
    worker = Worker(env, tmp / "worker.log")
    client = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {users.member}"}, timeout=30
    )
    try:
        prepare_catalogue(client, users.admin)
        r = upload(client, users.member, arithmetic_jsonl())
        assert r.status_code == 201, r.text
        yield Stack(client, users, r.json()["id"])
    finally:
        client.close()
        worker.stop()
        server.stop()


def _finished_job(stack: Stack, adapter: dict) -> int:
    config = tiny_job_config(stack.dataset_id, adapter=adapter, evaluation={"benchmarks": []})
    config["training"]["max_steps"] = 2
    r = stack.client.post("/api/v1/jobs", json={"config": config})
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    job = wait_for(
        lambda: (
            (j := stack.client.get(f"/api/v1/jobs/{job_id}").json())["status"]
            in ("succeeded", "failed")
            and j
        ),
        120,
        "the job did not finish",
    )
    assert job["status"] == "succeeded", job
    return job_id


def _export(stack: Stack, job_id: int, fmt: str) -> dict:
    c = stack.client
    r = c.post(f"/api/v1/jobs/{job_id}/exports", json={"format": fmt})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued"

    def finished() -> dict | bool:
        [state] = [
            e for e in c.get(f"/api/v1/jobs/{job_id}/exports").json()["data"] if e["format"] == fmt
        ]
        return state["status"] in ("succeeded", "failed") and state

    state = wait_for(finished, 120, f"the {fmt} export did not finish")
    assert state["status"] == "succeeded", state
    assert state["size_bytes"] > 0 and state["seconds"] > 0
    return state


def _reference_logits(stack: Stack, job_id: int, tmp_path: Path) -> torch.Tensor:
    r = stack.client.get(f"/api/v1/jobs/{job_id}/artifact")
    assert r.status_code == 200
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(tmp_path / "adapter")
    model = load_adapter(load_model("tiny:llama", "fp32", device="cpu").model, tmp_path / "adapter")
    with torch.no_grad():
        return model(torch.tensor(IDS)).logits


def _logits(folder: Path, **kwargs: str) -> torch.Tensor:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kwargs)
    with torch.no_grad():
        return model(torch.tensor(IDS)).logits


def test_lora_job_exports_merged_and_gguf_through_the_worker(stack: Stack, tmp_path: Path):
    c = stack.client
    job_id = _finished_job(stack, {"method": "lora", "params": {"r": 4}})
    assert c.get(f"/api/v1/jobs/{job_id}/exports").json() == {"data": [], "count": 0}
    r = c.get(f"/api/v1/jobs/{job_id}/exports/merged/download")
    assert r.status_code == 404 and "no finished merged export" in r.json()["detail"]
    reference = _reference_logits(stack, job_id, tmp_path)

    _export(stack, job_id, "merged")
    r = c.get(f"/api/v1/jobs/{job_id}/exports/merged/download")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(tmp_path / "merged")
    assert (tmp_path / "merged" / "model.safetensors").is_file()
    torch.testing.assert_close(_logits(tmp_path / "merged"), reference, atol=1e-4, rtol=1e-4)

    _export(stack, job_id, "gguf")
    r = c.get(f"/api/v1/jobs/{job_id}/exports/gguf/download")
    assert r.status_code == 200 and r.content[:4] == b"GGUF"
    (tmp_path / "gguf").mkdir()
    (tmp_path / "gguf" / "model.gguf").write_bytes(r.content)
    from_gguf = _logits(tmp_path / "gguf", gguf_file="model.gguf")
    torch.testing.assert_close(from_gguf, reference, atol=2e-2, rtol=2e-2)  # f16 tensors
    listed = c.get(f"/api/v1/jobs/{job_id}/exports").json()
    assert listed["count"] == 2 and {e["format"] for e in listed["data"]} == {"merged", "gguf"}


def test_export_refusals_name_the_problem(stack: Stack):
    c = stack.client
    job_id = _finished_job(stack, {"method": "adapterp", "params": {"bottleneck_size": 8}})
    r = c.post(f"/api/v1/jobs/{job_id}/exports", json={"format": "merged"})
    assert r.status_code == 422
    assert "adapterp cannot be exported as a merged model" in r.json()["detail"]
    assert "non-linearity" in r.json()["detail"]
    r = c.post(f"/api/v1/jobs/{job_id}/exports", json={"format": "onnx"})
    assert r.status_code == 422
    r = c.get(f"/api/v1/jobs/{job_id}/exports/onnx/download")
    assert r.status_code == 404 and "unknown export format" in r.json()["detail"]

    config = tiny_job_config(stack.dataset_id, evaluation={"benchmarks": []})
    config["training"]["max_steps"] = 400
    queued = c.post("/api/v1/jobs", json={"config": config}).json()["id"]
    r = c.post(f"/api/v1/jobs/{queued}/exports", json={"format": "merged"})
    assert r.status_code == 409 and "no finished adapter" in r.json()["detail"]
    c.post(f"/api/v1/jobs/{queued}/cancel")
    r = c.post("/api/v1/jobs/999999/exports", json={"format": "merged"})
    assert r.status_code == 404
