"""Instruction data in the Alpaca shape: reading, validating, tokenising for training.

Records have `instruction`, optional `input`, `output` and (for evaluation sets) `answer`.
Files may be a JSON array, JSON Lines or CSV; the type comes from the file name's extension
and the content together. A file is read in one pass with bounded memory (one record at a time,
each at most MAX_RECORD_BYTES) and validated in time linear in its records. Problems are
reported by row and field so the CLI and the upload API can show them at once; nothing is
half-read.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import logging
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from .errors import DataError
from .prompts import build_prompt

log = logging.getLogger(__name__)

FIELDS = ("instruction", "input", "output", "answer")
REQUIRED = ("instruction", "output")
FORMATS = ("json", "jsonl", "csv")
# The extensions accepted and the format each promises; the content must agree with it.
EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
IGNORE_INDEX = -100  # label value the loss skips

# One text field: the csv module's default field limit, applied to every format alike.
MAX_FIELD_CHARS = 131_072
# One record as written in the file: a bound on what reading holds at once. Four fields at
# MAX_FIELD_CHARS fit, even as multi-byte UTF-8.
MAX_RECORD_BYTES = 4 * 1024 * 1024
MAX_INT_DIGITS = 100  # a longer integer is refused (write it as text)
MAX_PROBLEMS = 20  # reading stops once this many errors are found
_CHUNK = 1 << 16
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
_SURROGATES = re.compile("[\ud800-\udfff]")
_FIELD_SET = frozenset(FIELDS)
_JSON_WS = re.compile(r"[ \t\n\r]*")


@dataclass
class Problem:
    row: int | None  # 1-based record number; None for file-level problems
    field: str | None
    message: str
    # "warning": the record is dropped and the rest kept (duplicates, empty answers, which the
    # paper's own math_data.json has); "error": the file is refused.
    severity: str = "error"

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class RefusedNumber:
    """A JSON number the studio refuses (not finite, too long), kept in place of the value so
    the validator can name its row and field."""

    message: str


def _parse_int(text: str) -> int | RefusedNumber:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        return RefusedNumber(
            f"an integer of {digits:,} digits; at most {MAX_INT_DIGITS} (write it as text)"
        )
    return int(text)


def _parse_float(text: str) -> float | RefusedNumber:
    value = float(text)
    if math.isfinite(value):
        return value
    return RefusedNumber(f"the number {text[:24]} is out of range (not finite)")


def _parse_constant(text: str) -> RefusedNumber:
    return RefusedNumber(f"{text} is not a finite number")


def _json_decoder() -> json.JSONDecoder:
    return json.JSONDecoder(
        parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
    )


def _shown(text: str, limit: int = 40) -> str:
    """A name taken from the file, safe to echo back: bounded, NUL and surrogates escaped."""
    short = text[:limit]
    if _BAD_CHARS.search(short) or not short.isprintable():
        short = json.dumps(short)[1:-1]
    return short + ("..." if len(text) > limit else "")


def _json_message(e: json.JSONDecodeError) -> str:
    return e.msg.removesuffix(" at")  # "Invalid control character at"


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _bad_char(ch: str) -> str:
    if ch == "\x00":
        return "contains a NUL character (\\u0000)"
    return f"contains a lone surrogate (\\u{ord(ch):04x}), which is not valid Unicode"


class _Unreadable(Exception):
    """The file cannot be read on from here (not UTF-8, a record over the bound)."""


# --- file type --------------------------------------------------------------------------------
def _first_byte(stream: IO[bytes]) -> bytes:
    """The first byte that is not a BOM or whitespace; b"" for an empty file."""
    chunk = stream.read(_CHUNK)
    if chunk.startswith(codecs.BOM_UTF8):
        chunk = chunk[len(codecs.BOM_UTF8) :]
    while chunk:
        stripped = chunk.lstrip()
        if stripped:
            return stripped[:1]
        chunk = stream.read(_CHUNK)
    return b""


def _nonblank_lines(stream: IO[bytes], n: int, max_bytes: int) -> list[bytes]:
    lines: list[bytes] = []
    while len(lines) < n:
        line = stream.readline(max_bytes + 1)
        if not line:
            break
        if line.strip():
            lines.append(line)
    return lines


def detect_format(name: str, stream: IO[bytes], max_record_bytes: int = MAX_RECORD_BYTES) -> str:
    """The format of a seekable binary stream from its name and its first bytes.

    Raises DataError for an unknown extension, an empty file, or content that contradicts the
    extension. A `.json` file holding JSON Lines (two or more objects, one per line) is read as
    JSON Lines; one object alone stays a JSON document (which must be an array)."""
    suffix = Path(name).suffix.lower()
    fmt = EXTENSIONS.get(suffix)
    if fmt is None:
        has = f"the extension {_shown(suffix)!r}" if suffix else "no extension"
        raise DataError(
            f"unknown file type: {_shown(name)!r} has {has}; accepted: "
            f"{', '.join(EXTENSIONS)} (a JSON array, JSON Lines or CSV)"
        )
    start = stream.tell()
    try:
        first = _first_byte(stream)
        if not first:
            raise DataError("the file is empty")
        if fmt == "csv" and first in (b"[", b"{"):
            raise DataError(
                "the file is named .csv but holds JSON; name it .json (an array of records) "
                "or .jsonl (one record per line)"
            )
        if fmt == "jsonl" and first == b"[":
            raise DataError(f"the file is named {suffix} but holds a JSON array; name it .json")
        if fmt == "json" and first == b"{":
            stream.seek(start)
            lines = _nonblank_lines(stream, 2, max_record_bytes)
            if len(lines) == 2 and lines[1].lstrip().startswith(b"{"):
                try:
                    one = json.loads(lines[0])
                except (ValueError, RecursionError):
                    one = None
                if isinstance(one, dict):
                    return "jsonl"
        return fmt
    finally:
        stream.seek(start)


# --- raw records, one at a time ---------------------------------------------------------------
def _text_lines(stream: IO[bytes], max_bytes: int) -> Iterator[str]:
    """Lines split on \\n only (a \\r stays in its line), each decoded and bounded."""
    lineno = 0
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        lineno += 1
        if lineno == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        if len(line) > max_bytes:
            raise _Unreadable(
                f"line {lineno} is longer than {max_bytes:,} bytes, the limit for one record"
            )
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _Unreadable(
                f"the file is not UTF-8 text (line {lineno}: invalid byte at column {e.start + 1})"
            ) from None


def _iter_json_lines(
    stream: IO[bytes], max_bytes: int
) -> Iterator[tuple[int | None, Any | Problem]]:
    decoder = _json_decoder()
    scan = decoder.scan_once  # type: ignore[attr-defined]  # set in __init__, not in the stubs
    lines = _text_lines(stream, max_bytes)
    row = lineno = 0
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except _Unreadable as e:
            yield row + 1, Problem(row + 1, None, str(e))
            return
        lineno += 1
        if line.isspace():
            continue
        row += 1
        try:  # the scanner itself: decode() costs more than the scan of a small record
            value, end = scan(line, 0)
            plain = end == len(line) or line[end:].isspace()
        except (ValueError, StopIteration, RecursionError):
            plain = False
        if not plain:  # leading blanks, or a problem: decode() says which
            try:
                value = decoder.decode(line)
            except json.JSONDecodeError as e:
                message = f"is not valid JSON: {_json_message(e)} (column {e.colno})"
                value = Problem(row, None, f"line {lineno} {message}")
            except RecursionError:
                value = Problem(row, None, f"line {lineno} is nested too deeply (records are flat)")
        yield row, value


_CSV_MESSAGES = {
    "field larger than field limit": f"a field is longer than {MAX_FIELD_CHARS:,} characters",
    "new-line character seen in unquoted field": (
        "a bare carriage return (\\r) inside an unquoted field; quote the field, "
        "or end lines with \\n or \\r\\n"
    ),
}


def _iter_csv(stream: IO[bytes], max_bytes: int) -> Iterator[tuple[int | None, Any | Problem]]:
    size = 0  # characters of the record being read, to bound it across quoted line breaks

    def lines() -> Iterator[str]:
        nonlocal size
        for line in _text_lines(stream, max_bytes):
            size += len(line)
            if size > max_bytes:
                raise _Unreadable(f"the record is longer than {max_bytes:,} bytes, the limit")
            yield line

    reader = csv.reader(lines())
    row = 0
    header: list[str] | None = None
    while True:
        size = 0
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (csv.Error, _Unreadable) as e:
            text = str(e)
            text = next((m for k, m in _CSV_MESSAGES.items() if text.startswith(k)), text)
            where = f"CSV line {reader.line_num}: " if isinstance(e, csv.Error) else ""
            at = None if header is None else row + 1
            yield at, Problem(at, None, f"{where}{text}")
            return
        if not cells:
            continue  # blank line
        if header is None:
            header = cells
            problem = _csv_header_problem(header)
            if problem:
                yield None, problem
                return
            continue
        row += 1
        if len(cells) > len(header):
            yield (
                row,
                Problem(
                    row, None, f"the row has {len(cells)} columns; the header has {len(header)}"
                ),
            )
            continue
        yield row, dict(zip(header, cells, strict=False))  # a short row lacks its last columns


def _csv_header_problem(header: list[str]) -> Problem | None:
    repeated = [c for c, n in Counter(header).items() if n > 1]
    if repeated:
        return Problem(None, _shown(repeated[0]), "the CSV header repeats this column")
    missing = [f for f in REQUIRED if f not in header]
    if missing:
        found = ", ".join(_shown(c) for c in header[:20]) or "none"
        return Problem(
            None, None, f"CSV header lacks column(s) {', '.join(missing)}; found: {found}"
        )
    unknown = [c for c in header if c not in FIELDS]
    if unknown:
        return Problem(
            None, _shown(unknown[0]), f"unknown field (CSV column); allowed: {', '.join(FIELDS)}"
        )
    return None


class _TextBuffer:
    """The decoded text of a binary stream read in chunks; `text[pos:]` is not consumed yet."""

    def __init__(self, stream: IO[bytes]):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""
        self.pos = 0
        self.eof = False
        self.offset = 0  # bytes read so far
        self.line = 1  # line number of text[0]
        self.column = 0  # its column, 0-based
        self.unreadable = ""  # why the text ends before the file does

    def more(self, want: int = _CHUNK) -> bool:
        """Reads about `want` more bytes (dropping what was consumed); False at the end."""
        if self.eof:
            return False
        data = self.stream.read(want)
        skip = len(codecs.BOM_UTF8) if self.offset == 0 and data.startswith(codecs.BOM_UTF8) else 0
        try:
            chunk = self.decoder.decode(data[skip:], final=not data)
            self.eof = not data
        except UnicodeDecodeError as e:
            # Keep the text before the bad byte and end there: the record it falls in is the
            # one reported.
            chunk = bytes(e.object[: e.start]).decode("utf-8")
            self.unreadable = (
                f"the file is not UTF-8 text (invalid byte near offset {self.offset + e.start})"
            )
            self.eof = True
        self.offset += len(data)
        newlines = self.text.count("\n", 0, self.pos)
        if newlines:
            self.line += newlines
            self.column = self.pos - self.text.rfind("\n", 0, self.pos) - 1
        else:
            self.column += self.pos
        self.text = self.text[self.pos :] + chunk
        self.pos = 0
        return not self.eof

    def skip_ws(self) -> str:
        """Skips whitespace; returns the next character ("" at the end)."""
        while True:
            self.pos = _JSON_WS.match(self.text, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.text) or not self.more():
                return self.text[self.pos : self.pos + 1]

    def where(self, index: int) -> str:
        newlines = self.text.count("\n", 0, index)
        if not newlines:
            return f"line {self.line} column {self.column + index + 1}"
        return f"line {self.line + newlines} column {index - self.text.rfind(chr(10), 0, index)}"

    def value(self, decoder: json.JSONDecoder, max_chars: int) -> tuple[Any, str | None]:
        """The JSON value at `pos`, read on until it is complete; (value, None) or (None, why)."""
        while True:
            try:
                value, end = decoder.raw_decode(self.text, self.pos)
                if end - self.pos > max_chars:
                    return None, f"the record is longer than {max_chars:,} bytes, the limit"
                if end < len(self.text) or self.eof:  # a number may go on in the next chunk
                    self.pos = end
                    return value, None
            except json.JSONDecodeError as e:
                if self.eof:
                    return None, f"not valid JSON: {_json_message(e)} at {self.where(e.pos)}"
            except RecursionError:
                return None, "nested too deeply (records are flat objects of text fields)"
            span = len(self.text) - self.pos
            if span > max_chars:
                return None, f"the record is longer than {max_chars:,} bytes, the limit"
            self.more(max(_CHUNK, span))  # doubling what is held keeps re-parsing linear


def _iter_json_array(
    stream: IO[bytes], max_bytes: int
) -> Iterator[tuple[int | None, Any | Problem]]:
    decoder = _json_decoder()
    buf = _TextBuffer(stream)
    row = 0
    c = buf.skip_ws()
    if c != "[":
        why = "a JSON dataset must be an array of records (JSON Lines go in a .jsonl file)"
        if c != "{":
            why = buf.value(decoder, max_bytes)[1] or why
        yield None, Problem(None, None, buf.unreadable or why)
        return
    buf.pos += 1
    if buf.skip_ws() == "]":
        buf.pos += 1
    else:
        while True:
            row += 1
            buf.skip_ws()
            value, failure = buf.value(decoder, max_bytes)
            if failure is not None:
                yield row, Problem(row, None, buf.unreadable or failure)
                return
            yield row, value
            c = buf.skip_ws()
            buf.pos += 1
            if c == "]":
                break
            if c != ",":
                why = "the array is not closed" if not c else "expecting ',' or ']'"
                why = buf.unreadable or f"not valid JSON: {why} at {buf.where(buf.pos - 1)}"
                at = row + 1 if c else row  # the record that could not start, or the last
                yield at, Problem(at, None, why)
                return
    if buf.skip_ws() or buf.unreadable:
        why = buf.unreadable or f"not valid JSON: extra data at {buf.where(buf.pos)}"
        yield None, Problem(None, None, why)


def iter_raw_records(
    stream: IO[bytes], fmt: str, max_record_bytes: int = MAX_RECORD_BYTES
) -> Iterator[tuple[int | None, Any | Problem]]:
    """(row, raw record) one at a time, or (row, Problem) where a record cannot be read; after
    a problem that leaves the rest unreadable (broken JSON array, CSV structure) it ends."""
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    read = {"json": _iter_json_array, "jsonl": _iter_json_lines, "csv": _iter_csv}[fmt]
    return read(stream, max_record_bytes)


# --- validation -------------------------------------------------------------------------------
class RecordChecker:
    """The rules for one record at a time. Linear: it keeps a 16-byte digest per distinct
    record (for duplicates), never the records."""

    def __init__(self, *, require_answer: bool = False):
        self.required = REQUIRED + (("answer",) if require_answer else ())
        self.require_answer = require_answer
        self._seen: dict[bytes, int] = {}

    def check(self, row: int, rec: Any) -> list[Problem]:
        fast = self._check_plain(row, rec)
        return fast if fast is not None else self._check_all(row, rec)

    def _check_plain(self, row: int, rec: Any) -> list[Problem] | None:
        """The common record (known fields, all text, nothing wrong) in few operations; None
        for anything else, which `_check_all` then explains."""
        if type(rec) is not dict or not rec.keys() <= _FIELD_SET:
            return None
        get = rec.get
        ins, inp, out, ans = get("instruction"), get("input"), get("output"), get("answer")
        if type(ins) is not str or type(out) is not str or not ins or not out:
            return None
        if ins.isspace() or out.isspace():
            return None
        inp = "" if inp is None else inp
        if type(inp) is not str or (ans is None and self.require_answer):
            return None
        if ans is not None and type(ans) is not str:
            return None
        if max(len(ins), len(inp), len(out), len(ans or "")) > MAX_FIELD_CHARS:
            return None
        key = "\0".join((ins, inp, out))  # two NULs exactly, unless the text has one
        if key.count("\0") != 2 or _SURROGATES.search(key) or _BAD_CHARS.search(ans or ""):
            return None
        return self._duplicate(row, key)

    def _duplicate(self, row: int, key: str) -> list[Problem]:
        first = self._seen.setdefault(hashlib.blake2b(key.encode(), digest_size=16).digest(), row)
        if first != row:
            return [Problem(row, None, f"duplicate of row {first}", "warning")]
        return []

    def _check_all(self, row: int, rec: Any) -> list[Problem]:
        if isinstance(rec, Problem):
            return [rec]
        if isinstance(rec, RefusedNumber):
            return [Problem(row, None, rec.message)]
        if not isinstance(rec, dict):
            return [Problem(row, None, f"a record must be an object, got {_kind(rec)}")]
        problems: list[Problem] = []
        unknown = [k for k in rec if k not in FIELDS]
        if unknown:
            name = _shown(str(min(unknown, key=str)))
            problems.append(Problem(row, name, f"unknown field; allowed: {', '.join(FIELDS)}"))
        for name in FIELDS:
            value = rec.get(name)
            if value is None:
                if name in self.required:
                    problems.append(Problem(row, name, "missing"))
            elif isinstance(value, RefusedNumber):
                problems.append(Problem(row, name, value.message))
            elif (
                name == "answer" and isinstance(value, int | float) and not isinstance(value, bool)
            ):
                if not math.isfinite(value):
                    problems.append(Problem(row, name, "must be a finite number"))
            elif not isinstance(value, str):
                problems.append(Problem(row, name, f"must be text, got {_kind(value)}"))
            elif len(value) > MAX_FIELD_CHARS:
                problems.append(
                    Problem(row, name, f"is {len(value):,} characters; at most {MAX_FIELD_CHARS:,}")
                )
            elif bad := _BAD_CHARS.search(value):
                problems.append(Problem(row, name, _bad_char(bad.group())))
            elif name in self.required and not value.strip():
                severity = "warning" if name == "output" else "error"
                problems.append(Problem(row, name, "is empty", severity))
        if any(p.severity == "error" for p in problems):
            return problems
        # NUL never occurs in accepted text, so it separates the fields unambiguously.
        key = "\0".join(rec.get(f) or "" for f in ("instruction", "input", "output"))
        return problems + self._duplicate(row, key)


def validate_records(
    records: list[Any], *, require_answer: bool = False, max_problems: int = MAX_PROBLEMS
) -> list[Problem]:
    """Shape, required fields, types, empty and duplicate records; at most `max_problems` errors
    (warnings are all reported, since they decide which records are dropped)."""
    if not records:
        return [Problem(None, None, "the dataset has no records")]
    checker = RecordChecker(require_answer=require_answer)
    problems: list[Problem] = []
    errors = 0
    for i, rec in enumerate(records, 1):
        if errors >= max_problems:
            break
        found = checker.check(i, rec)
        errors += sum(p.severity == "error" for p in found)
        problems += found
    return problems


def drop_warned(records: list[Any], problems: list[Problem]) -> list[Any]:
    """The records left once those with warnings (duplicates, empty answers) are dropped."""
    dropped = {p.row for p in problems if p.severity == "warning"}
    return [r for i, r in enumerate(records, 1) if i not in dropped]


def normalise(rec: dict[str, Any]) -> dict[str, str]:
    out = {f: "" if rec.get(f) is None else str(rec[f]) for f in FIELDS}
    return out


class DatasetReader:
    """One pass over a dataset file (a seekable binary stream): iterating yields the records to
    keep, normalised, while no error has been found.

    Afterwards `errors` holds the errors (reading stops at `max_problems`, then `capped` is
    set), `dropped` counts records dropped with a warning (duplicates, empty outputs; the first
    few are in `warnings`), `rows` the records read. With `max_rows`, reading stops once the
    file has more records (`over_row_limit`). Raises DataError for a file whose type is wrong.
    """

    def __init__(
        self,
        stream: IO[bytes],
        name: str,
        *,
        require_answer: bool = False,
        max_problems: int = MAX_PROBLEMS,
        max_rows: int | None = None,
        max_record_bytes: int = MAX_RECORD_BYTES,
    ):
        self.format = detect_format(name, stream, max_record_bytes)
        self._stream = stream
        self._checker = RecordChecker(require_answer=require_answer)
        self._max_problems = max_problems
        self._max_rows = max_rows
        self._max_record_bytes = max_record_bytes
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.rows = self.kept = self.dropped = 0
        self.capped = self.over_row_limit = False

    def __iter__(self) -> Iterator[dict[str, str]]:
        for row, item in iter_raw_records(self._stream, self.format, self._max_record_bytes):
            if row is None:
                self.errors.append(item)
                continue
            self.rows = max(self.rows, row)
            if self._max_rows is not None and self.rows > self._max_rows:
                self.over_row_limit = True
                return
            found = self._checker.check(row, item)
            if not found:
                self.kept += 1
                if not self.errors:
                    yield normalise(cast(dict[str, Any], item))  # no problem: a plain record
                continue
            errors = [p for p in found if p.severity == "error"]
            if errors:
                self.errors += errors[: self._max_problems - len(self.errors)]
                if len(self.errors) >= self._max_problems:
                    self.capped = True
                    return
            else:
                self.dropped += 1
                if len(self.warnings) < 5:
                    self.warnings += found
        if not self.rows and not self.errors:
            self.errors.append(Problem(None, None, "the dataset has no records"))


def load_records(path: str | Path, *, require_answer: bool = False) -> list[dict[str, str]]:
    """Reads and validates a dataset file; raises DataError listing the first errors.

    Records with warnings (duplicates, empty outputs) are dropped and logged."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"dataset file not found: {p}")
    with p.open("rb") as f:
        try:
            reader = DatasetReader(f, p.name, require_answer=require_answer)
        except DataError as e:
            raise DataError(f"{p}: {e}") from None
        kept = list(reader)
    if reader.errors:
        shown = "; ".join(str(x) for x in reader.errors[:5])
        more = " (and more)" if len(reader.errors) > 5 or reader.capped else ""
        raise DataError(f"{p}: {shown}{more}")
    if reader.dropped:
        log.warning(
            "%s: dropped %d record(s): %s",
            p,
            reader.dropped,
            "; ".join(str(x) for x in reader.warnings[:3]),
        )
    if not kept:
        raise DataError(f"{p}: no usable records left after dropping duplicates and empty outputs")
    return kept


def split_validation(
    records: list[dict[str, str]], size: int, seed: int
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A seeded hold-out of `size` records (kept below half of the data; schedule.validation_size
    turns the config's fraction or count into `size`)."""
    size = min(size, len(records) // 2)
    if size <= 0:
        return list(records), []
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    held = set(order[:size])
    return [r for i, r in enumerate(records) if i not in held], [records[i] for i in sorted(held)]


def tokenize_example(
    rec: dict[str, str],
    tokenizer: Any,
    *,
    cutoff_len: int,
    train_on_inputs: bool,
    template: str = "alpaca",
) -> dict[str, list[int]]:
    """prompt + output + EOS as ids; prompt tokens masked out of the loss unless train_on_inputs.

    The prompt and the answer are tokenised separately and joined, so the prompt's ids are
    exactly those the evaluator feeds at generation time (where the template has one form for
    both; `llm-adapters` trains on the paper's training form, as the paper does).
    """
    prompt = build_prompt(
        rec["instruction"], rec.get("input", ""), template, tokenizer, form="training"
    )
    prompt_ids = tokenizer(prompt, add_special_tokens=template != "chat")["input_ids"]
    answer_ids = tokenizer(rec["output"], add_special_tokens=False)["input_ids"]
    ids = (prompt_ids + answer_ids + [tokenizer.eos_token_id])[:cutoff_len]
    labels = list(ids)
    if not train_on_inputs:
        n = min(len(prompt_ids), len(ids))
        labels[:n] = [IGNORE_INDEX] * n
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}


def token_statistics(
    records: Iterable[dict[str, str]], tokenizer: Any, template: str = "alpaca"
) -> dict[str, Any]:
    """Token lengths (prompt + output) for a dataset summary: min, mean, p50, p95, max, histogram."""
    lengths = sorted(
        len(
            tokenize_example(
                r, tokenizer, cutoff_len=10**9, train_on_inputs=True, template=template
            )["input_ids"]
        )
        for r in records
    )
    if not lengths:
        return {"count": 0}
    n = len(lengths)
    top = lengths[-1]
    width = max(1, -(-top // 20))
    hist = [0] * (top // width + 1)
    for length in lengths:
        hist[length // width] += 1
    return {
        "count": n,
        "min": lengths[0],
        "max": top,
        "mean": sum(lengths) / n,
        "p50": lengths[n // 2],
        "p95": lengths[min(n - 1, int(n * 0.95))],
        "histogram": {"bin_width": width, "counts": hist},
    }
