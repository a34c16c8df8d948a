"""The method catalogue serves the presets "as in the paper"; the API takes per-module positions."""

from fastapi.testclient import TestClient

from worker.engine.tiny import build_tiny_config

from .conftest import Users, auth, prepare_catalogue


def test_methods_list_the_paper_presets(app_client: TestClient, users: Users):
    methods = app_client.get("/api/v1/methods", headers=auth(users.member)).json()["data"]
    presets = {m["name"]: [p["name"] for p in m["presets"]] for m in methods}
    assert presets["series"] == ["paper-series"]
    assert presets["parallel"] == ["paper-parallel"]
    assert presets["adapterh"] == ["paper-adapterh"]
    assert presets["lora"] == ["paper-lora"]
    assert presets["prefix"] == ["paper-prefix"]
    assert presets["ia3"] == []
    adapterh = next(m for m in methods if m["name"] == "adapterh")["presets"][0]
    assert adapterh["adapter"]["placement"]["position"] == {
        "gate": "before",
        "up": "before",
        "down": "after",
    }
    assert adapterh["adapter"]["params"]["bias"] is False
    assert adapterh["adapter"]["params"]["init"] == "bert"
    assert adapterh["training"]["learning_rate"] == 3e-4
    assert adapterh["evaluation"] == {"scoring": "paper", "decoding": {"preset": "paper"}}


def test_a_preset_estimates_and_a_bad_position_is_named(app_client: TestClient, users: Users):
    prepare_catalogue(app_client, users.admin)
    methods = app_client.get("/api/v1/methods", headers=auth(users.member)).json()["data"]
    adapterh = next(m for m in methods if m["name"] == "adapterh")["presets"][0]["adapter"]
    r = app_client.post(
        "/api/v1/methods/estimate",
        json={"base_model": "tiny:llama", "adapter": adapterh},
        headers=auth(users.member),
    )
    assert r.status_code == 200, r.text
    # three bias-free bottlenecks of 256 per layer, each hidden -> 256 -> hidden
    config = build_tiny_config("llama")
    expected = config.num_hidden_layers * 3 * 2 * config.hidden_size * 256
    assert r.json()["trainable_parameters"] == expected
    bad = {**adapterh, "placement": {"position": {"gate": "before", "down": "beside"}}}
    r = app_client.post(
        "/api/v1/methods/estimate",
        json={"base_model": "tiny:llama", "adapter": bad},
        headers=auth(users.member),
    )
    assert r.status_code == 422, r.text
    assert "series cannot go beside 'down'" in r.text
