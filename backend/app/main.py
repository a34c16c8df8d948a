"""Builds the FastAPI app: the API under /api/v1, the dashboard's build at / when present, and
the reaper that fails jobs whose worker stopped sending heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from worker.engine.errors import ConfigError, DataError

from .api.main import api_router
from .api.routes import openai_fine_tuning
from .api.routes.openai_inference import is_openai_path, openai_error
from .api.routes.openai_inference import router as openai_router
from .core.config import Settings
from .core.config import settings as env_settings
from .core.db_outage import database_unavailable, ping_database
from .core.errors import ConflictError, NotFoundError
from .core.headers import SecurityHeaders
from .services.dispatch import dispatch_pending, watch_queued
from .services.reaper import reap_stale_jobs
from .services.studies import advance_all

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
# One handler per error kind, so routes raise and never translate. Each answers with the
# API's error body: `detail`, the exception's one sentence. (Documented in api/main.py.)
STATUS_OF_ERROR: dict[type[Exception], int] = {
    ConfigError: 422,  # input the engine (or the backend's own validation) refuses
    DataError: 422,
    ConflictError: 409,
    NotFoundError: 404,
}


# The exception classes a database outage raises (database_unavailable tells them apart from
# the same classes' bugs, such as SQLite's "no such table").
DATABASE_OUTAGE_ERRORS = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)


def _operation_id(route: APIRoute) -> str:
    # "{tag}-{name}" so the generated TypeScript client reads JobsService.createJob.
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def _refusal(status_code: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=status_code)

    return handler


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or env_settings

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def reaper() -> None:
            # After a database outage, workers that rode it out need a heartbeat interval to
            # write again: reap only once the database has been back a heartbeat timeout.
            grace_until = 0.0
            while True:
                try:
                    if time.monotonic() < grace_until:  # only watch whether it is still down
                        await run_in_threadpool(ping_database, settings.sqlalchemy_url)
                    else:
                        await run_in_threadpool(reap_stale_jobs, settings)
                        # Studies submit their next cells as others end (fair queueing).
                        await run_in_threadpool(advance_all, settings)
                except Exception as e:  # noqa: BLE001 - keep reaping after a transient DB error
                    if database_unavailable(e):
                        if time.monotonic() >= grace_until:
                            log.warning("reaper waits: the database is unreachable")
                        grace_until = time.monotonic() + settings.heartbeat_timeout_s
                    else:
                        log.exception("reaper pass failed")
                await asyncio.sleep(settings.reaper_interval_s)

        async def dispatcher() -> None:
            # The outbox: jobs the broker has not taken yet are sent; stale queued jobs say why
            # (and are sent again when their message was lost).
            while True:
                try:
                    await run_in_threadpool(dispatch_pending, settings)
                    await run_in_threadpool(watch_queued, settings)
                except Exception as e:  # noqa: BLE001 - keep dispatching after a transient error
                    if not database_unavailable(e):
                        log.exception("dispatcher pass failed")
                await asyncio.sleep(settings.dispatch_interval_s)

        tasks = [asyncio.create_task(reaper()), asyncio.create_task(dispatcher())]
        yield
        for task in tasks:
            task.cancel()

    app = FastAPI(
        title="Adapter Studio",
        summary="Parameter-efficient fine-tuning: LLM-Adapters methods on open causal LMs",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
    )
    app.state.settings = settings
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(
        SecurityHeaders, docs_path=f"{API_PREFIX}/docs", hsts=settings.environment == "production"
    )
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(openai_router)  # /v1: OpenAI-compatible, errors in OpenAI's shape
    # OpenAI-compatible doors at /v1 (base_url="http://HOST:PORT/v1"); they answer errors in
    # OpenAI's shape themselves.
    app.include_router(openai_fine_tuning.router, prefix="/v1")

    for kind, code in STATUS_OF_ERROR.items():
        app.add_exception_handler(kind, _refusal(code))

    async def database_unreachable(request: Request, exc: Exception) -> Response:
        # Only connection-class errors: any other database error is a bug and stays a 500.
        if not database_unavailable(exc):
            raise exc
        log.warning("%s %s: database unreachable: %s", request.method, request.url.path, exc)
        return JSONResponse(
            {"detail": "the database is unreachable; try again shortly"},
            status_code=503,
            headers={"Retry-After": str(settings.db_retry_after_s)},
        )

    for kind in DATABASE_OUTAGE_ERRORS:
        app.add_exception_handler(kind, database_unreachable)

    @app.exception_handler(RequestValidationError)
    async def one_shape_for_errors(request: Request, exc: RequestValidationError) -> Response:
        # Every 4xx body has a one-sentence `detail`; the fields follow as `problems`.
        problems = [
            {
                "row": None,
                "field": ".".join(str(x) for x in e.get("loc", ()) if x != "body"),
                "message": e.get("msg", "invalid"),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
        if is_openai_path(request.url.path):
            return openai_error(400, f"invalid request: {detail}")
        return JSONResponse(
            {"detail": f"invalid request: {detail}", "problems": problems}, status_code=422
        )

    spa_fallback: Callable[[Request, StarletteHTTPException], Awaitable[Response]] | None = None
    dist = settings.frontend_dist
    if dist is not None and (dist / "index.html").is_file():
        app.mount("/assets", StaticFiles(directory=dist / "assets", check_dir=False), "assets")

        # Not a catch-all route: that would answer every GET, even a wrong method on the API.
        async def spa(request: Request, exc: StarletteHTTPException) -> Response:
            path = request.url.path.lstrip("/")
            if exc.status_code != 404 or request.method != "GET" or path.startswith("api/"):
                return await http_exception_handler(request, exc)
            # Client-side routes (/jobs/12, ...) all get index.html; real files are served as is.
            file = (dist / path).resolve()
            if path and file.is_file() and dist.resolve() in file.parents:
                return FileResponse(file)
            return FileResponse(dist / "index.html")

        spa_fallback = spa

    @app.exception_handler(StarletteHTTPException)
    async def http_errors(request: Request, exc: StarletteHTTPException) -> Response:
        if is_openai_path(request.url.path):  # OpenAI's clients read {"error": {...}}
            response = openai_error(exc.status_code, str(exc.detail))
            response.headers.update(exc.headers or {})
            return response
        if spa_fallback is not None:
            return await spa_fallback(request, exc)
        return await http_exception_handler(request, exc)

    return app


app = create_app()
