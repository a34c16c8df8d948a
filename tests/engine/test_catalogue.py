"""The method catalogue's parameters as JSON-Schema fragments (the contract the dashboard's
form renders from), and the translation of Python annotations into them."""

from __future__ import annotations

import enum
import json
import typing
from typing import Any, Literal, Optional, Union

import pytest

from worker.engine.adapters import method_catalogue
from worker.engine.adapters.param_schema import annotation_schema, param
from worker.engine.adapters.registry import REGISTRY
from worker.engine.config import PlacementConfig
from worker.engine.errors import ConfigError
from worker.engine.placement import resolve_placement

TYPES = {"integer", "number", "boolean", "string", "array", "object", "null"}
FRAGMENT_KEYS = {
    "type",
    "enum",
    "anyOf",
    "items",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
}


def check_fragment(fragment: dict[str, Any], where: str) -> None:
    assert set(fragment) <= FRAGMENT_KEYS, f"{where}: {sorted(set(fragment) - FRAGMENT_KEYS)}"
    if "type" in fragment:
        assert fragment["type"] in TYPES, where
    if "enum" in fragment:
        assert fragment["enum"] and all(
            v is None or isinstance(v, bool | int | float | str) for v in fragment["enum"]
        ), where
    for member in fragment.get("anyOf", []):
        check_fragment(member, where)
    if "items" in fragment:
        assert fragment.get("type") == "array", where
        check_fragment(fragment["items"], where)


def accepts(fragment: dict[str, Any], value: Any) -> bool:
    """Whether `value` matches `fragment` (the subset of JSON Schema the catalogue uses)."""
    if "anyOf" in fragment:
        return any(accepts(m, value) for m in fragment["anyOf"])
    if "enum" in fragment and value not in fragment["enum"]:
        return False
    kind = fragment.get("type")
    matches = {
        None: True,
        "null": value is None,
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }[kind]
    if not matches:
        return False
    if kind in ("integer", "number"):
        if "minimum" in fragment and value < fragment["minimum"]:
            return False
        if "exclusiveMaximum" in fragment and value >= fragment["exclusiveMaximum"]:
            return False
    if kind == "array" and "items" in fragment:
        return all(accepts(fragment["items"], v) for v in value)
    return True


@pytest.fixture(scope="module")
def catalogue() -> list[dict[str, Any]]:
    return method_catalogue()


def test_every_param_is_a_schema_fragment_its_default_obeys(catalogue) -> None:
    for method in catalogue:
        for p in method["params"]:
            where = f"{method['name']}.{p['name']}"
            assert set(p) == {"name", "schema"}, where
            schema = dict(p["schema"])
            default, description = schema.pop("default"), schema.pop("description")
            assert isinstance(description, str), where
            check_fragment(schema, where)
            assert accepts(schema, default), f"{where}: default {default!r} against {schema}"


def test_no_python_type_text_in_the_catalogue(catalogue) -> None:
    for method in catalogue:
        for p in method["params"]:
            fragment = {k: v for k, v in p["schema"].items() if k not in ("description", "default")}
            text = json.dumps(fragment)
            for word in ("Literal", "Optional", "Union", "typing", "str |", "| None", "list["):
                assert word not in text, f"{method['name']}.{p['name']}: {text}"


def test_the_studio_params_say_their_bounds(catalogue) -> None:
    by_name = {m["name"]: {p["name"]: p["schema"] for p in m["params"]} for m in catalogue}
    assert by_name["series"]["bottleneck_size"]["minimum"] == 1
    assert by_name["parallel"]["dropout"]["exclusiveMaximum"] == 1
    assert by_name["scaled_parallel"]["scaling"]["default"] == 4.0
    assert by_name["series"]["non_linearity"]["enum"][0] == "tanh"
    assert by_name["lora"]["dropout"] == {
        "type": "number",
        "minimum": 0,
        "exclusiveMaximum": 1,
        "default": 0.05,
        "description": "lora_dropout: dropout on the update's input",
    }
    assert by_name["lora"]["bias"]["enum"] == ["none", "all", "lora_only"]
    # The bounds the schema states are the ones the check enforces.
    spec = REGISTRY.get("lora")
    resolved = resolve_placement(PlacementConfig(), spec.rules, "llama", 2)
    spec.check_params({"r": 1, "dropout": 0.0}, "llama", resolved)
    with pytest.raises(ConfigError, match="'r' must be at least 1"):
        spec.check_params({"r": 0}, "llama", resolved)
    with pytest.raises(ConfigError, match=r"'dropout' must be in \[0, 1\)"):
        spec.check_params({"dropout": 1.0}, "llama", resolved)


def test_bottleneck_activations_match_the_layer() -> None:
    from worker.engine.adapters.bottleneck.config import ACTIVATIONS
    from worker.engine.adapters.bottleneck.layer import activation_names

    assert tuple(ACTIVATIONS) == activation_names()


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


ANNOTATIONS = [
    (int, {"type": "integer"}),
    (float, {"type": "number"}),
    (bool, {"type": "boolean"}),
    (str, {"type": "string"}),
    (Optional[int], {"anyOf": [{"type": "integer"}, {"type": "null"}]}),  # noqa: UP045
    (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
    (Literal["a", "b"], {"type": "string", "enum": ["a", "b"]}),
    (
        bool | Literal["gaussian", "eva"],
        {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": ["gaussian", "eva"]}]},
    ),
    (Union[str, Colour], {"type": "string", "enum": ["red", "blue"]}),  # noqa: UP007
    (list[str], {"type": "array", "items": {"type": "string"}}),
    (
        Optional[Union[list[str], str]],  # noqa: UP007, UP045
        {
            "anyOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "string"},
                {"type": "null"},
            ]
        },
    ),
    (tuple[int, int], {"type": "array", "items": {"type": "integer"}}),
    (dict[str, int], {"type": "object"}),
    (typing.Dict, {"type": "object"}),  # noqa: UP006
    (Any, {}),
    (int | Any, {}),
]


@pytest.mark.parametrize("annotation,expected", ANNOTATIONS, ids=[str(a) for a, _ in ANNOTATIONS])
def test_annotation_schema(annotation, expected) -> None:
    got = annotation_schema(annotation)
    if "anyOf" in expected:
        # typing caches unions by equality, and Union[a, b] == Union[b, a]: the members' order
        # is whichever spelling was made first in the process (peft's, or this table's).
        assert sorted(map(repr, got.pop("anyOf"))) == sorted(map(repr, expected["anyOf"]))
        expected = {k: v for k, v in expected.items() if k != "anyOf"}
    assert got == expected


def test_a_none_default_is_admitted() -> None:
    # peft declares some fields `int` with a None default: the schema admits the default.
    assert param({"type": "integer"}, None, "width") == {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "default": None,
        "description": "width",
    }
    assert param({}, None, "anything")["default"] is None


def test_a_bound_gives_way_to_a_peft_default_outside_it() -> None:
    # OFT's r defaults to 0 ("size blocks by oft_block_size"): 0 stays a value a form may send.
    from worker.engine.adapters import validate_adapter
    from worker.engine.config import AdapterConfig

    oft = {p.name: p.schema for p in REGISTRY.get("oft").params}
    assert oft["r"]["type"] == "integer" and oft["r"]["default"] == 0
    assert "minimum" not in oft["r"]
    validate_adapter(AdapterConfig(method="oft", params={"r": 0}), "llama", 2)


def test_a_family_registers_itself_on_first_use(tmp_path, monkeypatch) -> None:
    # A registry and a family module of its own: importing the family registers its method,
    # and the registry imports it only when first asked.
    (tmp_path / "studio_toy_registry.py").write_text(
        "from worker.engine.adapters.registry import MethodRegistry\n"
        "REGISTRY = MethodRegistry(('studio_toy_family',))\n"
    )
    (tmp_path / "studio_toy_family.py").write_text(
        "from studio_toy_registry import REGISTRY\n"
        "from worker.engine.adapters.spec import MethodSpec\n"
        "from worker.engine.placement import PlacementRules\n"
        "REGISTRY.register(MethodSpec(name='toy', kind='other', description='a toy',\n"
        "    params=(), rules=PlacementRules(method='toy'), learning_rate=1e-3,\n"
        "    check_params=lambda p, f, r: p, build=lambda *a: None))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import sys

    from studio_toy_registry import REGISTRY as toy_registry

    assert "studio_toy_family" not in sys.modules
    assert toy_registry.names() == ["toy"]
    assert toy_registry.get("TOY").description == "a toy"
    with pytest.raises(ConfigError, match="unknown adapter method 'nope'; choose one of toy$"):
        toy_registry.get("nope")
