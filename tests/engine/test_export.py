"""Export: merged safetensors and GGUF, read back with plain transformers and compared with the
base model plus adapter; refusals for what cannot be merged or written as GGUF."""

from pathlib import Path

import pytest
import torch

from worker.cli import main
from worker.engine.adapters import apply_adapter, save_adapter
from worker.engine.config import AdapterConfig
from worker.engine.errors import ConfigError
from worker.engine.export import export_adapter, resolve_source
from worker.engine.models import load_model

TEXT = "What is 7 + 5? The answer is 12."


def _trained_adapter(
    tmp_path: Path, base_model: str, method: str, placement: dict | None = None
) -> tuple[Path, torch.Tensor, list[int]]:
    """A saved adapter that is not the identity (every trainable tensor moved off its
    initialisation, as training would), with the reference logits of base + adapter."""
    loaded = load_model(base_model, "fp32", device="cpu")
    torch.manual_seed(7)
    adapter = AdapterConfig(method=method, **({"placement": placement} if placement else {}))
    model = apply_adapter(loaded.model, adapter)
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.add_(0.2 * torch.randn_like(param))
    model.eval()
    ids = loaded.tokenizer(TEXT).input_ids
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits
    run = tmp_path / "run"
    save_adapter(
        model,
        run / "adapter",
        metadata={"base_model": base_model, "config": {"adapter": {"method": method}}},
    )
    return run, logits, ids


def _logits(folder: Path, ids: list[int], **kwargs: str) -> torch.Tensor:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kwargs)
    model.eval()
    with torch.no_grad():
        return model(torch.tensor([ids])).logits


@pytest.mark.parametrize(
    ("base_model", "method"),
    [
        ("tiny:llama", "lora"),
        ("tiny:llama", "dora"),
        ("tiny:llama", "ia3"),
        ("tiny:gpt2", "lora"),
        ("tiny:bloom", "lora"),
    ],
)
def test_merged_model_loads_with_plain_transformers_and_matches(tmp_path, base_model, method):
    from transformers import AutoTokenizer

    run, reference, ids = _trained_adapter(tmp_path, base_model, method)
    result = export_adapter(run, tmp_path / "merged", "merged")
    folder = Path(result.path)
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    assert result.method == method and result.base_model == base_model
    merged = _logits(folder, ids)
    # The adapter moved the output, so equality below is the merge, not an untouched base.
    base = load_model(base_model, "fp32", device="cpu").model
    with torch.no_grad():
        assert (base(torch.tensor([ids])).logits - reference).abs().max() > 1e-3
    torch.testing.assert_close(merged, reference, atol=1e-4, rtol=1e-4)
    assert AutoTokenizer.from_pretrained(folder)(TEXT).input_ids == ids
    # No adapter wrapper left in the weights: it is a plain model of the base's class.
    assert "lora" not in (folder / "config.json").read_text()


@pytest.mark.parametrize(("tensor_type", "tolerance"), [("f32", 1e-4), ("f16", 2e-2)])
def test_gguf_reads_back_with_transformers_and_matches_the_merged_model(
    tmp_path, tensor_type, tolerance
):
    import gguf
    from transformers import AutoTokenizer

    run, reference, ids = _trained_adapter(tmp_path, "tiny:llama", "lora")
    result = export_adapter(run, tmp_path / "gguf", "gguf", tensor_type=tensor_type)
    path = Path(result.path)
    assert path.name == f"model-{tensor_type}.gguf"
    reader = gguf.GGUFReader(path)
    stored = {t.name: t.tensor_type.name for t in reader.tensors}
    assert stored["blk.0.attn_q.weight"] == tensor_type.upper()
    assert stored["output_norm.weight"] == "F32"  # 1-D tensors stay f32, as llama.cpp keeps them
    from_gguf = _logits(path.parent, ids, gguf_file=path.name)
    torch.testing.assert_close(from_gguf, reference, atol=tolerance, rtol=tolerance)
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    assert tokenizer(TEXT).input_ids == ids


@pytest.mark.parametrize(
    ("method", "placement", "why"),
    [
        ("series", None, "non-linearity"),
        ("parallel", None, "non-linearity"),
        ("prompt", None, "virtual tokens"),
        ("prefix", None, "prefixes"),
    ],
)
@pytest.mark.parametrize("fmt", ["merged", "gguf"])
def test_methods_that_cannot_be_merged_are_refused_with_the_reason(
    tmp_path, method, placement, why, fmt
):
    run, _, _ = _trained_adapter(tmp_path, "tiny:llama", method, placement)
    with pytest.raises(ConfigError, match=f"{method} cannot be exported as a merged model") as e:
        export_adapter(run, tmp_path / "out", fmt)
    assert why in str(e.value)
    assert not (tmp_path / "out").exists()


def test_gguf_of_other_families_is_not_supported_yet(tmp_path):
    run, _, _ = _trained_adapter(tmp_path, "tiny:gpt2", "lora")
    with pytest.raises(ConfigError, match="GGUF export of gpt2 models is not supported yet"):
        export_adapter(run, tmp_path / "out", "gguf")


def test_source_is_a_run_folder_or_an_adapter_folder(tmp_path):
    run, _, _ = _trained_adapter(tmp_path, "tiny:llama", "lora")
    assert resolve_source(run).adapter_dir == run / "adapter"
    assert resolve_source(run / "adapter").adapter_dir == run / "adapter"
    assert resolve_source(run, "tiny:mistral").base_model == "tiny:mistral"
    with pytest.raises(ConfigError, match="neither a `studio train` output folder"):
        resolve_source(tmp_path)
    with pytest.raises(ConfigError, match="unknown export format 'onnx'"):
        export_adapter(run, tmp_path / "out", "onnx")
    with pytest.raises(ConfigError, match="unknown GGUF tensor type 'q4_0'"):
        export_adapter(run, tmp_path / "out", "gguf", tensor_type="q4_0")


def test_cli_exports_both_formats_and_refuses_in_one_line(tmp_path, capsys):
    run, reference, ids = _trained_adapter(tmp_path, "tiny:llama", "lora")
    assert main(["export", str(run), "--format", "merged"]) == 0
    assert "merged: lora on tiny:llama written to" in capsys.readouterr().out
    torch.testing.assert_close(
        _logits(run / "export" / "merged", ids), reference, atol=1e-4, rtol=1e-4
    )

    out = tmp_path / "gguf-out"
    code = main(
        [
            "export",
            str(run / "adapter"),
            "--format",
            "gguf",
            "--tensor-type",
            "f32",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    from_gguf = _logits(out, ids, gguf_file="model-f32.gguf")
    torch.testing.assert_close(from_gguf, reference, atol=1e-4, rtol=1e-4)

    series, _, _ = _trained_adapter(tmp_path / "s", "tiny:llama", "series")
    capsys.readouterr()
    assert main(["export", str(series), "--format", "merged"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("studio: error: series cannot be exported as a merged model")
    assert "Traceback" not in err
    assert main(["export", str(tmp_path / "nothing"), "--format", "merged"]) == 2
    assert "neither a `studio train` output folder" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_model_merged_and_gguf_match_base_plus_adapter(tmp_path):
    run, reference, ids = _trained_adapter(
        tmp_path, "demo:smollm2-135m", "lora", {"modules": ["q", "v"]}
    )
    merged = export_adapter(run, tmp_path / "merged", "merged")
    torch.testing.assert_close(_logits(Path(merged.path), ids), reference, atol=1e-3, rtol=1e-3)
    result = export_adapter(run, tmp_path / "gguf", "gguf", tensor_type="f32")
    path = Path(result.path)
    from_gguf = _logits(path.parent, ids, gguf_file=path.name)
    torch.testing.assert_close(from_gguf, reference, atol=1e-3, rtol=1e-3)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    assert tokenizer(TEXT).input_ids == ids
