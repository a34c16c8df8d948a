"""Starts the real thing for end-to-end tests: a uvicorn server and Celery workers as processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from backend.app.embedded import worker_command

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stack_env(data_dir: Path, database_url: str, broker_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        STUDIO_ENVIRONMENT="test",
        STUDIO_DATA_DIR=str(data_dir),
        STUDIO_DATABASE_URL=database_url,
        STUDIO_BROKER_URL=broker_url,
        STUDIO_STATS_TOKENIZER="bytes",
        STUDIO_HEARTBEAT_INTERVAL_S="0.5",
        STUDIO_HEARTBEAT_TIMEOUT_S="5",
        STUDIO_REAPER_INTERVAL_S="0.5",
        STUDIO_METRIC_FLUSH_S="0.3",
        OMP_NUM_THREADS="1",
    )
    return env


class Server:
    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "backend.app.main:app",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=REPO,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: healthy(self.url), 60, f"the API did not start (see {log})")

    def stop(self) -> None:
        stop(self.proc)


class Worker:
    def __init__(self, env: dict[str, str], log: Path, name: str = "w1"):
        self.log = log
        self.proc = subprocess.Popen(
            worker_command(name),
            env=env,
            cwd=REPO,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: b"ready." in log.read_bytes(), 90, f"the worker did not start ({log})")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        stop(self.proc)


class Inference:
    """The inference service (worker/inference.py) on a free port, adapters read under `root`."""

    def __init__(self, env: dict[str, str], log: Path, root: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "worker.inference",
                "--port",
                str(self.port),
                "--root",
                str(root),
            ],
            env=env,
            cwd=REPO,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_for(self._answers, 60, f"the inference service did not start (see {log})")

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        stop(self.proc)


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(check, timeout: float, message: str, interval: float = 0.3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(message)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)  # a Celery worker takes a few seconds to stop
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
