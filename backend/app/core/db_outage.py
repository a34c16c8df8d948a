"""Telling a database outage from a bug, and riding one out.

Only connection-class errors count as an outage: the server refuses or drops connections, the
pool cannot hand one out, SQLite cannot open or lock its file. An integrity error, a missing
table or bad SQL is a bug and is never retried or answered with 503."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy import text

from .db import get_engine

log = logging.getLogger(__name__)
T = TypeVar("T")

# What SQLite says when its file is busy or gone; its other OperationalErrors are bugs
# ("no such table", syntax errors).
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database", "disk i/o error")


def database_unavailable(error: BaseException) -> bool:
    """True when `error` means the database cannot be reached (worth a retry or a 503)."""
    if isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True  # pool checkout failed or timed out
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError):
        return False  # IntegrityError, ProgrammingError, DataError...: the statement is wrong
    if isinstance(error.orig, sqlite3.Error):
        message = str(error.orig).lower()
        return any(text in message for text in _SQLITE_UNAVAILABLE)
    # psycopg: OperationalError is connection refused/closed, server shutting down,
    # "too many clients"; InterfaceError a connection already closed.
    return True


def ping_database(url: str) -> None:
    """Raises unless the database answers a trivial query."""
    with get_engine(url).connect() as connection:
        connection.execute(text("SELECT 1"))


class Backoff:
    """Delays between retries: `first`, doubling up to `longest`."""

    def __init__(self, first: float = 0.5, longest: float = 5.0):
        self.first, self.longest = first, longest
        self.delay = first

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.delay * 2, self.longest)
        return delay

    def reset(self) -> None:
        self.delay = self.first


def retry_while_unavailable(
    write: Callable[[], T],
    *,
    what: str,
    give_up_after_s: float,
    backoff: Backoff | None = None,
) -> T:
    """Calls `write` until it succeeds, retrying (with backoff) only while the database is
    unreachable; any other error, or an outage longer than `give_up_after_s`, is raised."""
    backoff = backoff or Backoff()
    started = time.monotonic()
    while True:
        try:
            return write()
        except Exception as e:
            if not database_unavailable(e):
                raise
            waited = time.monotonic() - started
            if waited >= give_up_after_s:
                log.error("%s: database unreachable for %.0f s, giving up", what, waited)
                raise
            delay = min(backoff.next(), max(0.05, give_up_after_s - waited))
            log.warning("%s: database unreachable (%s); retrying in %.1f s", what, _short(e), delay)
            time.sleep(delay)


def _short(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    return str(orig).strip().splitlines()[0][:200] if str(orig).strip() else type(orig).__name__
