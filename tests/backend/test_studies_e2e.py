"""A study end to end on the distributed setup: PostgreSQL, Redis, a uvicorn server and two
real Celery workers, on a tiny model.

2 methods × 2 seeds through REST run to a results table; and the queueing is fair: with at most
two cells of the study queued at a time, another team's single job posted after the study
starts before the study's last two cells."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import httpx
import pytest
import redis

from backend.app.core.db import dispose_engines

from .conftest import (
    PG_URL,
    REDIS_URL,
    arithmetic_jsonl,
    auth,
    make_settings,
    prepare_catalogue,
    seed_users,
    tiny_job_config,
    upload,
)
from .stack import Server, Worker, stack_env, wait_for


def _tiny(dataset_id: int) -> dict:
    cfg = tiny_job_config(dataset_id)
    cfg["training"].update(max_steps=2, val_set_size=0)
    cfg["evaluation"].update(every_n_steps=1, max_examples=2, batch_size=2)
    return cfg


def test_study_on_two_workers_is_fair_and_ends_with_its_table(tmp_path):
    redis.Redis.from_url(REDIS_URL).flushdb()
    settings = make_settings("postgresql", tmp_path)
    users = seed_users(settings)
    dispose_engines()
    env = stack_env(settings.data_dir, PG_URL, REDIS_URL)
    env["STUDIO_STUDY_MAX_ACTIVE_CELLS"] = "2"
    server = Server(env, tmp_path / "api.log")
    workers = []
    client = httpx.Client(base_url=server.url, timeout=120)  # a loaded CI machine
    try:
        workers = [Worker(env, tmp_path / f"{n}.log", n) for n in ("w1", "w2")]
        prepare_catalogue(client, users.admin)
        member, outsider = auth(users.member), auth(users.outsider)
        ds = upload(client, users.member, arithmetic_jsonl()).json()["id"]
        other_ds = upload(client, users.outsider, arithmetic_jsonl()).json()["id"]

        base = _tiny(ds)
        base.pop("name")
        study = {
            "name": "e2e",
            "base": base,
            "axes": [
                {
                    "name": "method",
                    "variants": [
                        {"label": "AdapterP", "set": {}},
                        {
                            "label": "LoRA",
                            "set": {"adapter": {"method": "lora", "params": {"r": 4}}},
                        },
                    ],
                },
                {"name": "seed", "path": "training.seed", "values": [1, 2]},
            ],
        }
        r = client.post("/api/v1/studies", json=study, headers=member)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        assert [c["status"] for c in r.json()["cells"]][2:] == ["pending", "pending"]
        # Another team's single job, posted after the whole study.
        r = client.post("/api/v1/jobs", json={"config": _tiny(other_ds)}, headers=outsider)
        assert r.status_code == 201, r.text
        single = r.json()["id"]

        final = wait_for(
            lambda: (
                (s := client.get(f"/api/v1/studies/{sid}", headers=member).json())["state"]
                == "finished"
                and s
            ),
            600,  # five tiny jobs on two workers; minutes on a loaded 2-core machine
            "the study did not finish",
            interval=1,
        )
        assert [c["status"] for c in final["cells"]] == ["succeeded"] * 4, final["cells"]

        def started(job_id: int, headers: dict) -> datetime:
            job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).json()
            return datetime.fromisoformat(job["started_at"])

        single_job = wait_for(
            lambda: (
                (j := client.get(f"/api/v1/jobs/{single}", headers=outsider).json())["status"]
                == "succeeded"
                and j
            ),
            120,
            "the single job did not finish",
        )
        single_start = datetime.fromisoformat(single_job["started_at"])
        cells = [started(c["job_id"], member) for c in final["cells"]]
        # Fair: the single job started before the study's last two cells did.
        assert single_start < min(cells[2:]), (single_start, cells)
        assert {j["worker"].split("@")[0] for j in [single_job]} <= {"w1", "w2"}

        table = final["results"]
        assert [row["labels"]["method"] for row in table["rows"]] == ["AdapterP", "LoRA"]
        assert all(row["runs"] == 2 and row["examples"] == {"svamp": 2} for row in table["rows"])
        assert all(row["accuracy"]["svamp"]["n"] == 2 for row in table["rows"])
        assert all(row["trainable_parameters"] > 0 for row in table["rows"])
        r = client.get(f"/api/v1/studies/{sid}/results?format=csv", headers=member)
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert len(rows) == 2 and all(int(row["peak_memory_bytes"]) > 0 for row in rows)
        plot = client.get(f"/api/v1/studies/{sid}/plot", headers=member).json()
        # Each cell's accuracy curve: before training and after each of its two steps.
        assert all([p["step"] for p in d["curves"]["svamp"]] == [0, 1, 2] for d in plot["data"])
        # Each cell is an ordinary job of the team, named after the study and its labels.
        names = {j["name"] for j in client.get("/api/v1/jobs", headers=member).json()["data"]}
        assert "e2e / LoRA, seed=2" in names
    finally:
        client.close()
        for w in workers:
            w.stop()
        server.stop()


@pytest.fixture(autouse=True)
def _no_stale_engines():
    yield
    dispose_engines()
