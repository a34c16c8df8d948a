"""The one Celery entry point: `celery -A worker.celery_app worker -Q gpu ...`.

Built from the same settings as the API, and from the same broker configuration as the API's
producer (backend.app.services.broker): Redis in the distributed setup, kombu's filesystem
transport in the embedded mode."""

from __future__ import annotations

from celery import Celery
from celery.signals import celeryd_after_setup, worker_process_init

from backend.app.core.config import Settings, settings
from backend.app.services.broker import celery_settings, worker_queues


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


def device_count(s: Settings) -> tuple[str, int]:
    """(device kind, devices) this worker offers: STUDIO_WORKER_DEVICES, else its GPUs, else one
    CPU (the engine's torchrun path runs several processes over gloo on a CPU too)."""
    import torch

    gpus = torch.cuda.device_count()
    kind = "cuda" if gpus else "cpu"
    return kind, s.worker_devices or gpus or 1


@celeryd_after_setup.connect
def _announce(sender: str, instance: object, **_: object) -> None:
    """Consumes the queues of several-process jobs this worker can hold (gpu-x2 ... gpu-xN, in
    addition to -Q gpu) and announces its devices, so a job that needs more says why it waits."""
    import logging

    from backend.app.services.job_updates import record_worker

    kind, devices = device_count(settings)
    queues = worker_queues(devices)
    for queue in queues[1:]:
        instance.app.amqp.queues.select_add(queue)  # type: ignore[attr-defined]
    try:
        record_worker(settings, sender, kind, devices, queues)
    except Exception as e:  # noqa: BLE001 - the queues decide; the row only explains waits
        logging.getLogger(__name__).warning("could not announce this worker: %s", e)
    logging.getLogger(__name__).info(
        "worker %s: %d %s device(s), queues %s", sender, devices, kind, ", ".join(queues)
    )
