"""Thin tasks: claim the job, run it in a process of its own, keep its heartbeat, record the end.

The job's own process (worker.job_process) loads the model and calls the engine; a crash there
(or the GPU memory it held) does not outlive it. If this worker dies, the job process is killed
with it and the API's reaper fails the job once heartbeats stop."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time

from backend.app.core.config import settings
from backend.app.core.db_outage import retry_while_unavailable
from backend.app.services import job_updates
from backend.app.services.broker import EXPORT_TASK, TRAIN_TASK
from backend.app.services.storage import job_artifact_rel
from worker.engine import distributed

from ..celery_app import app, device_count
from ..job_process import parent_death_signal

log = logging.getLogger(__name__)


def _run_child(args: list[str], log_path, job_id: int | None, processes: int = 1) -> int:  # noqa: ANN001
    """`python -m worker.job_process ARGS` (under torchrun for a job of several processes),
    with the job's heartbeat written while it runs."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    module = ["worker.job_process", *args]
    command = (
        distributed.torchrun_command(processes, module)
        if processes > 1
        else [sys.executable, "-m", *module]
    )
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=parent_death_signal,
        )
        last_beat = time.monotonic()
        while proc.poll() is None:
            time.sleep(0.2)
            if job_id is not None and time.monotonic() - last_beat >= settings.heartbeat_interval_s:
                try:
                    job_updates.heartbeat(settings, job_id)
                    last_beat = time.monotonic()
                except Exception as e:  # noqa: BLE001 - never fatal: the job trains on
                    # e.g. a database outage; the next beat is tried in a second
                    log.warning("job %s: heartbeat not written (%s); retrying", job_id, e)
                    last_beat = time.monotonic() - settings.heartbeat_interval_s + 1.0
    return proc.returncode


def _tail(path, lines: int = 15) -> str:  # noqa: ANN001
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@app.task(name=TRAIN_TASK, bind=True)  # the API sends both by name
def train_job(self, job_id: int, nonce: str) -> str:  # noqa: ANN001
    worker = self.request.hostname or socket.gethostname()
    refused = job_updates.claim(settings, job_id, nonce, worker)
    if refused:
        log.info("not running job %s: %s", job_id, refused)
        return refused
    rel = job_artifact_rel(settings, job_id)
    job_updates.set_artifact_dir(settings, job_id, rel)
    log_path = settings.storage_dir / rel / "process.log"
    snap = job_updates.job_snapshot(settings, job_id) or {}
    processes = int(((snap.get("config") or {}).get("training") or {}).get("processes") or 1)
    _kind, devices = device_count(settings)
    if processes > devices:  # only reachable through a queue this worker was not meant to take
        job_updates.finish(
            settings,
            job_id,
            "failed",
            f"training.processes is {processes} but worker {worker} has {devices} device(s)",
        )
        return "refused"
    code = _run_child([str(job_id)], log_path, job_id, processes)
    reason = (
        f"the job process exited with code {code}\n{_tail(log_path)}".strip()
        if code
        else "the job process ended without a result"
    )
    # A no-op when the job process set the final state itself; otherwise the job never stays
    # running after this task.
    retry_while_unavailable(
        lambda: job_updates.finish(settings, job_id, "failed", reason),
        what=f"job {job_id}: recording its end",
        give_up_after_s=settings.db_outage_max_s,
    )
    return "done"


@app.task(name=EXPORT_TASK, bind=True)
def export(self, job_id: int, fmt: str) -> str:  # noqa: ANN001
    from worker.engine.export import ExportStatusFile

    folder = settings.storage_dir / job_artifact_rel(settings, job_id) / "exports" / fmt
    code = _run_child(["--export", str(job_id), fmt], folder.parent / f"{fmt}.log", None)
    if code != 0:  # the process died before recording its end (killed, out of memory)
        ExportStatusFile(folder).update(
            status="failed", error=_tail(folder.parent / f"{fmt}.log", 5) or f"exit {code}"
        )
    return "done"
