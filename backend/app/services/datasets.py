"""Uploads: read in one pass with the engine's rules; a rejected file leaves nothing stored.

The file is streamed from the request's spooled temporary file: records are validated one at a
time and the ones kept are written to the storage folder's temporary file as they come, so
memory stays bounded by one record whatever the upload's size; a problem anywhere removes the
temporary file before the upload is answered."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, Any

from worker.engine.data import DatasetReader, Problem, token_statistics
from worker.engine.errors import DataError

from ..core.config import Settings
from . import storage

log = logging.getLogger(__name__)

MAX_NAME_CHARS = 255  # the datasets table's name and filename columns
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


class UploadRejected(Exception):
    """The file cannot be stored; `problems` name rows and fields."""

    def __init__(self, status: int, detail: str, problems: list[Problem] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.problems = problems or []


@dataclass
class StoredUpload:
    format: str
    path: str  # relative to the storage folder
    size_bytes: int
    row_count: int
    dropped_rows: int
    stats: dict[str, Any]


def _check_name(what: str, value: str) -> None:
    problem = None
    if len(value) > MAX_NAME_CHARS:
        problem = f"is {len(value):,} characters; at most {MAX_NAME_CHARS}"
    elif _BAD_CHARS.search(value):
        problem = "contains a NUL character or a lone surrogate"
    if problem:
        raise UploadRejected(422, f"the {what} {problem}", [Problem(None, what, problem)])


def _records_to_keep(settings: Settings, reader: DatasetReader) -> Iterator[dict[str, str]]:
    """The reader's records; raises UploadRejected (so the storage's temporary file is removed)
    once the whole file is read, if it has to be refused."""
    yield from reader
    if reader.over_row_limit:
        raise UploadRejected(
            413, f"the file has more than {settings.max_upload_rows:,} records, the limit"
        )
    if reader.errors:
        count = f"{len(reader.errors)} or more" if reader.capped else str(len(reader.errors))
        raise UploadRejected(
            422,
            f"the {reader.format.upper()} file has {count} problem(s); nothing was stored",
            reader.errors,
        )
    if not reader.kept:
        raise UploadRejected(422, "no usable records: every record is a duplicate or empty")


def store_upload(
    settings: Settings, team_id: int, filename: str, name: str | None, file: IO[bytes]
) -> StoredUpload:
    """Validates an uploaded file (a seekable binary stream) and stores its records; raises
    UploadRejected with nothing left behind."""
    _check_name("file name", filename)
    if name is not None:
        _check_name("name", name)
    size = file.seek(0, os.SEEK_END)
    file.seek(0)
    if size > settings.max_upload_bytes:
        raise UploadRejected(
            413, f"the file is {size:,} bytes; the limit is {settings.max_upload_bytes:,}"
        )
    try:
        reader = DatasetReader(file, filename, max_rows=settings.max_upload_rows)
    except DataError as e:
        raise UploadRejected(422, str(e)) from None
    rel = storage.write_dataset_file(settings, team_id, _records_to_keep(settings, reader))
    try:
        stats = dataset_statistics(settings, _stored_records(settings, rel))
    except BaseException:
        storage.delete_stored(settings, rel)
        raise
    return StoredUpload(reader.format, rel, size, reader.kept, reader.dropped, stats)


def _stored_records(settings: Settings, rel: str) -> Iterator[dict[str, str]]:
    # Line by line: the statistics need every record, never all of them at once.
    with (settings.storage_dir / rel).open(encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


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


def dataset_statistics(settings: Settings, records: Iterable[dict[str, str]]) -> dict[str, Any]:
    """Token lengths with the configured tokenizer; falls back to bytes if it cannot load."""
    name = settings.stats_tokenizer
    try:
        tok = _tokenizer(name)
    except Exception as e:  # noqa: BLE001 - statistics must not block an upload
        log.warning("tokenizer %s unavailable for statistics (%s); counting bytes", name, e)
        name, tok = "bytes", _tokenizer("bytes")
    return {**token_statistics(records, tok), "tokenizer": name}
