import json

import pytest

from worker.engine.config import JobConfig
from worker.engine.errors import ConfigError

BASE = {"base_model": "tiny:llama", "adapter": {"method": "lora"}}


def test_minimal_config_gets_defaults():
    cfg = JobConfig.from_dict(BASE)
    assert cfg.training.batch_size == 16 and cfg.training.micro_batch_size == 4
    assert cfg.adapter.placement.layers == "all"
    assert cfg.evaluation.decoding.strategy == "greedy"


def test_round_trip_through_dict():
    data = {
        **BASE,
        "adapter": {
            "method": "series",
            "placement": {"modules": ["mlp"], "layers": [0, 1]},
            "params": {"bottleneck_size": 64},
        },
        "training": {"epochs": 1, "learning_rate": 3e-4},
        "evaluation": {"benchmarks": ["svamp"], "decoding": {"max_new_tokens": 32}},
    }
    cfg = JobConfig.from_dict(data)
    assert JobConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.training.epochs == 1.0 and isinstance(cfg.training.epochs, float)


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"adapter": None}, "config.adapter must be an object"),
        ({"trainig": {}}, "unknown key 'trainig' in config"),
        ({"training": {"epoch": 3}}, "unknown key 'epoch' in config.training"),
        ({"training": {"batch_size": "16"}}, "config.training.batch_size must be an integer"),
        ({"training": {"batch_size": True}}, "config.training.batch_size must be an integer"),
        ({"training": {"learning_rate": "fast"}}, "config.training.learning_rate"),
        ({"evaluation": {"benchmarks": "gsm8k"}}, "config.evaluation.benchmarks must be a list"),
        ({"adapter": {"method": "lora", "placement": {"modules": "q"}}}, "placement.modules"),
    ],
)
def test_bad_values_name_the_key(patch, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        JobConfig.from_dict({**BASE, **patch})


def test_missing_required_key():
    with pytest.raises(ConfigError, match="config.base_model is required"):
        JobConfig.from_dict({"adapter": {"method": "lora"}})


def test_from_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        JobConfig.from_file(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        JobConfig.from_file(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(BASE))
    assert JobConfig.from_file(good).base_model == "tiny:llama"
