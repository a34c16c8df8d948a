"""One answer per error kind, whichever route raises it: input refused -> 422, refused in the
current state -> 409, not found (or another team's) -> 404, each as `{"detail": sentence}`."""

from pathlib import Path

from fastapi.testclient import TestClient

from .conftest import Users, arithmetic_jsonl, auth, prepare_catalogue, tiny_job_config, upload


def test_each_error_kind_has_its_status_and_one_sentence(
    app_client: TestClient, users: Users, tmp_path: Path
):
    admin, member = auth(users.admin), auth(users.member)
    # The engine's ConfigError, from the catalogue service: 422.
    missing = tmp_path / "no-such-folder"
    r = app_client.post("/api/v1/benchmarks/import", json={"folder": str(missing)}, headers=admin)
    assert (r.status_code, r.json()) == (422, {"detail": f"benchmark folder not found: {missing}"})

    prepare_catalogue(app_client, users.admin)
    dataset_id = upload(app_client, users.member, arithmetic_jsonl()).json()["id"]
    r = app_client.post(
        "/api/v1/methods/estimate",
        json={"base_model": "tiny:llama", "adapter": {"method": "prefix", "params": {"r": 4}}},
        headers=member,
    )
    assert r.status_code == 422 and set(r.json()) == {"detail"} and "'r'" in r.json()["detail"]

    job_id = app_client.post(
        "/api/v1/jobs", json={"config": tiny_job_config(dataset_id)}, headers=member
    ).json()["id"]
    assert app_client.post(f"/api/v1/jobs/{job_id}/cancel", headers=member).status_code == 200
    # The jobs service's ConflictError: 409.
    r = app_client.post(f"/api/v1/jobs/{job_id}/cancel", headers=member)
    assert (r.status_code, r.json()) == (409, {"detail": f"job {job_id} is already cancelled"})
    # NotFoundError for another team's job, on every route that looks a job up.
    for method, path in [
        ("GET", ""),
        ("POST", "/cancel"),
        ("GET", "/metrics"),
        ("GET", "/artifact"),
        ("GET", "/events"),
    ]:
        r = app_client.request(method, f"/api/v1/jobs/{job_id}{path}", headers=auth(users.outsider))
        assert (r.status_code, r.json()) == (404, {"detail": f"job {job_id} not found"}), path
    r = app_client.get(f"/api/v1/jobs?team_id={users.team_b}", headers=member)
    assert (r.status_code, r.json()) == (404, {"detail": f"team {users.team_b} not found"})
