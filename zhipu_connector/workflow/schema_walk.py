"""Following a reference's path through JSON Schemas, and asking whether two types can meet.

The checks know an action's output only by its schema (derived from the definition file), and a
parameter's type only by the action's input schema. These functions walk such a schema by
`.key` and `[index]` steps, and compare JSON types the way a value would meet them at run time.
"""

from __future__ import annotations

from typing import Any

from zhipu_connector.workflow.references import Step, steps_text

TYPE_NAMES: dict[str, str] = {
    "string": "STRING",
    "integer": "INTEGER",
    "number": "NUMBER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
    "null": "NULL",
}
"""JSON types as the definition format names them, for messages."""


class PathProblem(ValueError):
    """A step the schema says cannot be taken; the message names the place and what exists."""


def schema_at(schema: dict[str, Any], steps: tuple[Step, ...], root: str) -> dict[str, Any]:
    """The sub-schema reached by `steps`; `{}` (anything) where the schema does not say.

    Raises `PathProblem` for a key an object is closed to, a key on an array or a scalar, or
    an index on something that is not an array.
    """
    current = schema
    walked = root
    for step in steps:
        types = json_types(current)
        if isinstance(step, int):
            if types is not None and "array" not in types:
                raise PathProblem(f"{walked} is {_a(types)}, which has no [{step}]")
            current = current.get("items", {}) if isinstance(current.get("items"), dict) else {}
        else:
            if types is not None and "object" not in types:
                hint = f"; index it, as in {walked}[0]" if "array" in types else ""
                raise PathProblem(f"{walked} is {_a(types)}, which has no key {step!r}{hint}")
            properties = current.get("properties", {})
            if step in properties:
                current = properties[step]
            elif current.get("additionalProperties") is False:
                known = ", ".join(properties) or "none"
                raise PathProblem(f"{walked} has no key {step!r} (keys: {known})")
            else:
                extra = current.get("additionalProperties")
                current = extra if isinstance(extra, dict) else {}
        walked += steps_text((step,))
    return current


def json_types(schema: dict[str, Any]) -> frozenset[str] | None:
    """The JSON types a schema allows; None when it does not restrict the type."""
    declared = schema.get("type")
    if declared is None:
        if "enum" in schema:
            return frozenset(_type_of(value) for value in schema["enum"])
        if "const" in schema:
            return frozenset({_type_of(schema["const"])})
        return None
    if isinstance(declared, str):
        return frozenset({declared})
    return frozenset(declared)


def can_meet(source: frozenset[str] | None, target: frozenset[str] | None) -> bool:
    """Whether a value of one of the `source` types may be valid where `target` types are asked.

    Only a certain mismatch is refused: an INTEGER fits a NUMBER, and a NUMBER may be whole,
    so it may fit an INTEGER; unknown types on either side fit anything.
    """
    if source is None or target is None:
        return True
    for kind in source:
        if kind in target:
            return True
        if kind == "integer" and "number" in target:
            return True
        if kind == "number" and "integer" in target:
            return True
    return False


def type_name(types: frozenset[str] | None) -> str:
    if types is None:
        return "any type"
    return " or ".join(sorted(TYPE_NAMES.get(kind, kind.upper()) for kind in types))


def _a(types: frozenset[str]) -> str:
    name = type_name(types)
    return f"an {name}" if name[:1] in "AEIOU" else f"a {name}"


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
