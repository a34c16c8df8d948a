"""Leaderboard ranking: per benchmark and per suite average, sorting, filters, published rows."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from backend.app.core.config import Settings
from backend.app.core.db import session_scope
from backend.app.models import Job, JobResult
from backend.app.services.leaderboard import record_scores

from .conftest import Users, auth

# (name, method, trainable, {benchmark: accuracy fraction})
JOBS = [
    ("lora-a", "lora", 4000, {"svamp": 0.50, "gsm8k": 0.30, "boolq": 0.9}),
    ("series-b", "series", 9000, {"svamp": 0.60, "gsm8k": 0.10}),
    ("prefix-c", "prefix", 100, {"svamp": 0.20}),
    ("lora-d", "lora", None, {"gsm8k": 0.45}),
]


@pytest.fixture
def finished_jobs(settings: Settings, users: Users) -> dict[str, int]:
    ids = {}
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with session_scope(settings.sqlalchemy_url) as s:
        for i, (name, method, trainable, scores) in enumerate(JOBS):
            job = Job(
                team_id=users.team_a,
                name=name,
                base_model="tiny:llama",
                method=method,
                config={"adapter": {"method": method, "placement": {"modules": ["mlp"]}}},
                status="succeeded",
                trainable_parameters=trainable,
                total_parameters=10**6,
                wall_seconds=10.0 * (i + 1),
                finished_at=t0 + timedelta(days=i),
                history=[],
            )
            s.add(job)
            s.flush()
            ids[name] = job.id
            for bench, acc in scores.items():
                suite = "commonsense" if bench == "boolq" else "arithmetic"
                s.add(
                    JobResult(
                        job_id=job.id,
                        benchmark=bench,
                        suite=suite,
                        accuracy=acc,
                        correct=int(acc * 100),
                        total=100,
                    )
                )
            s.flush()
            record_scores(s, job)  # what the worker does as the job succeeds
        # Another team's better job must not appear.
        other = Job(
            team_id=users.team_b,
            name="other",
            base_model="x",
            method="lora",
            config={},
            status="succeeded",
            history=[],
        )
        s.add(other)
        s.flush()
        s.add(
            JobResult(
                job_id=other.id,
                benchmark="svamp",
                suite="arithmetic",
                accuracy=1.0,
                correct=1,
                total=1,
            )
        )
        s.flush()
        record_scores(s, other)
    return ids


def _board(client: TestClient, token: str, **params) -> dict:
    params.setdefault("include_published", False)
    r = client.get("/api/v1/leaderboard", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


def test_per_benchmark_ranking(app_client, users, finished_jobs):
    rows = _board(app_client, users.member, scope="svamp")["data"]
    assert [r["job_name"] for r in rows] == ["series-b", "lora-a", "prefix-c"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[0]["accuracy"] == pytest.approx(60.0)
    assert rows[0]["placement"] == {"modules": ["mlp"]}
    assert rows[1]["trainable_percent"] == pytest.approx(0.4)


def test_suite_average_uses_the_suites_benchmarks(app_client, users, finished_jobs):
    rows = _board(app_client, users.member, scope="arithmetic")["data"]
    acc = {r["job_name"]: r["accuracy"] for r in rows}
    assert acc == pytest.approx(
        {"lora-a": 40.0, "series-b": 35.0, "lora-d": 45.0, "prefix-c": 20.0}
    )
    assert rows[0]["job_name"] == "lora-d"
    assert set(rows[1]["scores"]) == {"svamp", "gsm8k"}  # boolq is commonsense: not averaged in


def test_sorting_filters_and_paging(app_client, users, finished_jobs):
    rows = _board(app_client, users.member, scope="arithmetic", sort="trainable_parameters")["data"]
    assert [r["job_name"] for r in rows] == [
        "series-b",
        "lora-a",
        "prefix-c",
        "lora-d",
    ]  # None last
    rows = _board(
        app_client, users.member, scope="arithmetic", sort="wall_seconds", descending=False
    )["data"]
    assert [r["job_name"] for r in rows] == ["lora-a", "series-b", "prefix-c", "lora-d"]
    rows = _board(app_client, users.member, scope="arithmetic", method="lora")["data"]
    assert {r["job_name"] for r in rows} == {"lora-a", "lora-d"}
    page = _board(app_client, users.member, scope="arithmetic", skip=1, limit=2)
    assert page["count"] == 4 and [r["rank"] for r in page["data"]] == [2, 3]


def test_published_rows_are_labelled_and_ranked_among_jobs(app_client, users, finished_jobs):
    board = _board(app_client, users.member, scope="svamp", include_published=True)
    names = [(r["job_name"], r["published"]) for r in board["data"]]
    assert names[0] == ("series-b", False)
    assert names[1] == ("LLaMA-7B LoRA (published)", True)  # 52.1 %: between 60 and 50
    assert board["count"] == 4 and board["data"][1]["job_id"] is None
