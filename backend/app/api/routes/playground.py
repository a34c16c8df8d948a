"""Playground: one prompt answered by a job's adapter and by its base model, side by side.

Answers come from the inference service at once (it keeps models loaded; it never waits behind
training jobs). `POST /playground/stream` streams both answers as server-sent events; `POST
/playground` answers when both are done; every request is kept, with its settings, as the
team's history (`GET /playground`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from ...core.config import Settings
from ...core.db import session_scope
from ...models import Generation, User
from ...schemas import MAX_ID, ErrorMessage, GenerationCreate, GenerationPublic, GenerationsPublic
from ...services import inference
from ..deps import (
    CONFLICT,
    CurrentUser,
    Id,
    Responses,
    SessionDep,
    SettingsDep,
    Skip,
    team_ids,
    team_object,
)
from .jobs import get_team_job

router = APIRouter(prefix="/playground", tags=["playground"])
SIDES = ("adapter", "base")
UNAVAILABLE: Responses = {
    502: {"model": ErrorMessage, "description": "the inference service failed (its reason)"},
    503: {"model": ErrorMessage, "description": "the inference service is unreachable (why)"},
}


def _public(gen: Generation) -> GenerationPublic:
    return GenerationPublic.model_validate(gen, from_attributes=True)


def _start(
    body: GenerationCreate, user: User, session: Session, settings: Settings
) -> tuple[Generation, inference.Target]:
    job = get_team_job(session, user, body.job_id)
    if job.status != "succeeded" or not job.artifact_dir:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"job {job.id} is {job.status}: it has no finished adapter"
        )
    gen = Generation(
        team_id=job.team_id,
        job_id=job.id,
        owner_id=user.id,
        prompt=body.prompt,
        max_new_tokens=body.max_new_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        status="running",
    )
    session.add(gen)
    session.commit()
    return gen, inference.job_target(settings, job)


def _request(target: inference.Target, gen: Generation, side: str) -> dict[str, Any]:
    params = {"max_tokens": gen.max_new_tokens, "temperature": gen.temperature,
              "top_p": gen.top_p}  # fmt: skip
    body = target.request(instruction=gen.prompt, params=params)
    if side == "base":
        body["adapter"] = None  # the same base model with the adapter disabled
    return body


def _finish(settings: Settings, gen_id: int, **values: Any) -> GenerationPublic:
    with session_scope(settings.sqlalchemy_url) as s:
        gen = s.get(Generation, gen_id)
        assert gen is not None
        for key, value in values.items():
            setattr(gen, key, value)
        s.flush()
        return _public(gen)


async def _open(settings: Settings, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    try:
        return await inference.open_stream(settings, body)
    except inference.InferenceUnavailable as e:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(e)) from None
    except inference.InferenceRefused as e:
        code = e.status if 400 <= e.status < 500 else status.HTTP_502_BAD_GATEWAY
        raise HTTPException(code, f"the inference service refused: {e}") from None


@router.post(
    "",
    response_model=GenerationPublic,
    status_code=status.HTTP_201_CREATED,
    responses={**CONFLICT, **UNAVAILABLE},
)
async def create_generation(
    body: GenerationCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> GenerationPublic:
    """Both answers at once (the stream's non-streaming twin)."""
    gen, target = await run_in_threadpool(_start, body, user, session, settings)
    outputs: dict[str, str] = {}
    try:
        for side in SIDES:
            result = await inference.complete(settings, _request(target, gen, side))
            outputs[f"{side}_output"] = result["text"]
    except (inference.InferenceUnavailable, inference.InferenceRefused) as e:
        await run_in_threadpool(_finish, settings, gen.id, status="failed", error=str(e))
        code = 503 if isinstance(e, inference.InferenceUnavailable) else 502
        raise HTTPException(code, str(e)) from None
    return await run_in_threadpool(_finish, settings, gen.id, status="succeeded", **outputs)


@router.post(
    "/stream",
    status_code=status.HTTP_200_OK,
    responses={
        **CONFLICT,
        **UNAVAILABLE,
        200: {
            "content": {"text/event-stream": {}},
            "description": "server-sent events: `generation` (the stored request), `token` "
            '({"side": "adapter"|"base", "text"}), `done` ({"side", "finish_reason", '
            '"completion_tokens"}), then `end` (the stored answers) or `error` ({"detail"})',
        },
    },
)
async def stream_generation(
    body: GenerationCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> StreamingResponse:
    """The adapter's answer, then the base model's, token by token."""
    gen, target = await run_in_threadpool(_start, body, user, session, settings)
    try:
        first = await _open(settings, _request(target, gen, "adapter"))
    except HTTPException as e:
        await run_in_threadpool(_finish, settings, gen.id, status="failed", error=str(e.detail))
        raise
    started = _public(gen)

    def sse(event: str, data: Any) -> bytes:
        payload = data.model_dump_json() if hasattr(data, "model_dump_json") else json.dumps(data)
        return f"event: {event}\ndata: {payload}\n\n".encode()

    async def events() -> AsyncIterator[bytes]:
        yield sse("generation", started)
        outputs: dict[str, str] = {}
        error: str | None = None
        for side in SIDES:
            try:
                stream = (
                    first
                    if side == "adapter"
                    else await _open(settings, _request(target, gen, side))
                )
            except HTTPException as e:
                error = str(e.detail)
                break
            pieces: list[str] = []
            async for event in stream:
                if "text" in event:
                    pieces.append(event["text"])
                    yield sse("token", {"side": side, "text": event["text"]})
                elif "done" in event:
                    yield sse("done", {"side": side, "finish_reason": event.get("finish_reason"),
                                       "completion_tokens": event.get("completion_tokens")})  # fmt: skip
                elif "error" in event:
                    error = event["error"]
            outputs[f"{side}_output"] = "".join(pieces)
            if error:
                break
        if error:
            await run_in_threadpool(
                _finish, settings, gen.id, status="failed", error=error, **outputs
            )
            yield sse("error", {"detail": error})
        else:
            done = await run_in_threadpool(_finish, settings, gen.id, status="succeeded", **outputs)
            yield sse("end", done)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


@router.get("", response_model=GenerationsPublic)
def list_generations(
    user: CurrentUser,
    session: SessionDep,
    job_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    skip: Skip = 0,
    limit: int = Query(default=50, ge=1, le=200),
) -> GenerationsPublic:
    """The history of the caller's teams' playground requests, newest first."""
    where: list[ColumnElement[bool]] = [Generation.team_id.in_(team_ids(session, user))]
    if job_id is not None:
        where.append(Generation.job_id == job_id)
    count = session.scalar(select(func.count()).select_from(Generation).where(*where)) or 0
    rows = session.scalars(
        select(Generation)
        .where(*where)
        .order_by(Generation.created_at.desc(), Generation.id.desc())
        .offset(skip)
        .limit(limit)
    )
    return GenerationsPublic(data=[_public(g) for g in rows], count=count)


@router.get("/{generation_id}", response_model=GenerationPublic)
def read_generation(generation_id: Id, user: CurrentUser, session: SessionDep) -> GenerationPublic:
    return _public(team_object(session, user, Generation, generation_id, "generation"))
