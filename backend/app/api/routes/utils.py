"""Health for checks (docker-compose, load balancers): the database and the broker, each apart."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from fastapi import APIRouter, Request, Response

from ...core.config import Settings
from ...core.db_outage import ping_database
from ...schemas import DependencyHealth, Health
from ...services.broker import broker_connection, broker_folders

router = APIRouter(tags=["utils"])


@router.get(
    "/health",
    response_model=Health,
    responses={
        503: {"model": Health, "description": "degraded: the database or the broker is down"}
    },
)
def health(request: Request, response: Response) -> Health:
    settings: Settings = request.app.state.settings
    database = _check(lambda: ping_database(settings.sqlalchemy_url))
    broker = _check(lambda: _ping_broker(settings))
    down = [name for name, c in (("database", database), ("broker", broker)) if not c.ok]
    if down:
        response.status_code = 503
        response.headers["Retry-After"] = str(settings.db_retry_after_s)
    return Health(
        status="degraded" if down else "ok",
        message=f"{' and '.join(down)} unreachable" if down else "ok",
        database=database,
        broker=broker,
    )


def _check(ping: Callable[[], None]) -> DependencyHealth:
    started = time.perf_counter()
    try:
        ping()
        ok, detail = True, "ok"
    except Exception as e:  # noqa: BLE001 - any failure is the answer, not an error
        ok, detail = False, f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300]}"
    return DependencyHealth(
        ok=ok, detail=detail, latency_ms=round(1000 * (time.perf_counter() - started), 1)
    )


def _ping_broker(settings: Settings) -> None:
    if not settings.broker_url:  # embedded: kombu's filesystem transport
        broker_connection(settings)  # creates its folders, as the first send would
        for name, folder in broker_folders(settings).items():
            if not os.access(folder, os.W_OK):
                raise OSError(f"the broker's {name} folder {folder} is not writable")
        return
    from kombu import Connection  # imported on the first check, not when the API starts

    url, options = broker_connection(settings)
    with Connection(url, transport_options=options, connect_timeout=1) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
