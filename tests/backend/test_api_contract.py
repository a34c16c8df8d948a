"""The job contract as the API publishes it: the engine's typed config in the OpenAPI document,
the defaults a form starts from, the status enum, method params as JSON-Schema fragments, and
a malformed config refused in the API's one error shape."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.app.export_openapi import openapi_document
from backend.app.schemas import JobDefaults
from worker.engine.config import JobConfig

from .conftest import Users, arithmetic_jsonl, auth, prepare_catalogue, tiny_job_config, upload

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def openapi() -> dict:
    return openapi_document()


def _schema(doc: dict, ref: dict) -> dict:
    return doc["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_openapi_describes_every_config_field(openapi: dict):
    schemas = openapi["components"]["schemas"]
    create = schemas["JobCreate"]["properties"]["config"]
    config = _schema(openapi, create)
    assert "dataset_id" in config["required"] and "dataset_path" not in config["properties"]
    assert config["additionalProperties"] is False
    training = _schema(openapi, config["properties"]["training"])
    batch = training["properties"]["batch_size"]
    assert (batch["type"], batch["minimum"], batch["default"]) == ("integer", 1, 16)
    assert training["properties"]["epochs"]["exclusiveMinimum"] == 0
    assert training["properties"]["cutoff_len"]["minimum"] == 8
    assert set(training["properties"]["precision"]["enum"]) == {"auto", "fp32", "fp16", "bf16"}
    assert training["properties"]["prompt_template"]["enum"] == ["alpaca", "llm-adapters", "chat"]
    evaluation = _schema(openapi, config["properties"]["evaluation"])
    assert evaluation["properties"]["scoring"]["enum"] == ["paper", "strict"]
    decoding = _schema(openapi, evaluation["properties"]["decoding"])
    assert decoding["properties"]["preset"]["enum"] == ["custom", "paper", "fast"]
    assert decoding["properties"]["num_beams"]["minimum"] == 1
    # Every field of every config object carries its help text.
    for name, schema in schemas.items():
        if name.split("-")[0] in {
            "JobConfig",
            "JobConfigCreate",
            "JobDefaults",
            "AdapterConfig",
            "PlacementConfig",
            "TrainingConfig",
            "EvaluationConfig",
            "DecodingConfig",
        }:
            for field, prop in schema["properties"].items():
                assert prop.get("description"), f"{name}.{field} has no description"


def test_openapi_types_responses_and_the_status_enum(openapi: dict):
    schemas = openapi["components"]["schemas"]
    job = schemas["JobPublic"]["properties"]
    stored = _schema(openapi, job["config"])
    # A returned config is complete: every field is required in the response schema.
    assert set(stored["required"]) == set(stored["properties"])
    assert job["status"] == {"$ref": "#/components/schemas/JobStatus"}
    assert schemas["JobStatus"]["enum"] == ["queued", "running", "succeeded", "failed", "cancelled"]
    listing = openapi["paths"]["/api/v1/jobs"]["get"]["parameters"]
    status = next(p for p in listing if p["name"] == "status")["schema"]
    assert {"$ref": "#/components/schemas/JobStatus"} in status["anyOf"]
    param = schemas["MethodParamPublic"]
    assert param["required"] == ["name", "schema"]
    assert "anyOf" in schemas["ParamSchema"]["properties"]
    defaults = openapi["paths"]["/api/v1/jobs/defaults"]["get"]
    assert defaults["operationId"] == "jobs-read_defaults"


def test_defaults_are_the_engines(app_client: TestClient, users: Users):
    r = app_client.get("/api/v1/jobs/defaults", headers=auth(users.member))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == JobDefaults().to_dict()
    engine = JobConfig.from_dict({"base_model": "x", "adapter": {"method": "lora"}}).to_dict()
    assert body["training"] == engine["training"]
    assert body["evaluation"] == engine["evaluation"]
    assert body["adapter"] == engine["adapter"]
    assert body["training"]["batch_size"] == 16 and body["evaluation"]["scoring"] == "paper"
    assert app_client.get("/api/v1/jobs/defaults").status_code == 401


def test_method_params_are_json_schema(app_client: TestClient, users: Users):
    prepare_catalogue(app_client, users.admin)
    methods = app_client.get("/api/v1/methods", headers=auth(users.member)).json()["data"]
    by_name = {m["name"]: {p["name"]: p["schema"] for p in m["params"]} for m in methods}
    assert by_name["series"]["scaling"] == {
        "anyOf": [{"type": "number"}, {"type": "string", "enum": ["learned"]}],
        "default": 1.0,
        "description": by_name["series"]["scaling"]["description"],
    }
    assert by_name["lora"]["r"]["type"] == "integer" and by_name["lora"]["r"]["minimum"] == 1
    init = by_name["lora"]["init_lora_weights"]
    assert init["anyOf"][0] == {"type": "boolean"} and "pissa" in init["anyOf"][1]["enum"]
    for method in methods:
        for p in method["params"]:
            assert set(p) == {"name", "schema"}
            assert not any(v is None for k, v in p["schema"].items() if k != "default")


@pytest.mark.parametrize(
    "change,field,needle",
    [
        ({"training": {"batch_size": "big"}}, "config.training.batch_size", "must be an integer"),
        ({"training": {"epochs": 0}}, "config.training.epochs", "greater than 0"),
        ({"training": {"precision": "fp8"}}, "config.training.precision", "'bf16'"),
        ({"trainig": {}}, "config.trainig", "known keys"),
        ({"dataset_path": "/etc/passwd"}, "config.dataset_path", "takes dataset_id"),
        ({"dataset_id": None}, "config.dataset_id", "must be an integer"),
    ],
)
def test_malformed_config_is_a_422_naming_the_field(
    app_client: TestClient, users: Users, change, field, needle
):
    prepare_catalogue(app_client, users.admin)
    r = upload(app_client, users.member, arithmetic_jsonl())
    cfg = {**tiny_job_config(r.json()["id"]), **change}
    r = app_client.post("/api/v1/jobs", json={"config": cfg}, headers=auth(users.member))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"].startswith("invalid request: ") and field in body["detail"]
    problem = next(p for p in body["problems"] if p["field"] == field)
    assert needle in problem["message"], problem


def test_the_committed_openapi_document_is_current(openapi: dict):
    # The dashboard's client is generated from frontend/openapi.json (npm run check-client
    # compares the two); this closes the chain back to the API.
    committed = json.loads((ROOT / "frontend" / "openapi.json").read_text())
    assert committed == json.loads(json.dumps(openapi)), (
        "frontend/openapi.json is stale: run `python -m backend.app.export_openapi "
        "frontend/openapi.json && (cd frontend && npm run generate-client)`"
    )
