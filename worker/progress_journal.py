"""The job's progress journal: what the job process has to tell the database, kept on disk until
the database has it, so an outage loses nothing.

One JSON object a line, appended: an entry (`{"seq": N, "kind": ..., ...}`) before its write is
tried, and `{"ack": [N, ...]}` once the database holds those entries. Each batch of lines is
fsync'd together. Writes are idempotent (metric and eval points replace those of the same step),
so replaying an entry whose ack was lost stores nothing twice."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

JOURNAL_NAME = "progress-journal.jsonl"


class ProgressJournal:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.seq = max((e["seq"] for e in self._entries()), default=0)
        self._file = self.path.open("a", encoding="utf-8")
        if self.path.stat().st_size and not self.path.read_bytes().endswith(b"\n"):
            self._write([])  # a torn last line stays alone on its line

    def _entries(self) -> list[dict[str, Any]]:
        return [line for line in _read_lines(self.path) if "seq" in line]

    def _write(self, lines: list[dict[str, Any]]) -> None:
        text = "".join(json.dumps(line, default=str) + "\n" for line in lines)
        self._file.write(text or "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, kind: str, **data: Any) -> int:
        """Keeps one entry on disk (fsync'd); returns its sequence number."""
        self.seq += 1
        self._write([{"seq": self.seq, "kind": kind, **data}])
        return self.seq

    def ack(self, seqs: list[int]) -> None:
        """Marks entries as stored in the database."""
        if seqs:
            self._write([{"ack": sorted(seqs)}])

    def pending(self) -> list[dict[str, Any]]:
        """Entries not yet acknowledged, oldest first."""
        lines = _read_lines(self.path)
        acked = {n for line in lines for n in line.get("ack", ())}
        return [line for line in lines if "seq" in line and line["seq"] not in acked]

    def close(self) -> None:
        self._file.close()


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    lines = []
    with path.open(encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                lines.append(json.loads(text))
            except json.JSONDecodeError:
                # Only a torn last line (the process died mid-write) is expected here; its
                # entry was never tried against the database either.
                log.warning("%s line %d is not JSON; skipped", path, number)
    return lines


def merge_progress(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Progress entries as one write: fields of later entries win, points and lines in order."""
    merged: dict[str, Any] = {"fields": {}, "metrics": [], "evals": [], "logs": []}
    for e in entries:
        merged["fields"].update(e.get("fields", {}))
        for key in ("metrics", "evals", "logs"):
            merged[key].extend(e.get(key, ()))
    merged["logs"] = [(level, message) for level, message in merged["logs"]]
    return merged


def replay(settings: Any, job_id: int, journal: ProgressJournal) -> int:
    """Writes a previous job process's unacknowledged progress to the database; returns how
    many entries. Its `results` and `finish` entries are acknowledged without being applied:
    the process replaying is running the job again and will write its own."""
    from backend.app.services.job_updates import record_progress

    entries = journal.pending()
    progress = [e for e in entries if e["kind"] == "progress"]
    if progress:
        record_progress(settings, job_id, **merge_progress(progress))
    journal.ack([e["seq"] for e in entries])
    return len(entries)
