"""A corpus of malformed uploads, generated here: every one is a 4xx naming the problem (never a
5xx), and the rejected ones leave no dataset row and no file behind."""

from __future__ import annotations

import json
import random
import time

from fastapi.testclient import TestClient

from backend.app.core.config import Settings

from .conftest import Users, arithmetic_jsonl, auth

GOOD = '{"instruction": "q", "output": "a"}'
DEEP = "[" * 100_000 + "]" * 100_000

# (case, file name, content, form name, status, row of the first problem, text said)
CLASSES = [
    ("[null]", "d.json", "[null]", None, 422, 1, "must be an object, got null"),
    ("null line", "d.jsonl", f"{GOOD}\nnull", None, 422, 2, "got null"),
    ("10^5-deep nesting", "d.json", f"[{DEEP}]", None, 422, 1, "nested too deeply"),
    ("10^5-deep line", "d.jsonl", f'{{"input": {DEEP}}}', None, 422, 1, "nested too deeply"),
    (
        "5,000-digit integer",
        "d.jsonl",
        '{"instruction": "q", "output": "a", "answer": ' + "7" * 5000 + "}",
        None,
        422,
        1,
        "5,000 digits",
    ),
    (
        "lone surrogate",
        "d.jsonl",
        '{"instruction": "\\ud800", "output": "a"}',
        None,
        422,
        1,
        "surrogate",
    ),
    (
        "CSV field over 131,072",
        "d.csv",
        "instruction,output\n" + "x" * 140_000 + ",a\n",
        None,
        422,
        1,
        "131,072",
    ),
    (
        "CSV row wider than the header",
        "d.csv",
        "instruction,output\nq,a,b,c\n",
        None,
        422,
        1,
        "4 columns",
    ),
    (
        "bare \\r in a CSV field",
        "d.csv",
        "instruction,output\nq\rx,a\n",
        None,
        422,
        1,
        "carriage return",
    ),
    (
        "600-byte file name",
        "d" * 596 + ".csv",
        "instruction,output\nq,a\n",
        None,
        422,
        None,
        "file name",
    ),
    ("NUL in the form's name", "d.jsonl", GOOD, "my\x00set", 422, None, "NUL"),
    (
        "answer Infinity",
        "d.jsonl",
        '{"instruction": "q", "output": "a", "answer": Infinity}',
        None,
        422,
        1,
        "finite",
    ),
    (
        "answer NaN",
        "d.json",
        '[{"instruction": "q", "output": "a", "answer": NaN}]',
        None,
        422,
        1,
        "finite",
    ),
    (
        "duplicate CSV columns",
        "d.csv",
        "instruction,output,output\nq,a,b\n",
        None,
        422,
        None,
        "repeats",
    ),
    ("NUL in text", "d.jsonl", '{"instruction": "q\\u0000", "output": "a"}', None, 422, 1, "NUL"),
    ("raw NUL in CSV text", "d.csv", "instruction,output\nq,a\x00\n", None, 422, 1, "NUL"),
    (".txt read as CSV", "d.txt", "instruction,output\nq,a\n", None, 422, None, ".jsonl"),
    (".csv holding JSON", "d.csv", f"[{GOOD}]", None, 422, None, "holds JSON"),
    ("over the size limit", "d.jsonl", "x" * 1_000_001, None, 413, None, "limit"),
]


def _post(client: TestClient, token: str, filename: str, content: str | bytes, name=None):
    data = {} if name is None else {"name": name}
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    return client.post(
        "/api/v1/datasets", files={"file": (filename, content)}, data=data, headers=auth(token)
    )


def _said(body: dict) -> str:
    rows = " ".join(f"row {p['row']} {p['field']} {p['message']}" for p in body["problems"])
    return f"{body['detail']} {rows}"


def _mutants(seed: int):
    """Random byte-level mutations of valid files, in each format."""
    rng = random.Random(seed)
    records = [json.loads(x) for x in arithmetic_jsonl(6, 4).splitlines()]
    valid = {
        "jsonl": "\n".join(json.dumps(r) for r in records).encode(),
        "json": json.dumps(records, indent=1).encode(),
        "csv": (
            "instruction,input,output,answer\n"
            + "\n".join(f'"{r["instruction"]}",,"{r["output"]}",{r["answer"]}' for r in records)
        ).encode(),
    }
    pieces = [
        b"\x00",
        b"\r",
        b"\n",
        b'"',
        b",",
        b"{",
        b"}",
        b"[",
        b"]",
        b"\xff",
        b"\xed\xa0\x80",
        b"\\ud800",
        b"NaN",
        b"1e999",
        b"null",
        b"\xef\xbb\xbf",
        b"\\",
        b":",
    ]
    while True:
        fmt = rng.choice(list(valid))
        data = bytearray(valid[fmt])
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[at:at] = rng.choice(pieces)
            elif op < 0.6:
                del data[at : at + rng.randint(1, 40)]
            elif op < 0.8:
                data[at] = rng.randrange(256)
            else:
                data[at:at] = data[at : at + rng.randint(1, 200)]
        name = rng.choice([f"m.{fmt}", f"m.{fmt}", "m.json", "m.csv", "m.jsonl", "m.TXT"])
        yield name, bytes(data)


def test_malformed_corpus_is_refused_with_4xx_and_leaves_nothing(
    app_client: TestClient, users: Users, settings: Settings
):
    settings.max_upload_bytes = 1_000_000
    failures = []
    for case, filename, content, name, status, row, needle in CLASSES:
        r = _post(app_client, users.member, filename, content, name)
        body = r.json()
        if r.status_code != status or needle.lower() not in _said(body).lower():
            failures.append(f"{case}: {r.status_code} {_said(body)[:200]}")
        elif row is not None and body["problems"][0]["row"] != row:
            failures.append(f"{case}: problem row {body['problems'][0]['row']}, not {row}")
    assert not failures, failures

    accepted = 0
    statuses: dict[int, int] = {}
    deadline = time.monotonic() + 4  # time-bounded: as many mutants as fit
    for n, (filename, content) in enumerate(_mutants(seed=20261201)):
        if time.monotonic() > deadline and n >= 40:
            break
        r = _post(app_client, users.member, filename, content)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code < 500, (filename, content[:300], r.text)
        if r.status_code == 201:
            accepted += 1  # a harmless mutation (e.g. inside a text)
        else:
            body = r.json()
            assert r.status_code in (413, 422) and body["detail"], (filename, r.text)
    assert statuses.get(422, 0) >= 20, statuses  # the mutations did break most files

    listed = app_client.get("/api/v1/datasets?limit=200", headers=auth(users.member)).json()
    assert listed["count"] == accepted
    stored = [p for p in (settings.storage_dir / "datasets").rglob("*") if p.is_file()]
    assert len(stored) == accepted, stored  # no file, not even a temporary one, from rejections
