"""The /api/v1 router: one sub-router per resource."""

from fastapi import APIRouter

from ..schemas import ErrorMessage
from .routes import (
    auth,
    benchmarks,
    datasets,
    demo,
    estimates,
    job_artifacts,
    job_events,
    job_exports,
    job_plan,
    job_series,
    jobs,
    leaderboard,
    methods,
    models,
    playground,
    studies,
    teams,
    utils,
)

# Documented on every operation: not signed in, not found (or another team's), refused input,
# the database unreachable (an outage: the client retries).
# 422 is also the engine's refusal of a config, with `detail` as one sentence.
api_router = APIRouter(
    responses={
        400: {"model": ErrorMessage, "description": "the request body cannot be read"},
        401: {"model": ErrorMessage, "description": "not signed in"},
        404: {"model": ErrorMessage, "description": "not found (or another team's)"},
        422: {"model": ErrorMessage, "description": "the input is refused"},
        503: {
            "model": ErrorMessage,
            "description": "the database is unreachable; retry after the `Retry-After` seconds",
        },
    }
)
for module in (
    utils,
    auth,
    teams,
    datasets,
    models,
    methods,
    estimates,
    benchmarks,
    jobs,
    job_plan,
    job_series,
    job_artifacts,
    demo,
    job_exports,
    job_events,
    leaderboard,
    playground,
    studies,
):
    api_router.include_router(module.router)
api_router.include_router(auth.users_router)
api_router.include_router(auth.tokens_router)
api_router.include_router(teams.users_router)
