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


def test_new_fields_and_their_defaults():
    cfg = JobConfig.from_dict(BASE)
    assert cfg.evaluation.scoring == "paper"
    assert cfg.evaluation.decoding.preset == "custom"
    assert cfg.training.prompt_template == "alpaca"
    data = {
        **BASE,
        "training": {"prompt_template": "llm-adapters"},
        "evaluation": {"scoring": "strict", "decoding": {"preset": "paper"}},
    }
    cfg = JobConfig.from_dict(data)
    assert (cfg.training.prompt_template, cfg.evaluation.scoring) == ("llm-adapters", "strict")
    assert cfg.evaluation.decoding.preset == "paper"


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"training": {"epochs": 0}}, "config.training.epochs must be greater than 0, got 0"),
        (
            {"training": {"learning_rate": 0}},
            "config.training.learning_rate must be greater than 0",
        ),
        (
            {"training": {"micro_batch_size": 0}},
            "config.training.micro_batch_size must be at least 1",
        ),
        ({"training": {"cutoff_len": 4}}, "config.training.cutoff_len must be at least 8, got 4"),
        ({"training": {"val_set_size": -1}}, "config.training.val_set_size must be at least 0"),
        ({"training": {"max_steps": 0}}, "config.training.max_steps must be at least 1"),
        ({"evaluation": {"decoding": {"num_beams": 0}}}, "decoding.num_beams must be at least 1"),
        ({"evaluation": {"decoding": {"max_new_tokens": 0}}}, "max_new_tokens must be at least 1"),
        ({"training": {"precision": "fp8"}}, "config.training.precision must be one of 'auto'"),
        ({"training": {"quantization": "2bit"}}, "config.training.quantization must be one of"),
        ({"training": {"lr_scheduler": "cosin"}}, "config.training.lr_scheduler must be one of"),
        ({"training": {"prompt_template": "vicuna"}}, "'alpaca', 'llm-adapters' or 'chat'"),
        ({"evaluation": {"scoring": "loose"}}, "config.evaluation.scoring must be one of"),
        ({"evaluation": {"decoding": {"strategy": "sample"}}}, "decoding.strategy must be one of"),
        ({"evaluation": {"decoding": {"preset": "slow"}}}, "decoding.preset must be one of"),
        ({"training": {"epochs": "3"}}, "config.training.epochs must be a number, got '3'"),
        ({"training": {"train_on_inputs": 1}}, "train_on_inputs must be true or false, got 1"),
        ({"training": {"seed": 1.5}}, "config.training.seed must be an integer, got 1.5"),
        ({"adapter": {"method": "lora", "params": []}}, "config.adapter.params must be an object"),
        ({"evaluation": {"benchmarks": ["gsm8k", 3]}}, "config.evaluation.benchmarks[1] must be"),
        (
            {"adapter": {"method": "lora", "placement": {"layers": [0, "1"]}}},
            "config.adapter.placement.layers must be 'all', a list of layer indices",
        ),
        ({"name": ""}, "config.name must not be empty"),
        ({"training": {"learning_rate": float("inf")}}, "learning_rate must be a finite number"),
    ],
)
def test_bounds_and_choices_name_the_key(patch, message):
    with pytest.raises(ConfigError) as error:
        JobConfig.from_dict({**BASE, **patch})
    assert message in str(error.value), str(error.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        JobConfig.from_dict({**BASE, "training": {"epochs": 0, "batch_size": "x", "nope": 1}})
    text = str(error.value)
    assert "config.training.epochs" in text and "config.training.batch_size" in text
    assert "unknown key 'nope' in config.training; known keys: epochs, max_steps" in text


def test_ints_are_accepted_where_numbers_are():
    cfg = JobConfig.from_dict({**BASE, "training": {"learning_rate": 1, "weight_decay": 0}})
    assert cfg.training.learning_rate == 1.0 and isinstance(cfg.training.learning_rate, float)


def test_lr_scheduler_names_are_transformers():
    import typing

    from transformers import SchedulerType

    from worker.engine.config import LrScheduler

    assert set(typing.get_args(LrScheduler)) == {s.value for s in SchedulerType}


def test_json_schema_describes_every_field():
    schema = JobConfig.model_json_schema()
    objects = [schema, *schema["$defs"].values()]
    for obj in objects:
        for name, prop in obj["properties"].items():
            assert prop.get("description"), f"{obj['title']}.{name} has no description"
    training = schema["$defs"]["TrainingConfig"]["properties"]
    assert training["batch_size"] == {
        "default": 16,
        "description": "examples per optimiser step",
        "minimum": 1,
        "title": "Batch Size",
        "type": "integer",
    }
    assert schema["additionalProperties"] is False
