"""A job's results as the worker stores them: every prediction keeps both scoring rules'
readings, and results, accuracy points and leaderboard scores name their rule."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from backend.app.core.config import Settings
from backend.app.core.db import session_scope
from backend.app.models import EvalPoint, Job, JobResult, LeaderboardScore, Prediction
from backend.app.services import job_updates
from worker.engine.evaluation import get_benchmark, verdict_fields

from .conftest import Users, auth

# aqua outputs on which the two rules differ ("Answer: B" is A to the paper).
OUTPUTS = [("Answer: B", "B"), ("About (A)", "A"), ("(C)", "C")]


def _write_run(out: Path, rule: str) -> None:
    """The files the engine leaves in a job's folder (runner.run_job's layout)."""
    scorer = get_benchmark("aqua").scorer
    preds = [
        {"benchmark": "aqua", "index": i, "prompt": "p", "output": o, "gold": g}
        | verdict_fields(scorer, o, g, rule)
        for i, (o, g) in enumerate(OUTPUTS)
    ]
    (out / "predictions").mkdir(parents=True)
    (out / "predictions" / "aqua.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))
    correct = sum(p["correct"] for p in preds)
    (out / "eval_results.json").write_text(
        json.dumps(
            {"aqua": {"accuracy": correct / 3, "correct": correct, "total": 3, "rule": rule}}
        )
    )


@pytest.mark.parametrize("rule", ["paper", "strict"])
def test_stored_results_name_their_rule_and_keep_both_readings(
    settings: Settings, users: Users, app_client: TestClient, tmp_path: Path, rule: str
) -> None:
    with session_scope(settings.sqlalchemy_url) as s:
        job = Job(
            team_id=users.team_a,
            name="rules",
            base_model="tiny:llama",
            method="lora",
            config={},
            status="running",
            history=[],
            worker="w1",
            heartbeat_at=job_updates.now(),  # alive, so the app's reaper leaves it running
        )
        s.add(job)
        s.flush()
        job_id = job.id
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
    summary = {
        "trainable_parameters": 1,
        "total_parameters": 2,
        "peak_memory_bytes": 0,
        "wall_seconds": 1.0,
        "train_loss": None,
        "steps": 1,
        "total_steps": 1,
    }
    job_updates.store_results(settings, job_id, tmp_path, summary)
    assert job_updates.finish(settings, job_id, "succeeded")

    expected_correct = {"paper": 2, "strict": 3}[rule]  # paper reads A, A, C; strict B, A, C
    with session_scope(settings.sqlalchemy_url) as s:
        assert s.scalars(select(EvalPoint.scoring)).all() == [rule]
        result = s.scalars(select(JobResult).where(JobResult.job_id == job_id)).one()
        assert (result.scoring, result.correct) == (rule, expected_correct)
        scores = s.scalars(select(LeaderboardScore).where(LeaderboardScore.job_id == job_id)).all()
        assert {(sc.scope, sc.scoring) for sc in scores} == {("aqua", rule), ("arithmetic", rule)}
        first = s.scalars(select(Prediction).order_by(Prediction.index)).first()
        assert first is not None and first.scoring == rule

    page = app_client.get(f"/api/v1/jobs/{job_id}/predictions", headers=auth(users.member))
    assert page.status_code == 200
    rows = page.json()["data"]
    assert [(p["extracted_paper"], p["correct_paper"]) for p in rows] == [
        ("A", False),
        ("A", True),
        ("C", True),
    ]
    assert [(p["extracted_strict"], p["correct_strict"]) for p in rows] == [
        ("B", True),
        ("A", True),
        ("C", True),
    ]
    assert all(p["scoring"] == rule for p in rows)
    assert [p["correct"] for p in rows] == [p[f"correct_{rule}"] for p in rows]
