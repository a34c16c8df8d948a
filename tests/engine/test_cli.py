"""`studio train` and `studio eval` end to end on a tiny model, and their one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from worker.cli import main
from worker.engine.adapters import load_adapter
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "llm-adapters"
needs_data = pytest.mark.skipif(not SHARED.is_dir(), reason="shared LLM-Adapters data not present")


def _dataset(tmp_path: Path) -> Path:
    rows = [
        {
            "instruction": f"What is {a} + {b}?",
            "output": f"{a} + {b} = {a + b}. The answer is {a + b}.",
            "answer": str(a + b),
        }
        for a in range(8)
        for b in range(4)
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def _config(tmp_path: Path, **adapter) -> Path:
    cfg = {
        "name": "tiny-cli",
        "base_model": "tiny:llama",
        "dataset_path": str(_dataset(tmp_path)),
        "adapter": adapter
        or {"method": "lora", "placement": {"modules": ["q", "v"]}, "params": {"r": 4}},
        "training": {
            "epochs": 1,
            "max_steps": 4,
            "batch_size": 4,
            "micro_batch_size": 2,
            "warmup_steps": 0,
            "val_set_size": 4,
            "cutoff_len": 128,
        },
        "evaluation": {
            "benchmarks": ["svamp"],
            "every_n_steps": 2,
            "max_examples": 3,
            "data_dir": str(SHARED),
            "batch_size": 3,
            "decoding": {"max_new_tokens": 4},
        },
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(cfg))
    return path


@needs_data
@pytest.mark.parametrize(
    "adapter",
    [
        {"method": "lora", "placement": {"modules": ["q", "v"]}, "params": {"r": 4}},
        {"method": "series", "placement": {"modules": ["mlp"]}, "params": {"bottleneck_size": 8}},
    ],
)
def test_train_writes_everything_and_adapter_reloads(tmp_path, capsys, adapter):
    out = tmp_path / "run"
    assert main(["train", str(_config(tmp_path, **adapter)), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "succeeded: 4/4 steps" in printed and "svamp:" in printed
    for name in [
        "config.json",
        "metrics.jsonl",
        "eval_results.json",
        "summary.json",
        "predictions/svamp.jsonl",
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
        "adapter/studio_run.json",
    ]:
        assert (out / name).is_file(), name
    events = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [e["step"] for e in events if e["type"] == "step"] == [1, 2, 3, 4]
    assert [e["step"] for e in events if e["type"] == "eval"] == [0, 2, 4]  # the accuracy curve
    assert any(e["type"] == "validation" for e in events)
    summary = json.loads((out / "summary.json").read_text())
    assert 0 < summary["trainable_parameters"] < summary["total_parameters"]
    # Every accuracy names its rule (paper, the default) and every prediction has both.
    assert "(paper rule)" in printed and summary["scoring"] == "paper"
    results = json.loads((out / "eval_results.json").read_text())["svamp"]
    assert results["rule"] == "paper" and set(results["accuracy_by_rule"]) == {"paper", "strict"}
    assert all(e["extra"]["rule"] == "paper" for e in events if e["type"] == "eval")
    prompts = json.loads((out / "prompts.json").read_text())
    assert prompts["template"] == "alpaca" and prompts["training"].startswith("Below is")
    assert prompts["training"].endswith("The answer is " + prompts["training"].split()[-1])
    assert prompts["evaluation"].endswith("### Response:\n")
    pred = json.loads((out / "predictions/svamp.jsonl").read_text().splitlines()[0])
    assert {"extracted_paper", "correct_paper", "extracted_strict", "correct_strict"} <= set(pred)
    assert pred["rule"] == "paper" and pred["correct"] == pred["correct_paper"]
    # The saved adapter gives back the trained model's behaviour on a fresh base.
    model = load_adapter(build_tiny_model("llama"), out / "adapter")
    ids = torch.tensor([build_byte_tokenizer()("What is 1 + 2?")["input_ids"]])
    base = build_tiny_model("llama")(input_ids=ids).logits
    assert not torch.allclose(model(input_ids=ids).logits, base)


@needs_data
def test_eval_command_with_adapter(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(_config(tmp_path)), "--output", str(out)]) == 0
    capsys.readouterr()
    code = main(
        [
            "eval",
            "--base-model",
            "tiny:llama",
            "--adapter",
            str(out / "adapter"),
            "--benchmark",
            "boolq",
            "--data-dir",
            str(SHARED),
            "--max-examples",
            "3",
            "--max-new-tokens",
            "3",
            "--output",
            str(tmp_path),
        ]
    )
    assert code == 0
    assert "boolq: accuracy" in capsys.readouterr().out
    lines = (tmp_path / "predictions-boolq.jsonl").read_text().splitlines()
    assert len(lines) == 3 and "extracted" in json.loads(lines[0])


BAD = [
    ({"adapter": {"method": "loar"}}, "unknown adapter method 'loar'"),
    ({"adapter": {"method": "series", "placement": {"modules": ["q"]}}}, "series"),
    ({"adapter": {"method": "prefix", "placement": {"modules": ["q"]}}}, "prefix"),
    ({"adapter": {"method": "lora", "placement": {"layers": [0, 9]}}}, "layer"),
    ({"dataset_path": "/nonexistent.json"}, "dataset file not found"),
    ({"base_model": "llama-7b"}, "invalid base model reference"),
    ({"evaluation": {"benchmarks": ["gsm9k"]}}, "unknown benchmark 'gsm9k'"),
    ({"training": {"epochz": 1}}, "unknown key 'epochz'"),
]


@pytest.mark.parametrize("patch, message", BAD)
def test_bad_input_is_one_line_and_exit_2(tmp_path, patch, message):
    cfg = json.loads(_config(tmp_path).read_text())
    cfg.update(patch)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(cfg))
    proc = subprocess.run(
        [sys.executable, "-m", "worker.cli", "train", str(path), "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("studio: error:"), proc.stderr
    assert message.lower() in lines[0].lower()
    assert "Traceback" not in proc.stderr


def test_malformed_record_is_refused(tmp_path):
    cfg = json.loads(_config(tmp_path).read_text())
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "x", "output": 5}\n')
    cfg["dataset_path"] = str(bad)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    assert main(["train", str(path), "--output", str(tmp_path / "o")]) == 2


def _predictions(tmp_path: Path, rows: list, name: str = "preds.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


RESCORE_ROWS = [
    {"benchmark": "aqua", "output": "Answer: B", "gold": "B", "index": 0},
    {"benchmark": "aqua", "output": "About (A)", "gold": "A", "index": 1},
    {"benchmark": "gsm8k", "output": "52.0/2", "gold": 26, "index": 0},
    {"benchmark": "boolq", "output": "it is untrue", "gold": "true", "index": 0},
]


@pytest.mark.parametrize(
    "rule, correct, report",
    [
        (
            "paper",
            [False, True, False, True],
            ["aqua: accuracy 50.0 % (1/2, paper rule)", "gsm8k: accuracy 0.0 % (0/1, paper rule)"],
        ),
        (
            "strict",
            [True, True, True, False],
            [
                "aqua: accuracy 100.0 % (2/2, strict rule)",
                "boolq: accuracy 0.0 % (0/1, strict rule)",
            ],
        ),
    ],
)
def test_rescore_writes_lines_and_accuracy_per_benchmark(tmp_path, capsys, rule, correct, report):
    src = _predictions(tmp_path, RESCORE_ROWS)
    out = tmp_path / "out.jsonl"
    assert main(["rescore", str(src), "--rule", rule, "--output", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert all(line in printed for line in report), printed
    assert len(printed) == 3  # one line per benchmark
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["correct"] for r in rows] == correct
    assert all(r["rule"] == rule for r in rows)
    # Every key of the input line is kept, in its order, with the verdict added.
    assert list(rows[0])[:4] == ["benchmark", "output", "gold", "index"]
    assert rows[0]["extracted"] == ("A" if rule == "paper" else "B")
    assert src.read_text() == "".join(json.dumps(r) + "\n" for r in RESCORE_ROWS)  # untouched


def test_rescore_to_stdout_keeps_stdout_json_and_in_place_rewrites(tmp_path):
    src = _predictions(tmp_path, RESCORE_ROWS[:2] + [""])
    proc = subprocess.run(
        [sys.executable, "-m", "worker.cli", "rescore", str(src), "--rule", "paper"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["extracted"] for line in proc.stdout.splitlines()] == ["A", "A"]
    assert "aqua: accuracy 50.0 % (1/2, paper rule)" in proc.stderr
    assert main(["rescore", str(src), "--rule", "strict", "--in-place"]) == 0
    assert [json.loads(line)["correct"] for line in src.read_text().splitlines()] == [True, True]


@pytest.mark.parametrize(
    "rows, message",
    [
        (['{"benchmark": "aqua", "output": "A", "gold": "A"}', "{not json"], "line 2 is not valid JSON"),
        ([{"benchmark": "gsm9k", "output": "1", "gold": "1"}], "line 1 names an unknown benchmark 'gsm9k'"),
        ([{"benchmark": "aqua", "output": "A"}], "line 1 lacks 'gold'"),
        (["", {"output": "A"}], "line 2 lacks 'benchmark', 'gold'"),
        (["[1, 2]"], "line 1 must be a JSON object"),
        ([{"benchmark": "aqua", "output": 3, "gold": "A"}], "line 1: 'output' must be a string"),
    ],
)  # fmt: skip
def test_rescore_errors_name_the_problem(tmp_path, capsys, rows, message):
    src = _predictions(tmp_path, rows)
    assert main(["rescore", str(src), "--rule", "paper"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("studio: error:") and message in err, err


def test_rescore_missing_file_and_conflicting_targets(tmp_path, capsys):
    assert main(["rescore", str(tmp_path / "none.jsonl"), "--rule", "paper"]) == 2
    assert "predictions file not found" in capsys.readouterr().err
    src = _predictions(tmp_path, RESCORE_ROWS)
    assert main(["rescore", str(src), "--rule", "paper", "--in-place", "--output", "x"]) == 2
    assert "either --output or --in-place" in capsys.readouterr().err
