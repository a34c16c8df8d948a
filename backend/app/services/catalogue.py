"""What the forms are built from: base models, adapter methods, benchmarks (and their import).

The adapter machinery (peft, transformers, torch) is imported inside the functions that need
it, so an API process loads it on the first request that does, not at start."""

from __future__ import annotations

import json
import logging
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.engine.config import AdapterConfig
from worker.engine.errors import ConfigError, DataError
from worker.engine.evaluation import BENCHMARKS, load_benchmark
from worker.engine.families import FAMILIES, family_of, num_layers_of

from ..core.config import Settings
from ..models import BaseModelEntry, Benchmark

log = logging.getLogger(__name__)


def register_model(session: Session, reference: str, label: str | None = None) -> BaseModelEntry:
    """Reads the model's config (no weights) and stores what forms and validation need."""
    from worker.engine.models import load_model_config

    existing = session.scalar(select(BaseModelEntry).where(BaseModelEntry.reference == reference))
    if existing is not None:
        return existing
    config = load_model_config(reference)  # ConfigError for a bad reference
    family = family_of(config)  # ConfigError for an unsupported architecture
    total = _count_parameters(config.to_json_string())
    entry = BaseModelEntry(
        reference=reference,
        label=label or reference.split(":", 1)[-1],
        family=family,
        num_layers=num_layers_of(config),
        parameters=total,
        model_config_data=config.to_dict(),
    )
    session.add(entry)
    session.flush()
    return entry


@lru_cache(maxsize=64)
def _count_parameters(config_json: str) -> int | None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    data = json.loads(config_json)
    try:
        config = AutoConfig.for_model(**data)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
    except (ValueError, KeyError, TypeError) as e:
        log.warning("cannot count parameters of a %s model: %s", data.get("model_type"), e)
        return None
    return sum(p.numel() for p in model.parameters())


def methods() -> list[dict[str, Any]]:
    from worker.engine.adapters import method_catalogue

    out = []
    for spec in method_catalogue():
        words = spec["placement_words"]
        spec["words_by_family"] = {
            name: [w for w in words if w in fam.words]
            for name, fam in FAMILIES.items()
            if name not in spec["refused_families"]
        }
        out.append(spec)
    return out


def trainable_percent(trainable: int | None, base_parameters: int | None) -> float | None:
    """The one definition of the trainable share, wherever it is shown (method card, job page,
    leaderboard): trainable parameters over the BASE model's parameters (the catalogue's count),
    as the paper's tables give it, not over the model with the adapter added."""
    if trainable is None or not base_parameters:
        return None
    return 100 * trainable / base_parameters


def base_parameters(session: Session, references: set[str]) -> dict[str, int]:
    """The catalogue's parameter count of each registered model among `references`."""
    if not references:
        return {}
    rows = session.execute(
        select(BaseModelEntry.reference, BaseModelEntry.parameters).where(
            BaseModelEntry.reference.in_(references)
        )
    )
    return {ref: n for ref, n in rows if n}


def job_base_parameters(
    counts: dict[str, int], base_model: str, trainable: int | None, total: int | None
) -> int | None:
    """A job's base-model size: the catalogue's; for a model no longer registered, the job's
    total less its trainable parameters (exact for the adapters that add weights)."""
    if base_model in counts:
        return counts[base_model]
    return total - trainable if total is not None and trainable is not None else None


def parse_adapter(data: dict[str, Any]) -> AdapterConfig:
    return AdapterConfig.from_dict(data)


@lru_cache(maxsize=512)
def _estimate(config_json: str, adapter_json: str) -> int | None:
    """Builds the model on the meta device with the adapter on it; cached by (model config,
    adapter config), so a form that asks again costs nothing."""
    from worker.engine.adapters import estimate_trainable_parameters

    adapter = parse_adapter(json.loads(adapter_json))
    return estimate_trainable_parameters(adapter, json.loads(config_json))


def estimate(entry: BaseModelEntry, adapter: dict[str, Any]) -> int | None:
    return _estimate(
        json.dumps(entry.model_config_data, sort_keys=True), json.dumps(adapter, sort_keys=True)
    )


def import_benchmarks(session: Session, settings: Settings, folder: str | Path) -> list[str]:
    """Copies every benchmark found in `folder` (LLM-Adapters layout) into storage, once."""
    src = Path(folder)
    if not src.is_dir():
        raise ConfigError(f"benchmark folder not found: {src}")
    imported = []
    for name, bench in BENCHMARKS.items():
        file = src / bench.folder / "test.json"
        if not file.is_file():
            continue
        try:
            rows = load_benchmark(name, src)
        except DataError as e:
            log.warning("skipping benchmark %s: %s", name, e)
            continue
        dest = settings.benchmarks_store / bench.folder / "test.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, dest)
        row = session.scalar(select(Benchmark).where(Benchmark.name == name))
        if row is None:
            session.add(
                Benchmark(name=name, suite=bench.suite, row_count=len(rows), source=str(src))
            )
        else:
            row.row_count, row.source = len(rows), str(src)
        imported.append(name)
    if not imported:
        raise ConfigError(
            f"no benchmark sets in {src}: expected e.g. {src}/gsm8k/test.json (LLM-Adapters layout)"
        )
    session.flush()
    return imported
