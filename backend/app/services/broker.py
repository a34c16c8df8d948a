"""The broker as the API and the workers both see it: its address and transport options, derived
from Settings, and a producer that sends the worker's tasks by name.

The API never imports the worker's Celery app or its tasks (see the import contracts in
pyproject.toml); `worker/celery_app.py` builds its app from `celery_settings` below, so the two
sides cannot disagree on where messages go. Redis in the distributed setup; in the embedded
mode kombu's filesystem transport, every folder of it inside the studio's data folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.config import Settings

if TYPE_CHECKING:
    from celery import Celery

QUEUE = "gpu"  # jobs of one process, and everything else a worker runs
TRAIN_TASK = "jobs.train"  # (job_id, nonce)
EXPORT_TASK = "jobs.export"  # (job_id, format)


def queue_for(processes: int) -> str:
    """The queue of a job that trains in `processes` processes (one device each): `gpu`, or
    `gpu-xN`, which only workers with N or more devices consume (worker_queues)."""
    return QUEUE if processes <= 1 else f"{QUEUE}-x{processes}"


def worker_queues(devices: int) -> list[str]:
    """The queues a worker with `devices` devices takes jobs from: every job it can hold."""
    return [queue_for(n) for n in range(1, max(devices, 1) + 1)]


def broker_folders(s: Settings) -> dict[str, Path]:
    """The filesystem transport's folders: messages, processed messages and the control folder
    (exchange bindings, used by broadcasts such as revoke), which kombu otherwise puts in the
    current directory."""
    root = s.broker_folder
    return {"queue": root / "queue", "processed": root / "processed", "control": root / "control"}


def broker_connection(s: Settings) -> tuple[str, dict[str, Any]]:
    """(broker URL, transport options); creates the filesystem broker's folders."""
    if s.broker_url:
        # Long jobs: a message unacked for this long is redelivered (the task refuses to run a
        # job twice; see job_updates.claim).
        return s.broker_url, {
            "visibility_timeout": 24 * 3600,
            "socket_connect_timeout": 2,  # an unreachable broker fails a send quickly
        }
    folders = broker_folders(s)
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return "filesystem://", {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
        "polling_interval": 0.05,  # ~60 ms a round trip instead of ~1 s
    }


def celery_settings(s: Settings) -> tuple[str, dict[str, Any]]:
    """(broker URL, Celery configuration) shared by the producer and the workers."""
    url, options = broker_connection(s)
    return url, {
        "broker_transport_options": options,
        "broker_connection_retry_on_startup": True,
        "task_ignore_result": True,  # results live in the database
        "task_default_queue": QUEUE,
    }


_producers: dict[tuple[str, str], Celery] = {}


def producer(s: Settings) -> Celery:
    """A Celery app without tasks, only for sending to `s`'s broker; one per broker (the API may
    run with settings other than the environment's, as the tests do)."""
    key = (s.broker_url, str(s.broker_folder))
    if key not in _producers:
        from celery import Celery  # imported on the first send, not when the API starts

        url, conf = celery_settings(s)
        app = Celery("studio-api", broker=url, set_as_current=False)
        app.conf.update(conf)
        _producers[key] = app
    return _producers[key]


# A broker that is down is reported within about a second (the caller keeps the job in the
# outbox), instead of Celery's default of retrying the publish for longer.
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def send(
    s: Settings, task: str, args: list[Any], task_id: str | None = None, queue: str = QUEUE
) -> None:
    producer(s).send_task(
        task, args=args, queue=queue, task_id=task_id, retry=True, retry_policy=_PUBLISH_RETRY
    )


def revoke(s: Settings, task_id: str) -> None:
    """Broadcasts to the workers that `task_id` is not to run."""
    producer(s).control.revoke(task_id)
