"""POST /jobs/plan: what a training config will do with a stored dataset, before a job exists."""

from fastapi.testclient import TestClient

from .conftest import Users, arithmetic_jsonl, auth, upload


def test_plan_from_the_dataset_rows(app_client: TestClient, users: Users):
    h = auth(users.member)
    ds = upload(app_client, users.member, arithmetic_jsonl(16, 4)).json()  # 64 rows
    assert ds["row_count"] == 64

    # The defaults: 10 % held out, 5 % warm-up; nothing to warn about.
    r = app_client.post("/api/v1/jobs/plan", json={"dataset_id": ds["id"]}, headers=h)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert (plan["validation_rows"], plan["training_rows"]) == (6, 58)
    assert (plan["steps_per_epoch"], plan["total_steps"], plan["warmup_steps"]) == (4, 12, 1)
    assert plan["peak_fraction"] == 1.0 and plan["warnings"] == []

    # The trial (120 held out, 100 warm-up steps): said before anything runs.
    old = {"val_set_size": 120, "warmup_steps": 100, "batch_size": 16}
    r = app_client.post(
        "/api/v1/jobs/plan", json={"dataset_id": ds["id"], "training": old}, headers=h
    )
    plan = r.json()
    assert (plan["training_rows"], plan["total_steps"]) == (32, 6)
    assert any("never reaches its peak" in w for w in plan["warnings"]), plan


def test_plan_refuses_bad_input_and_other_teams(app_client: TestClient, users: Users):
    ds = upload(app_client, users.member, arithmetic_jsonl()).json()
    bad = {"dataset_id": ds["id"], "training": {"val_set_size": 1.5}}
    r = app_client.post("/api/v1/jobs/plan", json=bad, headers=auth(users.member))
    assert r.status_code == 422 and "val_set_size" in r.text and "whole count" in r.text
    r = app_client.post(
        "/api/v1/jobs/plan", json={"dataset_id": ds["id"]}, headers=auth(users.outsider)
    )
    assert r.status_code == 404 and f"dataset {ds['id']} not found" in r.json()["detail"]
