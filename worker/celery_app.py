"""The one Celery entry point: `celery -A worker.celery_app worker -Q gpu ...`.

Built from the same settings as the API, and from the same broker configuration as the API's
producer (backend.app.services.broker): Redis in the distributed setup, kombu's filesystem
transport in the embedded mode."""

from __future__ import annotations

from celery import Celery
from celery.signals import worker_process_init

from backend.app.core.config import Settings, settings
from backend.app.services.broker import celery_settings


def make_app(s: Settings) -> Celery:
    broker, conf = celery_settings(s)
    celery = Celery("studio", broker=broker, include=["worker.tasks.jobs"])
    celery.conf.update(
        conf,
        task_acks_late=True,  # a job is acknowledged when it ends, not when it starts
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # one long job at a time per worker (= per GPU)
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return celery


app = make_app(settings)


@worker_process_init.connect
def _fresh_connections(**_: object) -> None:
    # Connections inherited over fork are shared with the parent; never reuse them.
    from backend.app.core.db import dispose_engines

    dispose_engines()
