"""OpenAI-compatible fine-tuning jobs, driven by the official `openai` client against a real
`studio up` (SQLite, filesystem broker, its local worker): a chat-format file is uploaded, a
LoRA job on the tiny model is created, followed through list_events until it succeeds, listed
with after/limit, retrieved, its checkpoint read; a second job is cancelled; bad input gets
OpenAI-shaped errors that name the problem."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from .test_embedded import start_studio, stop_studio

TINY_TRAINING = {
    "training": {
        "max_steps": 2,
        "micro_batch_size": 2,
        "warmup_steps": 0,
        "val_set_size": 4,
        "cutoff_len": 64,
    }
}


def _port_in_range() -> int:
    # The tests' own port range (STUDIO_TEST_PORT_RANGE="lo-hi"), else any free port.
    lo, hi = (int(x) for x in os.environ.get("STUDIO_TEST_PORT_RANGE", "0-0").split("-"))
    for port in range(lo, hi + 1) if lo else []:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chat_jsonl(n: int = 24) -> bytes:
    """Exactly what OpenAI's fine-tuning guide has users upload: chat-format lines."""
    lines = []
    for i in range(n):
        a, b = i % 6, i // 6
        lines.append(
            json.dumps(
                {
                    "messages": [
                        {"role": "system", "content": "You add numbers."},
                        {"role": "user", "content": f"What is {a} + {b}?"},
                        {"role": "assistant", "content": f"The answer is {a + b}."},
                    ]
                }
            )
        )
    return "\n".join(lines).encode()


@dataclass
class Studio:
    client: openai.OpenAI
    http: httpx.Client


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    tmp = tmp_path_factory.mktemp("openai_ft")
    proc, port, token = start_studio(tmp, port=_port_in_range())
    http = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    try:
        # The printed token is the administrator's: register the tiny model for the jobs.
        r = http.post("/api/v1/models", json={"reference": "tiny:llama"})
        assert r.status_code == 201, r.text
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key=token, max_retries=0, timeout=30
        )
        yield Studio(client, http)
    finally:
        http.close()
        stop_studio(proc)


def _create(studio: Studio, file_id: str, **extra: object):
    return studio.client.fine_tuning.jobs.create(
        model="tiny:llama",
        training_file=file_id,
        hyperparameters={"n_epochs": 1, "batch_size": 4, "learning_rate_multiplier": 2.0},
        seed=7,
        suffix="adder",
        extra_body={"studio": TINY_TRAINING, **extra},
    )


def test_a_job_runs_through_the_official_client(studio: Studio):
    c = studio.client
    f = c.files.create(file=("adder.jsonl", chat_jsonl()), purpose="fine-tune")
    assert f.id.startswith("file-") and f.purpose == "fine-tune" and f.bytes > 0
    assert c.files.retrieve(f.id).filename == "adder.jsonl"
    assert f.id in [x.id for x in c.files.list().data]
    # The chat lines became studio records: the user turn with the system prompt, the answer.
    preview = studio.http.get(f"/api/v1/datasets/{f.id.removeprefix('file-')}/preview").json()
    first = preview["data"][0]
    assert "What is 0 + 0?" in first["instruction"] and "You add numbers." in first["instruction"]
    assert first["output"] == "The answer is 0."

    job = _create(studio, f.id)
    assert job.id.startswith("ftjob-") and job.status in ("queued", "running")
    assert job.model == "tiny:llama" and job.training_file == f.id and job.seed == 7
    assert job.hyperparameters.n_epochs == 1 and job.hyperparameters.batch_size == 4
    assert job.hyperparameters.learning_rate_multiplier == pytest.approx(2.0)
    assert job.fine_tuned_model is None

    # A second job, cancelled through the client (queued behind the first on one worker).
    second = _create(
        studio,
        f.id,
        method={
            "type": "supervised",
            "adapter": {"method": "adapterp", "params": {"bottleneck_size": 8}},
        },
    )
    cancelled = c.fine_tuning.jobs.cancel(second.id)
    assert cancelled.id == second.id and cancelled.status in ("cancelled", "running")

    deadline = time.monotonic() + 100
    while (job := c.fine_tuning.jobs.retrieve(job.id)).status not in (
        "succeeded",
        "failed",
        "cancelled",
    ):
        assert time.monotonic() < deadline, "the job did not finish in time"
        time.sleep(0.5)
    events = c.fine_tuning.jobs.list_events(job.id, limit=100).data
    assert job.status == "succeeded", [e.message for e in events]
    assert job.fine_tuned_model == f"job-{job.id.removeprefix('ftjob-')}"
    assert job.finished_at and job.finished_at >= job.created_at and job.error is None

    # Events: newest first, with levels; the state changes are among them.
    messages = [e.message for e in events]
    [done] = [m for m in messages if m.startswith("Job succeeded")]
    assert job.fine_tuned_model in done
    assert [e.created_at for e in events] == sorted((e.created_at for e in events), reverse=True)
    assert any(m.startswith("Job running") for m in messages)
    assert messages[-1].startswith("Job queued")
    assert all(e.level in ("info", "warn", "error") and e.created_at > 0 for e in events)
    # Paginated: a page of 2, then the rest after its last id.
    page = c.fine_tuning.jobs.list_events(job.id, limit=2)
    assert [e.id for e in page.data] == [e.id for e in events[:2]] and page.has_more
    rest = c.fine_tuning.jobs.list_events(job.id, after=page.data[-1].id, limit=100)
    assert [e.id for e in rest.data] == [e.id for e in events[2:]]

    [ckpt] = c.fine_tuning.jobs.checkpoints.list(job.id).data
    assert ckpt.fine_tuning_job_id == job.id and ckpt.step_number == 2
    assert (
        ckpt.id.startswith("ftckpt-") and ckpt.fine_tuned_model_checkpoint == job.fine_tuned_model
    )
    assert ckpt.metrics.train_loss is not None and ckpt.metrics.train_loss > 0
    assert ckpt.metrics.valid_loss is not None and ckpt.metrics.valid_loss > 0

    # Listing: newest first; `after` continues, `limit` cuts and has_more says so.
    first_page = c.fine_tuning.jobs.list(limit=1)
    assert [j.id for j in first_page.data] == [second.id] and first_page.has_more
    after = c.fine_tuning.jobs.list(after=second.id, limit=5)
    assert [j.id for j in after.data] == [job.id] and not after.has_more
    # Auto-pagination of the client walks the same cursor.
    assert [j.id for j in c.fine_tuning.jobs.list(limit=1)] == [second.id, job.id]

    deadline = time.monotonic() + 30
    while (s := c.fine_tuning.jobs.retrieve(second.id)).status != "cancelled":
        assert time.monotonic() < deadline and s.status in ("queued", "running"), s.status
        time.sleep(0.5)
    # A finished job cannot be cancelled; the file is in use and cannot be deleted.
    with pytest.raises(openai.ConflictError) as e:
        c.fine_tuning.jobs.cancel(job.id)
    assert "already succeeded" in e.value.body["message"]
    with pytest.raises(openai.ConflictError):
        c.files.delete(f.id)


def test_bad_input_gets_openai_shaped_errors(studio: Studio, tmp_path: Path):
    c = studio.client
    with pytest.raises(openai.BadRequestError) as e:
        c.fine_tuning.jobs.create(model="tiny:llama", training_file="file-999999")
    assert e.value.body["param"] == "training_file" and "file-999999" in e.value.body["message"]
    assert e.value.body["type"] == "invalid_request_error"

    f = c.files.create(file=("ok.jsonl", chat_jsonl(8)), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError) as e:
        c.fine_tuning.jobs.create(model="hf:no/such-model", training_file=f.id)
    assert e.value.body["param"] == "model" and e.value.body["code"] == "model_not_found"
    assert "tiny:llama" in e.value.body["message"]  # names what is known

    with pytest.raises(openai.BadRequestError) as e:  # the studio's own config check
        c.fine_tuning.jobs.create(
            model="tiny:llama",
            training_file=f.id,
            extra_body={"studio": {"adapter": {"method": "nope"}}},
        )
    assert "nope" in e.value.body["message"]

    # A chat line without the assistant's answer: the line is named.
    bad = chat_jsonl(3) + b'\n{"messages": [{"role": "user", "content": "hi"}]}\n'
    with pytest.raises(openai.BadRequestError) as e:
        c.files.create(file=("bad.jsonl", bad), purpose="fine-tune")
    assert "line 4" in e.value.body["message"] and e.value.body["param"] == "file"
    # A file the studio's validation refuses (no output field): its message, OpenAI's shape.
    with pytest.raises(openai.BadRequestError) as e:
        c.files.create(file=("x.jsonl", b'{"instruction": "a"}\n'), purpose="fine-tune")
    assert "output" in e.value.body["message"] and e.value.body["code"] == "invalid_file"
    with pytest.raises(openai.BadRequestError) as e:
        c.files.create(file=("x.jsonl", chat_jsonl(2)), purpose="assistants")
    assert e.value.body["param"] == "purpose"

    with pytest.raises(openai.NotFoundError):
        c.fine_tuning.jobs.retrieve("ftjob-999999")
    with pytest.raises(openai.NotFoundError):
        c.fine_tuning.jobs.list_events("not-an-id")
    with pytest.raises(openai.AuthenticationError) as e:
        openai.OpenAI(base_url=str(c.base_url), api_key="sst_wrong", max_retries=0).files.list()
    assert "token" in e.value.body["message"]
    assert c.files.delete(f.id).deleted
    with pytest.raises(openai.NotFoundError):
        c.files.retrieve(f.id)
