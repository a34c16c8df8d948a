"""The backend's error kinds. Services and routes raise them; `main.py` turns each kind into
its status code (one handler per kind), with the API's error body `{"detail": ...}`.

Input errors are the engine's own: `ConfigError` and `DataError` (both 422), raised by the
engine and by the backend's validation of what a client sent."""

from __future__ import annotations


class NotFoundError(LookupError):
    """The object does not exist, or belongs to another team (404); names what was looked for."""


class ConflictError(Exception):
    """Refused in the object's current state (409), e.g. cancelling a job that already ended."""
