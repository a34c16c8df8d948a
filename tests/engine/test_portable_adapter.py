"""A trained adapter's folder works elsewhere: it names a base model a user can resolve (not
this machine's cache folder), and its README says how to load it; plain peft loads a peft
method's folder, the studio a bottleneck adapter's."""

import json

import pytest
import torch
from peft import PeftModel

from worker.engine.adapters import load_adapter
from worker.engine.adapters.portable import portable_base_name
from worker.engine.config import JobConfig
from worker.engine.runner import run_job
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model


@pytest.mark.parametrize(
    ("reference", "name"),
    [
        ("hf:HuggingFaceTB/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        ("demo:smollm2-135m", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        ("path:/models/llama-7b", "/models/llama-7b"),
        ("tiny:llama", "tiny:llama"),
    ],
)
def test_portable_base_name(reference, name):
    assert portable_base_name(reference) == name


def _train(tmp_path, method: str, params: dict) -> tuple:
    data = tmp_path / "data.json"
    data.write_text(
        json.dumps(
            [
                {"instruction": f"What is {a} + 2?", "input": "", "output": str(a + 2)}
                for a in range(12)
            ]
        )
    )
    config = JobConfig.from_dict(
        {
            "base_model": "tiny:llama",
            "dataset_path": str(data),
            "adapter": {"method": method, "params": params},
            "training": {"max_steps": 3, "batch_size": 4, "micro_batch_size": 4,
                         "learning_rate": 5e-2, "val_set_size": 0, "cutoff_len": 48},
        }
    )  # fmt: skip
    summary = run_job(config, tmp_path / "out")
    folder = tmp_path / "out" / "adapter"
    return folder, json.loads((folder / "adapter_config.json").read_text()), summary


def _logits(model) -> torch.Tensor:
    ids = build_byte_tokenizer()("What is 3 + 2?", return_tensors="pt").input_ids
    with torch.no_grad():
        return model(input_ids=ids).logits


def test_lora_folder_loads_with_plain_peft(tmp_path):
    folder, config, _ = _train(tmp_path, "lora", {"r": 4, "alpha": 8})
    assert config["base_model_name_or_path"] == "tiny:llama"  # not a cache folder
    readme = (folder / "README.md").read_text()
    assert "PeftModel.from_pretrained" in readme and "`alpaca` template" in readme
    # peft alone, on a fresh base model: the same outputs as the studio's loader gives.
    plain = PeftModel.from_pretrained(build_tiny_model("llama"), str(folder)).eval()
    studio = load_adapter(build_tiny_model("llama"), folder).eval()
    assert torch.allclose(_logits(plain), _logits(studio))
    assert not torch.allclose(_logits(plain), _logits(build_tiny_model("llama").eval()))


def test_bottleneck_folder_says_to_load_it_with_the_studio(tmp_path):
    folder, config, _ = _train(tmp_path, "adapterp", {"bottleneck_size": 8})
    assert config["base_model_name_or_path"] == "tiny:llama"
    readme = (folder / "README.md").read_text()
    assert "peft does not have" in readme and "load_adapter(loaded.model" in readme
    assert "PeftModel" not in readme
    loaded = load_adapter(build_tiny_model("llama"), folder).eval()
    assert _logits(loaded).shape[-1] == build_tiny_model("llama").config.vocab_size
