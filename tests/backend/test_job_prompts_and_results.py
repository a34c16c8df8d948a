"""What a job page and an export read besides the curves: the rendered prompts of the first
example (verbatim, trailing spaces kept) and the final results, each score naming its rule."""

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient

from backend.app.core.config import Settings
from backend.app.core.db import session_scope
from backend.app.models import Job
from backend.app.services import job_updates
from worker.engine.runner import rendered_prompts

from .conftest import Users, auth, tiny_job_config
from .test_scoring_rules import _write_run

SUMMARY = {
    "trainable_parameters": 1,
    "total_parameters": 2,
    "peak_memory_bytes": 0,
    "wall_seconds": 1.0,
    "train_loss": None,
    "steps": 1,
    "total_steps": 1,
}


def _job(settings: Settings, team_id: int, scoring: str = "paper") -> int:
    config = tiny_job_config(1, evaluation={"benchmarks": ["aqua"], "scoring": scoring})
    with session_scope(settings.sqlalchemy_url) as s:
        job = Job(
            team_id=team_id,
            name="outputs",
            base_model="tiny:llama",
            method="adapterp",
            config=config,
            status="running",
            history=[],
            worker="w1",
            heartbeat_at=job_updates.now(),  # alive, so the app's reaper leaves it running
        )
        s.add(job)
        s.flush()
        job.artifact_dir = f"jobs/{job.id}"
        return job.id


def test_prompts_are_served_verbatim_once_written(
    settings: Settings, users: Users, app_client: TestClient
) -> None:
    job_id = _job(settings, users.team_a)
    url = f"/api/v1/jobs/{job_id}/prompts"
    before = app_client.get(url, headers=auth(users.member))
    assert before.status_code == 404 and "no rendered prompts yet" in before.json()["detail"]

    record = {"instruction": "Add 2 and 3.", "input": "", "output": "The answer is 5"}
    written = rendered_prompts(record, "llm-adapters", None)
    folder = settings.storage_dir / f"jobs/{job_id}"
    folder.mkdir(parents=True)
    (folder / "prompts.json").write_text(json.dumps(written))

    r = app_client.get(url, headers=auth(users.member))
    assert r.status_code == 200
    assert r.json() == written
    # The paper's template keeps its source's trailing spaces; they survive the trip.
    lines = r.json()["evaluation"].splitlines()
    assert any(line != line.rstrip(" ") for line in lines)
    assert r.json()["training"].endswith("The answer is 5")

    assert app_client.get(url, headers=auth(users.outsider)).status_code == 404
    assert (
        app_client.get("/api/v1/jobs/999999/prompts", headers=auth(users.member)).status_code == 404
    )


@pytest.mark.parametrize("rule", ["paper", "strict"])
def test_results_and_their_exports_name_the_rule(
    settings: Settings, users: Users, app_client: TestClient, tmp_path, rule: str
) -> None:
    job_id = _job(settings, users.team_a, scoring=rule)
    headers = auth(users.member)
    # Before any result, the job says the rule it will score with (its config's).
    assert app_client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()["scoring"] == rule
    empty = app_client.get(f"/api/v1/jobs/{job_id}/results", headers=headers).json()
    assert empty == {"data": [], "count": 0}

    job_updates.record_progress(
        settings,
        job_id,
        fields={},
        metrics=[],
        evals=[
            {"benchmark": "aqua", "step": 0, "accuracy": 0.5, "correct": 1, "total": 2,
             "scoring": rule}
        ],
        logs=[],
    )  # fmt: skip
    _write_run(tmp_path, rule)
    job_updates.store_results(settings, job_id, tmp_path, SUMMARY)
    assert job_updates.finish(settings, job_id, "succeeded")

    correct = {"paper": 2, "strict": 3}[rule]  # the paper reads "Answer: B" as A
    job = app_client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
    assert job["scoring"] == rule and job["results"] == {"aqua": pytest.approx(correct / 3)}
    points = app_client.get(f"/api/v1/jobs/{job_id}/accuracy", headers=headers).json()
    assert [p["scoring"] for p in points["benchmarks"]["aqua"]] == [rule]

    results = app_client.get(f"/api/v1/jobs/{job_id}/results", headers=headers).json()
    assert results["count"] == 1
    row = results["data"][0]
    assert (row["benchmark"], row["correct"], row["total"], row["scoring"]) == (
        "aqua",
        correct,
        3,
        rule,
    )

    r = app_client.get(f"/api/v1/jobs/{job_id}/results?format=csv", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f'filename="job-{job_id}-results.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows == [
        {
            "benchmark": "aqua",
            "suite": "arithmetic",
            "accuracy": str(row["accuracy"]),
            "correct": str(correct),
            "total": "3",
            "scoring": rule,
        }
    ]
    bad = app_client.get(f"/api/v1/jobs/{job_id}/results?format=xml", headers=headers)
    assert bad.status_code == 422
    other = app_client.get(f"/api/v1/jobs/{job_id}/results", headers=auth(users.outsider))
    assert other.status_code == 404
