"""`studio`: the command line, a thin shell on worker.engine.

Bad input (unknown method, missing file, malformed record, impossible placement) ends with one
line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker.engine import distributed
from worker.engine.errors import ConfigError, DataError
from worker.engine.progress import (
    EvalInfo,
    EvalProgressInfo,
    ProgressCallback,
    StepInfo,
    ValidationInfo,
)

if TYPE_CHECKING:
    from worker.engine.tracking import TrackingSettings

PHASE_LABELS = {
    "loading_model": "loading the model",
    "preparing_data": "preparing the data",
    "training": "training",
    "evaluating": "evaluating",
    "saving": "saving",
}


class ProgressBar(ProgressCallback):
    """A tqdm bar over optimiser steps, one over each evaluation's examples (with the job's
    ETA, evaluations still to come included); phases and eval results as lines above them."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.eval_bar: Any = None
        self.eval_key: tuple[int, str] | None = None

    def _say(self, text: str) -> None:
        from tqdm import tqdm

        tqdm.write(text, file=sys.stderr)

    def on_phase(self, phase: str) -> None:
        if phase != "training" and self.bar is not None:
            # A finished or paused bar would otherwise be re-drawn under every later line.
            self.close()
        if phase != "training" or self.bar is None:
            self._say(f"… {PHASE_LABELS.get(phase, phase)}")

    def on_step(self, info: StepInfo) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(
                total=info.total_steps,
                desc="training",
                unit="step",
                file=sys.stderr,
                initial=info.step - 1,
            )
        self.bar.update(info.step - self.bar.n)
        post = {}
        if info.loss is not None:
            post["loss"] = f"{info.loss:.4f}"
        if info.learning_rate is not None:
            post["lr"] = f"{info.learning_rate:.2e}"
        if info.tokens_per_second:
            post["tok/s"] = f"{info.tokens_per_second:.0f}"
        if info.eta_seconds is not None:
            post["job ETA"] = _duration(info.eta_seconds)  # evaluations to come included
        self.bar.set_postfix(post, refresh=False)

    def on_eval_progress(self, info: EvalProgressInfo) -> None:
        from tqdm import tqdm

        if self.eval_key != (info.step, info.benchmark):
            self._close_eval()
            self.eval_key = (info.step, info.benchmark)
            self.eval_bar = tqdm(
                total=info.total, desc=f"evaluating {info.benchmark}", unit="ex", file=sys.stderr
            )
        self.eval_bar.update(info.done - self.eval_bar.n)
        if info.eta_seconds is not None:
            self.eval_bar.set_postfix({"job ETA": _duration(info.eta_seconds)}, refresh=False)
        if info.done >= info.total:
            self._close_eval()

    def _close_eval(self) -> None:
        if self.eval_bar is not None:
            self.eval_bar.close()
            self.eval_bar = None

    def on_eval(self, info: EvalInfo) -> None:
        self._say(
            f"step {info.step}: {info.benchmark} accuracy {100 * info.accuracy:.1f} % "
            f"({info.correct}/{info.total})"
        )

    def on_validation(self, info: ValidationInfo) -> None:
        self._say(f"step {info.step}: validation loss {info.loss:.4f}")

    def on_log(self, message: str) -> None:
        self._say(message)

    def close(self) -> None:
        self._close_eval()
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{secs:02d}s"


def _quiet_libraries() -> None:
    """transformers' own bars and advice would bury the studio's progress bar."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import warnings

    import transformers

    # Deprecation notices from inside transformers/peft are for us, not for the user.
    warnings.filterwarnings("ignore", category=FutureWarning)

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _tracking(args: argparse.Namespace) -> TrackingSettings:
    """The STUDIO_* tracking settings, with --mlflow taking the place of the URI when given."""
    from worker.engine.tracking import TrackingSettings

    settings = TrackingSettings.from_env()
    if args.mlflow:
        settings.mlflow_tracking_uri = args.mlflow
    return settings


def cmd_train(args: argparse.Namespace) -> int:
    from worker.engine.config import JobConfig
    from worker.engine.runner import run_job

    config = JobConfig.from_file(args.config)
    if args.dataset:
        config.dataset_path = args.dataset
    if args.data_dir:
        config.evaluation.data_dir = args.data_dir
    processes = config.training.processes
    if processes > 1 and not distributed.in_launched_world():
        return _launch_processes(args, processes)
    main = distributed.is_main_process()
    bar = ProgressBar() if main else ProgressCallback()
    try:
        summary = run_job(config, args.output, bar, tracking=_tracking(args))
    finally:
        if isinstance(bar, ProgressBar):
            bar.close()
    if not main:
        return 0 if summary.status == "succeeded" else 1
    print(
        f"{summary.status}: {summary.steps}/{summary.total_steps} steps in "
        f"{summary.wall_seconds:.0f} s, {summary.tokens_per_second:.0f} tokens/s"
    )
    print(f"trainable parameters: {summary.trainable_parameters:,} of {summary.total_parameters:,}")
    for name, acc in summary.accuracy.items():
        print(f"{name}: {100 * acc:.1f} % ({summary.scoring} rule)")
    print(f"adapter saved to {summary.adapter_dir}")
    return 0 if summary.status == "succeeded" else 1


def _launch_processes(args: argparse.Namespace, processes: int) -> int:
    """Runs this same `studio train` in `processes` processes with torchrun (one per GPU)."""
    import subprocess

    import torch

    distributed.check_devices(processes, torch.cuda.device_count())
    argv = ["worker.cli", "train", args.config, "--output", args.output]
    if args.dataset:
        argv += ["--dataset", args.dataset]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    if args.mlflow:
        argv += ["--mlflow", args.mlflow]
    print(f"training in {processes} processes (torchrun)", file=sys.stderr)
    return subprocess.run(distributed.torchrun_command(processes, argv), check=False).returncode


def cmd_eval(args: argparse.Namespace) -> int:
    from worker.engine.adapters import load_adapter
    from worker.engine.config import DecodingConfig
    from worker.engine.evaluation import evaluate_benchmark, get_benchmark, write_predictions
    from worker.engine.models import load_model

    if (args.benchmark is None) == (args.harness is None):
        raise ConfigError("give --benchmark NAME or --harness TASK[,TASK] (one of them)")
    if args.harness is not None:
        return _eval_harness(args)
    get_benchmark(args.benchmark)
    data_dir = args.data_dir or os.environ.get("STUDIO_BENCHMARK_DIR")
    if not data_dir:
        raise ConfigError(
            "give --data-dir (or STUDIO_BENCHMARK_DIR): a folder in the LLM-Adapters layout"
        )
    if args.adapter and not (Path(args.adapter) / "adapter_config.json").is_file():
        raise ConfigError(f"{args.adapter} is not an adapter folder (no adapter_config.json)")
    bar = ProgressBar()
    bar.on_phase("loading_model")
    loaded = load_model(args.base_model, args.precision)
    model = load_adapter(loaded.model, args.adapter) if args.adapter else loaded.model
    decoding = DecodingConfig(
        strategy="beam" if args.num_beams > 1 else "greedy",
        num_beams=args.num_beams,
        max_new_tokens=args.max_new_tokens,
        preset=args.decoding,
    )
    bar.on_phase("evaluating")
    result = evaluate_benchmark(
        model,
        loaded.tokenizer,
        args.benchmark,
        data_dir=data_dir,
        max_examples=args.max_examples,
        batch_size=args.batch_size,
        decoding=decoding,
        template=args.template,
        rule=args.rule,
    )
    out = Path(args.output or ".")
    out.mkdir(parents=True, exist_ok=True)
    pred_path = out / f"predictions-{args.benchmark}.jsonl"
    write_predictions(result, pred_path)
    print(
        f"{args.benchmark}: accuracy {100 * result.accuracy:.1f} % ({result.correct}/{result.total}, "
        f"{result.rule} rule) in {result.seconds:.1f} s, {result.examples_per_second:.2f} examples/s"
    )
    others = ", ".join(
        f"{100 * acc:.1f} % under {rule}"
        for rule, acc in result.accuracy_by_rule().items()
        if rule != result.rule
    )
    print(f"({others})")
    print(f"predictions written to {pred_path}")
    return 0


def _eval_harness(args: argparse.Namespace) -> int:
    """`studio eval --harness`: lm-evaluation-harness tasks on the base model plus adapter."""
    from worker.engine.adapters import load_adapter
    from worker.engine.config import HarnessConfig, parse
    from worker.engine.evaluation.harness import check_tasks, results_entries, run_harness
    from worker.engine.models import load_model

    harness = parse(
        HarnessConfig,
        {
            "tasks": [t.strip() for t in args.harness.split(",")],
            "include_path": args.include_path,
            "limit": args.max_examples,
            "num_fewshot": args.num_fewshot,
            "metric": args.metric,
            "batch_size": args.batch_size,
        },
        "evaluation.harness",
    )
    check_tasks(harness)  # before minutes of model loading
    if args.adapter and not (Path(args.adapter) / "adapter_config.json").is_file():
        raise ConfigError(f"{args.adapter} is not an adapter folder (no adapter_config.json)")
    bar = ProgressBar()
    bar.on_phase("loading_model")
    loaded = load_model(args.base_model, args.precision)
    model = load_adapter(loaded.model, args.adapter) if args.adapter else loaded.model
    bar.on_phase("evaluating")
    result = run_harness(model, loaded.tokenizer, harness)
    out = Path(args.output or ".")
    out.mkdir(parents=True, exist_ok=True)
    for s in result.scores:
        stderr = f" ± {s.stderr:.4f}" if s.stderr is not None else ""
        print(f"{s.benchmark}: {s.metric} {s.value:.4f}{stderr} ({s.samples} examples)")
    path = out / "harness_results.json"
    path.write_text(
        json.dumps({"scores": results_entries(result), **result.raw}, indent=2, default=str)
    )
    print(f"harness results written to {path} in {result.seconds:.1f} s")
    return 0


def cmd_rescore(args: argparse.Namespace) -> int:
    import json

    from worker.engine.evaluation.rescore import read_prediction_lines, rescore

    if args.in_place and args.output:
        raise ConfigError("give either --output or --in-place, not both")
    rows = read_prediction_lines(args.predictions)
    counts = rescore(rows, args.rule)
    text = "".join(json.dumps(row) + "\n" for row in rows)
    target = Path(args.predictions) if args.in_place else args.output and Path(args.output)
    if target:
        # Written beside the target first, so a failure never leaves half a file.
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    else:
        sys.stdout.write(text)
    # With the lines on stdout, the accuracies go to stderr so the output stays JSON Lines.
    report = sys.stdout if target else sys.stderr
    for name, (ok, total) in counts.items():
        print(
            f"{name}: accuracy {100 * ok / total:.1f} % ({ok}/{total}, {args.rule} rule)",
            file=report,
        )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from worker.engine.demo import run_demo

    bar = ProgressBar()
    try:
        result = run_demo(args.output, bar, quick=args.quick)
    finally:
        bar.close()
    print(f"accuracy before: {100 * result.accuracy_before:.1f} %")
    print(f"accuracy after: {100 * result.accuracy_after:.1f} %")
    print(f"({result.seconds:.0f} s in all; adapter saved to {result.adapter_dir})")
    return 0


def _scale_from_args(args: argparse.Namespace) -> dict[str, Any]:
    scale: dict[str, Any] = {"base_model": args.base_model, "decoding": args.decoding}
    if args.dataset:
        scale["dataset_path"] = args.dataset
    for key in (
        "steps",
        "train_examples",
        "batch_size",
        "micro_batch_size",
        "cutoff_len",
        "eval_examples",
        "max_new_tokens",
    ):
        if getattr(args, key) is not None:
            scale[key] = getattr(args, key)
    if args.benchmarks:
        scale["benchmarks"] = [b.strip() for b in args.benchmarks.split(",") if b.strip()]
    if args.seeds:
        try:
            scale["seeds"] = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise ConfigError(
                f"--seeds takes integers separated by commas, got {args.seeds!r}"
            ) from None
    return scale


def _load_study(args: argparse.Namespace) -> Any:
    from worker.engine.study import StudyConfig
    from worker.engine.study_presets import StudyScale, build_preset

    if args.preset and args.study:
        raise ConfigError("give a study file or --preset, not both")
    if args.preset:
        if not args.base_model:
            raise ConfigError("--preset needs --base-model (and --dataset for the training data)")
        return build_preset(args.preset, StudyScale.from_dict(_scale_from_args(args)))
    if not args.study:
        raise ConfigError("give a study file (STUDY.json) or --preset NAME")
    return StudyConfig.from_file(args.study)


def cmd_study(args: argparse.Namespace) -> int:
    """Runs a study's cells one after another in this process; writes the results table."""
    import json

    from worker.engine.config import JobConfig
    from worker.engine.runner import run_job, validate_job
    from worker.engine.study import CellResult, aggregate, expand, validate_cells, write_results

    study = _load_study(args)
    if args.write_study:
        Path(args.write_study).write_text(json.dumps(study.to_dict(), indent=2) + "\n")
        print(f"study written to {args.write_study}")
        return 0
    if not args.output:
        raise ConfigError("give --output DIR (the folder for the cells and the results)")
    cells = expand(study)

    def check(data: dict[str, Any]) -> JobConfig:
        config = JobConfig.from_dict(data)
        if args.dataset:
            config.dataset_path = args.dataset
        if args.data_dir:
            config.evaluation.data_dir = args.data_dir
        if not config.dataset_path:
            raise ConfigError("the config needs dataset_path (or give --dataset)")
        validate_job(config)  # every check short of loading the weights
        return config

    configs: list[JobConfig] = validate_cells(cells, check)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.json").write_text(json.dumps(study.to_dict(), indent=2) + "\n")
    results: list[CellResult] = [
        CellResult(index=c.index, labels=c.labels, status="pending") for c in cells
    ]
    print(f"study {study.name!r}: {len(cells)} cells -> {out}")
    for cell, config in zip(cells, configs, strict=True):
        cell_dir = out / "cells" / str(cell.index)
        print(f"[{cell.index + 1}/{len(cells)}] {cell.title}", flush=True)
        summary = _finished_cell(cell_dir, config)
        if summary is not None:
            print("  already done in an earlier run: reused")
        else:
            bar = ProgressBar()
            try:
                summary = run_job(config, cell_dir, bar, tracking=_tracking(args)).__dict__
            except (ConfigError, DataError):
                raise
            except Exception as e:  # noqa: BLE001 - one failed cell must not end the study
                logging.getLogger(__name__).debug("cell %s failed", cell.index, exc_info=True)
                print(f"  failed: {type(e).__name__}: {e}")
                results[cell.index] = CellResult(
                    index=cell.index, labels=cell.labels, status="failed"
                )
                continue
            finally:
                bar.close()
        results[cell.index] = _cell_result(cell.index, cell.labels, cell_dir, summary)
        accuracy = ", ".join(f"{b} {100 * a:.1f} %" for b, a in summary["accuracy"].items())
        print(f"  {summary['status']} in {summary['wall_seconds']:.0f} s; {accuracy}", flush=True)
        write_results(aggregate(results, study.axis_names(), study.seed_axis()), out)
    table = aggregate(results, study.axis_names(), study.seed_axis())
    paths = write_results(table, out)
    print()
    print(paths["md"].read_text(encoding="utf-8"))
    print(f"results written to {paths['csv']}, {paths['md']} and {paths['tex']}")
    return 0 if all(r.status == "succeeded" for r in results) else 1


def _finished_cell(cell_dir: Path, config: Any) -> dict[str, Any] | None:
    """The summary of a cell an earlier run of the same study finished with the same config
    (so a stopped study resumes where it was)."""
    import json

    try:
        summary = json.loads((cell_dir / "summary.json").read_text())
        saved = json.loads((cell_dir / "config.json").read_text())
    except (OSError, ValueError):
        return None
    if summary.get("status") != "succeeded" or saved != config.to_dict():
        return None
    return dict(summary)


def _cell_result(
    index: int, labels: dict[str, str], cell_dir: Path, summary: dict[str, Any]
) -> Any:
    import json

    from worker.engine.study import CellResult

    examples: dict[str, int] = {}
    results_file = cell_dir / "eval_results.json"
    if results_file.is_file():
        examples = {n: r["total"] for n, r in json.loads(results_file.read_text()).items()}
    return CellResult(
        index=index,
        labels=labels,
        status=summary["status"],
        trainable_parameters=summary["trainable_parameters"],
        total_parameters=summary["total_parameters"],
        peak_memory_bytes=summary["peak_memory_bytes"],
        wall_seconds=summary["wall_seconds"],
        accuracy=summary["accuracy"],
        examples=examples,
        scoring=summary.get("scoring"),
    )


def cmd_export(args: argparse.Namespace) -> int:
    from worker.engine.export import export_adapter

    source = Path(args.source)
    output = Path(args.output) if args.output else source / "export" / args.format
    bar = ProgressBar()
    try:
        result = export_adapter(
            source,
            output,
            args.format,
            base_model=args.base_model,
            tensor_type=args.tensor_type,
            precision=args.precision,
            progress=bar,
        )
    finally:
        bar.close()
    print(
        f"{result.format}: {result.method} on {result.base_model} written to {result.path} "
        f"({result.size_bytes / 1e6:.1f} MB in {result.seconds:.1f} s)"
    )
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    # The service lives in backend/; the engine never imports it, only this command does.
    from backend.app.embedded import run

    data_dir = Path(args.data_dir) if args.data_dir else None
    bench = Path(args.benchmarks) if args.benchmarks else None
    return run(args.host, args.port, data_dir, bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studio", description="Adapter Studio: PEFT fine-tuning")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train an adapter from a job config (JSON)")
    p.add_argument("config", help="job config JSON (DESIGN.md shape, with dataset_path)")
    p.add_argument("--output", required=True, help="folder for the adapter, metrics and results")
    p.add_argument("--dataset", help="training data file; overrides dataset_path in the config")
    p.add_argument("--data-dir", help="benchmark folder in the LLM-Adapters layout")
    p.add_argument(
        "--mlflow",
        metavar="URI",
        help="also log to this MLflow tracking URI (http(s)://, file:, sqlite:...); default: "
        "STUDIO_MLFLOW_TRACKING_URI. TensorBoard files always go to OUTPUT/tensorboard",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "eval", help="evaluate a base model (and adapter) on a benchmark or harness tasks"
    )
    p.add_argument(
        "--base-model", required=True, help="hf:<id>, path:<dir>, gguf:<file>, demo:smollm2-135m"
    )
    p.add_argument("--adapter", help="adapter folder saved by studio train")
    p.add_argument("--benchmark", help="gsm8k, svamp, boolq, ...")
    p.add_argument(
        "--harness",
        metavar="TASK[,TASK]",
        help="run lm-evaluation-harness tasks instead of a benchmark (local task data only)",
    )
    p.add_argument("--include-path", help="--harness: folder of your own task YAML files")
    p.add_argument("--num-fewshot", type=int, help="--harness: few-shot examples per prompt")
    p.add_argument("--metric", help="--harness: the metric to report (default: the task's first)")
    p.add_argument("--data-dir", help="benchmark folder in the LLM-Adapters layout")
    p.add_argument("--max-examples", type=int, help="evaluate on the first N examples (per task)")
    p.add_argument("--batch-size", type=int, default=16, help="prompts per generation batch")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--num-beams", type=int, default=1, help="beam search when > 1")
    p.add_argument(
        "--decoding",
        default="custom",
        choices=["paper", "fast", "custom"],
        help="paper: 4 beams, 256/32 new tokens (arithmetic/commonsense); fast: greedy, the "
        "same budgets; custom: --num-beams and --max-new-tokens",
    )
    p.add_argument("--rule", default="paper", choices=["paper", "strict"], help="scoring rule")
    p.add_argument("--template", default="alpaca", choices=["llm-adapters", "alpaca", "chat"])
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"])
    p.add_argument("--output", help="folder for the predictions file (default: here)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "rescore", help="re-score saved predictions (JSON Lines) under a scoring rule"
    )
    p.add_argument("predictions", help="JSON Lines with at least benchmark, output and gold")
    p.add_argument("--rule", required=True, choices=["paper", "strict"])
    p.add_argument("--output", help="write the re-scored lines here (default: stdout)")
    p.add_argument("--in-place", action="store_true", help="rewrite the predictions file")
    p.set_defaults(func=cmd_rescore)

    p = sub.add_parser("demo", help="fine-tune the demo model on synthetic arithmetic (CPU)")
    p.add_argument(
        "--output", default="runs/demo", help="folder for the demo's adapter and results"
    )
    p.add_argument("--quick", action="store_true", help="a shorter run (about two minutes)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "study",
        help="run a study (a grid of jobs) one cell after another; writes results.csv/.md/.tex",
    )
    p.add_argument("study", nargs="?", help="study JSON: {name, base: <job config>, axes: [...]}")
    p.add_argument("--output", help="folder for the cells (cells/<n>/) and the results")
    p.add_argument("--dataset", help="training data file; overrides dataset_path in every cell")
    p.add_argument("--data-dir", help="benchmark folder in the LLM-Adapters layout")
    p.add_argument(
        "--mlflow",
        metavar="URI",
        help="also log to this MLflow tracking URI (http(s)://, file:, sqlite:...); default: "
        "STUDIO_MLFLOW_TRACKING_URI. TensorBoard files always go to OUTPUT/tensorboard",
    )
    p.add_argument(
        "--preset",
        help="one of the paper's studies instead of a file: series-placement, "
        "parallel-placement, lora-modules, bottleneck-size, lora-rank, prefix-tokens",
    )
    p.add_argument("--write-study", help="with --preset: write the study JSON here and stop")
    g = p.add_argument_group("preset scale")
    g.add_argument("--base-model", help="hf:<id>, path:<dir>, gguf:<file>, demo:smollm2-135m")
    g.add_argument("--steps", type=int, help="optimiser steps per cell")
    g.add_argument("--train-examples", type=int, help="training examples each cell sees")
    g.add_argument("--batch-size", type=int)
    g.add_argument("--micro-batch-size", type=int)
    g.add_argument("--cutoff-len", type=int)
    g.add_argument("--eval-examples", type=int, help="examples per benchmark")
    g.add_argument("--benchmarks", help="comma-separated, e.g. gsm8k,svamp")
    g.add_argument("--seeds", help="comma-separated seeds, e.g. 1,2,3 (mean ± std)")
    g.add_argument("--decoding", default="paper", choices=["paper", "fast"])
    g.add_argument("--max-new-tokens", type=int, help="cap the generated tokens (greedy)")
    p.set_defaults(func=cmd_study)
    p = sub.add_parser("export", help="export a trained adapter as a merged model or a GGUF file")
    p.add_argument("source", help="a `studio train` output folder, or the adapter folder")
    p.add_argument(
        "--format",
        required=True,
        choices=["merged", "gguf"],
        help="merged: base + adapter as safetensors and tokenizer (plain transformers loads it); "
        "gguf: the merged model as one GGUF file (llama.cpp, Ollama; LLaMA family)",
    )
    p.add_argument("--output", help="folder to write (default: SOURCE/export/FORMAT)")
    p.add_argument(
        "--base-model", help="the base model, when the folder does not say (hf:, path:, ...)"
    )
    p.add_argument("--tensor-type", default="f16", choices=["f16", "f32"], help="GGUF tensor type")
    p.add_argument(
        "--precision",
        default="auto",
        choices=["auto", "fp32", "fp16", "bf16"],
        help="precision the base model is loaded and merged in (auto: fp32 on a CPU)",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("up", help="start the studio: API, dashboard and one local worker")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--data-dir", help="studio data folder (default: STUDIO_DATA_DIR or ~/.adapter-studio)"
    )
    p.add_argument("--benchmarks", help="folder of benchmark sets (LLM-Adapters layout) to import")
    p.set_defaults(func=cmd_up)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _quiet_libraries()
    try:
        return args.func(args)
    except (ConfigError, DataError) as e:
        print(f"studio: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("studio: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
