"""Validating values against derived JSON Schemas: fast when valid, thorough when not.

Dispatch sits on a hot path (a batch makes thousands of calls), and a `jsonschema` check costs
more than the HTTP call it guards. So each schema is compiled once into Python code by
`fastjsonschema` and valid values pass through that alone; only a value it rejects is handed
to `jsonschema`, which reports every problem with its location. The tests prove that both
accept and reject exactly the same values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from zhipu_connector.host.errors import Problem

_DRAFT7 = "http://json-schema.org/draft-07/schema#"


class CompiledSchema:
    """One JSON Schema, compiled for `is_valid` and able to explain a rejection."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._fast: Callable[[Any], Any] | None = None  # compiled on first use, once
        self._full: Any = None

    def is_valid(self, value: Any) -> bool:
        fast = self._fast
        if fast is None:  # a start registers every action; only those that run pay for this
            fast = self._fast = _compile(self.schema)
        try:
            fast(value)
        except Exception:  # fastjsonschema's own JsonSchemaValueException, or a type error it hit
            return False
        return True

    def problems(self, value: Any) -> list[Problem]:
        """Every problem with `value`, each at its dotted location and naming the field's label."""
        if self._full is None:
            from jsonschema import Draft202012Validator

            self._full = Draft202012Validator(self.schema)
        errors = sorted(self._full.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
        return [_describe(error, self.schema) for error in errors]


def _compile(schema: dict[str, Any]) -> Callable[[Any], Any]:
    """fastjsonschema's generated checker, compiled in this process (generated code is never stored).

    fastjsonschema speaks draft 7, and the derived schemas use only keywords draft 7 shares.
    Formats stay annotations, as in draft 2020-12 (jsonschema does not assert them either).
    """
    import fastjsonschema

    return fastjsonschema.compile({**schema, "$schema": _DRAFT7}, use_formats=False, use_default=False)


def _describe(error: Any, root: dict[str, Any]) -> Problem:
    location = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required":
        missing = _quoted(error.message)
        holder = _schema_at(root, list(error.absolute_path))  # `then: {required}` has no titles
        child = holder.get("properties", {}).get(missing, {})
        where = f"{location}.{missing}" if location else missing
        return Problem(where, f"{_label(child, missing)} is required")
    if error.validator == "additionalProperties":
        known = ", ".join(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        where = f"{location}.{extra[0]}" if location else extra[0]
        noun = "unknown keys" if len(extra) > 1 else "unknown key"
        return Problem(where, f"{noun} {', '.join(map(repr, extra))} (known: {known})")
    if error.validator == "enum":
        return Problem(
            location, f"{_label(error.schema, location)}: {error.instance!r} is not one of {error.validator_value!r}"
        )
    return Problem(location, f"{_label(error.schema, location)}: {error.message}")


def _schema_at(schema: dict[str, Any], path: list[Any]) -> dict[str, Any]:
    """The subschema that describes the value at `path` (through properties and items)."""
    for part in path:
        if isinstance(part, int):
            schema = schema.get("items", {})
        else:
            schema = schema.get("properties", {}).get(part, {})
        if not isinstance(schema, dict):
            return {}
    return schema


def _label(schema: Any, fallback: str) -> str:
    title = schema.get("title") if isinstance(schema, dict) else None
    return str(title or fallback.rpartition(".")[2] or "value")


def _quoted(message: str) -> str:
    match = re.match(r"'(.*)' is a required property", message)
    return match.group(1) if match else message
