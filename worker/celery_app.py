"""The one Celery entry point: `celery -A worker.celery_app worker -Q gpu ...`.

Built from the same settings as the API. Redis in the distributed setup; in the embedded mode
kombu's filesystem transport, which needs no server."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from backend.app.core.config import Settings, settings


def broker_options(s: Settings) -> tuple[str, dict]:
    if s.broker_url:
        # Long jobs: a message unacked for this long is redelivered (the task refuses to run a
        # job twice; see job_updates.claim).
        return s.broker_url, {"visibility_timeout": 24 * 3600}
    folder = s.broker_folder
    for sub in ("queue", "processed"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return "filesystem://", {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
        "polling_interval": 0.05,
    }


def make_app(s: Settings) -> Celery:
    broker, options = broker_options(s)
    celery = Celery("studio", broker=broker, include=["worker.tasks.jobs"])
    celery.conf.update(
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,  # results live in the database
        task_default_queue="gpu",
        task_acks_late=True,  # a job is acknowledged when it ends, not when it starts
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # one long job at a time per worker (= per GPU)
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return celery


app = make_app(settings)
_apps: dict[tuple[str, str], Celery] = {}


def app_for(s: Settings) -> Celery:
    """The app that sends to `s`'s broker (the API may run with settings other than the
    environment's, as the tests do)."""
    key = (s.broker_url, str(s.broker_folder))
    if key == (settings.broker_url, str(settings.broker_folder)):
        return app
    if key not in _apps:
        _apps[key] = make_app(s)
    return _apps[key]


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    # Connections inherited over fork are shared with the parent; never reuse them.
    from backend.app.core.db import dispose_engines

    dispose_engines()
