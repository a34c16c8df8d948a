"""Studies through REST on SQLite and PostgreSQL (no worker: cells stay queued unless a test
moves their jobs on with the writes a worker makes, `job_updates.claim` / `finish`).

Whole-study validation (422 naming cell and key, nothing queued), the fair-queueing limit
(at most `study_max_active_cells` cells queued or running, the rest pending without a job),
cancel and resume, retry of failed cells only, reuse of a succeeded run, delete, exports, plot
data, presets, and team isolation."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from backend.app.services import job_updates
from backend.app.services.studies import advance_all

from .conftest import Users, arithmetic_jsonl, auth, prepare_catalogue, tiny_job_config, upload


@pytest.fixture
def ready(app_client: TestClient, users: Users) -> tuple[TestClient, Users, int]:
    prepare_catalogue(app_client, users.admin)
    r = upload(app_client, users.member, arithmetic_jsonl())
    assert r.status_code == 201, r.text
    return app_client, users, r.json()["id"]


def _study(dataset_id: int, **over) -> dict:
    base = tiny_job_config(dataset_id)
    base.pop("name")
    return {
        "name": "methods",
        "base": base,
        "axes": [
            {
                "name": "method",
                "variants": [
                    {"label": "AdapterP", "set": {}},
                    {
                        "label": "LoRA q,v",
                        "set": {
                            "adapter": {
                                "method": "lora",
                                "placement": {"modules": ["q", "v"]},
                                "params": {"r": 4},
                            }
                        },
                    },
                ],
            },
            {"name": "seed", "path": "training.seed", "values": [1, 2]},
        ],
        **over,
    }


def _jobs(c: TestClient, token: str) -> list[dict]:
    return c.get("/api/v1/jobs", headers=auth(token)).json()["data"]


def _run(settings, job_id: int, status: str, error: str | None = None) -> None:
    """What a worker does to a job, without training: claim it, then finish it."""
    from backend.app.core.db import session_scope
    from backend.app.models import Job

    with session_scope(settings.sqlalchemy_url) as s:
        nonce = s.get(Job, job_id).task_id
    assert job_updates.claim(settings, job_id, nonce, "w-test") is None
    assert job_updates.finish(settings, job_id, status, error)


def test_a_bad_cell_is_a_422_naming_cell_and_key_and_nothing_is_queued(ready):
    c, users, ds = ready
    study = _study(ds)
    study["axes"][0]["variants"][1]["set"]["adapter"]["params"]["r"] = 0
    r = c.post("/api/v1/studies", json=study, headers=auth(users.member))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "cell 2 (LoRA q,v, seed=1)" in detail and "cell 3 (LoRA q,v, seed=2)" in detail
    assert "r" in detail and "cell 0" not in detail
    assert _jobs(c, users.member) == []
    assert c.get("/api/v1/studies", headers=auth(users.member)).json()["count"] == 0
    # The shape is the request's own: a malformed axis is refused at the door, by key.
    r = c.post(
        "/api/v1/studies",
        json={**_study(ds), "axes": [{"path": "training.seed"}]},
        headers=auth(users.member),
    )
    assert r.status_code == 422 and "axes.0.path.values" in r.json()["detail"]
    # A dataset of another team is a cell error too.
    r = c.post("/api/v1/studies", json=_study(ds), headers=auth(users.outsider))
    assert r.status_code == 422 and f"dataset {ds} not found in this team" in r.json()["detail"]


def test_plan_sizes_every_cell_before_launch_and_stores_nothing(ready):
    c, users, ds = ready
    r = c.post("/api/v1/studies/plan", json=_study(ds), headers=auth(users.member))
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["count"] == 4 and [cell["index"] for cell in plan["cells"]] == [0, 1, 2, 3]
    assert plan["cells"][2]["labels"] == {"method": "LoRA q,v", "seed": "1"}
    estimates = [cell["estimate"] for cell in plan["cells"]]
    assert all(e is not None and e["total_seconds"] > 0 for e in estimates)
    # AdapterP (bottleneck 8) and LoRA r=4 on q,v train different parameter counts.
    assert estimates[0]["trainable_parameters"] != estimates[2]["trainable_parameters"]
    assert estimates[0]["trainable_parameters"] == estimates[1]["trainable_parameters"]
    assert plan["total_seconds"] == pytest.approx(sum(e["total_seconds"] for e in estimates))
    assert plan["peak_memory_bytes"] == max(e["memory"]["total"] for e in estimates)
    assert plan["max_active_cells"] >= 1
    assert _jobs(c, users.member) == []
    assert c.get("/api/v1/studies", headers=auth(users.member)).json()["count"] == 0
    # A bad cell is named as on create.
    study = _study(ds)
    study["axes"][0]["variants"][1]["set"]["adapter"]["params"]["r"] = 0
    r = c.post("/api/v1/studies/plan", json=study, headers=auth(users.member))
    assert r.status_code == 422 and "cell 2 (LoRA q,v, seed=1)" in r.json()["detail"]


def test_study_lifecycle_fair_queueing_cancel_resume_retry_reuse(ready, settings):
    c, users, ds = ready
    member = auth(users.member)
    r = c.post("/api/v1/studies", json=_study(ds), headers=member)
    assert r.status_code == 201, r.text
    study = r.json()
    sid = study["id"]
    assert study["axes"] == ["method", "seed"] and study["seed_axis"] == "seed"
    assert study["max_active_cells"] == 2 and study["state"] == "running"
    # Two cells queued as jobs; the other two wait as pending cells, with no job yet.
    assert [x["status"] for x in study["cells"]] == ["queued", "queued", "pending", "pending"]
    assert [x["job_id"] is None for x in study["cells"]] == [False, False, True, True]
    assert study["progress"] == {
        "total": 4, "pending": 2, "queued": 2, "running": 0, "succeeded": 0, "reused": 0,
        "failed": 0, "cancelled": 0, "fraction": 0.0,
    }  # fmt: skip
    jobs = _jobs(c, users.member)
    assert len(jobs) == 2 and {j["name"] for j in jobs} == {
        "methods / AdapterP, seed=1",
        "methods / AdapterP, seed=2",
    }
    first, second = study["cells"][0]["job_id"], study["cells"][1]["job_id"]

    # A cell ends (succeeded) and one fails: the next two pending cells are submitted.
    _run(settings, first, "succeeded")
    _run(settings, second, "failed", "out of memory")
    advance_all(settings)
    study = c.get(f"/api/v1/studies/{sid}", headers=member).json()
    assert [x["status"] for x in study["cells"]] == ["succeeded", "failed", "queued", "queued"]
    assert study["cells"][1]["error"] == "out of memory"

    # Cancel: queued cells are cancelled; nothing new is submitted while cancelled.
    study = c.post(f"/api/v1/studies/{sid}/cancel", headers=member).json()
    assert study["status"] == "cancelled" and study["state"] == "cancelled"
    assert [x["status"] for x in study["cells"]] == [
        "succeeded", "failed", "cancelled", "cancelled",
    ]  # fmt: skip
    assert advance_all(settings) == 0

    # Retry runs only the failed cell (a new job; the failed one stays as it was).
    study = c.post(f"/api/v1/studies/{sid}/retry", headers=member).json()
    assert study["status"] == "active"
    assert [x["status"] for x in study["cells"]] == [
        "succeeded",
        "queued",
        "cancelled",
        "cancelled",
    ]
    assert study["cells"][1]["job_id"] != second
    assert c.get(f"/api/v1/jobs/{second}", headers=member).json()["status"] == "failed"
    # Resume runs the cancelled cells again, within the limit of two active cells.
    study = c.post(f"/api/v1/studies/{sid}/resume", headers=member).json()
    assert [x["status"] for x in study["cells"]] == ["succeeded", "queued", "queued", "pending"]
    r = c.post(f"/api/v1/studies/{sid}/retry", headers=member)
    assert r.status_code == 409 and "no failed cells" in r.json()["detail"]

    # Reuse: a second study with an equal cell links the succeeded job instead of running it.
    again = _study(ds, name="again")
    again["axes"] = [again["axes"][0], {"name": "seed", "path": "training.seed", "values": [1]}]
    r = c.post("/api/v1/studies", json=again, headers=member)
    assert r.status_code == 201, r.text
    cells = r.json()["cells"]
    assert cells[0]["state"] == "reused" and cells[0]["job_id"] == first
    assert cells[0]["status"] == "succeeded" and r.json()["progress"]["reused"] == 1
    assert cells[1]["state"] == "submitted" and cells[1]["job_id"] not in (first, second)
    # ...but not across teams: the outsider's own dataset makes an equal config a new run.
    r = upload(c, users.outsider, arithmetic_jsonl())
    other = _study(r.json()["id"], name="theirs")
    other["axes"] = again["axes"]
    r = c.post("/api/v1/studies", json=other, headers=auth(users.outsider))
    assert r.json()["cells"][0]["state"] == "submitted"

    # Listing is team-scoped; another team's study is not found.
    assert c.get("/api/v1/studies", headers=member).json()["count"] == 2
    assert c.get("/api/v1/studies", headers=auth(users.outsider)).json()["count"] == 1
    assert c.get(f"/api/v1/studies/{sid}", headers=auth(users.outsider)).status_code == 404
    assert c.post(f"/api/v1/studies/{sid}/cancel", headers=auth(users.outsider)).status_code == 404

    # Delete: refused while cells are queued; after a cancel the study goes, its jobs stay.
    r = c.delete(f"/api/v1/studies/{sid}", headers=member)
    assert r.status_code == 409 and "cancel it first" in r.json()["detail"]
    c.post(f"/api/v1/studies/{sid}/cancel", headers=member)
    r = c.delete(f"/api/v1/studies/{sid}", headers=member)
    assert r.status_code == 200 and "its jobs stay" in r.json()["message"]
    assert c.get(f"/api/v1/studies/{sid}", headers=member).status_code == 404
    assert c.get(f"/api/v1/jobs/{first}", headers=member).json()["status"] == "succeeded"
    # The reusing study still shows its linked cell.
    study2 = c.get("/api/v1/studies", headers=member).json()["data"][0]
    assert study2["cells"][0]["job_id"] == first


def test_delete_with_jobs_removes_the_jobs_it_made(ready, settings):
    c, users, ds = ready
    member = auth(users.member)
    study = c.post("/api/v1/studies", json=_study(ds), headers=member).json()
    c.post(f"/api/v1/studies/{study['id']}/cancel", headers=member)
    r = c.delete(f"/api/v1/studies/{study['id']}?delete_jobs=true", headers=member)
    assert r.status_code == 200 and "with 2 jobs" in r.json()["message"]
    assert _jobs(c, users.member) == []


def test_results_exports_and_plot_data(ready, settings):
    """The table, its exports and the plot data from stored results (as a worker writes them)."""
    from backend.app.core.db import session_scope
    from backend.app.models import EvalPoint, Job, JobResult

    c, users, ds = ready
    member = auth(users.member)
    settings.study_max_active_cells = 4  # all four cells at once
    study = c.post("/api/v1/studies", json=_study(ds), headers=member).json()
    ids = [x["job_id"] for x in study["cells"]]
    accuracy = [0.25, 0.75, 0.5, 0.5]
    params = [1000, 1000, 3000, 3000]
    for job_id, acc, n in zip(ids, accuracy, params, strict=True):
        _run(settings, job_id, "succeeded")
        with session_scope(settings.sqlalchemy_url) as s:
            job = s.get(Job, job_id)
            job.trainable_parameters, job.total_parameters = n, 100_000
            job.peak_memory_bytes, job.wall_seconds = 2**30, 12.0
            s.add(
                JobResult(
                    job_id=job_id,
                    benchmark="svamp",
                    suite="arithmetic",
                    accuracy=acc,
                    correct=int(4 * acc),
                    total=4,
                    scoring="paper",
                )
            )
            s.add(
                EvalPoint(
                    job_id=job_id,
                    benchmark="svamp",
                    step=0,
                    accuracy=0.0,
                    correct=0,
                    total=4,
                    scoring="paper",
                )
            )
            s.add(
                EvalPoint(
                    job_id=job_id,
                    benchmark="svamp",
                    step=6,
                    accuracy=acc,
                    correct=int(4 * acc),
                    total=4,
                    scoring="paper",
                )
            )
    study = c.get(f"/api/v1/studies/{study['id']}", headers=member).json()
    assert study["state"] == "finished" and study["progress"]["fraction"] == 1.0
    table = study["results"]
    assert table["axes"] == ["method"] and table["benchmarks"] == ["svamp"]
    assert table["scoring"] == ["paper"]
    adapterp, lora = table["rows"]
    assert adapterp["labels"] == {"method": "AdapterP"} and adapterp["runs"] == 2
    assert adapterp["accuracy"]["svamp"]["mean"] == pytest.approx(50.0)
    assert adapterp["accuracy"]["svamp"]["std"] == pytest.approx(35.355339)
    assert lora["accuracy"]["svamp"] == {"mean": 50.0, "std": 0.0, "n": 2}
    assert adapterp["examples"] == {"svamp": 4} and table["best"]["svamp"] == [0, 1]

    r = c.get(f"/api/v1/studies/{study['id']}/results?format=csv", headers=member)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["method"] for row in rows] == ["AdapterP", "LoRA q,v"]
    assert rows[0]["svamp_std"] == "35.3553"
    md = c.get(f"/api/v1/studies/{study['id']}/results?format=md", headers=member).text
    assert "| AdapterP | 1,000 (1.000 %) | 1024 | 12 ± 0 | **50.0 ± 35.4** |" in md
    tex = c.get(f"/api/v1/studies/{study['id']}/results?format=tex", headers=member).text
    assert r"\textbf{50.0 $\pm$ 0.0}" in tex
    r = c.get(f"/api/v1/studies/{study['id']}/results?format=xlsx", headers=member)
    assert r.status_code == 422

    plot = c.get(f"/api/v1/studies/{study['id']}/plot", headers=member).json()
    assert plot["axes"] == ["method", "seed"] and plot["benchmarks"] == ["svamp"]
    points = plot["data"]
    assert [p["values"]["seed"] for p in points] == [1, 2, 1, 2]
    assert [p["average"] for p in points] == [25.0, 75.0, 50.0, 50.0]
    assert points[1]["curves"]["svamp"] == [
        {"step": 0, "accuracy": 0.0},
        {"step": 6, "accuracy": 75.0},
    ]
    # Cheapest and best (cell 1) dominates the rest on trainable parameters.
    assert [p["pareto"]["trainable_parameters"] for p in points] == [False, True, False, False]


def test_presets_listed_and_built_at_the_users_scale(ready):
    c, users, ds = ready
    member = auth(users.member)
    presets = c.get("/api/v1/studies/presets", headers=member).json()
    names = [p["name"] for p in presets["data"]]
    assert names == [
        "series-placement", "parallel-placement", "lora-modules", "bottleneck-size",
        "lora-rank", "prefix-tokens",
    ]  # fmt: skip
    series = presets["data"][0]
    assert "after the MLP" in series["finding"] and series["cells"] == 3
    r = c.post(
        "/api/v1/studies/presets/lora-modules",
        json={
            "base_model": "tiny:llama",
            "dataset_id": ds,
            "steps": 2,
            "eval_examples": 2,
            "benchmarks": ["svamp"],
            "batch_size": 4,
            "micro_batch_size": 2,
            "cutoff_len": 64,
            "decoding": "fast",
            "max_new_tokens": 4,
        },
        headers=member,
    )
    assert r.status_code == 200, r.text
    spec = r.json()
    assert spec["base"]["dataset_id"] == ds and spec["base"]["training"]["max_steps"] == 2
    r = c.post("/api/v1/studies", json={**spec, "preset": "lora-modules"}, headers=member)
    assert r.status_code == 201, r.text
    study = r.json()
    assert study["preset"] == "lora-modules" and "Q, K, V, Up, Down" in study["finding"]
    assert [x["labels"]["modules"] for x in study["cells"]] == [
        "Q, V", "Q, K, V", "Up, Down", "Q, K, V, Up, Down",
    ]  # fmt: skip
    r = c.post("/api/v1/studies/presets/nope", json={"base_model": "tiny:llama"}, headers=member)
    assert r.status_code == 404 and "series-placement" in r.json()["detail"]
