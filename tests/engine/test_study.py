"""Studies in the engine: expansion, whole-study validation, the paper's presets, aggregation
(mean ± std over seeds, best per column), the Pareto front, and the three writers."""

import csv
import io

import pytest

from worker.engine.adapters import validate_adapter
from worker.engine.config import JobConfig
from worker.engine.errors import ConfigError
from worker.engine.study import (
    CellResult,
    StudyConfig,
    aggregate,
    code_version,
    expand,
    pareto_front,
    run_fingerprint,
    to_csv,
    to_latex,
    to_markdown,
    validate_cells,
)
from worker.engine.study_presets import PRESETS, StudyScale, build_preset

BASE = {
    "base_model": "tiny:llama",
    "dataset_path": "train.jsonl",
    "adapter": {"method": "lora", "placement": {"modules": ["q", "v"]}, "params": {"r": 4}},
    "training": {"max_steps": 3},
}


def _study(axes, base=None):
    return StudyConfig.from_dict({"name": "s", "base": base or BASE, "axes": axes})


def test_cells_are_the_product_of_the_axes_in_order():
    study = _study(
        [
            {
                "name": "method",
                "variants": [
                    {"label": "LoRA", "set": {}},
                    {
                        "label": "series after MLP",
                        "set": {
                            "adapter": {
                                "method": "series",
                                "placement": {"modules": ["mlp"], "position": "after"},
                            }
                        },
                    },
                ],
            },
            {"path": "training.seed", "values": [1, 2, 3]},
        ]
    )
    cells = expand(study)
    assert len(cells) == 6 and [c.index for c in cells] == list(range(6))
    assert [c.labels["training.seed"] for c in cells[:3]] == ["1", "2", "3"]  # last axis fastest
    assert cells[4].labels == {"method": "series after MLP", "training.seed": "2"}
    assert cells[4].values == {"method": "series after MLP", "training.seed": 2}
    assert cells[4].title == "series after MLP, seed=2"
    assert cells[4].config["name"] == "s / series after MLP, seed=2"
    # A variant that changes the method starts from that method's defaults (no LoRA r).
    assert cells[4].config["adapter"] == {
        "method": "series",
        "placement": {"modules": ["mlp"], "position": "after"},
    }
    assert cells[0].config["adapter"]["params"] == {"r": 4}
    assert cells[2].config["training"] == {"max_steps": 3, "seed": 3}  # merged, not replaced
    assert study.seed_axis() == "training.seed"
    assert all(isinstance(c, JobConfig) for c in validate_cells(cells))


@pytest.mark.parametrize(
    ("axes", "message"),
    [
        ([{"path": "training.seed"}], "study.axes[0].values is required"),
        ([{"pth": "x", "values": [1]}], "unknown key 'pth' in study.axes[0]"),
        (
            [{"variants": [{"label": "a", "sett": {}}]}],
            "unknown key 'sett' in study.axes[0].variants[0]",
        ),
        ([{"path": "training..seed", "values": [1]}], "study.axes[0].path"),
        ([{"path": "training.seed", "values": [1, 1]}], "study.axes[0] has the value '1' twice"),
        ([], "study.axes must have at least 1 items"),
        (
            [{"path": "training.seed", "values": [1]}, {"path": "training.seed", "values": [2]}],
            "two axes are named 'training.seed'",
        ),
        (
            [{"path": "training.seed", "values": list(range(20))}] * 1
            + [{"name": "b", "path": "training.max_steps", "values": list(range(1, 21))}],
            "400 cells, more than 256",
        ),
    ],
)
def test_malformed_studies_are_refused_naming_the_key(axes, message):
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")
    ):
        _study(axes)


def test_validation_names_every_bad_cell_and_its_dotted_key():
    study = _study(
        [
            {"path": "training.batch_size", "values": [4, "eight", 0]},
            {"name": "m", "variants": [{"label": "a", "set": {}}]},
        ]
    )
    with pytest.raises(ConfigError) as err:
        validate_cells(expand(study))
    text = str(err.value)
    assert "cell 1 (batch_size=eight, a): config.training.batch_size must be an integer" in text
    assert "cell 2 (batch_size=0, a): config.training.batch_size must be at least 1" in text
    assert "cell 0" not in text


def test_validation_runs_the_callers_check_per_cell():
    """The placement is checked against the family (as the API and the CLI do)."""
    study = _study(
        [
            {
                "name": "placement",
                "variants": [
                    {"label": "ok", "set": {}},
                    {
                        "label": "bad",
                        "set": {"adapter": {"method": "prefix", "placement": {"modules": ["q"]}}},
                    },
                ],
            }
        ]
    )

    def check(data):
        config = JobConfig.from_dict(data)
        validate_adapter(config.adapter, "llama", 2)
        return config

    with pytest.raises(ConfigError, match=r"^cell 1 \(bad\): prefix .* takes no modules"):
        validate_cells(expand(study), check)


@pytest.mark.parametrize("preset", [p.name for p in PRESETS])
def test_every_preset_builds_valid_cells_for_a_llama_model(preset):
    scale = StudyScale.from_dict(
        {
            "base_model": "tiny:llama",
            "dataset_path": "d.jsonl",
            "train_examples": 40,
            "batch_size": 8,
            "eval_examples": 5,
            "benchmarks": ["svamp"],
            "seeds": [1, 2],
        }
    )
    study = build_preset(preset, scale)
    assert study.seed_axis() == "seed" and study.description
    cells = expand(study)
    configs = validate_cells(cells)
    for config in configs:
        validate_adapter(config.adapter, "llama", 4)
        assert config.training.max_steps == 5  # 40 examples / batch 8
        assert config.evaluation.max_examples == 5
    assert {c.training.seed for c in configs} == {1, 2}


def test_series_placement_preset_puts_the_adapter_where_the_paper_did():
    study = build_preset("series-placement", StudyScale(base_model="tiny:llama"))
    placements = {c.labels["placement"]: c.config["adapter"]["placement"] for c in expand(study)}
    assert placements == {
        "after attention": {"modules": ["attn"], "position": "after"},
        "after MLP": {"modules": ["mlp"], "position": "after"},
        "after both": {"modules": ["attn", "mlp"], "position": "after"},
    }
    assert "after the MLP" in (study.description or "")


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="series-placement"):
        build_preset("nope", StudyScale(base_model="tiny:llama"))


def _result(index, method, seed, acc, status="succeeded"):
    return CellResult(
        index=index,
        labels={"method": method, "seed": str(seed)},
        status=status,
        trainable_parameters=1000 if method == "a" else 2000,
        total_parameters=100_000,
        peak_memory_bytes=2**20 * (10 + index),
        wall_seconds=10.0 + index,
        accuracy=acc,
        examples={b: 20 for b in acc},
        scoring="paper",
    )


def test_aggregate_folds_seeds_into_mean_and_sample_std_and_marks_the_best():
    results = [
        _result(0, "a", 1, {"gsm8k": 0.10, "svamp": 0.50}),
        _result(1, "a", 2, {"gsm8k": 0.20, "svamp": 0.30}),
        _result(2, "b", 1, {"gsm8k": 0.40, "svamp": 0.20}),
        _result(3, "b", 2, {}, status="failed"),
    ]
    table = aggregate(results, ["method", "seed"], "seed")
    assert table.axes == ["method"] and table.benchmarks == ["gsm8k", "svamp"]
    a, b = table.rows
    assert a.cells == [0, 1] and a.runs == 2 and b.runs == 1
    assert a.accuracy["gsm8k"].mean == pytest.approx(15.0)
    assert a.accuracy["gsm8k"].std == pytest.approx(7.0710678)  # sample std of 10, 20
    assert a.average.mean == pytest.approx(27.5) and a.average.std == pytest.approx(3.5355339)
    assert b.accuracy["gsm8k"].std == 0.0 and b.average.mean == pytest.approx(30.0)
    assert a.trainable_percent == pytest.approx(1.0)
    assert a.peak_memory_bytes.mean == pytest.approx(2**20 * 10.5)
    assert table.best == {"gsm8k": [1], "svamp": [0], "average": [1]}
    assert table.scoring == ["paper"] and a.examples == {"gsm8k": 20, "svamp": 20}


def test_writers_carry_every_figure():
    table = aggregate(
        [
            _result(0, "a", 1, {"svamp": 0.10}),
            _result(1, "a", 2, {"svamp": 0.20}),
            _result(2, "b_x", 1, {"svamp": 0.40}),
            _result(3, "b_x", 2, {"svamp": 0.40}),
        ],
        ["method", "seed"],
        "seed",
    )
    rows = list(csv.DictReader(io.StringIO(to_csv(table))))
    assert [r["method"] for r in rows] == ["a", "b_x"]
    assert float(rows[0]["svamp_mean"]) == pytest.approx(15.0) and rows[0]["runs"] == "2"
    assert rows[0]["svamp_examples"] == "20" and rows[1]["peak_memory_bytes"] == str(13_107_200)
    md = to_markdown(table)
    assert "| a | 1,000 (1.000 %) | 10 | 10 ± 1 | 15.0 ± 7.1 | 15.0 ± 7.1 |" in md
    assert "| b_x | 2,000 (2.000 %) | 12 | 12 ± 1 | **40.0 ± 0.0** | **40.0 ± 0.0** |" in md
    assert "paper scoring rule" in md and "20 examples" in md and "over seed" in md
    tex = to_latex(table)
    assert r"b\_x & 2,000 (2.000 \%)" in tex and r"\textbf{40.0 $\pm$ 0.0}" in tex
    assert tex.count(r"\\") == 3 and r"\begin{tabular}{lrrrrr}" in tex


def test_pareto_front():
    # (cost, score): 2 dominates 1 (cheaper and better); 3 costs more but scores most.
    points = [(10.0, 50.0), (20.0, 40.0), (5.0, 55.0), (30.0, 70.0), (None, 99.0)]
    assert pareto_front(points) == [False, False, True, True, False]


def test_fingerprint_ignores_the_name_and_follows_data_and_config():
    config = JobConfig.from_dict({**BASE, "name": "x"}).to_dict()
    same = run_fingerprint({**config, "name": "y"}, "data1")
    assert run_fingerprint(config, "data1") == same
    assert run_fingerprint(config, "data2") != same
    other = {**config, "training": {**config["training"], "seed": 7}}
    assert run_fingerprint(other, "data1") != same
    assert len(code_version()) == 16
