"""The one-click demo: the engine's synthetic arithmetic recipe (worker/engine/demo.py) as an
ordinary job of the team, so a fresh studio shows a run that visibly learns.

The service writes what the job needs, once: the held-out problems as the benchmark
`demo-arithmetic` (in the installation's benchmark store, like the paper's sets) and the
training problems as a dataset of the team; then it submits the recipe through the same
`create_job` as the API, so the job is validated, queued and run like any other."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.engine.demo import BENCHMARK_NAME, demo_job_config, demo_split
from worker.engine.evaluation import benchmark_file

from ..core.config import Settings
from ..core.errors import ConflictError
from ..models import BaseModelEntry, Benchmark, Dataset, Job, User
from . import storage
from .datasets import dataset_statistics
from .jobs import create_job

DEMO_MODEL = "demo:smollm2-135m"
DATASET_NAME = "demo-arithmetic (480 word problems)"


def _ensure_benchmark(session: Session, settings: Settings) -> None:
    _, held_out = demo_split()
    path = benchmark_file(BENCHMARK_NAME, settings.benchmarks_store)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(held_out, indent=1) + "\n", encoding="utf-8")
    if session.scalar(select(Benchmark).where(Benchmark.name == BENCHMARK_NAME)) is None:
        session.add(
            Benchmark(
                name=BENCHMARK_NAME,
                suite="demo",
                row_count=len(held_out),
                source="worker/engine/demo.py",
            )
        )
        session.flush()


def _ensure_dataset(session: Session, settings: Settings, user: User, team_id: int) -> Dataset:
    found = session.scalar(
        select(Dataset).where(Dataset.team_id == team_id, Dataset.name == DATASET_NAME)
    )
    if found is not None:
        return found
    train, _ = demo_split()
    rel = storage.write_dataset_file(settings, team_id, train)
    try:
        ds = Dataset(
            team_id=team_id,
            owner_id=user.id,
            name=DATASET_NAME,
            filename="demo-arithmetic.jsonl",
            format="jsonl",
            path=rel,
            size_bytes=(settings.storage_dir / rel).stat().st_size,
            row_count=len(train),
            dropped_rows=0,
            stats=dataset_statistics(settings, train),
        )
        session.add(ds)
        session.flush()
    except BaseException:
        storage.delete_stored(settings, rel)  # no orphan file when the row is not stored
        raise
    return ds


def start_demo(session: Session, settings: Settings, user: User, team_id: int) -> Job:
    """Queues the demo job for the team (its data written first, once)."""
    if session.scalar(select(BaseModelEntry).where(BaseModelEntry.reference == DEMO_MODEL)) is None:
        raise ConflictError(
            f"the demo model {DEMO_MODEL} is not in the catalogue; an administrator adds it "
            f'with POST /api/v1/models {{"reference": "{DEMO_MODEL}"}} (studio up does)'
        )
    _ensure_benchmark(session, settings)
    dataset = _ensure_dataset(session, settings, user, team_id)
    return create_job(session, settings, user, team_id, demo_job_config(dataset.id))
