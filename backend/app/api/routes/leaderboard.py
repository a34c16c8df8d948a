"""The team leaderboard: jobs ranked by accuracy on a benchmark or a suite's average."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from worker.engine.evaluation import BENCHMARKS, SUITES
from worker.engine.evaluation.harness import PREFIX as HARNESS_PREFIX
from worker.engine.evaluation.harness import SUITE as HARNESS_SUITE

from ...schemas import ApiText, LeaderboardPublic
from ...services.leaderboard import leaderboard
from ..deps import CurrentUser, SessionDep, Skip, TeamFilter, TextFilter, resolve_team

router = APIRouter(prefix="/leaderboard", tags=["leaderboard"])

SORTS = Literal[
    "accuracy", "trainable_parameters", "peak_memory_bytes", "wall_seconds", "finished_at"
]


@router.get("", response_model=LeaderboardPublic)
def read_leaderboard(
    user: CurrentUser,
    session: SessionDep,
    scope: Annotated[
        ApiText, Query(max_length=64, description="a benchmark name or a suite name")
    ] = "arithmetic",
    team_id: TeamFilter = None,
    method: TextFilter = None,
    base_model: TextFilter = None,
    sort: SORTS = "accuracy",
    descending: bool = True,
    include_published: bool = True,
    samples: Annotated[
        Literal["apart", "together"],
        Query(
            description="apart (default): rows scored on a sample of a benchmark rank after "
            "full-set rows; together: one ranking by the sort alone"
        ),
    ] = "apart",
    skip: Skip = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> LeaderboardPublic:
    # lm-evaluation-harness scores: "harness" (their average) or "harness:<task>"
    harness = scope == HARNESS_SUITE or (
        scope.startswith(HARNESS_PREFIX) and len(scope) > len(HARNESS_PREFIX)
    )
    if scope not in BENCHMARKS and scope not in SUITES and not harness:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unknown scope {scope!r}: a benchmark ({', '.join(BENCHMARKS)}) "
            f"or a suite ({', '.join(SUITES)}), or harness / harness:<task>",
        )
    team = resolve_team(session, user, team_id)
    return leaderboard(
        session,
        team,
        scope,
        method=method,
        base_model=base_model,
        sort=sort,
        descending=descending,
        include_published=include_published,
        samples=samples,
        skip=skip,
        limit=limit,
    )
