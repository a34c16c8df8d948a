"""Ranking a team's finished jobs, with the paper's published figures as labelled reference rows.

Every row says what its score rests on: the examples scored (and of how many in the full
sets), the scoring rule, the decoding and the prompt template. A job scored on a sample of a
benchmark (fewer examples than the set holds) is marked `sampled` and, unless the caller asks
for `samples="together"`, ranks after every full-set row, so a 20-example score never sits
directly under the paper's full-set figure.

What "sampled" means, for each of the scope's benchmarks a job scored: when the benchmark is
imported (the `benchmarks` table knows its size), fewer examples than that; when it is not,
`evaluation.max_examples` was set and reached (the cap cut the set). The full-set size is the
imported row count, or the examples scored when the job had no cap.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, case, delete, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from worker.engine.config import DecodingConfig, TrainingConfig
from worker.engine.evaluation import BENCHMARKS
from worker.engine.evaluation.harness import PREFIX as HARNESS_PREFIX

from ..models import Benchmark, Job, JobResult, LeaderboardScore, User
from ..schemas import LeaderboardPublic, LeaderboardRow
from .catalogue import base_parameters, job_base_parameters, trainable_percent
from .published import published_rows

# The paper's decoding (worker/engine/evaluation/generation.py; a test keeps them equal):
# 4 beams, and new tokens per suite. Not imported from there: it needs torch.
PAPER_BEAMS = 4
PAPER_TOKEN_BUDGETS = {"arithmetic": 256, "commonsense": 32}
Samples = Literal["apart", "together"]
SAMPLES: tuple[Samples, ...] = ("apart", "together")


def _scope_benchmarks(scope: str) -> list[str]:
    if scope in BENCHMARKS or scope.startswith(HARNESS_PREFIX):
        return [scope]
    return [name for name, b in BENCHMARKS.items() if b.suite == scope]


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
    samples: Samples = "apart",
    skip: int = 0,
    limit: int = 100,
) -> LeaderboardPublic:
    """Ranks from `leaderboard_scores` (an index in rank order per team and scope); only the
    page's jobs are read. Published rows, a few dozen, are merged in afterwards. With
    `samples="apart"` rows scored on a sample rank after all full-set rows."""
    if samples not in SAMPLES:
        raise ValueError(f"samples must be one of {', '.join(SAMPLES)}, got {samples!r}")
    names = _scope_benchmarks(scope)
    apart = samples == "apart"
    where = [LeaderboardScore.team_id == team_id, LeaderboardScore.scope == scope]
    needs_job = bool(method or base_model) or sort != "accuracy" or apart
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
    if method or base_model:
        counted = counted.join(Job, Job.id == LeaderboardScore.job_id)
    count = session.scalar(counted) or 0
    sizes = _set_sizes(session, names)
    published = (
        _published_rows(names, scope, sizes)
        if include_published and not method and not base_model
        else []
    )
    # Enough job rows to fill the page whatever number of published rows rank above them.
    order_by = [order, LeaderboardScore.job_id] if sort == "accuracy" else [order, score.desc()]
    if apart:
        order_by.insert(0, case((_sampled(names), 1), else_=0))
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
    sizes_of_models = base_parameters(session, {row.base_model for row in jobs.values()})
    rules = dict(
        session.execute(
            select(LeaderboardScore.job_id, LeaderboardScore.scoring).where(
                LeaderboardScore.job_id.in_(ids), LeaderboardScore.scope == scope
            )
        ).all()
    )
    scores: dict[int, dict[str, float]] = {i: {} for i in ids}
    totals: dict[int, dict[str, int]] = {i: {} for i in ids}
    for job_id, bench, acc, total in session.execute(
        select(JobResult.job_id, JobResult.benchmark, JobResult.accuracy, JobResult.total).where(
            JobResult.job_id.in_(ids), JobResult.benchmark.in_(names)
        )
    ):
        scores[job_id][bench] = 100 * acc
        totals[job_id][bench] = total
    suite = _suite_of(scope)
    rows: list[dict[str, Any]] = []
    for job_id, value in top:
        job = jobs[job_id]
        config = job.config or {}
        rows.append(
            {
                "job_id": job.id,
                "job_name": job.name,
                "published": False,
                "published_table": None,
                "base_model": job.base_model,
                "method": job.method,
                "placement": (config.get("adapter") or {}).get("placement") or {},
                "accuracy": value,
                "scores": scores[job_id],
                **_examples(totals[job_id], sizes, _max_examples(config)),
                "scoring": rules.get(job_id),
                "decoding": decoding_label(
                    (config.get("evaluation") or {}).get("decoding") or {}, suite
                ),
                "prompt_template": (config.get("training") or {}).get("prompt_template")
                or TrainingConfig.model_fields["prompt_template"].default,
                "trainable_parameters": job.trainable_parameters,
                "trainable_percent": trainable_percent(
                    job.trainable_parameters,
                    job_base_parameters(
                        sizes_of_models,
                        job.base_model,
                        job.trainable_parameters,
                        job.total_parameters,
                    ),
                ),
                "peak_memory_bytes": job.peak_memory_bytes,
                "wall_seconds": job.wall_seconds,
                "owner_email": job.email,
                "finished_at": job.finished_at,
            }
        )
    merged = sorted(rows + published, key=_sort_key(sort, descending), reverse=descending)
    if apart:
        merged.sort(key=lambda row: row["sampled"])  # stable: each part keeps its order
    page = merged[skip : skip + limit]
    data = [LeaderboardRow(rank=skip + i + 1, **row) for i, row in enumerate(page)]
    # The team's lm-evaluation-harness scopes, so the page can offer the ones that have scores.
    harness = session.scalars(
        select(LeaderboardScore.scope)
        .where(
            LeaderboardScore.team_id == team_id,
            LeaderboardScore.scope.startswith(HARNESS_PREFIX),
        )
        .distinct()
        .order_by(LeaderboardScore.scope)
    ).all()
    return LeaderboardPublic(
        scope=scope,
        benchmarks=names,
        samples=samples,
        harness_scopes=list(harness),
        data=data,
        count=count + len(published),
    )


def _suite_of(scope: str) -> str:
    return BENCHMARKS[scope].suite if scope in BENCHMARKS else scope


def _set_sizes(session: Session, names: list[str]) -> dict[str, int]:
    """Examples in each imported benchmark's full set."""
    return dict(
        session.execute(
            select(Benchmark.name, Benchmark.row_count).where(Benchmark.name.in_(names))
        ).all()
    )


def _max_examples(config: dict[str, Any]) -> int | None:
    value = (config.get("evaluation") or {}).get("max_examples")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _examples(
    scored: dict[str, int], sizes: dict[str, int], max_examples: int | None
) -> dict[str, Any]:
    """Examples scored, of how many in the full sets (None: unknown), and whether it is a
    sample; the module docstring gives the rule, which `_sampled` computes in SQL."""
    full: int | None = 0
    sampled = False
    for bench, total in scored.items():
        size = sizes.get(bench)
        if size is not None:
            sampled |= total < size
        elif max_examples is not None and total >= max_examples:
            sampled, size = True, None
        else:
            size = total  # no cap, or the cap was not reached: the whole set was scored
        full = None if full is None or size is None else full + size
    return {
        "examples": sum(scored.values()) if scored else None,
        "examples_full": full if scored else None,
        "sampled": sampled,
    }


def _sampled(names: list[str]) -> ColumnElement[bool]:
    """SQL: the ranked job was scored on a sample of one of `names` (as `_examples` reads it)."""
    size = select(Benchmark.row_count).where(Benchmark.name == JobResult.benchmark)
    cap = Job.config[("evaluation", "max_examples")].as_integer()
    return exists().where(
        JobResult.job_id == LeaderboardScore.job_id,
        JobResult.benchmark.in_(names),
        or_(
            JobResult.total < size.scalar_subquery(),
            and_(~exists(size), cap.is_not(None), JobResult.total >= cap),
        ),
    )


def decoding_label(decoding: dict[str, Any], suite: str) -> str:
    """How a job decoded, in words: its preset with the beams and token budget it meant."""
    preset = decoding.get("preset") or "custom"
    if preset in ("paper", "fast"):
        beams = PAPER_BEAMS if preset == "paper" else 1
        budget = PAPER_TOKEN_BUDGETS.get(suite, PAPER_TOKEN_BUDGETS["arithmetic"])
        how = f"{beams} beams" if beams > 1 else "greedy"
        return f"{preset}: {how}, {budget} new tokens"
    fields = DecodingConfig.model_fields
    strategy = decoding.get("strategy") or fields["strategy"].default
    tokens = decoding.get("max_new_tokens") or fields["max_new_tokens"].default
    beams = decoding.get("num_beams") or fields["num_beams"].default
    how = f"{beams} beams" if strategy == "beam" and beams > 1 else "greedy"
    return f"{how}, {tokens} new tokens"


def _published_rows(names: list[str], scope: str, sizes: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    suite = _suite_of(scope)
    for ref in published_rows():
        scores = {k: v for k, v in ref["scores"].items() if k in names}
        if not scores:
            continue
        # A suite scope takes the table's own Average; a benchmark its figure.
        whole_table = scope == ref["suite"] and len(scores) == len(ref["scores"])
        known = [sizes.get(k) for k in scores]
        full = sum(n for n in known if n is not None) if None not in known else None
        out.append(
            {
                "job_name": ref["job_name"],
                "base_model": ref["base_model"],
                "method": ref["method"],
                "placement": ref["placement"],
                "scores": scores,
                "job_id": None,
                "published": True,
                "published_table": ref["published_table"],
                "accuracy": ref["average"] if whole_table else sum(scores.values()) / len(scores),
                # The paper scored whole test sets, with its rules, decoding and prompts.
                "examples": full,
                "examples_full": full,
                "sampled": False,
                "scoring": "paper",
                "decoding": decoding_label({"preset": "paper"}, suite),
                "prompt_template": "llm-adapters",
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
