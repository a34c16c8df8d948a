"""Uploads are validated as a whole: a bad file gets a clear 4xx and leaves nothing behind."""

import json

import pytest
from fastapi.testclient import TestClient

from backend.app.core.config import Settings

from .conftest import Users, arithmetic_jsonl, auth, upload

BAD_UPLOADS = [
    # (case, filename, content, status, text expected in the detail or a problem)
    ("wrong shape", "d.json", json.dumps({"instruction": "x"}), 422, "array"),
    ("not records", "d.json", json.dumps([1, 2]), 422, "must be an object"),
    ("wrong types", "d.json", json.dumps([{"instruction": 3, "output": "a"}]), 422, "must be text"),
    ("missing field", "d.jsonl", '{"instruction": "q"}', 422, "missing"),
    ("empty file", "d.jsonl", "", 422, "empty"),
    ("empty array", "d.json", "[]", 422, "no records"),
    ("malformed JSON", "d.json", '[{"instruction": "q", "output": ', 422, "JSON"),
    ("bad JSON line", "d.jsonl", '{"instruction": "q", "output": "a"}\n{oops}', 422, "row 2"),
    ("not UTF-8", "d.jsonl", b'{"instruction": "caf\xe9", "output": "a"}', 422, "UTF-8"),
    ("CSV without the columns", "d.csv", "question,reply\nq,a\n", 422, "instruction, output"),
    (
        "unknown field",
        "d.jsonl",
        '{"instruction": "q", "output": "a", "x": 1}',
        422,
        "unknown field",
    ),
    ("huge", "d.jsonl", "x" * 5000, 413, "limit"),
]


@pytest.fixture
def small_limit(settings: Settings) -> Settings:
    settings.max_upload_bytes = 4096
    return settings


@pytest.mark.parametrize(
    "case,filename,content,status,needle", BAD_UPLOADS, ids=[c[0] for c in BAD_UPLOADS]
)
def test_bad_upload_is_refused_and_stores_nothing(
    app_client: TestClient,
    users: Users,
    small_limit: Settings,
    case,
    filename,
    content,
    status,
    needle,
):
    r = upload(app_client, users.member, content, filename)
    assert r.status_code == status, r.text
    body = r.json()
    said = (
        body["detail"]
        + " "
        + " ".join(f"row {p['row']} {p['field']} {p['message']}" for p in body["problems"])
    )
    assert needle.lower() in said.lower(), said
    assert app_client.get("/api/v1/datasets", headers=auth(users.member)).json()["count"] == 0
    stored = small_limit.storage_dir / "datasets"
    assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))


def test_problems_name_row_and_field(app_client: TestClient, users: Users):
    rows = [
        {"instruction": "a", "output": "b"},
        {"instruction": "c"},
        {"instruction": 5, "output": "d"},
    ]
    r = upload(app_client, users.member, json.dumps(rows), "d.json")
    assert r.status_code == 422
    problems = {(p["row"], p["field"]) for p in r.json()["problems"]}
    assert {(2, "output"), (3, "instruction")} <= problems


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_good_upload_has_stats_preview_and_can_be_deleted(
    app_client: TestClient, users: Users, fmt
):
    records = [json.loads(x) for x in arithmetic_jsonl(5, 5).splitlines()]
    records.append(dict(records[0]))  # a duplicate: dropped with a warning, not refused
    if fmt == "jsonl":
        text = "\n".join(json.dumps(r) for r in records)
    elif fmt == "json":
        text = json.dumps(records)
    else:
        text = "instruction,input,output,answer\n" + "\n".join(
            f'"{r["instruction"]}",,"{r["output"]}",{r["answer"]}' for r in records
        )
    r = upload(app_client, users.member, text, f"arith.{fmt}")
    assert r.status_code == 201, r.text
    ds = r.json()
    assert (ds["row_count"], ds["dropped_rows"], ds["format"]) == (25, 1, fmt)
    stats = ds["token_stats"]
    assert stats["count"] == 25 and stats["min"] <= stats["p50"] <= stats["max"]
    assert sum(stats["histogram"]["counts"]) == 25
    page = app_client.get(
        f"/api/v1/datasets/{ds['id']}/preview?skip=20&limit=10", headers=auth(users.member)
    ).json()
    assert page["count"] == 25 and len(page["data"]) == 5
    assert page["data"][0]["instruction"] == records[20]["instruction"]
    r = app_client.delete(f"/api/v1/datasets/{ds['id']}", headers=auth(users.member))
    assert r.status_code == 200
    assert (
        app_client.get(f"/api/v1/datasets/{ds['id']}", headers=auth(users.member)).status_code
        == 404
    )
