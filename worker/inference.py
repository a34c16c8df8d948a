"""The inference service: a small HTTP process that keeps models loaded and answers prompts at
once, beside (never behind) the training queue.

`python -m worker.inference --port 8001 --root DATA_DIR` (`studio up` starts it next to the
Celery worker; docker-compose.yml runs it as the `inference` service). The API is its only
client: it resolves jobs to a base model reference and an adapter folder, and relays the answer.
It knows no database and no queue; adapters are read only from under `--root`.

POST /generate  {"model", "precision", "adapter" (a folder or null), "template" (or null),
                 one of "prompt" (raw text) / "instruction" (put in the template) /
                 "messages" (chat turns), "params": {max_tokens, temperature, top_p, stop, seed}}
  answers NDJSON lines: {"text": piece}... then {"done": true, "finish_reason",
  "prompt_tokens", "completion_tokens"}; a refusal before the first token is a 4xx JSON
  {"error": "..."}, a failure during the stream a last line {"error": "..."}.
GET /health     {"status": "ok", "loaded": [[reference, precision], ...]}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import queue
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from worker.engine.errors import ConfigError
from worker.engine.model_pool import ModelPool
from worker.engine.prompts import build_prompt
from worker.engine.text_generation import SamplingParams, TextStream, template_stops

log = logging.getLogger(__name__)
MAX_PROMPT_CHARS = 64_000


def render_prompt(body: dict[str, Any], tokenizer: Any) -> tuple[str, tuple[str, ...], bool]:
    """(text, template stops, add special tokens) for a request body."""
    template = body.get("template")
    if body.get("prompt") is not None:
        return str(body["prompt"]), (), True
    if body.get("instruction") is not None:
        text = build_prompt(str(body["instruction"]), "", template or "alpaca", tokenizer)
        return text, template_stops(template or "alpaca"), template != "chat"
    messages = body.get("messages") or []
    if template == "chat" or (template is None and getattr(tokenizer, "chat_template", None)):
        if not getattr(tokenizer, "chat_template", None):
            raise ConfigError("this model's tokenizer has no chat template")
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return text, (), False  # the template already holds the special tokens
    # Instruction templates have one turn: the last user message is the instruction.
    users = [m["content"] for m in messages if m.get("role") == "user"]
    if not users:
        raise ConfigError("messages need at least one with role 'user'")
    template = template or "alpaca"
    return build_prompt(users[-1], "", template, tokenizer), template_stops(template), True


def _params(raw: dict[str, Any]) -> SamplingParams:
    stop = raw.get("stop") or ()
    return SamplingParams(
        max_tokens=int(raw.get("max_tokens", 128)),
        temperature=float(raw.get("temperature", 0.0)),
        top_p=float(raw.get("top_p", 1.0)),
        stop=(stop,) if isinstance(stop, str) else tuple(stop),
        seed=raw.get("seed"),
    )


def _check(body: dict[str, Any], root: Path) -> tuple[SamplingParams, Path | None]:
    if not isinstance(body.get("model"), str):
        raise ConfigError("'model' (a base model reference) is required")
    texts = [body.get("prompt"), body.get("instruction"), body.get("messages")]
    if sum(t is not None for t in texts) != 1:
        raise ConfigError("send exactly one of 'prompt', 'instruction' or 'messages'")
    if len(json.dumps(texts)) > MAX_PROMPT_CHARS:
        raise ConfigError(f"the prompt is longer than {MAX_PROMPT_CHARS} characters")
    adapter = None
    if body.get("adapter"):
        adapter = Path(body["adapter"]).resolve()
        if root.resolve() not in adapter.parents:
            raise ConfigError("the adapter folder is outside the studio's data folder")
    return _params(body.get("params") or {}), adapter


def build_app(pool: ModelPool, root: Path) -> Starlette:
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "loaded": [list(k) for k in pool.loaded()]})

    async def generate(request: Request) -> Response:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ConfigError("the body must be a JSON object")
            params, adapter = _check(body, root)
        except (ConfigError, ValueError, TypeError) as e:
            return JSONResponse({"error": str(e)}, status_code=422)
        events: queue.Queue[dict[str, Any]] = queue.Queue()
        cancelled = threading.Event()

        def produce() -> None:
            started = False
            try:
                with pool.model(body["model"], body.get("precision") or "auto", adapter) as (
                    model,
                    tokenizer,
                ):
                    prompt, stops, special = render_prompt(body, tokenizer)
                    stream = TextStream(
                        model, tokenizer, prompt, params, stops=stops, add_special_tokens=special
                    )
                    events.put({"start": True, "prompt_tokens": stream.prompt_tokens})
                    started = True
                    pieces = iter(stream)
                    try:
                        for piece in pieces:
                            if cancelled.is_set():
                                break
                            events.put({"text": piece})
                    finally:
                        pieces.close()  # type: ignore[attr-defined]
                    events.put(
                        {
                            "done": True,
                            "finish_reason": stream.finish_reason,
                            "prompt_tokens": stream.prompt_tokens,
                            "completion_tokens": stream.completion_tokens,
                        }
                    )
            except ConfigError as e:
                events.put({"error": str(e), "status": 422, "started": started})
            except Exception as e:  # noqa: BLE001 - reported to the caller, logged here
                log.exception("generation failed")
                events.put({"error": f"{type(e).__name__}: {e}", "status": 500})

        threading.Thread(target=produce, name="inference", daemon=True).start()
        first = await run_in_threadpool(events.get)
        if "error" in first:
            return JSONResponse({"error": first["error"]}, status_code=first["status"])

        async def lines() -> AsyncIterator[bytes]:
            try:
                while True:
                    event = await run_in_threadpool(events.get)
                    yield (json.dumps(event) + "\n").encode()
                    if "done" in event or "error" in event:
                        return
            except (asyncio.CancelledError, GeneratorExit):
                cancelled.set()
                raise
            finally:
                cancelled.set()

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return Starlette(
        routes=[Route("/health", health), Route("/generate", generate, methods=["POST"])]
    )


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m worker.inference", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--root", required=True, help="adapters are read only from under it")
    parser.add_argument("--max-models", type=int, default=2, help="base models kept loaded")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: the best)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app = build_app(ModelPool(args.max_models, args.device), Path(args.root))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
