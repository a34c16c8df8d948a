"""API latency under load: job list, job metrics and leaderboard against p95 < 50 ms.

Fills a dedicated PostgreSQL database (`studio_bench`, never the tests' `test`) with 10,000
jobs over two teams (90 % in the measured one), 1,000,000 training-metric points, eval points
and final results, serves the real app, then a second process (this script with `--client`)
runs concurrent clients with an API token against each endpoint for a fixed time after a
warm-up. Every response is checked (status 200 and the expected counts) so that error pages
are never measured. It prints requests, requests/s and p50/p95/p99 per endpoint, compares each
p95 with the 50 ms target, and exits non-zero if any request failed.

    .venv/bin/python bench/api_load.py                 # fill (~15 s), serve, measure (~2 min)
    .venv/bin/python bench/api_load.py --keep          # reuse an already filled database
    .venv/bin/python bench/api_load.py --concurrency 1 --endpoints board_arithmetic
    .venv/bin/python bench/api_load.py --keep --app-dir /tmp/patched   # A/B a patched backend/

`--workers N` starts N single-process `uvicorn backend.app.main:app` servers (the Dockerfile's
command), one port each, with the clients' connections spread over them. `--uvicorn-workers`
uses one `uvicorn --workers N` instead: without uvloop its worker processes leave Nagle on, and
most responses then wait ~40 ms for the client's delayed ACK, which this would measure.

Needs PostgreSQL at 127.0.0.1:5432 (trust auth) and Redis at 127.0.0.1:6379 (the app's broker;
nothing is enqueued).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/studio_bench"
BROKER_URL = "redis://127.0.0.1:6379/13"
TARGET_P95_MS = 50.0
BENCH_EMAIL = "bench@studio.local"
OTHER_EMAIL = "other@studio.local"
PAGE = 50

BASE_MODELS = [
    ("demo:smollm2-135m", 0.35, 134_515_008),
    ("hf:HuggingFaceTB/SmolLM2-135M-Instruct", 0.3, 134_515_008),
    ("hf:Qwen/Qwen2.5-0.5B-Instruct", 0.2, 494_032_768),
    ("path:/models/llama-7b", 0.15, 6_738_415_616),
]
# method: (weight, placement, params, fraction of parameters trained)
METHODS: dict[str, tuple[float, dict[str, Any], dict[str, Any], float]] = {
    "lora": (
        0.35,
        {"modules": ["q", "k", "v", "up", "down"], "layers": "all"},
        {"r": 32, "alpha": 64, "dropout": 0.05},
        0.0083,
    ),
    "dora": (0.08, {"modules": ["q", "v"], "layers": "all"}, {"r": 16, "alpha": 32}, 0.0031),
    "series": (
        0.15,
        {"modules": ["mlp"], "layers": "all"},
        {"bottleneck_size": 256, "non_linearity": "tanh"},
        0.0142,
    ),
    "parallel": (
        0.15,
        {"modules": ["mlp"], "layers": "all"},
        {"bottleneck_size": 256, "scaling": 1.0},
        0.0142,
    ),
    "scaled_parallel": (
        0.05,
        {"modules": ["mlp"], "layers": "all"},
        {"bottleneck_size": 256, "scaling": "learned"},
        0.0142,
    ),
    "prefix": (0.12, {"modules": ["attn"], "layers": "all"}, {"num_virtual_tokens": 10}, 0.0011),
    "adapterh": (
        0.04,
        {"modules": ["attn", "mlp"], "layers": "all"},
        {"bottleneck_size": 64},
        0.0071,
    ),
    "ia3": (0.06, {"modules": ["k", "v", "down"], "layers": "all"}, {}, 0.0002),
}
ARITHMETIC = ["svamp", "gsm8k", "aqua", "mawps", "addsub", "multiarith", "singleeq"]
COMMONSENSE = ["boolq", "piqa", "social_i_qa", "arc-e", "arc-c", "openbookqa", "winogrande"]
BENCH_SIZES = {
    "gsm8k": 1319, "svamp": 1000, "aqua": 254, "mawps": 238, "addsub": 395, "multiarith": 600,
    "singleeq": 508, "boolq": 3270, "piqa": 1838, "social_i_qa": 1954, "arc-e": 2376,
    "arc-c": 1172, "openbookqa": 500, "winogrande": 1267,
}  # fmt: skip
# status: weight (the rest of the team's jobs are succeeded)
STATUS_MIX = {"failed": 0.04, "cancelled": 0.02, "running": 0.015, "queued": 0.02}
JOB_COLUMNS = (
    "id, team_id, owner_id, name, base_model, method, config, status, phase, step, total_steps, "
    "eta_seconds, cancel_requested, task_id, worker, attempts, error, trainable_parameters, "
    "total_parameters, peak_memory_bytes, wall_seconds, train_loss, best_accuracy, artifact_dir, "
    "history, heartbeat_at, started_at, finished_at, updated_at, created_at"
)


# ------------------------------------------------------------------------------------------
# Filling the database
# ------------------------------------------------------------------------------------------
def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _connect(url: str, autocommit: bool = False):  # noqa: ANN202 - psycopg.Connection
    import psycopg

    return psycopg.connect(_libpq(url), autocommit=autocommit)


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    server, name = _libpq(url).rsplit("/", 1)
    if name == "test":
        raise SystemExit("refusing to use the database 'test': the test suite owns it")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def migrate(url: str, data_dir: Path) -> None:
    from backend.app.core.config import Settings
    from backend.app.embedded import migrate as run_migrations

    run_migrations(Settings(database_url=url, data_dir=data_dir))


def filled_with(url: str, jobs: int, points: int) -> bool:
    """True when the database already holds exactly this data set (for --keep)."""
    with _connect(url) as conn:
        if conn.execute("SELECT to_regclass('public.metric_points')").fetchone()[0] is None:
            return False
        users = conn.execute(
            "SELECT count(*) FROM users WHERE email IN (%s, %s)", (BENCH_EMAIL, OTHER_EMAIL)
        ).fetchone()[0]
        n_jobs = conn.execute("SELECT count(*) FROM jobs").fetchone()[0]
        n_points = conn.execute("SELECT count(*) FROM metric_points").fetchone()[0]
    return users == 2 and n_jobs == jobs and n_points == points


def reset_schema(url: str) -> None:
    with _connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def create_accounts(url: str) -> tuple[int, int, int, int]:
    """(bench user, bench team, other user, other team) ids; the bench team is created first."""
    from backend.app.core.db import session_scope
    from backend.app.services.accounts import create_team, create_user

    with session_scope(url) as s:
        bench = create_user(s, BENCH_EMAIL, "bench-password", "Bench User")
        other = create_user(s, OTHER_EMAIL, "other-password", "Other User")
        bench_team = create_team(s, "bench", bench)
        other_team = create_team(s, "other", other)
        return bench.id, bench_team.id, other.id, other_team.id


def new_token(url: str) -> str:
    from sqlalchemy import select

    from backend.app.core.db import session_scope
    from backend.app.models import User
    from backend.app.services.accounts import issue_token

    with session_scope(url) as s:
        user = s.scalar(select(User).where(User.email == BENCH_EMAIL))
        return issue_token(s, user, f"api_load {datetime.now(UTC):%Y-%m-%d %H:%M}")[1]


def _weighted(rng: random.Random, pairs: list[tuple[Any, float]]) -> Any:
    return rng.choices([k for k, _ in pairs], weights=[w for _, w in pairs])[0]


def _job_status(rng: random.Random) -> str:
    r = rng.random()
    for status, weight in STATUS_MIX.items():
        if r < weight:
            return status
        r -= weight
    return "succeeded"


def _eval_benchmarks(rng: random.Random) -> list[str]:
    k = rng.randint(2, 4)
    if rng.random() < 0.75:  # mostly the math suite, svamp nearly always among them
        names = ["svamp"] if rng.random() < 0.8 else []
        names += rng.sample([b for b in ARITHMETIC if b not in names], k - len(names))
    else:
        names = rng.sample(COMMONSENSE, k)
    return names


def _config(rng: random.Random, name: str, model: str, method: str, benches: list[str]) -> dict:
    _, placement, params, _ = METHODS[method]
    return {
        "name": name,
        "base_model": model,
        "dataset_id": None,
        "adapter": {"method": method, "placement": placement, "params": params},
        "training": {
            "epochs": rng.choice([1, 2, 3]),
            "learning_rate": rng.choice([1e-4, 2e-4, 3e-4, 1e-3]),
            "batch_size": 16,
            "micro_batch_size": rng.choice([2, 4, 8]),
            "cutoff_len": 256,
            "val_set_size": 120,
            "train_on_inputs": True,
            "warmup_steps": 100,
            "seed": rng.randint(1, 100),
            "precision": "auto",
            "quantization": rng.choice(["none", "none", "8bit", "4bit"]),
            "gradient_checkpointing": False,
            "packing": False,
        },
        "evaluation": {
            "benchmarks": benches,
            "every_n_steps": 80,
            "max_examples": None,
            "decoding": {"strategy": "greedy", "num_beams": 4, "max_new_tokens": 256},
        },
    }


def fill(url: str, n_jobs: int, per_job: int, seed: int = 1234) -> None:
    """Jobs, metric points, eval points and results, written with COPY."""
    from worker.engine.evaluation import BENCHMARKS

    rng = random.Random(seed)
    bench_user, bench_team, other_user, other_team = create_accounts(url)
    now = datetime.now(UTC)
    start = now - timedelta(days=180)
    statuses = [_job_status(rng) for _ in range(n_jobs)]
    # Every started job has a loss curve; together exactly n_jobs * per_job points.
    started_jobs = sum(s != "queued" for s in statuses)
    base, extra = divmod(n_jobs * per_job, max(1, started_jobs))
    jobs: list[tuple] = []
    curves: list[tuple[int, int, int, int]] = []  # (job id, points, last step, epochs)
    evals: list[tuple] = []
    results: list[tuple] = []
    for i, status in enumerate(statuses):
        job_id = i + 1
        team, owner = (bench_team, bench_user) if rng.random() < 0.9 else (other_team, other_user)
        model, _, total_params = rng.choices(BASE_MODELS, [w for _, w, _ in BASE_MODELS])[0]
        method = _weighted(rng, [(m, v[0]) for m, v in METHODS.items()])
        benches = _eval_benchmarks(rng)
        name = f"{method}-{model.split('/')[-1].split(':')[-1]}-{job_id}"
        config = _config(rng, name, model, method, benches)
        created = start + (now - start) * (i / n_jobs) + timedelta(seconds=rng.random())
        begun = status != "queued"
        finished_ok = status == "succeeded"
        wall = rng.uniform(300, 7200)
        started = created + timedelta(seconds=rng.uniform(1, 120)) if begun else None
        finished = (
            started + timedelta(seconds=wall)
            if started is not None and status in ("succeeded", "failed", "cancelled")
            else None
        )
        history = [{"status": "queued", "at": created.isoformat()}]
        if started is not None:
            history.append({"status": "running", "at": started.isoformat()})
        if finished is not None:
            history.append({"status": status, "at": finished.isoformat()})
        total_steps = rng.choice([375, 750, 1125, 1500])
        step = {"queued": 0, "running": total_steps // 2}.get(status, total_steps)
        best = None
        if finished_ok:
            for b in benches:
                acc = min(0.95, max(0.02, rng.gauss(0.45, 0.15)))
                total = BENCH_SIZES[b]
                results.append((job_id, b, BENCHMARKS[b].suite, acc, round(acc * total), total))
                best = acc if best is None else max(best, acc)
        if status in ("succeeded", "running", "failed"):
            for k, at in enumerate((0, step // 3, 2 * step // 3, step)):
                acc = min(0.95, max(0.0, rng.gauss(0.15 + 0.1 * k, 0.05)))
                evals.append((job_id, benches[0], at, acc, round(acc * 1000), 1000))
        if begun:
            points = base + (1 if len(curves) < extra else 0)
            curves.append((job_id, points, max(step, points), config["training"]["epochs"]))
        jobs.append(
            (
                job_id, team, owner, name, model, method, json.dumps(config), status,
                "training" if status == "running" else None,
                step, total_steps,
                rng.uniform(60, 3600) if status == "running" else None,  # eta_seconds
                False,  # cancel_requested
                f"{rng.getrandbits(128):032x}",  # task_id
                "gpu-worker@node1" if begun else None,
                1 if begun else 0,  # attempts
                "torch.OutOfMemoryError: CUDA out of memory" if status == "failed" else None,
                int(total_params * METHODS[method][3]) if begun else None,
                total_params if begun else None,
                rng.randint(2, 40) * 2**30 if begun else None,  # peak_memory_bytes
                wall if finished else None,
                rng.uniform(0.3, 1.5) if finished_ok else None,  # train_loss
                best,
                f"artifacts/job-{job_id}" if finished_ok else None,
                json.dumps(history),
                now if status == "running" else finished,  # heartbeat_at
                started, finished, finished or started or created, created,
            )
        )  # fmt: skip

    with _connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY jobs ({JOB_COLUMNS}) FROM STDIN") as copy:
            for row in jobs:
                copy.write_row(row)
        cur.execute("SELECT setval(pg_get_serial_sequence('jobs', 'id'), %s)", (n_jobs,))
        with cur.copy(
            "COPY metric_points (job_id, kind, step, epoch, loss, learning_rate, "
            "tokens_per_second) FROM STDIN"
        ) as copy:
            for job_id, points, last_step, epochs in curves:
                loss0, floor = rng.uniform(1.8, 3.2), rng.uniform(0.2, 0.6)
                tps = rng.uniform(800, 9000)
                for k in range(1, points + 1):
                    step = round(k * last_step / points)
                    loss = floor + (loss0 - floor) * math.exp(-4 * k / points)
                    lr = 3e-4 * min(1.0, step / 100) * (1 - k / (points + 1))
                    copy.write_row(
                        (
                            job_id, "train", step, epochs * k / points,
                            loss + rng.gauss(0, 0.03), lr, tps * rng.uniform(0.9, 1.1),
                        )
                    )  # fmt: skip
        with cur.copy(
            "COPY eval_points (job_id, benchmark, step, accuracy, correct, total) FROM STDIN"
        ) as copy:
            for row in evals:
                copy.write_row(row)
        with cur.copy(
            "COPY job_results (job_id, benchmark, suite, accuracy, correct, total) FROM STDIN"
        ) as copy:
            for row in results:
                copy.write_row(row)
        # What the worker writes as each job succeeds (services/leaderboard.record_scores),
        # done in bulk: a score per benchmark and per suite average.
        cur.execute(
            "INSERT INTO leaderboard_scores (team_id, job_id, scope, score, benchmarks) "
            "SELECT j.team_id, r.job_id, r.benchmark, 100 * r.accuracy, 1 "
            "FROM job_results r JOIN jobs j ON j.id = r.job_id WHERE j.status = 'succeeded'"
        )
        cur.execute(
            "INSERT INTO leaderboard_scores (team_id, job_id, scope, score, benchmarks) "
            "SELECT j.team_id, r.job_id, r.suite, 100 * avg(r.accuracy), count(*) "
            "FROM job_results r JOIN jobs j ON j.id = r.job_id WHERE j.status = 'succeeded' "
            "GROUP BY j.team_id, r.job_id, r.suite"
        )
        conn.commit()
    # VACUUM too: a table autovacuum has visited has its visibility map set, so counts can be
    # index-only scans, as on a server that has been up a while.
    with _connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def data_sizes(url: str) -> dict[str, int]:
    with _connect(url) as conn:
        sizes = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608 - constants
            for t in ("jobs", "metric_points", "eval_points", "job_results")
        }
        sizes["MB on disk"] = conn.execute(
            "SELECT pg_database_size(current_database()) / 1000000"
        ).fetchone()[0]
    return sizes


def expectations(url: str) -> dict[str, Any]:
    """What correct responses contain, read back from the database for the checks."""
    from worker.engine.evaluation import BENCHMARKS

    with _connect(url) as conn:
        team_id, user_id = conn.execute(
            "SELECT m.team_id, u.id FROM users u JOIN memberships m ON m.user_id = u.id "
            "WHERE u.email = %s ORDER BY m.team_id LIMIT 1",
            (BENCH_EMAIL,),
        ).fetchone()
        by_status = dict(
            conn.execute(
                "SELECT status, count(*) FROM jobs WHERE team_id = %s GROUP BY status", (team_id,)
            ).fetchall()
        )
        points = dict(
            conn.execute(
                "SELECT j.id, count(*) FROM jobs j JOIN metric_points p ON p.job_id = j.id "
                "WHERE j.team_id = %s AND p.kind = 'train' GROUP BY j.id",
                (team_id,),
            ).fetchall()
        )
        boards = {}
        for scope in ("arithmetic", "svamp"):
            names = [n for n, b in BENCHMARKS.items() if scope in (n, b.suite)]
            boards[scope] = conn.execute(
                "SELECT count(DISTINCT j.id) FROM jobs j JOIN job_results r ON r.job_id = j.id "
                "WHERE j.team_id = %s AND j.status = 'succeeded' AND r.benchmark = ANY(%s)",
                (team_id, names),
            ).fetchone()[0]
    return {
        "team_id": team_id,
        "by_status": by_status,
        "team_jobs": sum(by_status.values()),
        "points": {str(k): v for k, v in points.items()},
        # The published LLaMA-7B LoRA row has arithmetic and svamp figures: one more row.
        "leaderboard": {k: v + 1 for k, v in boards.items()},
    }


# ------------------------------------------------------------------------------------------
# Serving the app
# ------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_servers(
    url: str, data_dir: Path, workers: int, supervisor: bool, app_dir: Path | None
) -> tuple[list[subprocess.Popen], list[str]]:
    """The app as deployed (`uvicorn backend.app.main:app`, one process): `workers` of them,
    one port each, or with `supervisor` one `uvicorn --workers N` behind a shared port."""
    env = {
        **os.environ,
        "STUDIO_DATABASE_URL": url,
        "STUDIO_BROKER_URL": BROKER_URL,
        "STUDIO_DATA_DIR": str(data_dir),
        "STUDIO_ENVIRONMENT": "test",
        # The bench's "running" jobs have no worker: keep the reaper from failing them mid-run.
        "STUDIO_HEARTBEAT_TIMEOUT_S": str(365 * 24 * 3600),
    }
    procs: list[subprocess.Popen] = []
    bases: list[str] = []
    for i in range(1 if supervisor else workers):
        port = free_port()
        cmd = [
            sys.executable, "-m", "uvicorn", "backend.app.main:app", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
        if supervisor:
            cmd += ["--workers", str(workers)]
        if app_dir is not None:  # a patched copy of backend/ to compare against this checkout
            cmd += ["--app-dir", str(app_dir)]
        log = open(data_dir / f"server-{i}.log", "wb")  # noqa: SIM115 - lives with the server
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for i, (proc, base) in enumerate(zip(procs, bases, strict=True)):
            _wait_healthy(proc, base, data_dir / f"server-{i}.log")
    except BaseException:
        stop_servers(procs)
        raise
    return procs, bases


def _wait_healthy(proc: subprocess.Popen, base: str, log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}):\n{log_path.read_text()}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{base} did not answer /api/v1/health in 90 s:\n{log_path.read_text()}")


def stop_servers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------------------
# The load client (runs in its own process: `--client SPEC OUT`)
# ------------------------------------------------------------------------------------------
ENDPOINTS = [
    ("health (floor: no auth, no data)", "health"),
    ("jobs list, first page", "jobs_first"),
    ("jobs list, random page", "jobs_page"),
    ("jobs list, status filter", "jobs_status"),
    ("jobs list, 200 (dashboard)", "jobs_ui"),
    ("job metrics", "metrics"),
    ("leaderboard arithmetic", "board_arithmetic"),
    ("leaderboard svamp", "board_svamp"),
]


def _request(kind: str, rng: random.Random, exp: dict[str, Any]) -> tuple[str, Any]:
    """The path to ask for and what a correct answer contains."""
    total = exp["team_jobs"]
    if kind == "health":
        return "/api/v1/health", None
    if kind == "jobs_first":
        return f"/api/v1/jobs?limit={PAGE}", (total, 0, PAGE)
    if kind == "jobs_page":
        skip = rng.randrange(0, total)
        return f"/api/v1/jobs?limit={PAGE}&skip={skip}", (total, skip, PAGE)
    if kind == "jobs_status":
        status = rng.choice(sorted(exp["by_status"]))
        return f"/api/v1/jobs?limit={PAGE}&status={status}", (exp["by_status"][status], 0, PAGE)
    if kind == "jobs_ui":  # what the dashboard's jobs page asks for
        return f"/api/v1/jobs?team_id={exp['team_id']}&limit=200", (total, 0, 200)
    if kind == "metrics":
        job_id = rng.choice(exp["point_ids"])
        return f"/api/v1/jobs/{job_id}/metrics", exp["points"][job_id]
    scope = kind.removeprefix("board_")
    return f"/api/v1/leaderboard?scope={scope}", exp["leaderboard"][scope]


def _check(kind: str, body: Any, expected: Any) -> str | None:
    if kind == "health":
        return None if isinstance(body, dict) and "message" in body else f"unexpected {body!r}"
    if kind.startswith("jobs"):
        count, skip, limit = expected
        want = max(0, min(limit, count - skip))
        if body.get("count") != count or len(body.get("data", [])) != want:
            return f"count {body.get('count')}/{len(body.get('data', []))}, want {count}/{want}"
    elif kind == "metrics":
        if len(body.get("train", [])) != expected:
            return f"{len(body.get('train', []))} train points, want {expected}"
    elif body.get("count") != expected or len(body.get("data", [])) != min(100, expected):
        return f"leaderboard count {body.get('count')}, want {expected}"
    return None


def _phase(clients: list, kind: str, exp: dict[str, Any], warmup: float, seconds: float) -> dict:
    """All clients on one endpoint: `warmup` s unmeasured, then `seconds` s measured."""
    import httpx

    warm_end = time.perf_counter() + warmup
    end = warm_end + seconds
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def loop(client: httpx.Client, seed: int) -> None:
        rng = random.Random(seed)
        mine: list[float] = []
        bad: list[str] = []
        while (t0 := time.perf_counter()) < end:
            path, expected = _request(kind, rng, exp)
            try:
                r = client.get(path)
                elapsed = time.perf_counter() - t0
                problem = (
                    f"HTTP {r.status_code}: {r.text[:200]}"
                    if r.status_code != 200
                    else _check(kind, r.json(), expected)
                )
            except (httpx.HTTPError, ValueError) as e:
                elapsed, problem = time.perf_counter() - t0, f"{type(e).__name__}: {e}"
            if t0 >= warm_end:
                mine.append(elapsed)
                if problem:
                    bad.append(f"{path}: {problem}")
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [
        threading.Thread(target=loop, args=(c, 1000 * i + len(kind))) for i, c in enumerate(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies": latencies, "errors": len(errors), "samples": errors[:5]}


def run_client(spec_path: str, out_path: str) -> None:
    import httpx

    spec = json.loads(Path(spec_path).read_text())
    exp = spec["expect"]
    exp["point_ids"] = sorted(exp["points"])
    headers = {"Authorization": f"Bearer {spec['token']}"}
    clients = [
        # Connections spread evenly over the servers (one per worker process).
        httpx.Client(base_url=spec["bases"][i % len(spec["bases"])], headers=headers, timeout=30)
        for i in range(spec["concurrency"])
    ]
    report: dict[str, Any] = {}
    try:
        for label, kind in ENDPOINTS:
            if kind not in spec["endpoints"]:
                continue
            report[label] = r = _phase(clients, kind, exp, spec["warmup"], spec["seconds"])
            print(f"  {label}: {len(r['latencies'])} requests, {r['errors']} errors", flush=True)
    finally:
        for c in clients:
            c.close()
    Path(out_path).write_text(json.dumps(report))


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------
def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def print_table(report: dict[str, Any], seconds: float) -> int:
    header = (
        f"{'endpoint':<34} | {'requests':>8} | {'req/s':>7} | {'p50 ms':>7} | {'p95 ms':>7} | "
        f"{'p99 ms':>7} | {'errors':>6} | target p95 < {TARGET_P95_MS:g} ms met?"
    )
    print(header)
    print("-" * len(header))
    failed = 0
    for label, _ in ENDPOINTS:
        if label not in report:
            continue
        r = report[label]
        lat = sorted(x * 1000 for x in r["latencies"])
        p50, p95, p99 = (percentile(lat, q) for q in (50, 95, 99))
        met = "yes" if p95 < TARGET_P95_MS and not r["errors"] else "NO"
        print(
            f"{label:<34} | {len(lat):>8} | {len(lat) / seconds:>7.1f} | {p50:>7.1f} | "
            f"{p95:>7.1f} | {p99:>7.1f} | {r['errors']:>6} | {met}"
        )
        failed += r["errors"]
        for sample in r["samples"]:
            print(f"    error: {sample}")
    return failed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default=DEFAULT_URL, help="database URL (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--points-per-job", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time first")
    parser.add_argument("--workers", type=int, default=2, help="API server processes")
    parser.add_argument(
        "--uvicorn-workers",
        action="store_true",
        help="one `uvicorn --workers N` instead of N servers; without uvloop its workers do "
        "not set TCP_NODELAY, which adds a ~40 ms delayed-ACK stall to most responses",
    )
    parser.add_argument(
        "--keep", action="store_true", help="reuse the database if it holds the same sizes"
    )
    parser.add_argument(
        "--endpoints",
        default=",".join(kind for _, kind in ENDPOINTS),
        help="comma-separated subset to measure (default: all, %(default)s)",
    )
    parser.add_argument(
        "--app-dir",
        type=Path,
        help="serve the backend package found in this folder instead (A/B a patched copy)",
    )
    parser.add_argument("--client", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = set(args.endpoints.split(",")) - {kind for _, kind in ENDPOINTS}
    if unknown:
        parser.error(f"unknown endpoint(s): {', '.join(sorted(unknown))}")
    if args.client:
        run_client(*args.client)
        return 0

    sys.path.insert(0, str(REPO))
    ensure_database(args.url)
    points = args.jobs * args.points_per_job
    with tempfile.TemporaryDirectory(prefix="api_load_") as tmp:
        tmpdir = Path(tmp)
        if args.keep and filled_with(args.url, args.jobs, points):
            migrate(args.url, tmpdir)
            print("database already filled with these sizes (--keep): not refilling")
        else:
            t0 = time.perf_counter()
            reset_schema(args.url)
            migrate(args.url, tmpdir)
            t1 = time.perf_counter()
            fill(args.url, args.jobs, args.points_per_job)
            t2 = time.perf_counter()
            print(f"filled in {t2 - t0:.1f} s (schema {t1 - t0:.1f} s, data {t2 - t1:.1f} s)")
        sizes = ", ".join(f"{k} {v:,}" for k, v in data_sizes(args.url).items())
        exp = expectations(args.url)
        mix = ", ".join(f"{k} {v:,}" for k, v in sorted(exp["by_status"].items()))
        print(f"data: {sizes}; measured team: {exp['team_jobs']:,} jobs ({mix})")
        spec = {
            "token": new_token(args.url),
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "warmup": args.warmup,
            "expect": exp,
            "endpoints": args.endpoints.split(","),
        }
        servers, spec["bases"] = start_servers(
            args.url, tmpdir, args.workers, args.uvicorn_workers, args.app_dir
        )
        try:
            (tmpdir / "spec.json").write_text(json.dumps(spec))
            how = (
                f"uvicorn --workers {args.workers}"
                if args.uvicorn_workers
                else f"{args.workers} single-process uvicorn servers"
            )
            print(
                f"load: {args.concurrency} concurrent clients in a second process, "
                f"{args.warmup:g} s warm-up + {args.seconds:g} s per endpoint; {how}"
                + (f", backend from {args.app_dir}" if args.app_dir else "")
            )
            client = [sys.executable, str(Path(__file__).resolve()), "--client"]
            subprocess.run(
                [*client, str(tmpdir / "spec.json"), str(tmpdir / "out.json")], check=True
            )
        finally:
            stop_servers(servers)
        report = json.loads((tmpdir / "out.json").read_text())
    errors = print_table(report, args.seconds)
    print(f"data: {sizes}; measured team: {exp['team_jobs']:,} jobs")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
