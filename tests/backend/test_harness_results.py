"""A job with lm-evaluation-harness tasks: submitted through the API, run by the engine with the
worker's database progress, stored as results (`harness:<task>`, rule `harness:<metric>`), and
read back through the job, its results and the leaderboard."""

import json
from dataclasses import asdict
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from backend.app.core.config import Settings
from backend.app.core.db import session_scope
from backend.app.models import Job
from backend.app.services import job_updates
from worker.engine.config import JobConfig
from worker.engine.runner import run_job
from worker.job_process import DatabaseProgress

from .conftest import Users, arithmetic_jsonl, auth, prepare_catalogue, tiny_job_config, upload

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "docs" / "harness_tasks"
SHARED = REPO.parent / "shared" / "datasets" / "llm-adapters"


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared LLM-Adapters data not present")
def test_harness_scores_are_job_results(
    settings: Settings, users: Users, app_client: TestClient
) -> None:
    h = auth(users.member)
    prepare_catalogue(app_client, users.admin)
    dataset = upload(app_client, users.member, arithmetic_jsonl(4, 4)).json()["id"]
    harness = {"tasks": ["boolq_local", "svamp_local"], "include_path": str(TASKS), "limit": 2}
    cfg = tiny_job_config(dataset, evaluation={"harness": harness})
    cfg["training"]["max_steps"] = 2
    r = app_client.post("/api/v1/jobs", json={"config": cfg}, headers=h)
    assert r.status_code == 201, r.text
    job_id = r.json()["id"]
    assert r.json()["config"]["evaluation"]["harness"]["tasks"] == harness["tasks"]

    # What a worker does with it (worker/job_process.py), minus the queue.
    with session_scope(settings.sqlalchemy_url) as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status="running", worker="w1", heartbeat_at=job_updates.now(),
                    artifact_dir=f"jobs/{job_id}")
        )  # fmt: skip
    out = settings.storage_dir / f"jobs/{job_id}"
    records = [json.loads(line) for line in arithmetic_jsonl(4, 4).splitlines()]
    settings.metric_flush_s = 0.0
    progress = DatabaseProgress(settings, job_id, None)
    summary = run_job(JobConfig.from_dict(cfg), out, progress, train_records=records)
    progress.drain()
    job_updates.store_results(settings, job_id, out, asdict(summary))
    assert job_updates.finish(settings, job_id, "succeeded")

    stored = json.loads((out / "eval_results.json").read_text())
    job = app_client.get(f"/api/v1/jobs/{job_id}", headers=h).json()
    assert job["results"] == {name: pytest.approx(r["accuracy"]) for name, r in stored.items()}
    assert job["scoring"] == "paper"  # the job's own rule; harness rows name their metric

    rows = app_client.get(f"/api/v1/jobs/{job_id}/results", headers=h).json()["data"]
    by_name = {row["benchmark"]: row for row in rows}
    assert set(by_name) == {"harness:boolq_local", "harness:svamp_local"}
    assert by_name["harness:boolq_local"]["scoring"] == "harness:acc"
    assert by_name["harness:svamp_local"]["scoring"] == "harness:exact_match"
    assert all(row["suite"] == "harness" and row["total"] == 2 for row in rows)

    points = app_client.get(f"/api/v1/jobs/{job_id}/accuracy", headers=h).json()["benchmarks"]
    assert [p["scoring"] for p in points["harness:svamp_local"]] == ["harness:exact_match"]

    board = app_client.get("/api/v1/leaderboard?scope=harness:boolq_local", headers=h).json()
    assert [row["job_id"] for row in board["data"]] == [job_id]
    assert board["data"][0]["accuracy"] == pytest.approx(
        100 * stored["harness:boolq_local"]["accuracy"]
    )
    suite = app_client.get("/api/v1/leaderboard?scope=harness", headers=h).json()
    assert [row["job_id"] for row in suite["data"]] == [job_id]
    # Every board names the team's harness scopes, so the dashboard can offer them.
    default = app_client.get("/api/v1/leaderboard", headers=h).json()
    assert default["harness_scopes"] == ["harness:boolq_local", "harness:svamp_local"]
    bad = app_client.get("/api/v1/leaderboard?scope=harness:", headers=h)
    assert bad.status_code == 422
