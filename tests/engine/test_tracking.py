"""Experiment tracking: a tiny job logged to a real MLflow tracking server (read back with
MLflow's client), to TensorBoard files (read back with TensorBoard's event reader) and to W&B
in offline mode; a tracking server that is down costs a bounded wait and a warning, no more."""

import json
import logging
import time
from pathlib import Path

import pytest

from worker.engine.config import JobConfig
from worker.engine.errors import ConfigError
from worker.engine.progress import EvalInfo, ProgressCallback, StepInfo, ValidationInfo
from worker.engine.runner import run_job
from worker.engine.study import StudyConfig, expand, run_fingerprint
from worker.engine.tracking import TrackingSettings, flatten

from ..mlflow_server import PORT, port_is_free, running_mlflow_server


class Recorder(ProgressCallback):
    def __init__(self) -> None:
        self.steps: list[StepInfo] = []
        self.evals: list[EvalInfo] = []
        self.validations: list[ValidationInfo] = []

    def on_step(self, info: StepInfo) -> None:
        self.steps.append(info)

    def on_eval(self, info: EvalInfo) -> None:
        self.evals.append(info)

    def on_validation(self, info: ValidationInfo) -> None:
        self.validations.append(info)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    with running_mlflow_server(tmp_path_factory.mktemp("mlflow"), PORT) as uri:
        yield uri


def _config(tmp_path: Path, tracking: dict, *, benchmarks: bool = True) -> JobConfig:
    rows = [
        {"instruction": f"What is {a} + 1?", "output": f"{a + 1}", "answer": str(a + 1)}
        for a in range(10)
    ]
    data = tmp_path / "train.json"
    data.write_text(json.dumps(rows))
    # A small local benchmark in the LLM-Adapters layout (<folder>/test.json).
    bench = tmp_path / "benchmarks"
    (bench / "SVAMP").mkdir(parents=True)
    (bench / "SVAMP" / "test.json").write_text(json.dumps(rows[:2]))
    evaluation = (
        {
            "benchmarks": ["svamp"],
            "every_n_steps": 2,
            "max_examples": 2,
            "data_dir": str(bench),
            "batch_size": 2,
            "decoding": {"max_new_tokens": 4},
        }
        if benchmarks
        else {}
    )
    return JobConfig.from_dict(
        {
            "name": "tracked tiny",
            "base_model": "tiny:llama",
            "dataset_path": str(data),
            "adapter": {"method": "lora", "placement": {"modules": ["q", "v"]}, "params": {"r": 4}},
            "training": {
                "max_steps": 4,
                "batch_size": 2,
                "micro_batch_size": 2,
                "warmup_steps": 1,
                "val_set_size": 2,
                "cutoff_len": 48,
                "precision": "fp32",
            },
            "evaluation": evaluation,
            "tracking": tracking,
        }
    )


def _tensorboard(folder: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_a_job_is_logged_to_mlflow_and_tensorboard(tmp_path, mlflow_server):
    from mlflow.tracking import MlflowClient

    config = _config(
        tmp_path, {"mlflow": {"tracking_uri": mlflow_server, "experiment": "tracking-test"}}
    )
    rec = Recorder()
    summary = run_job(config, tmp_path / "out", rec, tracking=TrackingSettings(timeout_s=60))
    assert summary.status == "succeeded"
    train = {s.step: s for s in rec.steps}
    assert sorted(train) == [1, 2, 3, 4]

    # TensorBoard: the job's own curve, step for step, in its artifacts.
    tb = _tensorboard(tmp_path / "out" / "tensorboard")
    assert [s for s, _ in tb["train/loss"]] == [1, 2, 3, 4]
    for step, value in tb["train/loss"]:
        assert value == pytest.approx(train[step].loss, rel=1e-5)
    for step, value in tb["train/learning_rate"]:
        assert value == pytest.approx(train[step].learning_rate, rel=1e-5)
    assert tb["validation/loss"] == [
        (v.step, pytest.approx(v.loss, rel=1e-5)) for v in rec.validations
    ]
    evals = [(e.step, pytest.approx(e.accuracy)) for e in rec.evals]
    assert [s for s, _ in evals] == [0, 2, 4]
    assert tb["eval/svamp/accuracy"] == evals

    # MLflow: read back from the server with MLflow's own client.
    client = MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name("tracking-test")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "tracked tiny"
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["adapter.method"] == "lora"
    assert params["adapter.params.r"] == "4"
    assert params["training.max_steps"] == "4"
    assert params["adapter.placement.modules"] == '["q", "v"]'
    assert params["trainable_parameters"] == str(summary.trainable_parameters)
    assert run.data.tags["studio.base_model"] == "tiny:llama"

    def history(key: str) -> list[tuple[int, float]]:
        points = client.get_metric_history(run.info.run_id, key)
        return sorted((m.step, m.value) for m in points)

    assert history("train/loss") == [(s, pytest.approx(v, rel=1e-5)) for s, v in tb["train/loss"]]
    assert history("validation/loss") == tb["validation/loss"]
    assert history("eval/svamp/accuracy") == evals
    assert history("summary/wall_seconds")[0][0] == 4

    # The adapter as an artifact, byte for byte.
    names = {a.path for a in client.list_artifacts(run.info.run_id, "adapter")}
    assert "adapter/adapter_config.json" in names
    got = client.download_artifacts(run.info.run_id, "adapter", str(tmp_path / "dl"))
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        assert (Path(got) / name).read_bytes() == (tmp_path / "out" / "adapter" / name).read_bytes()


def test_a_tracking_server_that_is_down_warns_and_the_job_carries_on(tmp_path, caplog):
    port = PORT + 1
    assert port_is_free(port)
    config = _config(
        tmp_path, {"mlflow": {"tracking_uri": f"http://127.0.0.1:{port}"}}, benchmarks=False
    )
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="worker.engine.tracking"):
        summary = run_job(config, tmp_path / "out", tracking=TrackingSettings(timeout_s=10))
    assert summary.status == "succeeded"
    assert time.monotonic() - started < 120
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("MLflow:") and "carries on" in m for m in warnings), warnings
    # TensorBoard files are written all the same.
    assert [s for s, _ in _tensorboard(tmp_path / "out" / "tensorboard")["train/loss"]] == [
        1,
        2,
        3,
        4,
    ]


def test_wandb_offline_writes_its_run_files_into_the_job(tmp_path):
    config = _config(
        tmp_path, {"wandb": {"mode": "offline", "project": "studio-test"}}, benchmarks=False
    )
    summary = run_job(config, tmp_path / "out", tracking=TrackingSettings(timeout_s=90))
    assert summary.status == "succeeded"
    runs = list((tmp_path / "out" / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, list((tmp_path / "out" / "wandb").rglob("*"))
    (data,) = runs[0].glob("run-*.wandb")
    # wandb keeps no Python reader of its transaction log (`wandb sync` uploads it): its
    # protobuf records hold the keys as text, so the run's name, config and curves show.
    # wandb's service process finishes writing it a moment after the run has finished.
    deadline = time.monotonic() + 60
    while b"train/learning_rate" not in (raw := data.read_bytes()) and time.monotonic() < deadline:
        time.sleep(0.5)
    for text in (b"tracked tiny", b"adapter.method", b"train/loss", b"train/learning_rate"):
        assert text in raw, text


def test_no_tracking_server_by_default_and_settings_from_the_environment(monkeypatch):
    for name in ("STUDIO_MLFLOW_TRACKING_URI", "WANDB_API_KEY", "STUDIO_WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert TrackingSettings.from_env().mlflow_tracking_uri is None
    monkeypatch.setenv("STUDIO_MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("STUDIO_TRACKING_TIMEOUT_S", "7")
    got = TrackingSettings.from_env()
    assert (got.mlflow_tracking_uri, got.timeout_s) == ("http://mlflow:5000", 7.0)


def test_tracking_config_errors_name_the_key():
    base = {"base_model": "tiny:llama", "adapter": {"method": "lora"}}
    with pytest.raises(
        ConfigError, match=r"config\.tracking\.mlflow\.tracking_uri must be an http"
    ):
        JobConfig.from_dict({**base, "tracking": {"mlflow": {"tracking_uri": "file:///etc"}}})
    with pytest.raises(ConfigError, match=r"unknown key 'uri' in config\.tracking\.mlflow"):
        JobConfig.from_dict({**base, "tracking": {"mlflow": {"uri": "http://x"}}})
    with pytest.raises(ConfigError, match=r"config\.tracking\.wandb\.mode must be one of"):
        JobConfig.from_dict({**base, "tracking": {"wandb": {"mode": "cloud"}}})


def test_a_study_groups_its_cells_and_tracking_leaves_the_fingerprint_alone():
    study = StudyConfig.from_dict(
        {
            "name": "seeds",
            "base": {"base_model": "tiny:llama", "adapter": {"method": "lora"}},
            "axes": [{"path": "training.seed", "values": [1, 2]}],
        }
    )
    cells = expand(study)
    assert {c.config["tracking"]["group"] for c in cells} == {"seeds"}
    plain = {k: v for k, v in cells[0].config.items() if k != "tracking"}
    assert run_fingerprint(cells[0].config, "d") == run_fingerprint(plain, "d")


def test_flatten_gives_dotted_keys():
    assert flatten({"a": {"b": 1, "c": [1, 2], "d": {}}, "e": "x", "f": None}) == {
        "a.b": "1",
        "a.c": "[1, 2]",
        "a.d": "{}",
        "e": "x",
        "f": "null",
    }


def test_studio_train_with_mlflow_flag_logs_there_and_writes_tensorboard(
    tmp_path, mlflow_server, monkeypatch, capsys
):
    from mlflow.tracking import MlflowClient

    from worker.cli import main

    monkeypatch.delenv("STUDIO_MLFLOW_TRACKING_URI", raising=False)
    config = _config(tmp_path, {}, benchmarks=False).to_dict()
    config["name"] = "from the command line"
    path = tmp_path / "job.json"
    path.write_text(json.dumps(config))
    out = tmp_path / "run"
    assert main(["train", str(path), "--output", str(out), "--mlflow", mlflow_server]) == 0
    assert "succeeded" in capsys.readouterr().out
    assert [s for s, _ in _tensorboard(out / "tensorboard")["train/loss"]] == [1, 2, 3, 4]
    client = MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name("adapter-studio")  # the default experiment
    assert experiment is not None
    runs = client.search_runs(
        [experiment.experiment_id], filter_string="attributes.run_name = 'from the command line'"
    )
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert len(client.get_metric_history(runs[0].info.run_id, "train/loss")) == 4
