"""Ranking a team's finished jobs, with the paper's published figures as labelled reference rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.engine.evaluation import BENCHMARKS

from ..models import Job, JobResult, User
from ..schemas import LeaderboardPublic, LeaderboardRow

# Hu et al. 2023 (LLM-Adapters), accuracy % after fine-tuning on math_10k / commonsense_170k.
PUBLISHED: list[dict[str, Any]] = [
    {
        "job_name": "LLaMA-7B LoRA (published)",
        "base_model": "LLaMA-7B",
        "method": "lora",
        "placement": {"modules": ["q", "k", "v", "up", "down"], "layers": "all"},
        "scores": {
            "gsm8k": 37.5,
            "aqua": 18.9,
            "mawps": 79.0,
            "svamp": 52.1,
            "boolq": 68.9,
            "piqa": 80.7,
            "social_i_qa": 77.4,
            "hellaswag": 78.1,
            "winogrande": 78.8,
            "arc-e": 77.8,
            "arc-c": 61.3,
            "openbookqa": 74.8,
        },
    },
]


def _scope_benchmarks(scope: str) -> list[str]:
    if scope in BENCHMARKS:
        return [scope]
    return [name for name, b in BENCHMARKS.items() if b.suite == scope]


def leaderboard(
    session: Session,
    team_id: int,
    scope: str,
    *,
    method: str | None = None,
    base_model: str | None = None,
    sort: str = "accuracy",
    descending: bool = True,
    include_published: bool = True,
    skip: int = 0,
    limit: int = 100,
) -> LeaderboardPublic:
    names = _scope_benchmarks(scope)
    where = [Job.team_id == team_id, Job.status == "succeeded", JobResult.benchmark.in_(names)]
    if method:
        where.append(Job.method == method.lower())
    if base_model:
        where.append(Job.base_model == base_model)
    rows = session.execute(
        select(Job, JobResult.benchmark, JobResult.accuracy, User.email)
        .join(JobResult, JobResult.job_id == Job.id)
        .outerjoin(User, User.id == Job.owner_id)
        .where(*where)
    ).all()
    by_job: dict[int, dict[str, Any]] = {}
    for job, bench, acc, email in rows:
        entry = by_job.setdefault(job.id, {"job": job, "email": email, "scores": {}})
        entry["scores"][bench] = acc
    out: list[dict[str, Any]] = []
    for entry in by_job.values():
        job, scores = entry["job"], entry["scores"]
        pct = (
            100 * job.trainable_parameters / job.total_parameters
            if job.trainable_parameters is not None and job.total_parameters
            else None
        )
        out.append(
            {
                "job_id": job.id,
                "job_name": job.name,
                "published": False,
                "base_model": job.base_model,
                "method": job.method,
                "placement": (job.config.get("adapter") or {}).get("placement") or {},
                # Accuracies are stored as fractions; the leaderboard shows percent like the paper.
                "scores": {k: 100 * v for k, v in scores.items()},
                "trainable_parameters": job.trainable_parameters,
                "trainable_percent": pct,
                "peak_memory_bytes": job.peak_memory_bytes,
                "wall_seconds": job.wall_seconds,
                "owner_email": entry["email"],
                "finished_at": job.finished_at,
            }
        )
    if include_published and not method and not base_model:
        for ref in PUBLISHED:
            scores = {k: v for k, v in ref["scores"].items() if k in names}
            if scores:
                out.append(
                    {
                        **ref,
                        "scores": scores,
                        "job_id": None,
                        "published": True,
                        "trainable_parameters": None,
                        "trainable_percent": None,
                        "peak_memory_bytes": None,
                        "wall_seconds": None,
                        "owner_email": None,
                        "finished_at": None,
                    }
                )
    for row in out:
        row["accuracy"] = sum(row["scores"].values()) / len(row["scores"])

    def key(row: dict[str, Any]) -> tuple[bool, Any]:
        value = row[sort]
        if isinstance(value, datetime):
            value = value.timestamp()
        # Missing values sort last whichever the direction.
        return (value is None) != descending, value if value is not None else 0

    out.sort(key=key, reverse=descending)
    page = out[skip : skip + limit]
    data = [LeaderboardRow(rank=skip + i + 1, **row) for i, row in enumerate(page)]
    return LeaderboardPublic(scope=scope, benchmarks=names, data=data, count=len(out))
