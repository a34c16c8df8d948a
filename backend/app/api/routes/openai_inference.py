"""OpenAI-compatible inference at /v1: `GET /v1/models`, `POST /v1/chat/completions` and
`POST /v1/completions`, streaming (server-sent `data:` chunks ending with `[DONE]`) or not, so
the official client works with `base_url="http://HOST:PORT/v1"` and an API token as its key.

The models are the registered base models (by reference) and the caller's teams' finished
adapters ("job-<id>", or the job's name). Answers come from the inference service
(`services/inference.py`). Errors have OpenAI's shape: {"error": {"message", "type", "code",
"param"}}; the app's handlers give 401s and invalid bodies on /v1 the same shape.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from ...core.config import Settings
from ...core.errors import NotFoundError
from ...models import User
from ...services import inference
from ..deps import CurrentUser, SessionDep, SettingsDep, team_ids

PREFIX = "/v1"
router = APIRouter(prefix=PREFIX, tags=["openai"], include_in_schema=False)
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


def openai_error(status: int, message: str, code: str | None = None) -> JSONResponse:
    """OpenAI's error body with `status` (a refused body is 400, as OpenAI answers it)."""
    status = 400 if status == 422 else status
    kind = ERROR_TYPES.get(status, "server_error")
    body = {"error": {"message": message, "type": kind, "code": code, "param": None}}
    return JSONResponse(body, status_code=status)


def is_openai_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "developer", "tool"]
    # A string, or OpenAI's list of parts of which the text ones are kept.
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class _Sampling(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str = Field(min_length=1, max_length=512)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = Field(default=None)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)
    n: int = Field(default=1, ge=1, le=1, description="one choice per request")

    def stops(self) -> list[str]:
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        if len(stop) > 4 or any(not s for s in stop):
            raise ValueError("stop takes at most 4 non-empty strings")
        return stop

    def include_usage(self) -> bool:
        return bool((self.stream_options or {}).get("include_usage"))


class ChatCompletionRequest(_Sampling):
    messages: list[ChatMessage] = Field(min_length=1, max_length=256)
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=4096)


class CompletionRequest(_Sampling):
    prompt: str | list[str] = Field(max_length=64_000)
    max_tokens: int = Field(default=16, ge=1, le=4096)
    echo: bool = False


def _teams(session: Session, user: User) -> list[int]:
    return team_ids(session, user)


@router.get("/models", name="list_models")
def list_models(user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    data: list[dict[str, Any]] = [
        {
            "id": m.reference,
            "object": "model",
            "created": int(m.created_at.timestamp()),
            "owned_by": "studio",
            "root": m.reference,
            "parent": None,
        }
        for m in inference.base_models(session)
    ]
    for job in inference.finished_jobs(session, _teams(session, user)):
        data.append(
            {
                "id": inference.adapter_name(job),
                "object": "model",
                "created": int(job.created_at.timestamp()),
                "owned_by": f"team-{job.team_id}",
                "root": job.base_model,
                "parent": job.base_model,
                "name": job.name,
                "method": job.method,
            }
        )
    return {"object": "list", "data": data}


@router.get("/models/{model:path}", name="read_model")
def read_model(
    model: str, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    target = inference.resolve(settings, session, _teams(session, user), model)
    return {"id": target.name, "object": "model", "created": 0, "owned_by": "studio",
            "root": target.base_model, "parent": target.base_model if target.job else None}  # fmt: skip


def _sse(data: dict[str, Any] | str) -> bytes:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()


async def _answer(
    settings: Settings,
    target: inference.Target,
    body: dict[str, Any],
    stream: bool,
    chunk: Any,
    whole: Any,
    include_usage: bool,
) -> Any:
    """Relays the inference service's answer as one response or as SSE chunks; `chunk(text,
    finish)` and `whole(text, finish, usage)` give the endpoint's shapes."""
    request = target.request(**body)
    try:
        if not stream:
            result = await inference.complete(settings, request)
            usage = _usage(result["prompt_tokens"], result["completion_tokens"])
            return whole(result["text"], result["finish_reason"], usage)
        events = await inference.open_stream(settings, request)
    except inference.InferenceUnavailable as e:
        return openai_error(503, str(e), "inference_unavailable")
    except inference.InferenceRefused as e:
        return openai_error(e.status, str(e))

    async def sse() -> AsyncIterator[bytes]:
        first = chunk(None, None)
        if first is not None:
            yield _sse(first)
        async for event in events:
            if "text" in event:
                yield _sse(chunk(event["text"], None))
            elif "done" in event:
                yield _sse(chunk("", event.get("finish_reason") or "stop"))
                if include_usage:
                    usage = _usage(event.get("prompt_tokens", 0), event.get("completion_tokens", 0))
                    yield _sse({**chunk("", None), "choices": [], "usage": usage})
            elif "error" in event:
                yield _sse({"error": {"message": event["error"], "type": "server_error",
                                      "code": None, "param": None}})  # fmt: skip
                break
        yield _sse("[DONE]")

    return StreamingResponse(sse(), media_type="text/event-stream")


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}  # fmt: skip


def _params(req: _Sampling, max_tokens: int) -> dict[str, Any]:
    return {"max_tokens": max_tokens, "temperature": req.temperature, "top_p": req.top_p,
            "stop": req.stops(), "seed": req.seed}  # fmt: skip


@router.post("/chat/completions", name="create_chat_completion")
async def create_chat_completion(
    req: ChatCompletionRequest,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Any:
    try:
        params = _params(req, req.max_completion_tokens or req.max_tokens or 256)
        target = inference.resolve(settings, session, _teams(session, user), req.model)
    except ValueError as e:
        return openai_error(400, str(e))
    except NotFoundError as e:
        return openai_error(404, str(e), "model_not_found")
    messages = [{"role": m.role, "content": m.text()} for m in req.messages]
    ident, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    head = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": req.model}

    def chunk(text: str | None, finish: str | None) -> dict[str, Any]:
        delta: dict[str, Any] = {"role": "assistant", "content": ""} if text is None else {}
        if text:
            delta["content"] = text
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return {**head, "choices": [choice]}

    def whole(text: str, finish: str, usage: dict[str, int]) -> dict[str, Any]:
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
        return {**head, "object": "chat.completion", "choices": [choice], "usage": usage}

    body = {"messages": messages, "params": params}
    return await _answer(settings, target, body, req.stream, chunk, whole, req.include_usage())


@router.post("/completions", name="create_completion")
async def create_completion(
    req: CompletionRequest,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> Any:
    prompts = [req.prompt] if isinstance(req.prompt, str) else req.prompt
    if len(prompts) != 1:
        return openai_error(400, "send one prompt per request (a list of one string at most)")
    if req.echo:
        return openai_error(400, "echo is not supported")
    try:
        params = _params(req, req.max_tokens)
        target = inference.resolve(settings, session, _teams(session, user), req.model)
    except ValueError as e:
        return openai_error(400, str(e))
    except NotFoundError as e:
        return openai_error(404, str(e), "model_not_found")
    ident, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
    head = {"id": ident, "object": "text_completion", "created": created, "model": req.model}

    def chunk(text: str | None, finish: str | None) -> dict[str, Any] | None:
        if text is None:
            return None
        choice = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
        return {**head, "choices": [choice]}

    def whole(text: str, finish: str, usage: dict[str, int]) -> dict[str, Any]:
        choice = {"index": 0, "text": text, "finish_reason": finish, "logprobs": None}
        return {**head, "choices": [choice], "usage": usage}

    body = {"prompt": prompts[0], "params": params}
    return await _answer(settings, target, body, req.stream, chunk, whole, req.include_usage())
