"""POST /api/v1/estimates and the estimate each job keeps from its creation."""

import pytest
from fastapi.testclient import TestClient

from backend.app.core.config import Settings
from backend.app.services.job_updates import record_device_profile

from .conftest import Users, arithmetic_jsonl, auth, prepare_catalogue, tiny_job_config, upload

ROWS = 32  # arithmetic_jsonl(): 8 x 4 records


@pytest.fixture
def dataset_id(app_client: TestClient, users: Users) -> int:
    prepare_catalogue(app_client, users.admin)
    r = upload(app_client, users.member, arithmetic_jsonl())
    assert r.status_code == 201
    return r.json()["id"]


def _estimate(client: TestClient, token: str, config: dict):
    return client.post("/api/v1/estimates", json={"config": config}, headers=auth(token))


def test_estimate_of_a_job_config_with_and_without_a_dataset(
    app_client: TestClient, users: Users, dataset_id: int
):
    config = tiny_job_config(dataset_id, adapter={"method": "lora", "params": {"r": 4}})
    config["training"] = {**config["training"], "max_steps": None, "epochs": 2.0}
    r = _estimate(app_client, users.member, config)
    assert r.status_code == 200, r.text
    est = r.json()
    # The exact count the method catalogue's estimate gives.
    count = app_client.post(
        "/api/v1/methods/estimate",
        json={"base_model": "tiny:llama", "adapter": config["adapter"]},
        headers=auth(users.member),
    ).json()
    assert est["trainable_parameters"] == count["trainable_parameters"] > 0
    memory = est["memory"]
    assert memory["total"] == sum(v for k, v in memory.items() if k != "total")
    assert memory["optimizer"] == 8 * est["trainable_parameters"]
    # 32 rows less 4 held out, 4 per step, 2 epochs.
    assert est["train_examples"] == ROWS - 4 and est["total_steps"] == 2 * 7
    assert est["total_seconds"] == pytest.approx(14 * est["seconds_per_step"])
    # No worker has reported a device: the API measured its own machine.
    assert est["device"]["source"] == "api" and est["device"]["kind"] == "cpu"
    assert est["device"]["matmul_flops"] > 0

    no_data = {k: v for k, v in config.items() if k != "dataset_id"}
    r = _estimate(app_client, users.member, no_data)
    assert r.status_code == 200, r.text
    assert r.json()["total_steps"] is None and r.json()["memory"] == memory


def test_a_reported_worker_device_is_what_estimates_use(
    app_client: TestClient, users: Users, dataset_id: int, settings: Settings
):
    config = tiny_job_config(dataset_id)
    cpu = _estimate(app_client, users.member, config).json()
    record_device_profile(
        settings,
        "celery@gpu-1",
        {
            "kind": "cuda",
            "name": "NVIDIA H200",
            "dtype": "bfloat16",
            "matmul_flops": 7e14,
            "memory_bytes": 140 * 2**30,
            "runtime_bytes": 0,
            "threads": None,
        },
    )
    gpu = _estimate(app_client, users.member, config).json()
    assert gpu["device"] | {"measured_at": None} == {
        "kind": "cuda",
        "name": "NVIDIA H200",
        "dtype": "bfloat16",
        "matmul_flops": 7e14,
        "memory_bytes": 140 * 2**30,
        "runtime_bytes": 0,
        "threads": None,
        "source": "worker",
        "worker": "celery@gpu-1",
        "measured_at": None,
    }
    assert gpu["dtype"] == "bfloat16" and cpu["dtype"] == "float32"
    assert gpu["memory"]["weights"] * 2 == cpu["memory"]["weights"]
    assert gpu["seconds_per_step"] < cpu["seconds_per_step"]

    # A job created now keeps the same estimate beside its (not yet) measured figures.
    r = app_client.post("/api/v1/jobs", json={"config": config}, headers=auth(users.member))
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["estimate"]["memory"] == gpu["memory"]
    assert job["estimate"]["device"]["name"] == "NVIDIA H200"
    assert job["peak_memory_bytes"] is None and job["seconds_per_step"] is None
    again = app_client.get(f"/api/v1/jobs/{job['id']}", headers=auth(users.member)).json()
    assert again["estimate"] == job["estimate"]


@pytest.mark.parametrize(
    "change,status,needle",
    [
        ({"adapter": {"method": "series", "placement": {"modules": ["q"]}}}, 422, "allowed words"),
        ({"training": {"batch_size": 3, "micro_batch_size": 2}}, 422, "multiple"),
        ({"training": {"quantization": "4bit"}}, 422, "CUDA"),
        ({"base_model": "tiny:bloom"}, 404, "not registered"),
        ({"dataset_id": 999}, 404, "dataset 999"),
        ({"trainig": {}}, 422, "trainig"),
    ],
)
def test_bad_configs_are_refused_by_name(
    app_client: TestClient, users: Users, dataset_id: int, change, status, needle
):
    r = _estimate(app_client, users.member, {**tiny_job_config(dataset_id), **change})
    assert r.status_code == status, r.text
    assert needle in str(r.json()["detail"]), r.json()


def test_another_teams_dataset_is_not_found(app_client: TestClient, users: Users, dataset_id: int):
    r = _estimate(app_client, users.outsider, tiny_job_config(dataset_id))
    assert r.status_code == 404 and f"dataset {dataset_id}" in r.json()["detail"]
