"""Method parameters as JSON-Schema fragments: the form the catalogue (and the API) gives them.

A fragment uses a small subset of JSON Schema: `type`, `enum`, `anyOf`, `items`, `minimum`,
`maximum`, `exclusiveMinimum`, `exclusiveMaximum`; a parameter's fragment adds `default` and
`description`. The studio's own parameters are written with the helpers below; peft's config
fields are translated from their Python annotations (unions become `anyOf`, `Optional` a
`{"type": "null"}` member, `Literal` an `enum`), so no Python type text reaches a user.
"""

from __future__ import annotations

import builtins
import dataclasses
import enum
import sys
import types
import typing
from typing import Any

_PRIMITIVES: dict[Any, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    type(None): "null",
}
_NUMERIC = ("integer", "number")


def param(fragment: dict[str, Any], default: Any, description: str) -> dict[str, Any]:
    """A parameter's schema: the value's fragment with its default and help text. A default of
    None ("unset") is admitted by the schema even where the annotation forgot Optional."""
    if default is None and fragment and not _admits_null(fragment):
        fragment = {"anyOf": [*fragment.get("anyOf", [fragment]), {"type": "null"}]}
    return {**fragment, "default": default, "description": description}


def _admits_null(fragment: dict[str, Any]) -> bool:
    members = fragment.get("anyOf", [fragment])
    return any(m.get("type") == "null" or None in m.get("enum", ()) for m in members)


def integer(**bounds: int) -> dict[str, Any]:
    return {"type": "integer", **_bounds(bounds)}


def number(**bounds: float) -> dict[str, Any]:
    return {"type": "number", **_bounds(bounds)}


def boolean() -> dict[str, Any]:
    return {"type": "boolean"}


def choice(values: tuple[Any, ...] | list[Any]) -> dict[str, Any]:
    return {**_enum_type(list(values)), "enum": list(values)}


def any_of(*fragments: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": list(fragments)}


def _bounds(bounds: dict[str, Any]) -> dict[str, Any]:
    names = {
        "minimum": "minimum",
        "maximum": "maximum",
        "exclusive_minimum": "exclusiveMinimum",
        "exclusive_maximum": "exclusiveMaximum",
    }
    unknown = set(bounds) - set(names)
    if unknown:
        raise TypeError(f"unknown bound(s) {sorted(unknown)}; use {sorted(names)}")
    return {names[k]: v for k, v in bounds.items()}


def with_bounds(fragment: dict[str, Any], bounds: dict[str, Any]) -> dict[str, Any]:
    """`fragment` with JSON-Schema bounds put on its numeric part (every numeric member of an
    anyOf); a fragment with no numeric part is returned as it is."""
    if not bounds:
        return fragment
    if fragment.get("type") in _NUMERIC:
        return {**fragment, **bounds}
    if "anyOf" in fragment:
        return {**fragment, "anyOf": [with_bounds(m, bounds) for m in fragment["anyOf"]]}
    return fragment


def _enum_type(values: list[Any]) -> dict[str, Any]:
    kinds = {_PRIMITIVES.get(type(v)) for v in values}
    return {"type": kinds.pop()} if len(kinds) == 1 and None not in kinds else {}


def _jsonable(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def annotation_schema(annotation: Any) -> dict[str, Any]:
    """The fragment for a Python type annotation; {} (any JSON value) when it has none."""
    if annotation is Any:
        return {}
    if annotation is None or annotation is type(None):
        return {"type": "null"}
    if annotation in _PRIMITIVES:
        return {"type": _PRIMITIVES[annotation]}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        values = [_jsonable(v) for v in args]
        return {**_enum_type(values), "enum": values}
    if origin in (typing.Union, types.UnionType):
        members: list[dict[str, Any]] = []
        for arg in args:
            fragment = annotation_schema(arg)
            if not fragment:
                return {}  # one member takes anything: so does the union
            for m in fragment.get("anyOf", [fragment]):
                if m not in members:
                    members.append(m)
        # Union[str, SomeEnum]: the str is the enum's value written out; the enum says more.
        if {"type": "string"} in members and any(
            m.get("type") == "string" and "enum" in m for m in members
        ):
            members.remove({"type": "string"})
        return members[0] if len(members) == 1 else {"anyOf": members}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values = [_jsonable(m) for m in annotation]
        return {**_enum_type(values), "enum": values}
    container = origin or annotation
    if container in (list, tuple, set, frozenset) or _is_abc(container, "Sequence", "Set"):
        items = [annotation_schema(a) for a in args if a is not Ellipsis]
        unique = [i for n, i in enumerate(items) if i not in items[:n]]
        if len(unique) == 1 and unique[0]:
            return {"type": "array", "items": unique[0]}
        if len(unique) > 1 and all(unique):
            return {"type": "array", "items": {"anyOf": unique}}
        return {"type": "array"}
    if container is dict or _is_abc(container, "Mapping"):
        return {"type": "object"}
    if dataclasses.is_dataclass(annotation):
        return {"type": "object"}  # a nested config, given as an object of its fields
    return {}


def _is_abc(cls: Any, *names: str) -> bool:
    import collections.abc

    return isinstance(cls, type) and any(
        issubclass(cls, getattr(collections.abc, n)) for n in names
    )


class _Names(dict):
    """Names for evaluating an annotation string: the module's, then builtins, else Any."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        super().__init__(vars(typing))
        self.update(namespace)

    def __missing__(self, key: str) -> Any:
        return getattr(builtins, key, Any)


def field_annotations(cls: type) -> dict[str, Any]:
    """The resolved annotations of a dataclass's fields; names its module only imports for
    type checking resolve to Any."""
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - a name that only exists for type checkers
        pass
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not isinstance(f.type, str):
            out[f.name] = f.type
            continue
        module = sys.modules.get(getattr(cls, "__module__", ""), None)
        names = _Names(vars(module) if module else {})
        try:
            out[f.name] = eval(f.type, {"__builtins__": builtins}, names)  # noqa: S307
        except Exception:  # noqa: BLE001 - an annotation we cannot read takes any value
            out[f.name] = Any
    return out
