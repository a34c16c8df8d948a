"""A real MLflow tracking server for the tracking tests (`mlflow server` on a SQLite store,
serving artifacts over HTTP, as a team would run it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PORT = int(os.environ.get("STUDIO_TEST_MLFLOW_PORT", "18431"))


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@contextmanager
def running_mlflow_server(root: Path, port: int = PORT) -> Iterator[str]:
    """Starts the server, waits until it answers (at most 120 s), yields its URI, stops it."""
    assert port_is_free(port), f"port {port} is taken (set STUDIO_TEST_MLFLOW_PORT)"
    cmd = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        uri = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, log_path.read_text()[-2000:]
                try:
                    with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "mlflow server did not start in 120 s"
                time.sleep(0.5)
            yield uri
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
