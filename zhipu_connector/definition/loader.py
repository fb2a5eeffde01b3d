"""Loading a component definition: safe YAML, the format's JSON Schema, then typed models.

The three stages each report everything they find, with locations, and a later stage runs
only on input the earlier ones accepted, so a user never sees a traceback or only the first
of several mistakes.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zhipu_connector.cache import EntryError, cached
from zhipu_connector.definition.locations import location as _location
from zhipu_connector.definition.models import Component
from zhipu_connector.definition.rebuild import dump_model, rebuild
from zhipu_connector.definition.schema_errors import describe, validator_class
from zhipu_connector.definition.sources import MAX_BYTES, SourceError, read_source
from zhipu_connector.errors import DefinitionError, Problem
from zhipu_connector.resources import data_path, load_schema

if TYPE_CHECKING:
    from zhipu_connector.definition.yaml_source import YamlDocument

SCHEMA_NAME = "component.schema.json"


def load_component(path: str | Path) -> Component:
    """Read, check and model the definition at `path`; raise `DefinitionError` with every problem."""
    try:
        raw = read_source(path, max_bytes=MAX_BYTES)
    except SourceError as error:
        raise DefinitionError(error.problems, subject=str(path)) from None
    return parse_component(raw, subject=str(path))


def parse_component(text: str | bytes, *, subject: str = "definition") -> Component:
    """`load_component` for text already in memory.

    A definition that loaded once is taken from the cache next time (keyed by its bytes, the
    format's schema and this code), so a start does not pay for the checks again.
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    material = raw + b"\0" + data_path(f"schemas/{SCHEMA_NAME}").read_bytes()
    return cached("component", material, lambda: _parse(raw, subject), dump=_dump, load=_load)


def _dump(component: Component) -> dict[str, Any]:
    """A checked component as the cache stores it: its fields and its derived schemas, as JSON."""
    return {"component": dump_model(component), "schemas": component.derived_schemas()}


def _load(data: Any) -> Component:
    """The component a cache entry holds, every field type-checked (`EntryError` if it is not one)."""
    if not isinstance(data, dict) or set(data) != {"component", "schemas"}:
        raise EntryError("not a stored component")
    component = rebuild(Component, data["component"])
    schemas = data["schemas"]  # decoded JSON already, so plain data: its shape is what is checked
    if not isinstance(schemas, dict) or set(schemas) != {"actions", "connections"}:
        raise EntryError("not a component's derived schemas")
    actions, connections = schemas["actions"], schemas["connections"]
    authorizations = [auth.name for auth in component.connection.authorizations] if component.connection else []
    if not isinstance(actions, dict) or set(actions) != set(component.action_names):
        raise EntryError("schemas of other actions")
    for entry in actions.values():
        if not (isinstance(entry, dict) and {"input", "output"} <= set(entry) <= {"input", "output", "outputCases"}):
            raise EntryError("not an action's schemas")
        if not all(isinstance(entry[key], dict) for key in ("input", "output")):
            raise EntryError("not an action's schemas")
        if not all(
            isinstance(case, dict) and isinstance(case.get("schema"), dict) for case in entry.get("outputCases", [])
        ):
            raise EntryError("not an action's output cases")
    if not isinstance(connections, dict) or set(connections) != set(authorizations):
        raise EntryError("schemas of other authorizations")
    if not all(isinstance(schema, dict) for schema in connections.values()):
        raise EntryError("not a connection's schema")
    component._schemas = schemas
    return component


def _parse(text: str | bytes, subject: str) -> Component:
    """The checks themselves; imported here, so a start served from the cache never loads them."""
    from zhipu_connector.definition.rules import check_component
    from zhipu_connector.definition.yaml_source import YamlError, read_yaml

    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DefinitionError(
                [Problem("", f"the file is not UTF-8 text (byte {error.start})")], subject=subject
            ) from None
    try:
        document = read_yaml(text)
    except YamlError as error:
        raise DefinitionError(error.problems, subject=subject) from None
    problems = schema_problems(document)
    if not problems:
        component = Component.model_validate(document.data)
        problems = [_with_line(p, document) for p in check_component(component)]
        if not problems:
            component.derived_schemas()  # derived now, so the cached entry carries them
            return component
    raise DefinitionError(problems, subject=subject)


@lru_cache(maxsize=1)
def _validator() -> Any:
    cls = validator_class()
    return cls(load_schema(SCHEMA_NAME), format_checker=cls.FORMAT_CHECKER)


def schema_problems(document: YamlDocument) -> list[Problem]:
    """Every breach of the definition format's JSON Schema, located and worded for people."""
    described = (_describe(error, document.data) for error in _validator().iter_errors(document.data))
    problems = [_with_line(problem, document) for problem in described if problem is not None]
    return sorted(problems, key=lambda p: (document.line_of(p.location) or 0, p.location))


def _describe(error: Any, root: Any) -> Problem | None:
    """A jsonschema error as a `Problem`: the format's own cases here, the rest by `describe`."""
    path = [str(part) for part in error.absolute_path]
    location = _location(error.absolute_path)
    parent = _parent_of(root, list(error.absolute_path))
    kind = parent.get("type") if isinstance(parent, dict) else None
    if error.validator is None and error.schema is False:  # a field the property type does not have
        return _not_applicable(error, root, location)
    if error.validator == "enum" and path and path[-1] in ("controlType", "type"):
        known = load_schema(SCHEMA_NAME)["$defs"]["property"]["properties"][path[-1]]["enum"]
        if error.instance not in known:  # reported once, by the plain enum; skip the type-fit echo
            return (
                None
                if "then" in error.schema_path
                else Problem(location, f"unknown {_words(path[-1])} {error.instance!r} (known: {', '.join(known)})")
            )
        allowed = ", ".join(error.validator_value) or "none"
        return Problem(
            location, f"control type {error.instance} does not fit {_a(kind)} property (use one of: {allowed})"
        )
    if error.validator == "required" and "options" in error.validator_value:
        return Problem(location, f"a {error.instance.get('controlType')} control needs options")
    if error.validator == "propertyNames":
        return Problem(location, f"{error.instance!r} is not a valid key: {error.message}")
    return describe(error, load_schema(SCHEMA_NAME))


def _not_applicable(error: Any, root: Any, location: str) -> Problem:
    """Name the field a `false` subschema refused; jsonschema leaves it out of the error's path."""
    prop = _parent_of(root, [*error.absolute_path, None])
    rules: Any = load_schema(SCHEMA_NAME)["$defs"]["property"]  # the `false`s live in its allOf
    trail = list(error.schema_path)
    for part in trail[len(trail) - 1 - trail[::-1].index("allOf") :]:
        rules = rules[part]
    fields = [key for key, rule in rules.items() if rule is False and isinstance(prop, dict) and key in prop]
    kind = prop.get("type") if isinstance(prop, dict) else None
    for field in fields:
        if prop[field] == error.instance:
            return Problem(f"{location}.{field}", f"{field!r} does not apply to {_a(kind)} property")
    return Problem(location, f"{', '.join(map(repr, fields))} does not apply to {_a(kind)} property")


def _parent_of(root: Any, path: list[Any]) -> Any:
    """The mapping that holds the value at `path` (the property whose field is wrong)."""
    node = root
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node if path else root


def _with_line(problem: Problem, document: YamlDocument) -> Problem:
    line = document.line_of(problem.location)
    if line is None or problem.message.startswith("line "):
        return problem
    return Problem(problem.location, f"{problem.message} (line {line})")


def _a(word: object) -> str:
    """`a STRING` but `an INTEGER`."""
    text = str(word)
    return f"an {text}" if text[:1] in "AEIOU" else f"a {text}"


def _words(key: str) -> str:
    """`controlType` → `control type`."""
    return "".join(f" {c.lower()}" if c.isupper() else c for c in key)
