"""lm-evaluation-harness as an evaluation kind: a job's harness tasks on the trained model, the
scores it stores (equal to what lm_eval itself returns for the saved adapter), `studio eval
--harness`, and the config's refusals. The tasks are the shipped local ones
(docs/harness_tasks/), reading the shared LLM-Adapters data; nothing comes from a hub."""

import json
from pathlib import Path

import pytest

from worker.cli import main
from worker.engine.adapters import load_adapter
from worker.engine.config import HarnessConfig, JobConfig
from worker.engine.errors import ConfigError
from worker.engine.evaluation.harness import OFFLINE_ENV, check_tasks
from worker.engine.runner import run_job
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model

REPO = Path(__file__).resolve().parents[2]
TASKS = REPO / "docs" / "harness_tasks"
SHARED = REPO.parent / "shared" / "datasets" / "llm-adapters"
needs_data = pytest.mark.skipif(not SHARED.is_dir(), reason="shared LLM-Adapters data not present")

HARNESS = {
    "tasks": ["boolq_local", "svamp_local"],
    "include_path": str(TASKS),
    "limit": 3,
    "batch_size": 3,
}


def _job(tmp_path: Path) -> dict:
    rows = [
        {"instruction": f"What is {a} + {b}?", "output": f"The answer is {a + b}."}
        for a in range(4)
        for b in range(4)
    ]
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows))
    return {
        "name": "tiny-harness",
        "base_model": "tiny:llama",
        "dataset_path": str(data),
        "adapter": {"method": "lora", "placement": {"modules": ["q", "v"]}, "params": {"r": 4}},
        "training": {
            "max_steps": 2,
            "batch_size": 4,
            "micro_batch_size": 4,
            "warmup_steps": 0,
            "val_set_size": 4,
            "cutoff_len": 64,
            "learning_rate": 0.01,
            "precision": "fp32",  # as the fresh base the test compares with
        },
        "evaluation": {"harness": HARNESS},
    }


@pytest.fixture(scope="module")
def harness_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("harness") / "run"
    run_job(JobConfig.from_dict(_job(out.parent)), out)
    return out


@needs_data
def test_job_stores_the_scores_lm_eval_returns(harness_run: Path) -> None:
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    stored = json.loads((harness_run / "eval_results.json").read_text())
    assert set(stored) == {"harness:boolq_local", "harness:svamp_local"}
    assert stored["harness:boolq_local"]["rule"] == "harness:acc"
    assert stored["harness:svamp_local"]["rule"] == "harness:exact_match"
    assert all(r["suite"] == "harness" and r["total"] == 3 for r in stored.values())
    events = [json.loads(x) for x in (harness_run / "metrics.jsonl").read_text().splitlines()]
    assert {e["benchmark"] for e in events if e["type"] == "eval"} == set(stored)

    # lm_eval on its own, on the saved adapter over a fresh base: the same figures.
    model = load_adapter(build_tiny_model("llama"), harness_run / "adapter")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in OFFLINE_ENV.items():
            mp.setenv(key, value)
        mp.chdir(TASKS)
        out = lm_eval.simple_evaluate(
            model=HFLM(pretrained=model, tokenizer=build_byte_tokenizer(), batch_size=3),
            tasks=["boolq_local", "svamp_local"],
            limit=3,
            task_manager=TaskManager(include_path=str(TASKS), include_defaults=False),
        )
    assert out is not None
    assert stored["harness:boolq_local"]["accuracy"] == out["results"]["boolq_local"]["acc,none"]
    assert (
        stored["harness:svamp_local"]["accuracy"]
        == out["results"]["svamp_local"]["exact_match,first-number"]
    )
    raw = json.loads((harness_run / "harness_results.json").read_text())
    assert raw["results"]["boolq_local"]["acc,none"] == out["results"]["boolq_local"]["acc,none"]


@needs_data
def test_studio_eval_harness(harness_run: Path, tmp_path: Path, capsys) -> None:
    code = main(
        [
            "eval",
            "--base-model",
            "tiny:llama",
            "--adapter",
            str(harness_run / "adapter"),
            "--harness",
            "boolq_local,svamp_local",
            "--include-path",
            str(TASKS),
            "--max-examples",
            "3",
            "--batch-size",
            "3",
            "--precision",
            "fp32",
            "--output",
            str(tmp_path),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "harness:boolq_local: acc,none" in printed and "(3 examples)" in printed
    written = json.loads((tmp_path / "harness_results.json").read_text())
    # The same model and examples as the job's final evaluation: the same scores.
    stored = json.loads((harness_run / "eval_results.json").read_text())
    for name, entry in written["scores"].items():
        assert entry["accuracy"] == stored[name]["accuracy"], name


def test_studio_eval_needs_one_of_benchmark_or_harness(capsys) -> None:
    assert main(["eval", "--base-model", "tiny:llama"]) != 0
    assert "--benchmark NAME or --harness" in capsys.readouterr().err


def test_unknown_task_is_refused_before_loading(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown task.*nope_task"):
        check_tasks(HarnessConfig(tasks=["nope_task"], include_path=str(TASKS)))
    with pytest.raises(ConfigError, match="include_path: no such folder"):
        check_tasks(HarnessConfig(tasks=["boolq_local"], include_path=str(tmp_path / "missing")))


@pytest.mark.parametrize(
    ("harness", "message"),
    [
        ({}, "evaluation.harness.tasks"),
        ({"tasks": []}, "evaluation.harness.tasks"),
        ({"tasks": ["a,b"]}, "without commas"),
        ({"tasks": ["a", "a"]}, "listed twice"),
        ({"tasks": ["a"], "limit": 0}, "evaluation.harness.limit"),
        ({"tasks": ["a"], "num_fewshot": -1}, "evaluation.harness.num_fewshot"),
        ({"tasks": ["a"], "limt": 3}, "limt"),
    ],
)
def test_config_refusals_name_the_key(tmp_path: Path, harness: dict, message: str) -> None:
    cfg = _job(tmp_path)
    cfg["evaluation"] = {"harness": harness}
    with pytest.raises(ConfigError, match=message):
        JobConfig.from_dict(cfg)
