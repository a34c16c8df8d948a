"""Experiment tracking: a job's parameters, curves and adapter in TensorBoard, MLflow and W&B.

`RunTracker` is a progress callback: it hears what the engine reports (steps, validation,
evaluations) and hands it to each tracker through the tracker's own library (TensorBoard's
`SummaryWriter`, MLflow's `MlflowClient`, `wandb`). TensorBoard files are always written into
the job's folder; MLflow and W&B only when the studio or the job configures them.

A remote tracker never fails or stalls the job: its calls run on a thread of their own behind
a queue, a failure is logged once as a warning on the job and that tracker stops, and closing
waits a bounded time for what is still queued.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import JobConfig, TrackingConfig
from .progress import EvalInfo, ProgressCallback, StepInfo, ValidationInfo

log = logging.getLogger(__name__)

TENSORBOARD_DIR = "tensorboard"  # inside the job's output folder
WANDB_DIR = "wandb"
DEFAULT_PROJECT = "adapter-studio"


@dataclass
class TrackingSettings:
    """The studio's side of tracking (a job's config may override the first four)."""

    mlflow_tracking_uri: str | None = None
    mlflow_experiment: str = DEFAULT_PROJECT
    wandb_api_key: str | None = None
    wandb_project: str = DEFAULT_PROJECT
    wandb_mode: str = "online"
    # How long closing waits for a remote tracker's queued calls (and each HTTP request's
    # timeout): a tracking server that is down costs a job at most about this much.
    timeout_s: float = 30.0

    @classmethod
    def from_env(cls) -> TrackingSettings:
        """The STUDIO_* variables (the CLI and notebooks; the worker passes the studio's
        settings object, which reads the same variables)."""
        env = os.environ
        return cls(
            mlflow_tracking_uri=env.get("STUDIO_MLFLOW_TRACKING_URI") or None,
            mlflow_experiment=env.get("STUDIO_MLFLOW_EXPERIMENT") or DEFAULT_PROJECT,
            wandb_api_key=env.get("STUDIO_WANDB_API_KEY") or env.get("WANDB_API_KEY") or None,
            wandb_project=env.get("STUDIO_WANDB_PROJECT") or DEFAULT_PROJECT,
            wandb_mode=env.get("STUDIO_WANDB_MODE") or "online",
            timeout_s=float(env.get("STUDIO_TRACKING_TIMEOUT_S") or 30.0),
        )


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """A nested config as dotted keys -> text ('training.learning_rate' -> '0.0003'); lists and
    empty objects stay JSON, since trackers take flat string or number parameters."""
    out: dict[str, str] = {}
    if isinstance(data, dict) and data:
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, str):
        out[prefix] = data
    else:
        out[prefix] = json.dumps(data)
    return out


def step_metrics(info: StepInfo) -> dict[str, float]:
    values = {
        "train/loss": info.loss,
        "train/learning_rate": info.learning_rate,
        "train/tokens_per_second": info.tokens_per_second,
        "train/epoch": info.epoch,
    }
    return {k: float(v) for k, v in values.items() if v is not None}


def eval_metric(benchmark: str) -> str:
    return f"eval/{benchmark}/accuracy"


class Sink:
    """One tracker behind a queue and a thread: `submit` never blocks the training loop."""

    name = "tracker"

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self.failed = False
        self._calls: queue.Queue[Callable[[], object] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name=f"{self.name}-sink", daemon=True)
        self._thread.start()

    def submit(self, call: Callable[[], object]) -> None:
        if not self.failed:
            self._calls.put(call)

    def _work(self) -> None:
        while (call := self._calls.get()) is not None:
            if self.failed:
                continue
            try:
                call()
            except Exception as e:  # noqa: BLE001 - a tracker's outage must not touch the job
                self.failed = True
                log.warning(
                    "%s: %s: %s; the job carries on without it", self.name, type(e).__name__, e
                )

    def close(self) -> None:
        """Waits up to timeout_s for the queued calls; then the job goes on regardless."""
        self._calls.put(None)
        self._thread.join(self.timeout_s)
        if self._thread.is_alive():
            self.failed = True
            log.warning(
                "%s: still busy after %.0f s; the job carries on and its tracked run may be "
                "incomplete",
                self.name,
                self.timeout_s,
            )


class MlflowSink(Sink):
    name = "MLflow"

    def __init__(self, uri: str, experiment: str, run_name: str, tags: dict[str, str], **kw: Any):
        # Imported here, before the thread starts: two threads importing mlflow at once
        # catch it half-initialised.
        import mlflow.entities
        import mlflow.tracking  # noqa: F401

        # Bounded requests: MLflow's default retries a dead server for minutes per call.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(kw["timeout_s"])))
        super().__init__(kw["timeout_s"])
        self.uri = uri
        self.run_id: str | None = None
        self.submit(lambda: self._start(experiment, run_name, tags))

    def _start(self, experiment: str, run_name: str, tags: dict[str, str]) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=self.uri)
        found = self.client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
        run = self.client.create_run(experiment_id, run_name=run_name, tags=tags)
        self.run_id = run.info.run_id
        log.info("MLflow: logging to run %s at %s", self.run_id, self.uri)

    def params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        # MLflow caps a parameter's value at 6000 characters; a longer one is cut, and says so.
        items = [
            Param(k, v if len(v) <= 6000 else v[:5980] + "...(cut)") for k, v in params.items()
        ]

        def call() -> None:
            for i in range(0, len(items), 100):  # log_batch takes at most 100 params a call
                self.client.log_batch(self.run_id or "", params=items[i : i + 100])

        self.submit(call)

    def metrics(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        items = [Metric(k, v, now, step) for k, v in values.items()]
        self.submit(lambda: self.client.log_batch(self.run_id or "", metrics=items))

    def artifacts(self, folder: Path, path: str) -> None:
        self.submit(lambda: self.client.log_artifacts(self.run_id or "", str(folder), path))

    def finish(self, status: str) -> None:
        state = {"succeeded": "FINISHED", "cancelled": "KILLED"}.get(status, "FAILED")
        self.submit(lambda: self.client.set_terminated(self.run_id or "", state))


class WandbSink(Sink):
    name = "W&B"

    def __init__(self, folder: Path, init: dict[str, Any], api_key: str | None, **kw: Any):
        import wandb  # noqa: F401 - before the thread starts (see MlflowSink)

        super().__init__(kw["timeout_s"])
        self.submit(lambda: self._start(folder, init, api_key))

    def _start(self, folder: Path, init: dict[str, Any], api_key: str | None) -> None:
        import wandb

        folder.mkdir(parents=True, exist_ok=True)
        settings = wandb.Settings(
            api_key=api_key, init_timeout=self.timeout_s, silent=True, x_disable_stats=True
        )
        self.run = wandb.init(dir=str(folder), settings=settings, reinit="create_new", **init)
        log.info("W&B: logging to run %s (%s mode)", self.run.id, init["mode"])

    def params(self, params: dict[str, str]) -> None:
        self.submit(lambda: self.run.config.update(params, allow_val_change=True))

    def metrics(self, values: dict[str, float], step: int) -> None:
        # Steps of different curves arrive out of order (an evaluation at step 0 after
        # training began): each curve is plotted against its own training step instead.
        self.submit(lambda: self.run.log({**values, "trainer/step": step}))

    def artifacts(self, folder: Path, path: str) -> None:
        def call() -> None:
            import wandb

            artifact = wandb.Artifact(path, type="model")
            artifact.add_dir(str(folder))
            self.run.log_artifact(artifact)

        self.submit(call)

    def finish(self, status: str) -> None:
        self.submit(lambda: self.run.finish(exit_code=0 if status == "succeeded" else 1))


class RunTracker(ProgressCallback):
    """Logs one job to TensorBoard (always) and to MLflow and W&B (when configured)."""

    def __init__(self, config: JobConfig, output_dir: Path, settings: TrackingSettings):
        from torch.utils.tensorboard import SummaryWriter

        self.config = config
        self.settings = settings
        self.closed = False
        self.last_step = 0
        self.tensorboard = SummaryWriter(str(output_dir / TENSORBOARD_DIR), flush_secs=10)
        self.tensorboard.add_text("config", f"```\n{json.dumps(config.to_dict(), indent=2)}\n```")
        self.sinks: list[MlflowSink | WandbSink] = []
        tracking = config.tracking
        tags = {
            "studio.base_model": config.base_model,
            "studio.method": config.adapter.method,
            **({"studio.study": tracking.group} if tracking.group else {}),
            **tracking.tags,
        }
        if uri := mlflow_uri(tracking, settings):
            experiment = tracking.mlflow.experiment or tracking.group or settings.mlflow_experiment
            self.sinks.append(
                MlflowSink(uri, experiment, config.name, tags, timeout_s=settings.timeout_s)
            )
        if mode := wandb_mode(tracking, settings):
            init = {
                "mode": mode,
                "project": tracking.wandb.project or settings.wandb_project,
                "entity": tracking.wandb.entity,
                "group": tracking.group,
                "name": config.name,
                "tags": [f"{k}={v}"[:64] for k, v in tags.items()],
            }
            self.sinks.append(
                WandbSink(
                    output_dir / WANDB_DIR,
                    init,
                    settings.wandb_api_key,
                    timeout_s=settings.timeout_s,
                )
            )
        params = flatten({k: v for k, v in config.to_dict().items() if k != "tracking"})
        for sink in self.sinks:
            sink.params(params)

    def _metrics(self, values: dict[str, float], step: int) -> None:
        for tag, value in values.items():
            self.tensorboard.add_scalar(tag, value, step)
        for sink in self.sinks:
            sink.metrics(values, step)

    def on_parameters(self, trainable: int, total: int) -> None:
        counts = {"trainable_parameters": str(trainable), "total_parameters": str(total)}
        for sink in self.sinks:
            sink.params(counts)

    def on_step(self, info: StepInfo) -> None:
        self.last_step = info.step
        self._metrics(step_metrics(info), info.step)

    def on_validation(self, info: ValidationInfo) -> None:
        self._metrics({"validation/loss": float(info.loss)}, info.step)

    def on_eval(self, info: EvalInfo) -> None:
        self._metrics({eval_metric(info.benchmark): float(info.accuracy)}, info.step)
        self.tensorboard.flush()  # an evaluation is a moment worth seeing at once

    def finish(
        self,
        status: str,
        adapter_dir: Path | None = None,
        final: dict[str, float] | None = None,
    ) -> None:
        """Ends the tracked runs: `final` figures at the last step, the adapter as an artifact
        (when saved), then the status. Bounded by settings.timeout_s per remote tracker (they
        close together); never raises for a tracker."""
        if self.closed:
            return
        self.closed = True
        if final:
            self._metrics(final, self.last_step)
        self.tensorboard.close()
        upload = adapter_dir is not None and adapter_dir.is_dir()
        for sink in self.sinks:
            skip = isinstance(sink, MlflowSink) and not self.config.tracking.mlflow.log_adapter
            if upload and adapter_dir is not None and not skip:
                sink.artifacts(adapter_dir, "adapter")
            sink.finish(status)
        for sink in self.sinks:
            sink.close()


def mlflow_uri(tracking: TrackingConfig, settings: TrackingSettings) -> str | None:
    if not tracking.mlflow.enabled:
        return None
    return tracking.mlflow.tracking_uri or settings.mlflow_tracking_uri


def wandb_mode(tracking: TrackingConfig, settings: TrackingSettings) -> str | None:
    """'online' or 'offline' when this job logs to W&B, else None. Online needs a key."""
    if not tracking.wandb.enabled:
        return None
    mode = tracking.wandb.mode or settings.wandb_mode
    if mode == "offline":
        return mode
    return mode if settings.wandb_api_key else None
