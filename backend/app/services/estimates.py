"""Estimates before launch: the engine's estimate_job with what only the service knows — the
registered model's config, the dataset's size and token lengths, and the device a worker
measured (the latest report; this machine's own measurement until a worker has reported).

torch and transformers load on the first estimate, not when the API starts."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.engine.config import JobSettings
from worker.engine.errors import ConfigError
from worker.engine.schedule import validation_size

from ..core.errors import NotFoundError
from ..models import BaseModelEntry, Dataset, DeviceProfile

log = logging.getLogger(__name__)

_PROFILE_FIELDS = (
    "kind",
    "name",
    "dtype",
    "matmul_flops",
    "memory_bytes",
    "runtime_bytes",
    "threads",
)


def device_profile(session: Session) -> dict[str, Any]:
    """The device jobs run on: the latest a worker reported (GPU reports first: the queue is
    named for them), else this machine measured once (`source` says which)."""
    rows = session.scalars(select(DeviceProfile).order_by(DeviceProfile.measured_at.desc())).all()
    if rows:
        row = next((r for r in rows if r.kind == "cuda"), rows[0])
        out = {key: getattr(row, key) for key in _PROFILE_FIELDS}
        return {**out, "source": "worker", "worker": row.worker, "measured_at": row.measured_at}
    from worker.engine.estimate import local_device_profile

    return {**local_device_profile().to_dict(), "source": "api", "worker": None}


@lru_cache(maxsize=256)
def _estimate(
    model_config_json: str,
    settings_json: str,
    profile_json: str,
    train_examples: int | None,
    mean_tokens: float | None,
) -> dict[str, Any]:
    """Cached by everything it depends on: a form that asks again costs nothing."""
    from worker.engine.estimate import DeviceProfile as EngineProfile
    from worker.engine.estimate import estimate_job

    result = estimate_job(
        JobSettings.model_validate(json.loads(settings_json)),
        json.loads(model_config_json),
        EngineProfile.from_dict(json.loads(profile_json)),
        train_examples=train_examples,
        mean_tokens=mean_tokens,
    )
    return result.to_dict()


def estimate(
    session: Session, team_id: int | None, settings: JobSettings, dataset_id: int | None
) -> dict[str, Any]:
    """The estimate of a job config (JobEstimatePublic's shape). NotFoundError for a model not
    in the catalogue or a dataset not in the team; ConfigError for an impossible config."""
    entry = session.scalar(
        select(BaseModelEntry).where(BaseModelEntry.reference == settings.base_model)
    )
    if entry is None:
        raise NotFoundError(f"base model {settings.base_model!r} is not registered")
    train_examples: int | None = None
    mean_tokens: float | None = None
    if dataset_id is not None:
        ds = session.get(Dataset, dataset_id)
        if ds is None or (team_id is not None and ds.team_id != team_id):
            raise NotFoundError(f"dataset {dataset_id} not found in this team")
        held = validation_size(settings.training.val_set_size, ds.row_count)
        train_examples = ds.row_count - held
        stats = ds.stats or {}
        if stats.get("tokenizer") not in (None, "bytes") and stats.get("mean"):
            mean_tokens = float(stats["mean"])
    profile = device_profile(session)
    engine_profile = {k: v for k, v in profile.items() if k in _PROFILE_FIELDS}
    settings_data = settings.model_dump(mode="json", include=set(JobSettings.model_fields))
    result = _estimate(
        json.dumps(entry.model_config_data, sort_keys=True),
        json.dumps(settings_data, sort_keys=True),
        json.dumps(engine_profile, sort_keys=True),
        train_examples,
        mean_tokens,
    )
    return {**result, "device": profile, "train_examples": train_examples}


def estimate_for_new_job(
    session: Session, team_id: int, settings: JobSettings, dataset_id: int | None
) -> dict[str, Any] | None:
    """The estimate stored on a job at creation; a config the estimator cannot size (a model
    class that cannot be built without weights) still makes a job, without one."""
    try:
        data = estimate(session, team_id, settings, dataset_id)
    except ConfigError as e:
        log.info("no estimate for the new job: %s", e)
        return None
    except Exception:  # noqa: BLE001 - a failed estimate must never refuse a valid job
        log.exception("the estimate of a new job failed")
        return None
    return json.loads(json.dumps(data, default=str))  # datetimes as text, for the JSON column
