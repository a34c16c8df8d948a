"""A job's figures as soon as they are known: trainable parameters before training, the mean
train loss from the first logged step, one definition of the trainable share (the method
card's), and the queue position of a queued job."""

from pathlib import Path

from fastapi.testclient import TestClient

from backend.app.core.config import Settings
from backend.app.core.db import session_scope
from backend.app.models import Job
from backend.app.services import job_updates
from worker.engine.progress import StepInfo
from worker.job_process import DatabaseProgress

from .conftest import Users, arithmetic_jsonl, auth, prepare_catalogue, tiny_job_config, upload


def test_parameters_and_train_loss_stored_while_running(settings: Settings, users: Users):
    with session_scope(settings.sqlalchemy_url) as s:
        job = Job(team_id=users.team_a, name="j", base_model="tiny:llama", method="lora",
                  config={}, status="running")  # fmt: skip
        s.add(job)
        s.flush()
        job_id = job.id
    settings.metric_flush_s = 0.0
    progress = DatabaseProgress(settings, job_id, None)

    def row() -> Job:
        with session_scope(settings.sqlalchemy_url) as s:
            j = s.get(Job, job_id)
            s.expunge(j)
            return j

    progress.on_parameters(2_192, 109_392)
    assert (row().trainable_parameters, row().total_parameters, row().train_loss) == (
        2_192, 109_392, None
    )  # fmt: skip
    # Logged every 2 steps (each loss the mean of its window), then a last single step: the
    # figure is the mean over steps, the Trainer's own figure at the end.
    for step, loss in ((2, 3.0), (4, 2.0), (5, 0.5)):
        progress.on_step(StepInfo(step=step, total_steps=5, epoch=1.0, loss=loss))
    assert abs(row().train_loss - (3.0 * 2 + 2.0 * 2 + 0.5) / 5) < 1e-9
    progress.on_step(StepInfo(step=5, total_steps=5, epoch=1.0, loss=None))
    assert row().step == 5


def test_trainable_share_is_the_method_cards(app_client: TestClient, users: Users, settings):
    prepare_catalogue(app_client, users.admin)
    h = auth(users.member)
    ds = upload(app_client, users.member, arithmetic_jsonl()).json()["id"]
    config = tiny_job_config(ds)
    estimate = app_client.post(
        "/api/v1/methods/estimate",
        json={"base_model": config["base_model"], "adapter": config["adapter"]},
        headers=h,
    ).json()
    job = app_client.post("/api/v1/jobs", json={"config": config}, headers=h).json()
    # What the worker stores for a run of this adapter: the trainable count, and the total of
    # the model WITH the adapter (the base model's parameters plus the adapter's).
    trainable = estimate["trainable_parameters"]
    job_updates.record_progress(
        settings,
        job["id"],
        fields={"trainable_parameters": trainable,
                "total_parameters": estimate["total_parameters"] + trainable},
        metrics=[], evals=[], logs=[],
    )  # fmt: skip
    shown = app_client.get(f"/api/v1/jobs/{job['id']}", headers=h).json()
    assert shown["trainable_parameters"] == trainable
    assert abs(shown["trainable_percent"] - estimate["trainable_percent"]) < 1e-9


def test_queue_position(app_client: TestClient, users: Users, tmp_path: Path):
    prepare_catalogue(app_client, users.admin)
    h = auth(users.member)
    ds = upload(app_client, users.member, arithmetic_jsonl()).json()["id"]
    ids = [
        app_client.post("/api/v1/jobs", json={"config": tiny_job_config(ds)}, headers=h).json()[
            "id"
        ]
        for _ in range(3)
    ]
    places = {
        j["id"]: j["queue_position"]
        for j in app_client.get("/api/v1/jobs", headers=h).json()["data"]
    }
    assert [places[i] for i in ids] == [1, 2, 3]
    app_client.post(f"/api/v1/jobs/{ids[0]}/cancel", headers=h)
    assert app_client.get(f"/api/v1/jobs/{ids[0]}", headers=h).json()["queue_position"] is None
    assert app_client.get(f"/api/v1/jobs/{ids[2]}", headers=h).json()["queue_position"] == 2
    # The outsider's team sees its own jobs only, but the queue is the installation's.
    other = upload(app_client, users.outsider, arithmetic_jsonl()).json()["id"]
    theirs = app_client.post(
        "/api/v1/jobs", json={"config": tiny_job_config(other)}, headers=auth(users.outsider)
    ).json()
    assert theirs["queue_position"] == 3


def test_a_method_without_an_estimate_says_why(app_client: TestClient, users: Users):
    prepare_catalogue(app_client, users.admin)
    h = auth(users.member)

    def estimate(method: str, **params):
        body = {"base_model": "tiny:llama", "adapter": {"method": method, "params": params}}
        return app_client.post("/api/v1/methods/estimate", json=body, headers=h)

    # vblora's vectors must divide the layers' sizes: refused, with the reason and the fix.
    r = estimate("vblora")
    assert r.status_code == 422 and "must be divisible by `vector_length` 256" in r.text
    assert estimate("vblora", vector_length=16).json()["trainable_parameters"] > 0
    # unilora sizes itself from the weights: no estimate before training, and it says so.
    r = estimate("unilora")
    assert r.status_code == 200, r.text
    assert r.json()["trainable_parameters"] is None
    assert "no estimate before training" in r.json()["note"]
