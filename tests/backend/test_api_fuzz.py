"""schemathesis over the whole API, on PostgreSQL (which refuses what SQLite lets through: NUL,
ids past 32 bits) behind a real uvicorn server: no generated request may get a server error,
and every response must match the documented schema.

Seeded objects (a team with a member, a dataset, jobs, the benchmarks, a spare token) stand in
for generated ids (tests/backend/fuzz_hooks.py), so operations get past 404. Bounded in time:
a fixed number of examples per operation and phase, about 1-2 minutes on 2 cores. One
worker: hypothesis describing strategies from two threads at once fails (a runtime error)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis

from .conftest import (
    REDIS_URL,
    SHARED,
    arithmetic_jsonl,
    auth,
    make_settings,
    seed_users,
    tiny_job_config,
    upload,
)
from .stack import REPO, Server, stack_env

MAX_EXAMPLES = int(os.environ.get("STUDIO_FUZZ_EXAMPLES", "25"))  # per operation and phase
TIME_LIMIT_S = 300
# Not checked: `positive_data_acceptance` (a schema-valid leaderboard scope or benchmark folder
# may not exist: 422 by design) and `allow_header_conformance` (Starlette's 405 lists the
# methods of the first matching route only).
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "ignored_auth",
    ]
)


def _seed(c: httpx.Client, token: str, team: int) -> tuple[dict, dict]:
    """Objects for the fuzzer's ids: (ids for every operation, ids per operation)."""
    assert c.post("/api/v1/models", json={"reference": "tiny:llama"}).status_code == 201
    r = c.post("/api/v1/benchmarks/import", json={"folder": str(SHARED)})
    assert r.status_code == 200, r.text
    datasets = []
    for name in ("kept.jsonl", "spare.jsonl"):
        r = upload(c, token, arithmetic_jsonl(), name)
        assert r.status_code == 201, r.text
        datasets.append(r.json()["id"])
    jobs = []
    for _ in range(2):
        r = c.post("/api/v1/jobs", json={"team_id": team, "config": tiny_job_config(datasets[0])})
        assert r.status_code == 201, r.text
        jobs.append(r.json()["id"])
        # Ended, so its event stream ends too (no worker runs here) and it may be deleted.
        assert c.post(f"/api/v1/jobs/{jobs[-1]}/cancel").status_code == 200
    spare = c.post("/api/v1/tokens", json={"name": "to be revoked"}).json()["id"]
    members = c.get(f"/api/v1/teams/{team}/members").json()["data"]
    member = next(m["user_id"] for m in members if m["role"] == "member")
    ids = {"team_id": team, "dataset_id": datasets[0], "job_id": jobs[0], "user_id": member}
    per_operation = {
        "DELETE /api/v1/jobs/{job_id}": {"job_id": jobs[1]},
        "DELETE /api/v1/datasets/{dataset_id}": {"dataset_id": datasets[1]},
        "DELETE /api/v1/tokens/{token_id}": {"token_id": spare},
    }
    return ids, per_operation


def test_fuzzing_the_whole_api_finds_no_server_error(tmp_path: Path):
    settings = make_settings("postgresql", tmp_path)
    redis.Redis.from_url(REDIS_URL).flushdb()
    users = seed_users(settings)
    env = stack_env(settings.data_dir, settings.sqlalchemy_url, REDIS_URL)
    server = Server(env, tmp_path / "api.log")
    try:
        c = httpx.Client(base_url=server.url, headers=auth(users.admin), timeout=30)
        ids, per_operation = _seed(c, users.admin, users.team_a)
        fuzz_env = {
            **env,
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p),
            "SCHEMATHESIS_HOOKS": "tests.backend.fuzz_hooks",
            "STUDIO_FUZZ_IDS": json.dumps(ids),
            "STUDIO_FUZZ_OPERATION_IDS": json.dumps(per_operation),
        }
        report = tmp_path / "report"
        command = [
            *[str(Path(sys.executable).parent / "schemathesis"), "run"],
            f"{server.url}/api/v1/openapi.json",
            *["--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", "1"],
            *["--phases", "examples,coverage,fuzzing", "--workers", "1", "--no-shrink"],
            *["--header", f"Authorization: Bearer {users.admin}", "--request-timeout", "20"],
            *["--suppress-health-check", "all", "--report", "junit", "--report-dir", str(report)],
        ]
        started = time.monotonic()
        run = subprocess.run(
            command,
            env=fuzz_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT_S,
        )
        took = time.monotonic() - started
        out = run.stdout + run.stderr
        (tmp_path / "schemathesis.txt").write_text(out)
        summary = "\n".join(out.splitlines()[-40:])
        print(f"schemathesis: {took:.0f} s\n{summary}")
        assert run.returncode == 0, f"schemathesis found problems:\n{out[-20000:]}"
        # Every operation ran, with many cases each (the figures go to docs/security.md).
        operations = re.search(r"Tested: (\d+)", out)
        cases = re.search(r"(\d+) generated", out)
        assert operations and int(operations.group(1)) >= 40, summary
        assert cases and int(cases.group(1)) >= 20 * int(operations.group(1)), summary
    finally:
        server.stop()
        redis.Redis.from_url(REDIS_URL).flushdb()
