"""The one describer of JSON Schema errors, and the one regex semantics for `pattern`.

Dispatch's input and connection checks, the definition loader and the workflow loader all
report `jsonschema` errors through `describe`, so a problem reads the same wherever it is
found: at its location (`messages[0].content`), an unknown key with the known ones, a
missing key by its label, and `Title: ` before any other rule a titled field breaks.

A value is quoted only when its schema is not `writeOnly` (how a secret is marked in every
derived schema): a secret of the wrong type is described without its value, whatever the type.

`pattern` follows ECMA-262, as fastjsonschema (the fast path) does: `$` is the end of the
text, never "before a final newline" as in Python's `re`; `validator_class` gives jsonschema
the same reading, so that the two never disagree about a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from zhipu_connector.definition.locations import location
from zhipu_connector.errors import Problem

_DOLLAR = r"(?<!\\)\$"  # an unescaped `$`: the end of the text (fastjsonschema's own rule); compiled on first use
_SHOWN = 120
"""How much of a quoted value a message keeps; a 1 MB string is not repeated whole."""


@lru_cache(maxsize=256)
def compiled_pattern(pattern: str) -> re.Pattern[str]:
    """`pattern` as Python's `re` must read it to match as ECMA-262 (and fastjsonschema) do."""
    return re.compile(re.sub(_DOLLAR, r"\\Z", pattern))


def pattern_matches(pattern: str, text: str) -> bool:
    """Whether `text` matches `pattern` anywhere, `$` being the end of the text."""
    return compiled_pattern(pattern).search(text) is not None


@lru_cache(maxsize=1)
def validator_class() -> Any:
    """jsonschema's draft 2020-12 validator with `pattern` read as `pattern_matches` reads it."""
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator: Any, value: str, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, "string") and not pattern_matches(value, instance):
            yield ValidationError(f"{instance!r} does not match {value!r}")

    return validators.extend(Draft202012Validator, {"pattern": pattern})


def describe_all(errors: Iterable[Any], root: Any) -> list[Problem]:
    """Every error described, in the order of their places in the document."""
    ordered = sorted(errors, key=lambda error: [_place(part) for part in error.absolute_path])
    return [describe(error, root) for error in ordered]


def _place(part: Any) -> tuple[int, int, str]:
    """A sort key for one step of a path: items by number (`[2]` before `[10]`), keys by name."""
    return (0, part, "") if isinstance(part, int) else (1, 0, str(part))


def describe(error: Any, root: Any) -> Problem:
    """One jsonschema error as a `Problem`, worded for people; `root` is the schema validated against."""
    parts = list(error.absolute_path)
    if error.validator == "required":
        missing = _quoted(error.message)
        child = _schema_at(root, parts).get("properties", {}).get(missing, {})  # `then: {required}` has no titles
        return Problem(location([*parts, missing]), f"{_title(child) or missing} is required")
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        declared = _declared(error.schema)
        extra = sorted(set(error.instance) - declared) if isinstance(error.instance, dict) else []
        noun = "unknown keys" if len(extra) > 1 else "unknown key"
        known = ", ".join(declared) or "none"
        return Problem(location([*parts, *extra[:1]]), f"{noun} {', '.join(map(repr, extra))} (known: {known})")
    title = _title(error.schema)
    prefix = f"{title}: " if title else ""
    if _secret(root, parts) or (isinstance(error.schema, dict) and error.schema.get("writeOnly")):
        return Problem(location(parts), f"{prefix}{_rule(error)} (the value is not shown: it is secret)")
    if error.validator == "enum":
        return Problem(location(parts), f"{prefix}{_shown(error.instance)} is not one of {error.validator_value!r}")
    message = error.message
    if len(message) > 4 * _SHOWN:
        message = f"{_shown(error.instance)} breaks the rule {error.validator!r}"
    return Problem(location(parts), f"{prefix}{message}{_bound(error)}")


_BOUNDS = {
    "maxItems": ("at most", "item"),
    "minItems": ("at least", "item"),
    "maxLength": ("at most", "character"),
    "minLength": ("at least", "character"),
    "maxProperties": ("at most", "key"),
    "minProperties": ("at least", "key"),
}


def _bound(error: Any) -> str:
    """The size a rule allows and the size the value has, which jsonschema's words leave out."""
    rule = _BOUNDS.get(error.validator)
    if rule is None or not isinstance(error.validator_value, int):
        return ""
    words, noun = rule
    limit, size = error.validator_value, len(error.instance) if hasattr(error.instance, "__len__") else None
    allowed = f"{words} {limit} {noun}{'' if limit == 1 else 's'}"
    return f" ({allowed}; it has {size})" if size is not None else f" ({allowed})"


def _rule(error: Any) -> str:
    """The rule a value breaks, said without the value."""
    if error.validator == "type":
        expected = error.validator_value
        names = ", ".join(expected) if isinstance(expected, list) else expected
        return f"the value is not of type {names!r}"
    if error.validator == "enum":
        return f"the value is not one of the {len(error.validator_value)} allowed"
    return f"the value breaks {error.validator}: {error.validator_value!r}"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else f"{text[:_SHOWN]}…"


def _declared(schema: Any) -> set[str] | Any:
    """The keys an object schema declares, in order (its `properties` and those of its `then`s)."""
    names: dict[str, None] = dict.fromkeys(schema.get("properties", {}))
    for branch in schema.get("allOf", ()):
        names.update(dict.fromkeys(branch.get("then", {}).get("properties", {})))
    return names.keys()


def _title(schema: Any) -> str | None:
    title = schema.get("title") if isinstance(schema, dict) else None
    return str(title) if title else None


def _secret(root: Any, parts: list[Any]) -> bool:
    """Whether the value at `parts`, or anything holding it, is marked `writeOnly`."""
    schema = root
    for part in parts:
        if not isinstance(schema, dict):
            return False
        if schema.get("writeOnly"):
            return True
        if isinstance(part, int):
            schema = schema.get("items", {})
        else:
            schema = schema.get("properties", {}).get(part) or _conditional(schema, part)
    return isinstance(schema, dict) and bool(schema.get("writeOnly"))


def _conditional(schema: dict[str, Any], key: str) -> Any:
    for branch in schema.get("allOf", ()):
        found = branch.get("then", {}).get("properties", {}).get(key)
        if found is not None:
            return found
    return {}


def _schema_at(schema: Any, path: list[Any]) -> dict[str, Any]:
    """The subschema that describes the value at `path` (through properties and items)."""
    for part in path:
        if not isinstance(schema, dict):
            return {}
        schema = schema.get("items", {}) if isinstance(part, int) else schema.get("properties", {}).get(part, {})
    return schema if isinstance(schema, dict) else {}


def _quoted(message: str) -> str:
    match = re.match(r"'(.*)' is a required property", message)
    return match.group(1) if match else message
