"""The API's side of the inference service (`worker/inference.py`): which model a name means for
a team, and the service's answer relayed as events.

Names a client may use (`/v1/models` lists them): a registered base model by its reference
("demo:smollm2-135m"), and a team's finished adapter as "job-<id>" or by its job's name when
that name is unique among the team's finished jobs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..core.config import Settings
from ..core.errors import NotFoundError
from ..models import BaseModelEntry, Job


class InferenceUnavailable(Exception):
    """The inference service is not configured or does not answer (503)."""


class InferenceRefused(Exception):
    """The inference service refused the request (its status and reason)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Target:
    """What the inference service is asked to run: a base model, maybe with an adapter."""

    name: str
    base_model: str
    precision: str = "auto"
    adapter: Path | None = None
    template: str | None = None  # the job's prompt template; None: the tokenizer's chat one
    job: Job | None = None

    def request(self, **body: Any) -> dict[str, Any]:
        return {
            "model": self.base_model,
            "precision": self.precision,
            "adapter": str(self.adapter) if self.adapter else None,
            "template": self.template,
            **body,
        }


def adapter_name(job: Job) -> str:
    return f"job-{job.id}"


def finished_jobs(session: Session, team_ids: list[int]) -> list[Job]:
    rows = session.scalars(
        select(Job)
        .where(Job.team_id.in_(team_ids), Job.status == "succeeded", Job.artifact_dir.is_not(None))
        .order_by(Job.id)
    )
    return list(rows)


def base_models(session: Session) -> list[BaseModelEntry]:
    return list(session.scalars(select(BaseModelEntry).order_by(BaseModelEntry.id)))


def job_target(settings: Settings, job: Job) -> Target:
    training = (job.config or {}).get("training") or {}
    return Target(
        name=adapter_name(job),
        base_model=job.base_model,
        precision=training.get("precision") or "auto",
        adapter=settings.storage_dir / str(job.artifact_dir) / "adapter",
        template=training.get("prompt_template") or "alpaca",
        job=job,
    )


def resolve(settings: Settings, session: Session, team_ids: list[int], name: str) -> Target:
    """The model a client names; NotFoundError naming what exists otherwise."""
    jobs = finished_jobs(session, team_ids)
    if name.startswith("job-") and name[4:].isdigit():
        for job in jobs:
            if job.id == int(name[4:]):
                return job_target(settings, job)
    named = [j for j in jobs if j.name == name]
    if len(named) == 1:
        return job_target(settings, named[0])
    if len(named) > 1:
        raise NotFoundError(
            f"{len(named)} finished jobs are named {name!r}; use "
            + " or ".join(adapter_name(j) for j in named)
        )
    for entry in base_models(session):
        if entry.reference == name:
            return Target(name=name, base_model=name)
    raise NotFoundError(
        f"model {name!r} not found: use a base model's reference or a finished job's "
        "'job-<id>' (GET /v1/models lists them)"
    )


async def open_stream(settings: Settings, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """The service's events for one answer ({"start"}, {"text"}..., {"done"} or {"error"}).

    Raises InferenceUnavailable or InferenceRefused before the first token, so a caller can
    still answer with a status; a failure later arrives as an {"error"} event."""
    url = settings.inference_url.rstrip("/")
    if not url:
        raise InferenceUnavailable(
            "no inference service is configured (set STUDIO_INFERENCE_URL; `studio up` starts one)"
        )
    client = httpx.AsyncClient(timeout=httpx.Timeout(settings.inference_timeout_s, connect=5.0))
    try:
        response = await client.send(
            client.build_request("POST", f"{url}/generate", json=body), stream=True
        )
    except httpx.TransportError as e:
        await client.aclose()
        raise InferenceUnavailable(
            f"the inference service at {url} is unreachable ({type(e).__name__}); "
            "is it running? (`studio up` starts it; compose: the `inference` service)"
        ) from None
    if response.status_code != 200:
        raw = await response.aread()
        await response.aclose()
        await client.aclose()
        try:
            message = json.loads(raw)["error"]
        except (ValueError, KeyError, TypeError):
            message = raw.decode(errors="replace")[:500] or f"status {response.status_code}"
        raise InferenceRefused(response.status_code, str(message))

    async def events() -> AsyncIterator[dict[str, Any]]:
        try:
            async for line in response.aiter_lines():
                if line.strip():
                    yield json.loads(line)
        except httpx.TransportError as e:
            yield {"error": f"the inference service stopped answering ({type(e).__name__})"}
        finally:
            await response.aclose()
            await client.aclose()

    return events()


async def complete(settings: Settings, body: dict[str, Any]) -> dict[str, Any]:
    """A whole answer: {"text", "finish_reason", "prompt_tokens", "completion_tokens"}."""
    pieces: list[str] = []
    result: dict[str, Any] = {}
    async for event in await open_stream(settings, body):
        if "text" in event:
            pieces.append(event["text"])
        elif "done" in event:
            result = event
        elif "error" in event:
            raise InferenceRefused(500, event["error"])
    return {
        "text": "".join(pieces),
        "finish_reason": result.get("finish_reason") or "stop",
        "prompt_tokens": result.get("prompt_tokens", 0),
        "completion_tokens": result.get("completion_tokens", 0),
    }
