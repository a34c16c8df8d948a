"""`studio study` end to end on a tiny model: 2 methods × 2 seeds run one after another, the
results table (mean ± std over the seeds) in CSV, Markdown and LaTeX, a rerun that reuses the
finished cells, and a bad study refused before any cell runs."""

import csv
import json
from pathlib import Path

import pytest

from worker.cli import main

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "llm-adapters"
needs_data = pytest.mark.skipif(not SHARED.is_dir(), reason="shared LLM-Adapters data not present")


def _study(tmp_path: Path, **base_over) -> Path:
    rows = [
        {
            "instruction": f"What is {a} + {b}?",
            "output": f"The answer is {a + b}.",
            "answer": str(a + b),
        }
        for a in range(6)
        for b in range(4)
    ]
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows))
    base = {
        "base_model": "tiny:llama",
        "dataset_path": str(data),
        "adapter": {"method": "lora", "placement": {"modules": ["q", "v"]}, "params": {"r": 4}},
        "training": {
            "max_steps": 2,
            "batch_size": 4,
            "micro_batch_size": 2,
            "warmup_steps": 0,
            "val_set_size": 0,
            "cutoff_len": 64,
        },
        "evaluation": {
            "benchmarks": ["svamp"],
            "every_n_steps": 1,
            "max_examples": 2,
            "batch_size": 2,
            "data_dir": str(SHARED),
            "decoding": {"max_new_tokens": 3},
        },
        **base_over,
    }
    study = {
        "name": "tiny study",
        "base": base,
        "axes": [
            {
                "name": "method",
                "variants": [
                    {"label": "LoRA q,v", "set": {}},
                    {
                        "label": "series after MLP",
                        "set": {
                            "adapter": {
                                "method": "series",
                                "placement": {"modules": ["mlp"], "position": "after"},
                                "params": {"bottleneck_size": 8},
                            }
                        },
                    },
                ],
            },
            {"name": "seed", "path": "training.seed", "values": [1, 2]},
        ],
    }
    path = tmp_path / "study.json"
    path.write_text(json.dumps(study))
    return path


@needs_data
def test_study_runs_every_cell_and_writes_the_table(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["study", str(_study(tmp_path)), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "4 cells" in printed
    for n, title in enumerate(["LoRA q,v, seed=1", "LoRA q,v, seed=2", "series after MLP, seed=1"]):
        assert f"[{n + 1}/4] {title}" in printed
    for n in range(4):
        summary = json.loads((out / "cells" / str(n) / "summary.json").read_text())
        assert summary["status"] == "succeeded" and summary["steps"] == 2
    seeds = [
        json.loads((out / "cells" / str(n) / "config.json").read_text())["training"]["seed"]
        for n in range(4)
    ]
    assert seeds == [1, 2, 1, 2]

    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["method"] for r in rows] == ["LoRA q,v", "series after MLP"]
    assert all(r["runs"] == "2" and r["svamp_examples"] == "2" for r in rows)
    lora, series = rows
    assert int(lora["trainable_parameters"]) != int(series["trainable_parameters"])
    assert all(0 <= float(r["svamp_mean"]) <= 100 and float(r["svamp_std"]) >= 0 for r in rows)
    assert all(int(r["peak_memory_bytes"]) > 0 and float(r["wall_seconds"]) > 0 for r in rows)
    md = (out / "results.md").read_text()
    assert md.startswith("| method | trainable params |") and " ± " in md and "over seed" in md
    assert "\\begin{tabular}" in (out / "results.tex").read_text()
    assert md in printed  # the table is printed at the end

    # Run again: every cell is found finished with the same config and is not trained again.
    assert main(["study", str(_study(tmp_path)), "--output", str(out)]) == 0
    assert capsys.readouterr().out.count("reused") == 4


def test_a_bad_cell_stops_the_study_before_anything_runs(tmp_path, capsys):
    path = _study(tmp_path)
    study = json.loads(path.read_text())
    study["axes"][0]["variants"][1]["set"]["adapter"]["params"]["bottleneck_size"] = 0
    path.write_text(json.dumps(study))
    assert main(["study", str(path), "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "cell 2 (series after MLP, seed=1)" in err and "bottleneck_size" in err
    assert not (tmp_path / "out").exists()


def test_preset_writes_its_study_file(tmp_path, capsys):
    target = tmp_path / "placement.json"
    code = main(
        [
            "study",
            "--preset",
            "parallel-placement",
            "--base-model",
            "tiny:llama",
            "--steps",
            "5",
            "--eval-examples",
            "3",
            "--benchmarks",
            "svamp",
            "--seeds",
            "1,2",
            "--write-study",
            str(target),
        ]
    )
    assert code == 0
    study = json.loads(target.read_text())
    assert [v["label"] for v in study["axes"][0]["variants"]] == ["beside attention", "beside MLP"]
    assert study["axes"][1] == {
        "name": "seed",
        "path": "training.seed",
        "values": [1, 2],
    }
    assert study["base"]["training"]["max_steps"] == 5
    assert "beside the MLP" in study["description"]
    assert (
        main(
            [
                "study",
                "--preset",
                "nope",
                "--base-model",
                "tiny:llama",
                "--write-study",
                str(target),
            ]
        )
        == 2
    )
    assert "presets: series-placement" in capsys.readouterr().err
