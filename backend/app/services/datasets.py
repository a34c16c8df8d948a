"""Uploads: validated as a whole with the engine's rules before anything is stored."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from worker.engine.data import (
    Problem,
    detect_format,
    drop_warned,
    normalise,
    parse_records,
    token_statistics,
    validate_records,
)

from ..core.config import Settings

log = logging.getLogger(__name__)


class UploadRejected(Exception):
    """The file cannot be stored; `problems` name rows and fields."""

    def __init__(self, status: int, detail: str, problems: list[Problem] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = problems or []


def parse_upload(
    settings: Settings, filename: str, content: bytes
) -> tuple[str, list[dict[str, str]], int]:
    """(format, normalised records, dropped count) or UploadRejected."""
    if len(content) > settings.max_upload_bytes:
        raise UploadRejected(
            413,
            f"the file is {len(content):,} bytes; the limit is {settings.max_upload_bytes:,}",
        )
    if not content.strip():
        raise UploadRejected(422, "the file is empty")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UploadRejected(
            422, f"the file is not UTF-8 text (invalid byte at offset {e.start})"
        ) from None
    fmt = detect_format(filename, text)
    records, problems = parse_records(text, fmt)
    if not problems or records:
        problems = problems + validate_records(records)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise UploadRejected(
            422, f"the {fmt.upper()} file has {len(errors)} problem(s); nothing was stored", errors
        )
    if len(records) > settings.max_upload_rows:
        raise UploadRejected(
            413, f"the file has {len(records):,} records; the limit is {settings.max_upload_rows:,}"
        )
    kept = drop_warned(records, problems)
    if not kept:
        raise UploadRejected(422, "no usable records: every record is a duplicate or empty")
    return fmt, [normalise(r) for r in kept], len(records) - len(kept)


@lru_cache(maxsize=4)
def _tokenizer(reference: str) -> Any:
    if reference == "bytes":
        from worker.engine.tiny import build_byte_tokenizer

        return build_byte_tokenizer()
    from transformers import AutoTokenizer

    from worker.engine.models import demo_model_folder, parse_reference

    kind, value = parse_reference(reference)
    folder = demo_model_folder(value) if kind == "demo" else value
    return AutoTokenizer.from_pretrained(folder)


def dataset_statistics(settings: Settings, records: list[dict[str, str]]) -> dict[str, Any]:
    """Token lengths with the configured tokenizer; falls back to bytes if it cannot load."""
    name = settings.stats_tokenizer
    try:
        tok = _tokenizer(name)
    except Exception as e:  # noqa: BLE001 - statistics must not block an upload
        log.warning("tokenizer %s unavailable for statistics (%s); counting bytes", name, e)
        name, tok = "bytes", _tokenizer("bytes")
    return {**token_statistics(records, tok), "tokenizer": name}
