"""OpenAI fine-tuning files as studio datasets: the JSON Lines OpenAI's clients upload (chat
`{"messages": [...]}` or `{"prompt", "completion"}`) rewritten line by line into the studio's
Alpaca shape, so the ordinary dataset validation (services/datasets.py) then judges them."""

from __future__ import annotations

import json
import tempfile
from typing import IO, Any

from worker.engine.errors import DataError

# Above this the rewritten file spills from memory to a temporary file.
_SPOOL_BYTES = 8 * 1024 * 1024


def _text(content: Any, where: str) -> str:
    # Chat content is a string or a list of parts; only text parts can be trained on.
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not (isinstance(part, dict) and part.get("type") == "text"):
                raise DataError(f"{where}: only text content parts can be trained on")
            parts.append(str(part.get("text", "")))
        return "".join(parts)
    raise DataError(f"{where}: content must be a string or a list of text parts")


def chat_to_record(messages: Any, line: int) -> dict[str, str]:
    """One chat example: the last assistant message is the output; the turns before it (the
    system prompt and earlier turns, each prefixed with its role) are the instruction."""
    where = f"line {line}"
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{where}: 'messages' must be a non-empty list")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise DataError(f"{where}: messages[{i}] needs a role of system, user or assistant")
    last = messages[-1]
    if last["role"] != "assistant":
        raise DataError(f"{where}: the last message must be the assistant's answer to train on")
    before = messages[:-1]
    if not any(m["role"] == "user" for m in before):
        raise DataError(f"{where}: a user message must come before the assistant's answer")
    if len(before) == 1:
        instruction = _text(before[0].get("content"), f"{where}: messages[0]")
    else:
        instruction = "\n\n".join(
            f"{m['role']}: {_text(m.get('content'), f'{where}: messages[{i}]')}"
            for i, m in enumerate(before)
        )
    return {"instruction": instruction, "output": _text(last.get("content"), where)}


def to_studio_record(rec: Any, line: int) -> Any:
    """A studio record for an OpenAI-format line; any other line is left for the studio's own
    validation to judge (so Alpaca-shaped lines pass through unchanged)."""
    if isinstance(rec, dict) and "messages" in rec:
        return chat_to_record(rec["messages"], line)
    if isinstance(rec, dict) and "prompt" in rec and "completion" in rec:
        if not isinstance(rec["prompt"], str) or not isinstance(rec["completion"], str):
            raise DataError(f"line {line}: 'prompt' and 'completion' must be strings")
        return {"instruction": rec["prompt"], "output": rec["completion"]}
    return rec


def is_openai_jsonl(head: bytes) -> bool:
    """Whether the file's first non-blank line is an OpenAI-format record."""
    for raw in head.splitlines():
        if raw.strip():
            try:
                rec = json.loads(raw)
            except ValueError:
                return False
            return isinstance(rec, dict) and (
                "messages" in rec or ("prompt" in rec and "completion" in rec)
            )
    return False


def rewrite_openai_jsonl(file: IO[bytes]) -> IO[bytes]:
    """The file as studio JSON Lines (a new seekable stream); DataError names the first bad
    line. Lines that are not JSON are passed on as they are, for the studio's own message."""
    out = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - caller closes
    try:
        for n, raw in enumerate(file, start=1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
            except ValueError:
                out.write(raw.rstrip(b"\r\n") + b"\n")
                continue
            out.write(json.dumps(to_studio_record(rec, n), ensure_ascii=False).encode() + b"\n")
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out
