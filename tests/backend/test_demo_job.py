"""POST /demo: the engine's demo recipe as an ordinary job of the team, its data written once."""

import json

from fastapi.testclient import TestClient

from backend.app.core.config import Settings
from worker.engine.demo import BENCHMARK_NAME, DEMO_RECIPE, EVERY_N_STEPS

from .conftest import Users, auth


def test_demo_needs_the_demo_model(app_client: TestClient, users: Users):
    r = app_client.post("/api/v1/demo", headers=auth(users.member))
    assert r.status_code == 409 and "demo:smollm2-135m is not in the catalogue" in r.text


def test_one_click_queues_the_recipe_with_its_data(
    app_client: TestClient, users: Users, settings: Settings
):
    r = app_client.post(
        "/api/v1/models", json={"reference": "demo:smollm2-135m"}, headers=auth(users.admin)
    )
    assert r.status_code == 201, r.text
    h = auth(users.member)
    r = app_client.post("/api/v1/demo", headers=h)
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["status"] == "queued" and job["method"] == "lora"
    config = job["config"]
    assert config["adapter"]["params"] == DEMO_RECIPE["adapter"]["params"]
    assert config["training"]["max_steps"] == 60 and config["training"]["learning_rate"] == 2e-3
    assert config["evaluation"]["benchmarks"] == [BENCHMARK_NAME]
    assert config["evaluation"]["every_n_steps"] == EVERY_N_STEPS

    # The training problems are a dataset of the team; the held-out ones a benchmark set.
    ds = app_client.get(f"/api/v1/datasets/{config['dataset_id']}", headers=h).json()
    assert ds["row_count"] == 480
    benchmarks = {
        b["name"]: b for b in app_client.get("/api/v1/benchmarks", headers=h).json()["data"]
    }
    assert benchmarks[BENCHMARK_NAME]["imported"] and benchmarks[BENCHMARK_NAME]["row_count"] == 100
    held_out = json.loads((settings.benchmarks_store / BENCHMARK_NAME / "test.json").read_text())
    preview = app_client.get(
        f"/api/v1/datasets/{config['dataset_id']}/preview?limit=200", headers=h
    ).json()
    trained = {rec["instruction"] for rec in preview["data"]}
    assert trained and not trained & {rec["instruction"] for rec in held_out}

    # A second click queues another run on the same data.
    again = app_client.post("/api/v1/demo", headers=h).json()
    assert again["id"] != job["id"] and again["config"]["dataset_id"] == config["dataset_id"]
    assert app_client.get("/api/v1/datasets", headers=h).json()["count"] == 1
