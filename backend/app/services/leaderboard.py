"""Ranking a team's finished jobs, with the paper's published figures as labelled reference rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from worker.engine.evaluation import BENCHMARKS

from ..models import Job, JobResult, LeaderboardScore, User
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


def _percent(trainable: int | None, total: int | None) -> float | None:
    return 100 * trainable / total if trainable is not None and total else None


def record_scores(session: Session, job: Job) -> None:
    """Writes the job's score per benchmark and per suite average (called as it succeeds)."""
    session.execute(delete(LeaderboardScore).where(LeaderboardScore.job_id == job.id))
    results = session.execute(
        select(JobResult.benchmark, JobResult.suite, JobResult.accuracy, JobResult.scoring).where(
            JobResult.job_id == job.id
        )
    ).all()
    suites: dict[str, list[float]] = {}
    rules: dict[str, set[str | None]] = {}
    for bench, suite, acc, rule in results:
        suites.setdefault(suite, []).append(acc)
        rules.setdefault(suite, set()).add(rule)
        session.add(
            LeaderboardScore(
                team_id=job.team_id,
                job_id=job.id,
                scope=bench,
                score=100 * acc,
                benchmarks=1,
                scoring=rule,
            )
        )
    for suite, accs in suites.items():
        session.add(
            LeaderboardScore(
                team_id=job.team_id,
                job_id=job.id,
                scope=suite,
                score=100 * sum(accs) / len(accs),
                benchmarks=len(accs),
                # One job scores every benchmark with one rule; a mix would have no name.
                scoring=rules[suite].pop() if len(rules[suite]) == 1 else None,
            )
        )


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
    """Ranks from `leaderboard_scores` (an index in rank order per team and scope); only the
    page's jobs are read. Published rows, a handful, are merged in afterwards."""
    names = _scope_benchmarks(scope)
    where = [LeaderboardScore.team_id == team_id, LeaderboardScore.scope == scope]
    needs_job = bool(method or base_model) or sort != "accuracy"
    if method:
        where.append(Job.method == method.lower())
    if base_model:
        where.append(Job.base_model == base_model)
    score = LeaderboardScore.score
    column = {
        "accuracy": score,
        "trainable_parameters": Job.trainable_parameters,
        "peak_memory_bytes": Job.peak_memory_bytes,
        "wall_seconds": Job.wall_seconds,
        "finished_at": Job.finished_at,
    }[sort]
    order = (column.desc() if descending else column.asc()).nulls_last()
    ranked = select(LeaderboardScore.job_id, score).where(*where)
    if needs_job:
        ranked = ranked.join(Job, Job.id == LeaderboardScore.job_id)
    counted = select(func.count()).select_from(LeaderboardScore).where(*where)
    if needs_job:
        counted = counted.join(Job, Job.id == LeaderboardScore.job_id)
    count = session.scalar(counted) or 0
    published = (
        _published_rows(names) if include_published and not method and not base_model else []
    )
    # Enough job rows to fill the page whatever number of published rows rank above them.
    order_by = [order, LeaderboardScore.job_id] if sort == "accuracy" else [order, score.desc()]
    top = session.execute(ranked.order_by(*order_by).limit(skip + limit)).all()
    ids = [job_id for job_id, _ in top]
    jobs = {
        row.id: row
        for row in session.execute(
            select(
                Job.id, Job.name, Job.base_model, Job.method, Job.config,
                Job.trainable_parameters, Job.total_parameters, Job.peak_memory_bytes,
                Job.wall_seconds, Job.finished_at, User.email,
            )
            .outerjoin(User, User.id == Job.owner_id)
            .where(Job.id.in_(ids))
        )
    }  # fmt: skip
    scores: dict[int, dict[str, float]] = {i: {} for i in ids}
    for job_id, bench, acc in session.execute(
        select(JobResult.job_id, JobResult.benchmark, JobResult.accuracy).where(
            JobResult.job_id.in_(ids), JobResult.benchmark.in_(names)
        )
    ):
        scores[job_id][bench] = 100 * acc
    rows: list[dict[str, Any]] = []
    for job_id, value in top:
        job = jobs[job_id]
        rows.append(
            {
                "job_id": job.id,
                "job_name": job.name,
                "published": False,
                "base_model": job.base_model,
                "method": job.method,
                "placement": (job.config.get("adapter") or {}).get("placement") or {},
                "accuracy": value,
                "scores": scores[job_id],
                "trainable_parameters": job.trainable_parameters,
                "trainable_percent": _percent(job.trainable_parameters, job.total_parameters),
                "peak_memory_bytes": job.peak_memory_bytes,
                "wall_seconds": job.wall_seconds,
                "owner_email": job.email,
                "finished_at": job.finished_at,
            }
        )
    merged = sorted(rows + published, key=_sort_key(sort, descending), reverse=descending)
    page = merged[skip : skip + limit]
    data = [LeaderboardRow(rank=skip + i + 1, **row) for i, row in enumerate(page)]
    return LeaderboardPublic(scope=scope, benchmarks=names, data=data, count=count + len(published))


def _published_rows(names: list[str]) -> list[dict[str, Any]]:
    out = []
    for ref in PUBLISHED:
        scores = {k: v for k, v in ref["scores"].items() if k in names}
        if scores:
            out.append(
                {
                    **ref,
                    "scores": scores,
                    "job_id": None,
                    "published": True,
                    "accuracy": sum(scores.values()) / len(scores),
                    "trainable_parameters": None,
                    "trainable_percent": None,
                    "peak_memory_bytes": None,
                    "wall_seconds": None,
                    "owner_email": None,
                    "finished_at": None,
                }
            )
    return out


def _sort_key(sort: str, descending: bool) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    def key(row: dict[str, Any]) -> tuple[bool, Any]:
        value = row[sort]
        if isinstance(value, datetime):
            value = value.timestamp()
        # Missing values sort last whichever the direction (as NULLS LAST does in SQL).
        return (value is None) != descending, value if value is not None else 0

    return key
