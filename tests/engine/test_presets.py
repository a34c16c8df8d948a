"""Presets "as in the paper", per-module positions, adapters without biases, `bert` init."""

from __future__ import annotations

import pytest
import torch

from worker.engine.adapters import apply_adapter, estimate_trainable_parameters, method_catalogue
from worker.engine.adapters.presets import get_preset, paper_presets
from worker.engine.config import AdapterConfig, EvaluationConfig, PlacementConfig, TrainingConfig
from worker.engine.errors import ConfigError

# LLaMA-7B's shape (yahma/llama-7b-hf's config.json); built on the meta device, no weights.
LLAMA_7B = {
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 11008,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "vocab_size": 32000,
    "max_position_embeddings": 2048,
}


def _preset_adapter(name: str) -> AdapterConfig:
    return AdapterConfig.from_dict(get_preset(name)["adapter"])


@pytest.mark.parametrize(
    ("preset", "trainable"),
    [
        # 32 layers x (3 x 32·(4096+4096) + 2 x 32·(4096+11008))
        ("paper-lora", 56_098_816),
        # 32 layers x (4096·256 + 256·4096), no biases
        ("paper-series", 67_108_864),
        # 32 layers x 2 x (4096·256 + 256·11008)
        ("paper-parallel", 247_463_936),
        ("paper-scaled-parallel", 247_463_936),
        # 32 layers x 3 x (4096·256 + 256·4096): before gate and up, after down
        ("paper-adapterh", 201_326_592),
        # 32 layers x keys and values x 4096 x 10 virtual tokens
        ("paper-prefix", 2_621_440),
    ],
)
def test_presets_train_the_papers_parameter_counts_on_llama_7b(preset, trainable) -> None:
    assert estimate_trainable_parameters(_preset_adapter(preset), dict(LLAMA_7B)) == trainable


def test_biases_cost_what_the_issue_measured_on_llama_7b() -> None:
    data = get_preset("paper-series")["adapter"]
    data["params"]["bias"] = True
    # 32 layers x (256 + 4096) biases on top of the paper's bias-free adapter
    assert estimate_trainable_parameters(AdapterConfig.from_dict(data), dict(LLAMA_7B)) == (
        67_108_864 + 139_264
    )


def test_every_preset_is_a_valid_job_config_section() -> None:
    presets = paper_presets()
    assert {p["method"] for p in presets} == {
        "series",
        "parallel",
        "scaled_parallel",
        "adapterh",
        "lora",
        "prefix",
    }
    for preset in presets:
        AdapterConfig.from_dict(preset["adapter"])
        TrainingConfig.model_validate(preset["training"])
        EvaluationConfig.model_validate(preset["evaluation"])
        assert preset["training"]["prompt_template"] == "llm-adapters"
        assert preset["evaluation"] == {"scoring": "paper", "decoding": {"preset": "paper"}}
    assert get_preset("paper-prefix")["training"]["learning_rate"] == 3e-2
    assert get_preset("paper-lora")["training"]["learning_rate"] == 3e-4
    with pytest.raises(ConfigError, match="no preset named 'paper-x'"):
        get_preset("paper-x")


def test_the_catalogue_lists_presets_per_method() -> None:
    by_name = {m["name"]: m for m in method_catalogue()}
    assert [p["name"] for p in by_name["adapterh"]["presets"]] == ["paper-adapterh"]
    assert by_name["adapterh"]["presets"][0]["adapter"]["method"] == "series"
    assert [p["name"] for p in by_name["lora"]["presets"]] == ["paper-lora"]
    assert by_name["adapterp"]["presets"] == []
    # The methods' own defaults are unchanged: only the preset carries the paper's scale.
    scaled = {p["name"]: p["schema"]["default"] for p in by_name["scaled_parallel"]["params"]}
    assert scaled["scaling"] == 4.0 and scaled["init"] == "zero" and scaled["bias"] is True
    assert by_name["scaled_parallel"]["presets"][0]["adapter"]["params"]["scaling"] == 1.0


# -- per-module positions ------------------------------------------------------------------


def _tiny_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=64,
    )
    return LlamaForCausalLM(config).eval()


def test_the_papers_adapterh_computes_the_papers_mlp() -> None:
    model = _tiny_llama()
    ids = torch.tensor([[1, 5, 9, 3, 7]])
    captured = {}
    layer = model.model.layers[1]
    handle = layer.mlp.register_forward_pre_hook(
        lambda m, args: captured.__setitem__("x", args[0].detach().clone())
    )
    torch.manual_seed(1)
    wrapped = apply_adapter(model, _preset_adapter("paper-adapterh"))
    with torch.no_grad():
        wrapped(input_ids=ids)
    handle.remove()

    mlp = layer.mlp
    gate, up, down = mlp.gate_proj, mlp.up_proj, mlp.down_proj
    assert (gate.position, up.position, down.position) == ("before", "before", "after")
    for adapter in (gate, up, down):
        assert adapter.bottleneck_down.bias is None and adapter.bottleneck_up.bias is None
        # bert init: the up-projection is not zero, so the adapter acts from step 0
        assert adapter.bottleneck_up.weight.abs().sum() > 0

    def bottleneck(layer_, x):
        return layer_.bottleneck_up(torch.tanh(layer_.bottleneck_down(x)))

    x = captured["x"]
    with torch.no_grad():
        # The paper's Linear: mh_adapter x + a(x) into gate/up; output_adapter y + a(y).
        g = gate.base_layer(x + bottleneck(gate, x))
        u = up.base_layer(x + bottleneck(up, x))
        y = down.base_layer(torch.nn.functional.silu(g) * u)
        expected = y + bottleneck(down, y)
        assert torch.equal(mlp(x), expected)


def test_bert_init_draws_both_projections_from_n_0_002() -> None:
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=1,
        num_attention_heads=4,
        vocab_size=64,
    )
    torch.manual_seed(0)
    data = {
        "method": "series",
        "placement": {"modules": ["mlp"]},
        "params": {"init": "bert", "bottleneck_size": 128},
    }
    wrapped = apply_adapter(LlamaForCausalLM(config), AdapterConfig.from_dict(data))
    adapter = wrapped.base_model.model.layers[0].mlp
    for linear in (adapter.bottleneck_down, adapter.bottleneck_up):
        assert abs(linear.weight.std().item() - 0.02) < 0.001
        assert abs(linear.weight.mean().item()) < 0.001
        assert torch.count_nonzero(linear.bias) == 0  # biases kept (default), zeroed


def test_default_bottleneck_still_starts_as_the_identity_with_biases() -> None:
    model = _tiny_llama()
    ids = torch.tensor([[1, 5, 9, 3]])
    with torch.no_grad():
        before = model(input_ids=ids).logits
    wrapped = apply_adapter(model, AdapterConfig.from_dict({"method": "series"}))
    adapter = wrapped.base_model.model.layers[0].mlp
    assert adapter.bottleneck_down.bias is not None and adapter.bottleneck_up.bias is not None
    with torch.no_grad():
        assert torch.equal(wrapped(input_ids=ids).logits, before)


def test_a_position_mapping_without_modules_names_the_modules() -> None:
    from worker.engine.adapters.registry import REGISTRY
    from worker.engine.placement import resolve_placement

    placement = PlacementConfig(position={"up": "beside", "down": "beside"})
    resolved = resolve_placement(placement, REGISTRY.get("parallel").rules, "llama", 2)
    assert resolved.modules == ["up", "down"]
    assert resolved.position_of("up") == "beside"


@pytest.mark.parametrize(
    ("method", "placement", "message"),
    [
        (
            "series",
            {"modules": ["gate", "down"], "position": {"gate": "sideways"}},
            r"placement.position\['gate'\] is 'sideways'; a module's position is one of",
        ),
        (
            "series",
            {"modules": ["down"], "position": {"up": "before"}},
            r"placement.position names 'up', which is not in placement.modules \['down'\]",
        ),
        (
            "series",
            {"position": {"gate": "before", "down": "beside"}},
            r"series cannot go beside 'down' \(placement.position\['down'\]\); allowed "
            r"positions: after, before",
        ),
        ("series", {"position": {}}, "placement.position is an empty mapping"),
        (
            "lora",
            {"modules": ["q"], "position": {"q": "after"}},
            "lora takes no placement.position",
        ),
        (
            "adapterh",
            {"position": {"gate": "before"}},
            "adapterh always goes after attn and mlp",
        ),
    ],
)
def test_a_bad_position_mapping_is_refused_naming_the_word(method, placement, message) -> None:
    from worker.engine.adapters import validate_adapter

    adapter = AdapterConfig.from_dict({"method": method, "placement": placement})
    with pytest.raises(ConfigError, match=message):
        validate_adapter(adapter, "llama", 2)


def test_bias_must_be_a_boolean() -> None:
    from worker.engine.adapters import validate_adapter

    adapter = AdapterConfig.from_dict({"method": "parallel", "params": {"bias": "no"}})
    with pytest.raises(ConfigError, match="bias must be true or false, got 'no'"):
        validate_adapter(adapter, "llama", 2)


def test_a_saved_adapter_without_the_bias_key_loads_with_biases(tmp_path) -> None:
    # Adapter folders written before `bias` existed keep their biases.
    from worker.engine.adapters.bottleneck.config import BottleneckConfig

    site = {"module": "m", "position": "after", "in_features": 4, "out_features": 4}
    assert BottleneckConfig.from_dict({"method": "series", "sites": [site]}).bias is True


def test_the_papers_adapterh_saves_and_loads_back(tmp_path) -> None:
    import json

    from worker.engine.adapters import load_adapter, save_adapter

    model = _tiny_llama()
    ids = torch.tensor([[2, 4, 6, 8]])
    wrapped = apply_adapter(model, _preset_adapter("paper-adapterh"))
    with torch.no_grad():
        before = wrapped(input_ids=ids).logits
    save_adapter(wrapped, tmp_path)
    saved = json.loads((tmp_path / "adapter_config.json").read_text())
    assert saved["bias"] is False and saved["init"] == "bert"
    assert saved["placement"]["position"] == {"gate": "before", "up": "before", "down": "after"}
    assert {s["position"] for s in saved["sites"]} == {"before", "after"}
    loaded = load_adapter(_tiny_llama(), tmp_path)
    with torch.no_grad():
        assert torch.equal(loaded(input_ids=ids).logits, before)
