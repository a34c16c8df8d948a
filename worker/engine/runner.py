"""One job from config to saved adapter: the function the CLI and the Celery task both call.

Output folder layout (the worker's artifact store keeps the same):
  config.json        the resolved config            adapter/          the adapter (PEFT layout)
  metrics.jsonl      every step / eval / validation  predictions/*.jsonl  per-sample final outputs
  eval_results.json  final accuracy per benchmark    summary.json      counts, memory, times, status
  prompts.json       the first example as trained on and as asked at evaluation (its template)
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import JobConfig
from .data import load_records, split_validation
from .errors import ConfigError
from .progress import (
    CallbackList,
    EvalInfo,
    EvalProgressInfo,
    ProgressCallback,
    StepInfo,
    ValidationInfo,
)
from .schedule import validation_size

if TYPE_CHECKING:
    from .tracking import TrackingSettings

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    name: str
    status: str  # succeeded | cancelled
    output_dir: str
    adapter_dir: str
    trainable_parameters: int
    total_parameters: int
    steps: int
    total_steps: int
    train_loss: float | None
    tokens_per_second: float
    peak_memory_bytes: int
    wall_seconds: float
    seconds_per_step: float | None = None  # training time per optimiser step (no evaluation)
    accuracy: dict[str, float] = field(default_factory=dict)
    scoring: str = "paper"  # the rule every figure in `accuracy` was scored with
    dtype: str = "float32"  # what the base model computed in (precision "auto" resolved)


def precision_line(precision: str, dtype: Any, device: Any) -> str:
    """The job log's line on the precision in use and, for "auto" on a CPU, why."""
    name = str(dtype).removeprefix("torch.")
    if precision != "auto":
        return f"precision: {name} (as configured)"
    if getattr(device, "type", "cpu") == "cpu":
        from .cpu_features import cpu_precision

        why = cpu_precision().reason
        detail = " (adapter and optimizer state in float32)" if name == "bfloat16" else ""
        return f"precision: {name}{detail}, auto on this CPU: {why}"
    return f"precision: {name}, auto on {device}"


class MetricsFile(ProgressCallback):
    """Appends every progress event to metrics.jsonl as it happens (a crash keeps the history)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def _write(self, kind: str, data: dict[str, Any]) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"type": kind, "time": time.time(), **data}) + "\n")

    def on_step(self, info: StepInfo) -> None:
        self._write("step", asdict(info))

    def on_eval(self, info: EvalInfo) -> None:
        self._write("eval", asdict(info))

    def on_validation(self, info: ValidationInfo) -> None:
        self._write("validation", asdict(info))


def final_metrics(summary: RunSummary) -> dict[str, float]:
    """What a tracked run records once, at its last step."""
    values = {
        "summary/wall_seconds": summary.wall_seconds,
        "summary/peak_memory_bytes": summary.peak_memory_bytes,
        "summary/tokens_per_second": summary.tokens_per_second,
        "summary/seconds_per_step": summary.seconds_per_step,
        "summary/train_loss": summary.train_loss,
    }
    return {k: float(v) for k, v in values.items() if v is not None}


def benchmark_dir(config: JobConfig) -> str | None:
    return config.evaluation.data_dir or os.environ.get("STUDIO_BENCHMARK_DIR")


def validate_job(config: JobConfig) -> None:
    """Every check that needs no weights: fails fast, before minutes of model loading."""
    from .adapters import validate_adapter
    from .families import family_of
    from .models import load_model_config

    model_config = load_model_config(config.base_model)
    validate_adapter(
        config.adapter, family_of(model_config), getattr(model_config, "num_hidden_layers", None)
    )
    validate_settings(config)
    if config.evaluation.harness is not None:
        from .evaluation.harness import check_tasks

        check_tasks(config.evaluation.harness)
    if config.evaluation.benchmarks and not benchmark_dir(config):
        raise ConfigError(
            "evaluation.benchmarks needs the benchmark files: set evaluation.data_dir "
            "(or STUDIO_BENCHMARK_DIR) to a folder in the LLM-Adapters layout"
        )


def validate_settings(config: JobConfig) -> None:
    """The checks that need neither the model nor files (the API runs them on submit). Types,
    ranges and choices of every setting are the config models' own (worker/engine/config.py)."""
    from .evaluation import get_benchmark

    for name in config.evaluation.benchmarks:
        get_benchmark(name)


def scoring_rule(config: JobConfig) -> str:
    return config.evaluation.scoring


def decoding_preset(config: JobConfig) -> str:
    return config.evaluation.decoding.preset


def rendered_prompts(record: dict[str, str], template: str, tokenizer: Any) -> dict[str, str]:
    """A record as the model sees it in training (prompt + answer) and at evaluation (prompt)."""
    from .prompts import build_prompt

    args = (record["instruction"], record.get("input", ""), template, tokenizer)
    return {
        "template": template,
        "training": build_prompt(*args, form="training") + record.get("output", ""),
        "evaluation": build_prompt(*args, form="evaluation"),
    }


def run_job(
    config: JobConfig,
    output_dir: str | Path,
    progress: ProgressCallback | None = None,
    *,
    train_records: list[dict[str, str]] | None = None,
    baseline_store: Any = None,
    run_label: str = "a CLI run",
    tracking: TrackingSettings | None = None,
) -> RunSummary:
    """Loads the base model, injects the adapter, trains with evaluation, saves everything.

    `train_records` replaces `config.dataset_path` (the worker passes a stored dataset).
    `baseline_store` (an `evaluation.shared_baseline.BaselineStore`) shares step-0 results of
    identity-at-init adapters between runs; `run_label` says who computed one ("job 12").
    `tracking` is the studio's tracking setup (None = the STUDIO_* environment variables):
    TensorBoard files always go to `tensorboard/`; MLflow and W&B when configured."""
    from .distributed import is_main_process, world_size
    from .tracking import RunTracker, TrackingSettings

    started = time.perf_counter()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if config.training.processes != world_size():
        raise ConfigError(
            f"training.processes is {config.training.processes} but this run has {world_size()} "
            "process(es): start the job with `studio train` (it launches the processes with "
            "torchrun) or on a worker that has that many GPUs"
        )
    # Under torchrun every process trains; only the first one reports, evaluates and writes.
    main = is_main_process()
    if main:
        progress = CallbackList(
            [progress or ProgressCallback(), MetricsFile(out / "metrics.jsonl")]
        )
    else:
        progress = ProgressCallback()
    validate_job(config)
    if train_records is None:
        if not config.dataset_path:
            raise ConfigError("the config needs dataset_path (a JSON, JSON Lines or CSV file)")
        train_records = load_records(config.dataset_path)
    tracker = RunTracker(config, out, tracking or TrackingSettings.from_env()) if main else None
    if tracker is not None:
        progress = CallbackList([progress, tracker])
    try:
        summary = _train_evaluate_save(
            config, out, progress, main, train_records, baseline_store, run_label, started
        )
    except BaseException:
        if tracker is not None:
            tracker.finish("failed")
        raise
    if tracker is not None:
        tracker.finish(summary.status, out / "adapter", final_metrics(summary))
    return summary


def _train_evaluate_save(
    config: JobConfig,
    out: Path,
    progress: ProgressCallback,
    main: bool,
    train_records: list[dict[str, str]],
    baseline_store: Any,
    run_label: str,
    started: float,
) -> RunSummary:
    from transformers import set_seed

    from .adapters import apply_adapter, count_parameters, default_learning_rate, save_adapter
    from .adapters.bottleneck import is_bottleneck_folder
    from .adapters.identity import is_identity_at_init
    from .adapters.portable import make_portable
    from .eta import JobEta
    from .evaluation import (
        evaluate_records,
        get_benchmark,
        load_benchmark,
        write_predictions,
    )
    from .evaluation.generation import plan_decoding
    from .evaluation.shared_baseline import baseline_key
    from .models import load_model
    from .training import train_adapter

    if main:
        (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    tcfg, ecfg = config.training, config.evaluation

    progress.on_phase("loading_model")
    loaded = load_model(config.base_model, tcfg.precision, tcfg.quantization)
    progress.on_log(precision_line(tcfg.precision, loaded.dtype, loaded.device))
    set_seed(tcfg.seed)  # adapter initialisation is part of what the seed repeats
    model = apply_adapter(loaded.model, config.adapter)
    trainable, total = count_parameters(model)
    progress.on_parameters(trainable, total)
    progress.on_log(
        f"trainable parameters: {trainable:,} of {total:,} ({100 * trainable / total:.3f} %)"
    )

    last_results: dict[str, Any] = {}
    rule = scoring_rule(config)

    # Under torchrun only the first process evaluates and writes files.
    benchmarks = ecfg.benchmarks if main else []
    data_dir = benchmark_dir(config) or ""  # set whenever there are benchmarks (validate_job)
    bench_records = {name: load_benchmark(name, data_dir, ecfg.max_examples) for name in benchmarks}
    # The same schedule on every process: the Trainer's validation pass at those steps is a
    # collective (all processes or none), even though only the first one runs the benchmarks.
    eval_every = ecfg.every_n_steps if ecfg.benchmarks else None
    eta = JobEta(
        progress, {n: len(r) for n, r in bench_records.items()}, eval_every, bool(eval_every)
    )
    progress = CallbackList([eta])
    share_step0 = baseline_store is not None and is_identity_at_init(config.adapter)
    model_dtype = str(next(model.parameters()).dtype).removeprefix("torch.")

    def evaluate_one(m: Any, step: int, name: str) -> tuple[Any, str | None]:
        """The result and, for a shared baseline, the run that computed it."""
        bench = get_benchmark(name)
        key = None
        if share_step0 and step == 0:
            key = baseline_key(
                base_model=config.base_model,
                benchmark=name,
                records=bench_records[name],
                decoding=plan_decoding(ecfg.decoding, bench.suite),
                template=tcfg.prompt_template,
                rule=rule,
                dtype=model_dtype,
                quantization=tcfg.quantization,
            )
            if (hit := baseline_store.get(key)) is not None:
                total = len(bench_records[name])
                eta.on_eval_progress(EvalProgressInfo(step, name, total, total))
                return hit
        eta.start_benchmark()
        result = evaluate_records(
            m,
            loaded.tokenizer,
            bench_records[name],
            bench,
            batch_size=ecfg.batch_size,
            decoding=ecfg.decoding,
            template=tcfg.prompt_template,
            rule=rule,
            on_batch=lambda done, total: eta.on_eval_progress(
                EvalProgressInfo(step, name, done, total)
            ),
        )
        if key is not None:
            baseline_store.put(key, result, run_label)
        return result, None

    def evaluate(m: Any, step: int) -> list[EvalInfo]:
        infos = []
        for name in benchmarks:
            result, computed_by = evaluate_one(m, step, name)
            last_results[name] = result
            extra = {
                "seconds": result.seconds,
                "rule": result.rule,
                "accuracy_by_rule": result.accuracy_by_rule(),
            }
            if computed_by is not None:
                extra["shared_baseline"] = {"computed_by": computed_by}
                progress.on_log(
                    f"step 0 {name}: shared baseline (computed by {computed_by}); the adapter "
                    "is the identity at initialisation, so the base model's result stands"
                )
            infos.append(EvalInfo(step, name, result.accuracy, result.correct, result.total, extra))
        return infos

    held = validation_size(tcfg.val_set_size, len(train_records))
    train_part, val_part = split_validation(train_records, held, tcfg.seed)
    if train_part and main:
        (out / "prompts.json").write_text(
            json.dumps(rendered_prompts(train_part[0], tcfg.prompt_template, loaded.tokenizer))
        )
    result = train_adapter(
        model,
        loaded.tokenizer,
        train_part,
        val_part,
        tcfg,
        out,
        learning_rate=tcfg.learning_rate or default_learning_rate(config.adapter.method),
        progress=progress,
        evaluate=evaluate if eval_every else None,
        eval_every=eval_every,
    )

    accuracy: dict[str, float] = {}
    if benchmarks and not result.stopped_early:
        progress.on_phase("evaluating")
        for info in evaluate(model, result.steps):
            progress.on_eval(info)
            accuracy[info.benchmark] = info.accuracy
        (out / "predictions").mkdir(exist_ok=True)
        for name, res in last_results.items():
            write_predictions(res, out / "predictions" / f"{name}.jsonl")
        (out / "eval_results.json").write_text(
            json.dumps(
                {
                    name: {
                        "accuracy": r.accuracy,
                        "correct": r.correct,
                        "total": r.total,
                        "rule": r.rule,
                        "accuracy_by_rule": r.accuracy_by_rule(),
                        "decoding": asdict(r.decoding) if r.decoding else None,
                    }
                    for name, r in last_results.items()
                },
                indent=2,
            )
        )

    if ecfg.harness is not None and main and not result.stopped_early:
        accuracy.update(
            _run_harness(model, loaded.tokenizer, ecfg.harness, out, result.steps, progress)
        )

    progress.on_phase("saving")
    status = "cancelled" if result.stopped_early else "succeeded"
    summary = RunSummary(
        name=config.name,
        status=status,
        output_dir=str(out),
        adapter_dir=str(out / "adapter"),
        trainable_parameters=trainable,
        total_parameters=total,
        steps=result.steps,
        total_steps=result.total_steps,
        train_loss=result.train_loss,
        tokens_per_second=result.tokens_per_second,
        peak_memory_bytes=result.peak_memory_bytes,
        wall_seconds=time.perf_counter() - started,
        seconds_per_step=result.train_seconds / result.steps if result.steps else None,
        accuracy=accuracy,
        scoring=rule,
        dtype=str(loaded.dtype).removeprefix("torch."),
    )
    if not main:
        return summary
    save_adapter(
        model,
        out / "adapter",
        metadata={
            "base_model": config.base_model,
            "config": config.to_dict(),
            "summary": asdict(summary),
        },
    )
    make_portable(
        out / "adapter",
        config.base_model,
        method=config.adapter.method,
        prompt_template=tcfg.prompt_template,
        bottleneck=is_bottleneck_folder(out / "adapter"),
    )
    (out / "summary.json").write_text(json.dumps(asdict(summary), indent=2))
    return summary


def _run_harness(
    model: Any, tokenizer: Any, hcfg: Any, out: Path, step: int, progress: ProgressCallback
) -> dict[str, float]:
    """lm-evaluation-harness tasks on the trained model; their scores join eval_results.json
    (as `harness:<task>`) and the raw harness output goes to harness_results.json."""
    from .evaluation.harness import results_entries, run_harness

    progress.on_phase("evaluating")
    progress.on_log(f"lm-evaluation-harness: {', '.join(hcfg.tasks)}")
    hres = run_harness(model, tokenizer, hcfg)
    results_file = out / "eval_results.json"
    entries = json.loads(results_file.read_text()) if results_file.is_file() else {}
    entries.update(results_entries(hres))
    results_file.write_text(json.dumps(entries, indent=2))
    (out / "harness_results.json").write_text(json.dumps(hres.raw, indent=2, default=str))
    scores = {}
    for s in hres.scores:
        progress.on_eval(
            EvalInfo(
                step,
                s.benchmark,
                s.value,
                s.correct,
                s.samples,
                {"seconds": hres.seconds, "rule": s.rule, "metric": s.metric, "stderr": s.stderr},
            )
        )
        scores[s.benchmark] = s.value
    return scores
