"""Leaderboard ranking: per benchmark and per suite average, sorting, filters, published rows."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from backend.app.core.config import Settings
from backend.app.core.db import session_scope
from backend.app.models import Benchmark, Job, JobResult
from backend.app.services.leaderboard import record_scores

from .conftest import Users, auth

# (name, method, trainable, {benchmark: accuracy fraction})
JOBS = [
    ("lora-a", "lora", 4000, {"svamp": 0.50, "gsm8k": 0.30, "boolq": 0.9}),
    ("series-b", "series", 9000, {"svamp": 0.60, "gsm8k": 0.10}),
    ("prefix-c", "prefix", 100, {"svamp": 0.20}),
    ("lora-d", "lora", None, {"gsm8k": 0.45}),
]


@pytest.fixture
def finished_jobs(settings: Settings, users: Users) -> dict[str, int]:
    ids = {}
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with session_scope(settings.sqlalchemy_url) as s:
        for i, (name, method, trainable, scores) in enumerate(JOBS):
            job = Job(
                team_id=users.team_a,
                name=name,
                base_model="tiny:llama",
                method=method,
                config={"adapter": {"method": method, "placement": {"modules": ["mlp"]}}},
                status="succeeded",
                trainable_parameters=trainable,
                total_parameters=10**6,
                wall_seconds=10.0 * (i + 1),
                finished_at=t0 + timedelta(days=i),
                history=[],
            )
            s.add(job)
            s.flush()
            ids[name] = job.id
            for bench, acc in scores.items():
                suite = "commonsense" if bench == "boolq" else "arithmetic"
                s.add(
                    JobResult(
                        job_id=job.id,
                        benchmark=bench,
                        suite=suite,
                        accuracy=acc,
                        correct=int(acc * 100),
                        total=100,
                    )
                )
            s.flush()
            record_scores(s, job)  # what the worker does as the job succeeds
        # Another team's better job must not appear.
        other = Job(
            team_id=users.team_b,
            name="other",
            base_model="x",
            method="lora",
            config={},
            status="succeeded",
            history=[],
        )
        s.add(other)
        s.flush()
        s.add(
            JobResult(
                job_id=other.id,
                benchmark="svamp",
                suite="arithmetic",
                accuracy=1.0,
                correct=1,
                total=1,
            )
        )
        s.flush()
        record_scores(s, other)
    return ids


def _board(client: TestClient, token: str, **params) -> dict:
    params.setdefault("include_published", False)
    r = client.get("/api/v1/leaderboard", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


def test_per_benchmark_ranking(app_client, users, finished_jobs):
    rows = _board(app_client, users.member, scope="svamp")["data"]
    assert [r["job_name"] for r in rows] == ["series-b", "lora-a", "prefix-c"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[0]["accuracy"] == pytest.approx(60.0)
    assert rows[0]["placement"] == {"modules": ["mlp"]}
    # The share of the BASE model (tiny:llama is not registered here, so the job's total less
    # its trainable parameters): 4,000 of 996,000, as the method card would say.
    assert rows[1]["trainable_percent"] == pytest.approx(100 * 4_000 / 996_000)


def test_suite_average_uses_the_suites_benchmarks(app_client, users, finished_jobs):
    rows = _board(app_client, users.member, scope="arithmetic")["data"]
    acc = {r["job_name"]: r["accuracy"] for r in rows}
    assert acc == pytest.approx(
        {"lora-a": 40.0, "series-b": 35.0, "lora-d": 45.0, "prefix-c": 20.0}
    )
    assert rows[0]["job_name"] == "lora-d"
    assert set(rows[1]["scores"]) == {"svamp", "gsm8k"}  # boolq is commonsense: not averaged in


def test_sorting_filters_and_paging(app_client, users, finished_jobs):
    rows = _board(app_client, users.member, scope="arithmetic", sort="trainable_parameters")["data"]
    assert [r["job_name"] for r in rows] == [
        "series-b",
        "lora-a",
        "prefix-c",
        "lora-d",
    ]  # None last
    rows = _board(
        app_client, users.member, scope="arithmetic", sort="wall_seconds", descending=False
    )["data"]
    assert [r["job_name"] for r in rows] == ["lora-a", "series-b", "prefix-c", "lora-d"]
    rows = _board(app_client, users.member, scope="arithmetic", method="lora")["data"]
    assert {r["job_name"] for r in rows} == {"lora-a", "lora-d"}
    page = _board(app_client, users.member, scope="arithmetic", skip=1, limit=2)
    assert page["count"] == 4 and [r["rank"] for r in page["data"]] == [2, 3]


def test_published_rows_are_labelled_and_ranked_among_jobs(app_client, users, finished_jobs):
    board = _board(app_client, users.member, scope="svamp", include_published=True)
    names = [(r["job_name"], r["published"]) for r in board["data"]]
    # LLaMA-13B Parallel 55.7, LLaMA-13B LoRA 54.6, LLaMA-7B Series 52.3, LLaMA-7B LoRA 52.1
    assert names[0] == ("series-b", False)
    assert names[1:5] == [
        ("LLaMA-13B Parallel (published)", True),
        ("LLaMA-13B LoRA (published)", True),
        ("LLaMA-7B Series (published)", True),
        ("LLaMA-7B LoRA (published)", True),
    ]
    # 4 models x 4 methods in the arithmetic table, all with SVAMP, beside the 3 jobs
    assert board["count"] == 3 + 16 and board["data"][1]["job_id"] is None
    assert board["data"][4]["accuracy"] == pytest.approx(52.1)


# -- what each score rests on; samples apart ---------------------------------------------


def test_every_row_says_its_examples_rule_decoding_and_template(app_client, users, finished_jobs):
    rows = _board(app_client, users.member, scope="arithmetic")["data"]
    lora = next(r for r in rows if r["job_name"] == "lora-a")
    # No benchmark is imported and no cap was set: the whole set was scored.
    assert (lora["examples"], lora["examples_full"], lora["sampled"]) == (200, 200, False)
    assert lora["scoring"] is None  # these results were stored before rules had names
    assert lora["decoding"] == "greedy, 256 new tokens"  # DecodingConfig's defaults
    assert lora["prompt_template"] == "alpaca"
    assert lora["published_table"] is None


# (name, svamp accuracy, examples scored, evaluation config)
SAMPLED_JOBS = [
    ("full-set", 0.40, 1000, {"decoding": {"preset": "paper"}, "scoring": "paper"}),
    ("twenty", 0.90, 20, {"max_examples": 20}),
    ("capped-elsewhere", 0.70, 300, {"max_examples": 300}),
    ("beam", 0.45, 1000, {"decoding": {"strategy": "beam", "num_beams": 2}}),
]


@pytest.fixture
def sampled_jobs(settings: Settings, users: Users) -> dict[str, int]:
    """svamp is imported with 1000 examples; gsm8k is not (its size is unknown here)."""
    ids = {}
    with session_scope(settings.sqlalchemy_url) as s:
        s.add(Benchmark(name="svamp", suite="arithmetic", row_count=1000, source="test"))
        for name, acc, total, evaluation in SAMPLED_JOBS:
            job = Job(
                team_id=users.team_a,
                name=name,
                base_model="tiny:llama",
                method="lora",
                config={
                    "adapter": {"method": "lora"},
                    "training": {"prompt_template": "llm-adapters"},
                    "evaluation": evaluation,
                },
                status="succeeded",
                history=[],
            )
            s.add(job)
            s.flush()
            ids[name] = job.id
            s.add(
                JobResult(
                    job_id=job.id,
                    benchmark="svamp",
                    suite="arithmetic",
                    accuracy=acc,
                    correct=int(acc * total),
                    total=total,
                    scoring=evaluation.get("scoring", "paper"),
                )
            )
            if name == "capped-elsewhere":
                # gsm8k is not imported: the cap (300) was reached, so this is a sample too.
                s.add(
                    JobResult(
                        job_id=job.id,
                        benchmark="gsm8k",
                        suite="arithmetic",
                        accuracy=0.5,
                        correct=150,
                        total=300,
                        scoring="paper",
                    )
                )
            s.flush()
            record_scores(s, job)
    return ids


def test_sampled_rows_are_marked_and_rank_after_full_set_rows(app_client, users, sampled_jobs):
    board = _board(app_client, users.member, scope="svamp")
    assert board["samples"] == "apart"
    rows = {r["job_name"]: r for r in board["data"]}
    assert [r["job_name"] for r in board["data"]] == [
        "beam",
        "full-set",
        "twenty",  # 90 % on 20 examples: the best score, ranked after every full-set row
        "capped-elsewhere",
    ]
    assert (rows["twenty"]["examples"], rows["twenty"]["examples_full"]) == (20, 1000)
    assert rows["twenty"]["sampled"] and rows["capped-elsewhere"]["sampled"]
    assert not rows["full-set"]["sampled"]
    assert rows["full-set"]["decoding"] == "paper: 4 beams, 256 new tokens"
    assert rows["beam"]["decoding"] == "2 beams, 256 new tokens"
    assert rows["full-set"]["prompt_template"] == "llm-adapters"
    assert rows["full-set"]["scoring"] == "paper"

    together = _board(app_client, users.member, scope="svamp", samples="together")["data"]
    assert [r["job_name"] for r in together] == ["twenty", "capped-elsewhere", "beam", "full-set"]

    # The suite: gsm8k's size is unknown, so the capped job's full-set total is too.
    suite = {r["job_name"]: r for r in _board(app_client, users.member, scope="arithmetic")["data"]}
    assert suite["capped-elsewhere"]["examples"] == 600
    assert suite["capped-elsewhere"]["examples_full"] is None
    assert [r["job_name"] for r in _board(app_client, users.member, scope="arithmetic")["data"]][
        -2:
    ] == ["twenty", "capped-elsewhere"]


def test_paging_keeps_samples_apart(app_client, users, sampled_jobs):
    page = _board(app_client, users.member, scope="svamp", skip=1, limit=2)
    assert [r["job_name"] for r in page["data"]] == ["full-set", "twenty"]
    assert [r["rank"] for r in page["data"]] == [2, 3] and page["count"] == 4


def test_published_full_set_rows_rank_above_samples(app_client, users, sampled_jobs):
    rows = _board(app_client, users.member, scope="svamp", include_published=True)["data"]
    names = [r["job_name"] for r in rows]
    assert names.index("twenty") > names.index("BLOOMz-7B Prefix (published)")  # 24.1 %
    llama = rows[names.index("LLaMA-7B LoRA (published)")]
    assert llama["published_table"] == "LLM-Adapters README, arithmetic table (math_10k)"
    assert (llama["examples"], llama["examples_full"], llama["sampled"]) == (1000, 1000, False)
    assert llama["scoring"] == "paper" and llama["prompt_template"] == "llm-adapters"
    assert llama["decoding"] == "paper: 4 beams, 256 new tokens"


def test_published_commonsense_rows_use_the_tables_average(app_client, users):
    board = _board(app_client, users.member, scope="commonsense", include_published=True)
    rows = board["data"]
    assert board["count"] == 16  # 4 models x 4 methods in the commonsense table
    assert rows[0]["job_name"] == "LLaMA-13B Parallel (published)"
    assert rows[0]["accuracy"] == pytest.approx(81.5)  # the table's Average column
    assert rows[0]["scores"]["hellaswag"] == pytest.approx(92.1)
    assert rows[0]["published_table"] == (
        "LLM-Adapters README, commonsense table (commonsense_170k)"
    )
    assert rows[0]["decoding"] == "paper: 4 beams, 32 new tokens"
    assert rows[0]["examples"] is None  # the sets are not imported: sizes unknown
    gptj = next(r for r in rows if r["job_name"] == "GPT-J-6B LoRA (published)")
    assert gptj["scores"]["social_i_qa"] == pytest.approx(49.5)
    # A single benchmark scope takes the table's figure.
    boolq = _board(app_client, users.member, scope="boolq", include_published=True)["data"]
    assert boolq[0]["job_name"] == "LLaMA-13B Parallel (published)"
    assert boolq[0]["accuracy"] == pytest.approx(72.5)


def test_an_unknown_samples_value_is_refused(app_client, users):
    r = app_client.get(
        "/api/v1/leaderboard", params={"samples": "mixed"}, headers=auth(users.member)
    )
    assert r.status_code == 422 and "samples" in r.text


def test_the_leaderboards_paper_decoding_matches_the_engines() -> None:
    from backend.app.services import leaderboard as lb
    from worker.engine.evaluation import generation

    assert lb.PAPER_BEAMS == generation.PAPER_BEAMS
    assert lb.PAPER_TOKEN_BUDGETS == generation.PAPER_TOKEN_BUDGETS
