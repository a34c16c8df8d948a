"""schemathesis hooks for tests/backend/test_api_fuzz.py (loaded through SCHEMATHESIS_HOOKS).

Generated ids would almost all be 404s; an id in range is replaced by a seeded object's, so
operations get past the lookup. Out-of-range ids (the negative cases) are sent as generated."""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

from backend.app.schemas import MAX_ID

# {"team_id": 1, ...}, and per operation ("DELETE /api/v1/jobs/{job_id}") ids of its own, so
# that deleting or revoking one object leaves the others for the rest of the run.
IDS: dict[str, int] = json.loads(os.environ.get("STUDIO_FUZZ_IDS", "{}"))
PER_OPERATION: dict[str, dict[str, int]] = json.loads(
    os.environ.get("STUDIO_FUZZ_OPERATION_IDS", "{}")
)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    params = case.path_parameters
    if not params:
        return
    ids = {**IDS, **PER_OPERATION.get(f"{case.method.upper()} {case.path}", {})}
    for name, value in params.items():
        # The coverage phase sends path values as text ("7"), the fuzzing phase as integers.
        number = (
            int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value
        )
        if name in ids and type(number) is int and 1 <= number <= MAX_ID:
            params[name] = ids[name] if isinstance(value, int) else str(ids[name])
