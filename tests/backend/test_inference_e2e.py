"""Inference on a real `studio up` (embedded: SQLite, the filesystem broker, the local worker and
the inference service it starts): the official `openai` client lists the models and gets chat
and text completions, streamed and not, from a finished adapter and a base model; errors come
in OpenAI's shape; the playground answers at once, token by token, while a training job holds
the worker, and keeps the request with its settings in the team's history."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest

from .conftest import arithmetic_jsonl, tiny_job_config, upload
from .stack import wait_for
from .test_embedded import start_studio, stop_studio

# This suite's own ports (STUDIO_TEST_INFERENCE_PORTS="first-last" moves them).
PORTS = os.environ.get("STUDIO_TEST_INFERENCE_PORTS", "18200-18299")


def _port() -> int:
    first, last = (int(p) for p in PORTS.split("-"))
    for port in range(first, last + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip(f"no free port in {PORTS}")


def _job(c: httpx.Client, dataset_id: int, steps: int, name: str) -> int:
    config = tiny_job_config(
        dataset_id,
        name=name,
        adapter={"method": "lora", "params": {"r": 4}},
        evaluation={"benchmarks": []},
    )
    config["training"]["max_steps"] = steps
    r = c.post("/api/v1/jobs", json={"config": config})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _status(c: httpx.Client, job_id: int) -> str:
    return c.get(f"/api/v1/jobs/{job_id}").json()["status"]


def _playground_stream(c: httpx.Client, body: dict) -> list[tuple[str, dict]]:
    events: list[tuple[str, dict]] = []
    event = ""
    with c.stream("POST", "/api/v1/playground/stream", json=body, timeout=60) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                events.append((event, json.loads(line[6:])))
    return events


def test_openai_client_and_playground_on_studio_up(tmp_path: Path):
    started = time.monotonic()
    proc, port, token = start_studio(tmp_path, port=_port())
    base_url = f"http://127.0.0.1:{port}"
    c = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    try:
        assert c.post("/api/v1/models", json={"reference": "tiny:llama"}).status_code == 201
        ds = upload(c, token, arithmetic_jsonl())
        assert ds.status_code == 201, ds.text
        job_id = _job(c, ds.json()["id"], 2, "tiny-lora-chat")
        wait_for(lambda: _status(c, job_id) in ("succeeded", "failed"), 90, "no finished job")
        assert _status(c, job_id) == "succeeded"

        # A long job to hold the worker: it starts while the client's calls below are answered.
        busy = _job(c, ds.json()["id"], 2000, "tiny-lora-busy")

        client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=token, max_retries=0)
        ids = [m.id for m in client.models.list()]
        assert {"demo:smollm2-135m", "tiny:llama", f"job-{job_id}"} <= set(ids)

        # A chat completion from the adapter, whole and streamed (greedy: the same text).
        messages = [{"role": "user", "content": "What is 2 + 3?"}]
        chat = client.chat.completions.create(
            model=f"job-{job_id}", messages=messages, max_tokens=8, temperature=0
        )
        answer = chat.choices[0].message.content
        assert isinstance(answer, str) and chat.choices[0].finish_reason in ("stop", "length")
        assert chat.usage.prompt_tokens > 10 and 0 < chat.usage.completion_tokens <= 8
        assert chat.usage.total_tokens == chat.usage.prompt_tokens + chat.usage.completion_tokens
        chunks = list(
            client.chat.completions.create(
                model="tiny-lora-chat",  # the job's name works too
                messages=messages,
                max_tokens=8,
                temperature=0,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        streamed = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
        assert streamed == answer
        assert len([ch for ch in chunks if ch.choices]) >= 3  # role, pieces, finish
        assert chunks[-1].usage.completion_tokens == chat.usage.completion_tokens

        # A text completion from the base model, whole and streamed.
        done = client.completions.create(model="tiny:llama", prompt="12 + 30 =", max_tokens=5,
                                         temperature=0)  # fmt: skip
        assert done.usage.completion_tokens <= 5 and done.object == "text_completion"
        pieces = client.completions.create(
            model="tiny:llama", prompt="12 + 30 =", max_tokens=5, temperature=0, stream=True
        )
        assert "".join(p.choices[0].text for p in pieces) == done.choices[0].text
        # The adapter and its base answer differently (the adapter is attached, not ignored).
        base_chat = client.chat.completions.create(
            model="tiny:llama", messages=messages, max_tokens=8, temperature=0
        )
        assert base_chat.choices[0].message.content is not None

        # Errors in OpenAI's shape, with their statuses.
        with pytest.raises(openai.NotFoundError) as missing:
            client.chat.completions.create(model="job-999999", messages=messages)
        assert missing.value.body["code"] == "model_not_found"
        with pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(model="tiny:llama", messages=messages, max_tokens=0)
        assert "max_tokens" in bad.value.body["message"]
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{base_url}/v1", api_key="sst_wrong").models.list()

        # The playground while a training job holds the worker.
        wait_for(lambda: _status(c, busy) == "running", 60, "the long job never ran")
        asked = time.monotonic()
        body = {"job_id": job_id, "prompt": "What is 2 + 3?", "max_new_tokens": 12,
                "temperature": 0.7, "top_p": 0.9}  # fmt: skip
        events = _playground_stream(c, body)
        answered = time.monotonic() - asked
        assert _status(c, busy) == "running"  # answered beside the training, not after it
        assert answered < 20, f"the playground took {answered:.1f} s"
        kinds = [e for e, _ in events]
        assert kinds[0] == "generation" and kinds[-1] == "end", events[-3:]
        sides = [d["side"] for e, d in events if e == "token"]
        assert "adapter" in sides and "base" in sides
        assert sides.index("base") > max(i for i, s in enumerate(sides) if s == "adapter")
        end = events[-1][1]
        assert end["status"] == "succeeded" and end["temperature"] == 0.7 and end["top_p"] == 0.9
        adapter_text = "".join(
            d["text"] for e, d in events if e == "token" and d["side"] == "adapter"
        )
        assert end["adapter_output"] == adapter_text
        history = c.get("/api/v1/playground", params={"job_id": job_id}).json()
        assert history["count"] == 1 and history["data"][0]["id"] == end["id"]
        assert history["data"][0]["max_new_tokens"] == 12
        assert c.post(f"/api/v1/jobs/{busy}/cancel").status_code == 200
    finally:
        c.close()
        stop_studio(proc)
    # The inference service went down with studio up (its command names the data folder).
    out = subprocess.run(["pgrep", "-f", f"{tmp_path}/studio"], capture_output=True, text=True)
    assert out.stdout.strip() == "", "a process outlived studio up"
    # About 2 minutes on a 2-core machine at load 13 (several test suites at once); a bound
    # against a hang, not a benchmark.
    assert time.monotonic() - started < 180
