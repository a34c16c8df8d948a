"""The /api/v1 router: one sub-router per resource."""

from fastapi import APIRouter

from .routes import (
    auth,
    benchmarks,
    datasets,
    jobs,
    leaderboard,
    methods,
    models,
    playground,
    teams,
    utils,
)

api_router = APIRouter()
for module in (
    utils,
    auth,
    teams,
    datasets,
    models,
    methods,
    benchmarks,
    jobs,
    leaderboard,
    playground,
):
    api_router.include_router(module.router)
api_router.include_router(auth.users_router)
api_router.include_router(auth.tokens_router)
api_router.include_router(teams.users_router)
