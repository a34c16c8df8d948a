"""Fixtures for the service: real PostgreSQL and SQLite, real Redis, a real worker and server.

`scripts/test.sh` makes sure PostgreSQL (127.0.0.1:5432, database `test`) and Redis
(127.0.0.1:6379) are running before pytest starts."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from backend.app.core.config import Settings
from backend.app.core.db import dispose_engines, session_scope
from backend.app.embedded import migrate
from backend.app.main import create_app
from backend.app.services.accounts import create_team, create_user, issue_token

PG_URL = os.environ.get("STUDIO_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("STUDIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "llm-adapters"


def reset_postgres(url: str = PG_URL) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_settings(kind: str, tmp: Path, **overrides: object) -> Settings:
    if kind == "postgresql":
        dispose_engines()  # connections to the dropped schema's tables must not be reused
        reset_postgres()
        url = PG_URL
    else:
        url = f"sqlite:///{tmp / 'studio.db'}"
    values: dict = {
        "environment": "test",
        "data_dir": tmp / "data",
        "database_url": url,
        "broker_url": REDIS_URL,
        "stats_tokenizer": "bytes",
        "reaper_interval_s": 0.5,
        **overrides,
    }
    s = Settings(**values)
    s.data_dir.mkdir(parents=True, exist_ok=True)
    migrate(s)
    return s


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    redis.Redis.from_url(REDIS_URL).flushdb()  # no stale job messages from other tests
    return make_settings(request.param, tmp_path)


@dataclass
class Users:
    admin: str  # owner of team A, administrator
    member: str  # member of team A
    outsider: str  # owner of team B
    team_a: int
    team_b: int


def seed_users(settings: Settings) -> Users:
    from backend.app.models import Membership

    with session_scope(settings.sqlalchemy_url) as s:
        admin = create_user(s, "admin@example.com", "admin-password", "Ada", is_admin=True)
        member = create_user(s, "member@example.com", "member-password", "Max")
        outsider = create_user(s, "outsider@example.com", "outsider-password", "Olga")
        a = create_team(s, "team-a", admin)
        b = create_team(s, "team-b", outsider)
        s.add(Membership(user_id=member.id, team_id=a.id, role="member"))
        tokens = [issue_token(s, u, "test")[1] for u in (admin, member, outsider)]
        return Users(*tokens, team_a=a.id, team_b=b.id)


@pytest.fixture
def users(settings: Settings) -> Users:
    return seed_users(settings)


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def arithmetic_jsonl(n_a: int = 8, n_b: int = 4) -> str:
    return "\n".join(
        json.dumps(
            {
                "instruction": f"What is {a} + {b}?",
                "output": f"{a} + {b} = {a + b}. The answer is {a + b}.",
                "answer": str(a + b),
            }
        )
        for a in range(n_a)
        for b in range(n_b)
    )


def tiny_job_config(dataset_id: int, **over: object) -> dict:
    cfg: dict = {
        "name": "tiny-series",
        "base_model": "tiny:llama",
        "dataset_id": dataset_id,
        "adapter": {"method": "adapterp", "params": {"bottleneck_size": 8}},
        "training": {
            "max_steps": 6,
            "batch_size": 4,
            "micro_batch_size": 2,
            "warmup_steps": 0,
            "val_set_size": 4,
            "cutoff_len": 64,
        },
        "evaluation": {
            "benchmarks": ["svamp"],
            "every_n_steps": 2,
            "max_examples": 4,
            "batch_size": 4,
            "decoding": {"max_new_tokens": 4},
        },
    }
    cfg.update(over)
    return cfg


def prepare_catalogue(client: TestClient | httpx.Client, admin_token: str) -> None:
    """The admin registers the tiny model and imports the paper's benchmark sets."""
    r = client.post("/api/v1/models", json={"reference": "tiny:llama"}, headers=auth(admin_token))
    assert r.status_code == 201, r.text
    r = client.post(
        "/api/v1/benchmarks/import", json={"folder": str(SHARED)}, headers=auth(admin_token)
    )
    assert r.status_code == 200, r.text


def upload(client: TestClient | httpx.Client, token: str, text: str, name: str = "d.jsonl"):
    return client.post("/api/v1/datasets", files={"file": (name, text)}, headers=auth(token))
