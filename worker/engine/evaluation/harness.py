"""lm-evaluation-harness tasks on an already-loaded model (base model plus adapter).

The harness does the work (its task configs, prompts, filters, metrics, aggregation): this
module only hands it the model through its `HFLM` wrapper, points its `TaskManager` at a local
task folder, keeps it offline, and reads its results into one score per task. Scores are
stored like the paper's benchmarks: benchmark `harness:<task>`, suite `harness`, scoring rule
`harness:<metric>`."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import HarnessConfig
from ..errors import ConfigError

SUITE = "harness"
PREFIX = "harness:"
# The harness's results carry these beside the metrics (`metric,filter` keys).
_NOT_METRICS = {"alias", "name", "sample_len", "samples"}
# What the runner sets while the harness runs: task data must be local, never a hub download.
OFFLINE_ENV = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}


@dataclass
class HarnessScore:
    task: str
    metric: str  # as the harness names it, filter included: "exact_match,strict-match"
    value: float
    stderr: float | None
    samples: int

    @property
    def benchmark(self) -> str:
        return PREFIX + self.task

    @property
    def rule(self) -> str:
        return PREFIX + self.metric.split(",", 1)[0]

    @property
    def correct(self) -> int:
        """Examples right, for the results table; the mean of a 0/1 metric times the count."""
        return round(self.value * self.samples)


@dataclass
class HarnessResult:
    scores: list[HarnessScore]
    seconds: float
    raw: dict[str, Any]  # simple_evaluate's "results", "configs", "n-samples" (JSON-safe)


@contextlib.contextmanager
def _offline_in(folder: Path | None) -> Iterator[None]:
    """Offline hub access, and relative `data_files` read from the task folder."""
    saved = {k: os.environ.get(k) for k in OFFLINE_ENV}
    os.environ.update(OFFLINE_ENV)
    # `datasets` reads these once at import; a process that imported it already is told too.
    try:
        import datasets.config as dconfig

        dconfig.HF_HUB_OFFLINE = True
        dconfig.HF_DATASETS_OFFLINE = True
    except ImportError:  # the harness brings datasets; without it, the import below says so
        pass
    try:
        with contextlib.chdir(folder) if folder else contextlib.nullcontext():
            yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def task_manager(include_path: str | None) -> Any:
    """The harness's task index: only the given folder when there is one (indexing the
    harness's ~15,000 built-in tasks takes ~25 s on a 2-core machine, and those read hub data,
    which the offline runner can use only from a local cache), else the built-in tasks."""
    from lm_eval.tasks import TaskManager

    if include_path is None:
        return TaskManager()
    if not Path(include_path).is_dir():
        raise ConfigError(f"evaluation.harness.include_path: no such folder: {include_path}")
    return TaskManager(include_path=str(Path(include_path).resolve()), include_defaults=False)


def check_tasks(config: HarnessConfig, manager: Any = None) -> Any:
    """Refuses task names the harness (with the include path) does not know, before training;
    returns the task manager (indexing the harness's task folders takes seconds: build it once)."""
    manager = manager or task_manager(config.include_path)
    unknown = [t for t in config.tasks if t not in manager.all_tasks]
    if unknown:
        raise ConfigError(
            f"evaluation.harness.tasks: unknown task(s) {', '.join(unknown)}; define them in a "
            "task YAML under evaluation.harness.include_path (tasks read local data only)"
        )
    return manager


def _pick_metric(task: str, values: dict[str, Any], wanted: str | None) -> str:
    metrics = [
        k
        for k, v in values.items()
        if k not in _NOT_METRICS and "_stderr," not in k and isinstance(v, int | float)
    ]
    if wanted is None:
        if not metrics:
            raise ConfigError(f"harness task {task} returned no metric")
        return metrics[0]
    named = [k for k in metrics if k == wanted or k.split(",", 1)[0] == wanted]
    if not named:
        raise ConfigError(
            f"evaluation.harness.metric: task {task} has no metric {wanted!r} "
            f"(it has {', '.join(metrics)})"
        )
    return named[0]


def run_harness(model: Any, tokenizer: Any, config: HarnessConfig) -> HarnessResult:
    """Runs the tasks with `lm_eval.simple_evaluate` on `model` (a PEFT model or a plain one)."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM

    folder = Path(config.include_path).resolve() if config.include_path else None
    started = time.perf_counter()
    with _offline_in(folder):
        manager = check_tasks(config, task_manager(str(folder) if folder else None))
        model.eval()  # no dropout: the scores are the adapter's, repeatable
        lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=config.batch_size)
        out = lm_eval.simple_evaluate(
            model=lm,
            tasks=list(config.tasks),
            num_fewshot=config.num_fewshot,
            limit=config.limit,
            task_manager=manager,
            log_samples=False,
        )
    seconds = time.perf_counter() - started
    assert out is not None  # None only on ranks other than the first, and this is one process
    n_samples = out.get("n-samples", {})
    scores = []
    for task, values in out["results"].items():
        metric = _pick_metric(task, values, config.metric)
        stderr = values.get(metric.replace(",", "_stderr,", 1))
        counts = n_samples.get(task, {})
        scores.append(
            HarnessScore(
                task=task,
                metric=metric,
                value=float(values[metric]),
                stderr=float(stderr) if isinstance(stderr, int | float) else None,
                samples=int(counts.get("effective", counts.get("original", 0))),
            )
        )
    raw = {k: out.get(k) for k in ("results", "n-samples", "higher_is_better", "versions")}
    return HarnessResult(scores, seconds, raw)


def results_entries(result: HarnessResult) -> dict[str, dict[str, Any]]:
    """The scores as eval_results.json entries (what the service stores as job results)."""
    return {
        s.benchmark: {
            "accuracy": s.value,
            "correct": s.correct,
            "total": s.samples,
            "rule": s.rule,
            "suite": SUITE,
            "metric": s.metric,
            "stderr": s.stderr,
        }
        for s in result.scores
    }
