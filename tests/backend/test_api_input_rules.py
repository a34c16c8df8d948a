"""Every text a client sends refuses NUL and every id is bounded: a 422 in the API's error shape
naming the field, never a 500 (PostgreSQL cannot store NUL; its ids are 32-bit)."""

from __future__ import annotations

import http.client
import json

import pytest

from backend.app.schemas import MAX_ID, NO_NUL_PATTERN

from .conftest import auth, seed_users, tiny_job_config
from .stack import Server, stack_env

NUL = "a\x00b"


def _cases(team: int) -> list[tuple[str, str, dict, str]]:
    """(method, path, request keywords, the field the refusal must name)."""
    return [
        ("post", "/api/v1/teams", {"json": {"name": NUL}}, "name"),
        ("post", "/api/v1/tokens", {"json": {"name": NUL}}, "name"),
        (
            "post",
            "/api/v1/methods/estimate",
            {"json": {"base_model": NUL, "adapter": {"method": "lora"}}},
            "base_model",
        ),
        (
            "post",
            "/api/v1/methods/estimate",
            {"json": {"base_model": "tiny:llama", "adapter": {"method": "lo\x00ra"}}},
            "adapter.method",
        ),
        ("post", "/api/v1/auth/login", {"json": {"email": NUL, "password": "x"}}, "email"),
        ("post", "/api/v1/auth/login", {"json": {"email": "a@b.c", "password": NUL}}, "password"),
        (
            "post",
            "/api/v1/users",
            {"json": {"email": "n\x00l@example.com", "password": "long-enough-1"}},
            "email",
        ),
        ("post", f"/api/v1/teams/{team}/members", {"json": {"email": NUL}}, "email"),
        ("post", "/api/v1/models", {"json": {"reference": "tiny\x00:llama"}}, "reference"),
        ("post", "/api/v1/benchmarks/import", {"json": {"folder": NUL}}, "folder"),
        ("get", "/api/v1/jobs", {"params": {"method": NUL}}, "method"),
        ("get", "/api/v1/jobs", {"params": {"base_model": NUL}}, "base_model"),
        ("get", "/api/v1/leaderboard", {"params": {"scope": NUL}}, "scope"),
        ("get", "/api/v1/leaderboard", {"params": {"method": NUL}}, "method"),
        (
            "post",
            "/api/v1/jobs",
            {"json": {"config": {**tiny_job_config(1), "name": NUL}}},
            "config.name",
        ),
        (
            "post",
            "/api/v1/jobs",
            {
                "json": {
                    "config": tiny_job_config(1, adapter={"method": "lora", "params": {NUL: 1}})
                }
            },
            "adapter.params",
        ),
        ("post", "/api/v1/playground", {"json": {"job_id": 1, "prompt": NUL}}, "prompt"),
    ]


def test_nul_in_any_text_field_is_a_422_naming_it(settings, users, app_client):
    c = app_client
    r = c.post("/api/v1/models", json={"reference": "tiny:llama"}, headers=auth(users.admin))
    assert r.status_code == 201, r.text  # so the estimate gets as far as the adapter
    for method, path, kwargs, field in _cases(users.team_a):
        r = c.request(method.upper(), path, headers=auth(users.admin), **kwargs)
        assert r.status_code == 422, (method, path, field, r.status_code, r.text)
        body = r.json()
        assert field in body["detail"] and "NUL" in body["detail"], (path, body)
    # Nothing was stored on the way.
    teams = c.get("/api/v1/teams", headers=auth(users.admin)).json()["data"]
    assert all("\x00" not in t["name"] for t in teams)


@pytest.mark.parametrize("bad", [0, -1, MAX_ID + 1, 2**63, 10**30])
def test_ids_out_of_range_are_a_422(settings, users, app_client, bad):
    c, h = app_client, auth(users.admin)
    for method, path in [
        ("DELETE", f"/api/v1/teams/{users.team_a}/members/{bad}"),
        ("DELETE", f"/api/v1/teams/{bad}/members/1"),
        ("GET", f"/api/v1/jobs/{bad}"),
        ("DELETE", f"/api/v1/tokens/{bad}"),
        ("GET", f"/api/v1/datasets/{bad}"),
    ]:
        r = c.request(method, path, headers=h)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["problems"], r.text
    r = c.delete(f"/api/v1/teams/{users.team_a}/members/{MAX_ID}", headers=h)
    assert r.status_code == 404, r.text  # in range: looked up, simply not there


def test_the_openapi_document_states_the_rules_for_every_input(settings, app_client):
    """Done once, not per route: every string a client sends carries the no-NUL pattern (or is
    an enum), and every integer id in a path or query has a maximum."""
    doc = app_client.get("/api/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]

    def strings(schema: dict, where: str, seen: frozenset = frozenset()):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                yield from strings(schemas[name], f"{where}<{name}>", seen | {name})
            return
        if schema.get("type") == "string" and "enum" not in schema and "const" not in schema:
            yield where, schema
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in schema.get(key, []):
                yield from strings(sub, where, seen)
        for name, sub in schema.get("properties", {}).items():
            yield from strings(sub, f"{where}.{name}", seen)
        if isinstance(schema.get("items"), dict):
            yield from strings(schema["items"], f"{where}[]", seen)
        if isinstance(schema.get("additionalProperties"), dict):
            yield from strings(schema["additionalProperties"], f"{where}{{}}", seen)

    unbounded, lax = [], []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                where = f"{method.upper()} {path} {p['in']}.{p['name']}"
                schema = p["schema"]
                for _, s in strings(schema, where):
                    if s.get("pattern") != NO_NUL_PATTERN and p["in"] != "path":
                        lax.append(where)
                kinds = [schema, *schema.get("anyOf", [])]
                if any(k.get("type") == "integer" and "maximum" not in k for k in kinds):
                    unbounded.append(where)
            for media in op.get("requestBody", {}).get("content", {}).values():
                for where, s in strings(media["schema"], f"{method.upper()} {path} body"):
                    if s.get("format") == "binary" or "contentMediaType" in s:
                        continue  # an uploaded file: its own checks (datasets)
                    if s.get("pattern") is None or "\\x00" not in s["pattern"]:
                        lax.append(where)
    # The upload form's name is the datasets route's own (checked there).
    lax = [w for w in lax if not w.startswith("POST /api/v1/datasets body")]
    assert unbounded == [], f"integer parameters without a maximum: {unbounded}"
    assert lax == [], f"text inputs that do not refuse NUL: {lax}"


def test_a_refusal_keeps_the_connection_alive(settings, tmp_path):
    """A keep-alive client sends a refused request, then more on the same connection; each is
    answered on it (before, a 500 often left the next request reset)."""
    users = seed_users(settings)
    from .conftest import REDIS_URL

    server = Server(
        stack_env(settings.data_dir, settings.sqlalchemy_url, REDIS_URL), tmp_path / "api.log"
    )
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        h = {**auth(users.admin), "Content-Type": "application/json"}
        statuses, sockets = [], set()
        for i in range(6):
            body = json.dumps({"name": NUL if i % 2 == 0 else f"team-{i}"})
            conn.request("POST", "/api/v1/teams", body=body, headers=h)
            r = conn.getresponse()
            r.read()
            statuses.append(r.status)
            assert (r.getheader("connection") or "").lower() != "close"
            sockets.add(id(conn.sock))
            conn.request("GET", "/api/v1/users/me", headers=h)
            r = conn.getresponse()
            r.read()
            statuses.append(r.status)
            sockets.add(id(conn.sock))
        conn.close()
        assert statuses == [422, 200, 201, 200] * 3
        assert len(sockets) == 1, "the server closed the connection between requests"
    finally:
        server.stop()
