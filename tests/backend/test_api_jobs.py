"""Job submission with the engine's rules, listing, cancel of a queued job, clone, delete."""

import pytest
from fastapi.testclient import TestClient

from backend.app.core.config import Settings

from .conftest import Users, arithmetic_jsonl, auth, prepare_catalogue, tiny_job_config, upload


@pytest.fixture
def dataset_id(app_client: TestClient, users: Users) -> int:
    prepare_catalogue(app_client, users.admin)
    r = upload(app_client, users.member, arithmetic_jsonl())
    assert r.status_code == 201
    return r.json()["id"]


INVALID = [
    # (case, changes to the config, text the 422 must contain)
    (
        "series on q",
        {"adapter": {"method": "series", "placement": {"modules": ["q"]}}},
        "allowed words: attn mlp o gate up down",
    ),
    (
        "prefix with modules",
        {"adapter": {"method": "prefix", "placement": {"modules": ["q"]}}},
        "prefix",
    ),
    ("unknown method", {"adapter": {"method": "lorax"}}, "lorax"),
    ("layer out of range", {"adapter": {"method": "lora", "placement": {"layers": [7]}}}, "layer"),
    ("unknown key", {"trainig": {}}, "trainig"),
    ("wrong type", {"training": {"batch_size": "big"}}, "batch_size"),
    ("unregistered model", {"base_model": "tiny:bloom"}, "not in the catalogue"),
    ("unknown benchmark", {"evaluation": {"benchmarks": ["mmlu"]}}, "mmlu"),
    ("not imported", {"evaluation": {"benchmarks": ["hellaswag"]}}, "not imported"),
    ("dataset path", {"dataset_path": "/etc/passwd"}, "dataset_id"),
    ("other dataset", {"dataset_id": 999}, "dataset 999 not found"),
]


@pytest.mark.parametrize("case,change,needle", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_config_is_a_422_that_names_the_problem(
    app_client: TestClient, users: Users, dataset_id: int, case, change, needle
):
    cfg = {**tiny_job_config(dataset_id), **change}
    r = app_client.post("/api/v1/jobs", json={"config": cfg}, headers=auth(users.member))
    assert r.status_code == 422, r.text
    assert needle in r.json()["detail"], r.json()["detail"]
    assert app_client.get("/api/v1/jobs", headers=auth(users.member)).json()["count"] == 0


def test_queued_job_cancel_clone_list_delete(
    app_client: TestClient, users: Users, dataset_id: int, settings: Settings
):
    h = auth(users.member)
    r = app_client.post("/api/v1/jobs", json={"config": tiny_job_config(dataset_id)}, headers=h)
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["status"] == "queued" and job["method"] == "adapterp"
    assert job["config"]["evaluation"]["data_dir"] is None
    # No worker runs in this test: the job stays queued until cancelled.
    r = app_client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=h)
    assert r.json()["status"] == "cancelled"
    assert [x["status"] for x in r.json()["history"]] == ["queued", "cancelled"]
    assert app_client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=h).status_code == 409
    # The dataset is in use now.
    assert app_client.delete(f"/api/v1/datasets/{dataset_id}", headers=h).status_code == 409

    r = app_client.post(
        f"/api/v1/jobs/{job['id']}/clone",
        json={"overrides": {"adapter": {"method": "lora", "params": {"r": 4}}}},
        headers=h,
    )
    assert r.status_code == 201, r.text
    clone = r.json()
    assert clone["method"] == "lora" and clone["name"] == "tiny-series (copy)"
    assert clone["config"]["training"]["max_steps"] == 6  # the rest is copied

    r = app_client.post(
        f"/api/v1/jobs/{job['id']}/clone",
        json={"overrides": {"adapter": {"method": "series", "placement": {"modules": ["q"]}}}},
        headers=h,
    )
    assert r.status_code == 422  # a clone is validated like a new job

    listing = app_client.get("/api/v1/jobs?status=queued", headers=h).json()
    assert [j["id"] for j in listing["data"]] == [clone["id"]]
    assert app_client.get("/api/v1/jobs?method=adapterp", headers=h).json()["count"] == 1
    page = app_client.get("/api/v1/jobs?limit=1&skip=1", headers=h).json()
    assert page["count"] == 2 and page["data"][0]["id"] == job["id"]

    assert app_client.delete(f"/api/v1/jobs/{clone['id']}", headers=h).status_code == 409
    assert app_client.delete(f"/api/v1/jobs/{job['id']}", headers=h).status_code == 200
    assert app_client.get(f"/api/v1/jobs/{job['id']}", headers=h).status_code == 404


def test_catalogues(app_client: TestClient, users: Users, dataset_id: int):
    h = auth(users.member)
    methods = {m["name"]: m for m in app_client.get("/api/v1/methods", headers=h).json()["data"]}
    assert {
        "series",
        "adapterh",
        "adapterp",
        "parallel",
        "scaled_parallel",
        "lora",
        "dora",
        "prefix",
        "ptuning",
        "prompt",
        "ia3",
    } <= set(methods)
    assert methods["lora"]["default_placement"]["modules"] == ["q", "k", "v", "up", "down"]
    assert "gate" not in methods["lora"]["words_by_family"]["gpt2"]
    assert methods["prefix"]["placement_words"] == []
    models = app_client.get("/api/v1/models", headers=h).json()["data"]
    assert models[0]["family"] == "llama" and models[0]["num_layers"] == 2
    benches = app_client.get("/api/v1/benchmarks", headers=h).json()
    imported = {b["name"] for b in benches["data"] if b["imported"]}
    assert "svamp" in imported and "hellaswag" not in imported  # hellaswag is not in the folder
    r = app_client.post(
        "/api/v1/methods/estimate",
        json={"base_model": "tiny:llama", "adapter": {"method": "lora", "params": {"r": 4}}},
        headers=h,
    )
    small = r.json()["trainable_parameters"]
    r = app_client.post(
        "/api/v1/methods/estimate",
        json={"base_model": "tiny:llama", "adapter": {"method": "lora", "params": {"r": 8}}},
        headers=h,
    )
    assert r.json()["trainable_parameters"] == 2 * small  # LoRA grows linearly with the rank
    r = app_client.post(
        "/api/v1/methods/estimate",
        json={
            "base_model": "tiny:llama",
            "adapter": {"method": "series", "placement": {"modules": ["q"]}},
        },
        headers=h,
    )
    assert r.status_code == 422
    # Only an administrator adds models; a bad reference is a clear 422.
    r = app_client.post("/api/v1/models", json={"reference": "tiny:gpt2"}, headers=h)
    assert r.status_code == 403
    r = app_client.post("/api/v1/models", json={"reference": "nope:x"}, headers=auth(users.admin))
    assert r.status_code == 422 and "reference" in r.json()["detail"]


def test_leaderboard_scope_must_be_known(app_client: TestClient, users: Users):
    r = app_client.get("/api/v1/leaderboard?scope=mmlu", headers=auth(users.member))
    assert r.status_code == 422 and "arithmetic" in r.json()["detail"]
    rows = app_client.get(
        "/api/v1/leaderboard?scope=commonsense", headers=auth(users.member)
    ).json()
    assert rows["data"][0]["published"] and rows["data"][0]["accuracy"] > 70
