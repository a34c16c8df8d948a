"""`studio up`: the embedded default on one machine. SQLite, a broker with no server (kombu's
filesystem transport), one local worker; the same schema, tasks and API as the distributed setup.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import signal
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from .core.config import Settings
from .core.db import session_scope
from .models import Benchmark, Membership, Team, User

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
DEMO_MODEL = "demo:smollm2-135m"
WORKER_GRACE_S = 15.0  # how long a stopping studio waits for its worker's warm shutdown


def migrate(settings: Settings) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(REPO / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO / "alembic"))
    cfg.attributes["url"] = settings.sqlalchemy_url
    command.upgrade(cfg, "head")


def default_benchmark_dir(settings: Settings) -> Path | None:
    for candidate in (settings.benchmark_dir, REPO.parent / "shared" / "datasets" / "llm-adapters"):
        if candidate is not None and Path(candidate).is_dir():
            return Path(candidate)
    return None


def seed(settings: Settings) -> tuple[str, str | None, str]:
    """Admin user, team, a token for the printout, the demo model and the benchmark sets.

    Returns (admin email, admin password if just created else None, token)."""
    from .services.accounts import create_team, create_user, get_user_by_email, issue_token
    from .services.catalogue import import_benchmarks, register_model

    password = None
    token_file = settings.data_dir / "token"
    with session_scope(settings.sqlalchemy_url) as s:
        admin = get_user_by_email(s, settings.admin_email)
        if admin is None:
            password = settings.admin_password
            if password in ("changethis", ""):
                password = secrets.token_urlsafe(12)  # never ship a guessable default
            admin = create_user(s, settings.admin_email, password, "Administrator", is_admin=True)
        if not s.scalar(select(func.count()).where(Membership.user_id == admin.id)):
            team = s.scalar(select(Team).where(Team.name == settings.default_team))
            if team is None:
                create_team(s, settings.default_team, admin)
            else:
                s.add(Membership(user_id=admin.id, team_id=team.id, role="owner"))
        token = token_file.read_text().strip() if token_file.is_file() else None
        if token is None or not _token_valid(s, token):
            _, token = issue_token(s, admin, "studio up")
            token_file.write_text(token)
            token_file.chmod(0o600)
    with session_scope(settings.sqlalchemy_url) as s:
        try:
            register_model(s, DEMO_MODEL, "SmolLM2-135M-Instruct (demo)")
        except Exception as e:  # noqa: BLE001 - the studio works without it; say why
            log.warning("demo model not registered: %s", e)
    folder = default_benchmark_dir(settings)
    if folder is not None:
        with session_scope(settings.sqlalchemy_url) as s:
            if not s.scalar(select(func.count()).select_from(Benchmark)):
                names = import_benchmarks(s, settings, folder)
                log.info("imported %d benchmark sets from %s", len(names), folder)
    return settings.admin_email, password, token


def _token_valid(session, raw: str) -> bool:  # noqa: ANN001
    from .core.security import hash_token
    from .models import ApiToken

    t = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    return t is not None and t.revoked_at is None and session.get(User, t.user_id) is not None


def prepare() -> tuple[str, str | None, str]:
    """Migrations and seeding for the settings in the environment; returns what `seed` does."""
    from .core import config

    settings = config.reload_settings()
    migrate(settings)
    return seed(settings)


def prepare_in_child() -> tuple[str, str | None, str]:
    """`prepare` in a process of its own: registering the demo model reads its config with
    transformers and counts its parameters with torch, which the API process, serving for
    hours, should not keep (some 300 MB resident)."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(prepare).result()


def worker_command(name: str) -> list[str]:
    """One GPU worker: one job at a time from the gpu queue (see docs/service.md)."""
    return [
        sys.executable, "-m", "celery", "-A", "worker.celery_app", "worker", "-Q", "gpu",
        "--pool", "solo", "--concurrency", "1", "--hostname", f"{name}@%h", "--loglevel", "INFO",
    ]  # fmt: skip


def start_worker(settings: Settings, env: dict[str, str]) -> subprocess.Popen:
    log_file = open(settings.data_dir / "worker.log", "ab")  # noqa: SIM115 - lives with the process
    return subprocess.Popen(
        worker_command("local"),
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )


def _free_local_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_inference(settings: Settings, env: dict[str, str], port: int) -> subprocess.Popen:
    """The inference service (worker/inference.py): its own process beside the Celery worker,
    so the playground and /v1 answer at once while a job trains. Local only: it reads adapters
    from the data folder and has no authentication of its own (the API is its client)."""
    log_file = open(settings.data_dir / "inference.log", "ab")  # noqa: SIM115 - lives with it
    command = [
        sys.executable, "-m", "worker.inference", "--host", "127.0.0.1", "--port", str(port),
        "--root", str(settings.data_dir),
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=REPO)


def run(host: str, port: int, data_dir: Path | None, benchmark_dir: Path | None) -> int:
    import uvicorn

    env = dict(os.environ)
    inference_port = None
    if not env.get("STUDIO_INFERENCE_URL"):  # one configured elsewhere is used as it is
        inference_port = _free_local_port()
        env["STUDIO_INFERENCE_URL"] = f"http://127.0.0.1:{inference_port}"
    if data_dir is not None:
        env["STUDIO_DATA_DIR"] = str(data_dir.resolve())
    if benchmark_dir is not None:
        env["STUDIO_BENCHMARK_DIR"] = str(benchmark_dir.resolve())
    dist = REPO / "frontend" / "dist"
    if "STUDIO_FRONTEND_DIST" not in env and (dist / "index.html").is_file():
        env["STUDIO_FRONTEND_DIST"] = str(dist)
    os.environ.update(env)
    from .core import config

    settings = config.reload_settings()
    secure_data_dir(settings)
    email, password, token = prepare_in_child()
    from .services.broker import broker_connection

    broker_connection(settings)  # creates the filesystem broker's folders before anyone sends
    worker = start_worker(settings, env)
    inference = start_inference(settings, env, inference_port) if inference_port else None
    url = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    mode = "embedded (SQLite + filesystem broker)" if settings.embedded else "distributed"
    lines = [
        f"Adapter Studio is up at {url}  ({mode}; data in {settings.data_dir})",
        f"  API docs:  {url}/api/v1/docs",
        f"  OpenAI-compatible: {url}/v1  (inference at {settings.inference_url or 'none'})",
        f"  API token: {token}",
        f"  sign in:   {email}" + (f" / {password}  (shown once)" if password else ""),
        "  stop with Ctrl-C",
    ]
    print("\n".join(lines), flush=True)
    from .main import create_app

    # uvicorn shuts down on SIGTERM, then raises the signal again once it is done; with the
    # default action that ends this process at once, past the `finally` below, and the worker
    # (and its job process) would live on under PID 1. As an exception it unwinds like Ctrl-C.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    except SystemExit as e:
        if e.code != 128 + signal.SIGTERM:
            raise
    finally:
        if inference is not None and inference.poll() is None:
            inference.terminate()  # it holds no state worth a grace period
        stop_worker(worker)
        if inference is not None:
            try:
                inference.wait(timeout=10)
            except subprocess.TimeoutExpired:
                inference.kill()
                inference.wait()
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def stop_worker(worker: subprocess.Popen) -> None:
    """Celery's warm shutdown (SIGTERM) lets a running job finish; a job can take hours, so
    after a grace period the worker is killed, and its job process dies with it (its parent-
    death signal). Ignores further SIGINT/SIGTERM while it waits, so a second Ctrl-C cannot
    leave the worker behind."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if worker.poll() is None:
            worker.terminate()
        try:
            worker.wait(timeout=WORKER_GRACE_S)
        except subprocess.TimeoutExpired:
            log.warning("the worker did not stop within %s s; killing it", WORKER_GRACE_S)
            worker.kill()
            worker.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def secure_data_dir(settings: Settings) -> None:
    """The data folder 0700 and the embedded SQLite database 0600, created so if absent: they
    hold password and token hashes, uploads and adapters, no one else's to read."""
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.data_dir.chmod(0o700)
    db = sqlite_path(settings)
    if db is not None:
        # Created empty with its mode before the migrations open it; SQLite gives its -wal and
        # -journal files the database's mode.
        os.close(os.open(db, os.O_CREAT | os.O_WRONLY, 0o600))
        db.chmod(0o600)


def sqlite_path(settings: Settings) -> Path | None:
    url = settings.sqlalchemy_url
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
