"""Property tables → JSON Schema (draft 2020-12): the one table from property type to schema.

The schemas produced here are what dispatch validates against, what `zhipu-connector schema`
publishes and what forms start from; nothing else decides what an input may be.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zhipu_connector.definition.models import Action, Component, Property

DRAFT = "https://json-schema.org/draft/2020-12/schema"

JSON_TYPE: dict[str, str] = {
    "STRING": "string",
    "INTEGER": "integer",
    "NUMBER": "number",
    "BOOLEAN": "boolean",
    "ARRAY": "array",
    "OBJECT": "object",
    "DATE": "string",
    "DATE_TIME": "string",
    "TIME": "string",
    "NULL": "null",
}
FORMAT: dict[str, str] = {"DATE": "date", "DATE_TIME": "date-time", "TIME": "time"}

# a range of the definition (its attribute name) -> its JSON Schema keyword; forms use it too
BOUNDS = (
    ("min_value", "minimum"),
    ("max_value", "maximum"),
    ("min_length", "minLength"),
    ("max_length", "maxLength"),
    ("min_items", "minItems"),
    ("max_items", "maxItems"),
)


def bound_keywords(ranges: object, pattern: str | None = None) -> dict[str, Any]:
    """The JSON Schema keywords for the ranges set on `ranges` (a property, or a form's bounds)."""
    keywords: dict[str, Any] = {}
    for attribute, keyword in BOUNDS:
        value = getattr(ranges, attribute)
        if value is not None:
            keywords[keyword] = value  # typed by the models: an INTEGER's bounds are ints already
    if pattern is not None:
        keywords["pattern"] = pattern
    return keywords


def property_schema(prop: Property) -> dict[str, Any]:
    """The JSON Schema of one property's value."""
    schema: dict[str, Any] = {"type": JSON_TYPE[prop.type]}
    if prop.label:
        schema["title"] = prop.label
    if prop.description:
        schema["description"] = prop.description
    if prop.type in FORMAT:
        schema["format"] = FORMAT[prop.type]
    schema.update(bound_keywords(prop, prop.pattern))
    if prop.options:
        values = [option.value for option in prop.options]
        if prop.type == "ARRAY":  # a MULTI_SELECT: each chosen item is one of the options
            schema["uniqueItems"] = True
            schema["items"] = {"enum": values}
        elif prop.allow_custom_value:
            schema["examples"] = values
        else:
            schema["enum"] = values
    if prop.items is not None and "items" not in schema:
        schema["items"] = property_schema(prop.items)
    if prop.type == "OBJECT" and prop.properties:
        schema.update(object_schema(prop.properties))
    if prop.has_default:
        schema["default"] = prop.default_value
    if prop.example_value is not None:
        schema.setdefault("examples", [prop.example_value])
    if prop.secret:
        schema["writeOnly"] = True
    return schema


def object_schema(properties: Iterable[Property], *, defaults_applied: bool = False) -> dict[str, Any]:
    """A closed object: the known keys only; the required ones that are always shown.

    `defaults_applied` says the caller fills in the properties' defaults before it decides
    visibility (dispatch does, at the top level), so a condition reading a defaulted sibling
    is judged with that default when the value is absent.
    """
    props = list(properties)
    defaults = {p.name: p.default_value for p in props if p.has_default} if defaults_applied else {}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {prop.name: property_schema(prop) for prop in props},
        "additionalProperties": False,
    }
    required = [p.name for p in props if p.required and not p.hidden and not p.display_condition]
    if required:
        schema["required"] = required
    conditional = [
        _required_when_shown(p, defaults) for p in props if p.required and not p.hidden and p.display_condition
    ]
    if conditional:
        schema["allOf"] = conditional
    return schema


def _required_when_shown(prop: Property, defaults: dict[str, Any]) -> dict[str, Any]:
    """`if <condition> then required`, for a required property behind a display condition.

    A condition on one property that must be present (`webSearch == true`) is written the
    other way round: `if <that property absent or not so> else required`. The two say the
    same, but the compiled validator runs an `if` by raising when it fails, and the property
    is absent from most inputs: an Ask's two such conditions cost it 9 µs a call written the
    first way, none the second.
    """
    from zhipu_connector.definition.conditions import parse_condition

    fragment = parse_condition(prop.display_condition or "").to_json_schema(defaults)
    if fragment is None:  # the loader refuses such definitions; kept as a guard
        raise ValueError(f"{prop.name}: display condition cannot be expressed in JSON Schema")
    negation = _negation_when_absent(fragment)
    if negation is not None:
        return {"if": negation, "else": {"required": [prop.name]}}
    return {"if": fragment, "then": {"required": [prop.name]}}


def _negation_when_absent(fragment: dict[str, Any]) -> dict[str, Any] | None:
    """`{properties: {X: {not: S}}}` for `{properties: {X: S}, required: [X]}`, else None.

    Not (X present and X matches S) is: X absent, or X does not match S; `properties` holds
    of an absent X, so the negation needs no `required`, and passes at once without X.
    """
    properties = fragment.get("properties")
    if set(fragment) != {"properties", "required"} or not isinstance(properties, dict) or len(properties) != 1:
        return None
    ((name, subschema),) = properties.items()
    if fragment["required"] != [name]:
        return None
    if set(subschema) == {"not"}:
        return {"properties": {name: subschema["not"]}}
    return {"properties": {name: {"not": subschema}}}


def input_schema(action: Action, *, component: str = "") -> dict[str, Any]:
    """The JSON Schema of an action's inputs."""
    schema: dict[str, Any] = {"$schema": DRAFT}
    schema["title"] = f"{component}.{action.name} inputs" if component else f"{action.name} inputs"
    if action.description:
        schema["description"] = action.description
    schema.update(object_schema(action.properties, defaults_applied=True))
    return schema


def output_schema(action: Action, *, component: str = "") -> dict[str, Any]:
    """The JSON Schema of an action's result: its one output, or any of its cases' and the default.

    With `outputWhen`, each case is one `anyOf` branch titled by its condition, the default
    last; which branch a call must match is decided by its inputs (`output_cases`).
    """
    schema: dict[str, Any] = {"$schema": DRAFT}
    schema["title"] = f"{component}.{action.name} output" if component else f"{action.name} output"
    if not action.output_when:
        schema.update(property_schema(action.output))
        return schema
    branches = [{"title": f"when {case.condition}", **property_schema(case.output)} for case in action.output_when]
    branches.append({"title": "otherwise", **property_schema(action.output)})
    schema["anyOf"] = branches
    return schema


def output_cases(action: Action, *, component: str = "") -> list[dict[str, Any]]:
    """Each `outputWhen` case as `{condition, schema}`, in order, then the default (`condition` None)."""
    cases: list[dict[str, Any]] = []
    for case in (*action.output_when, None):
        prop = action.output if case is None else case.output
        schema: dict[str, Any] = {"$schema": DRAFT}
        schema["title"] = f"{component}.{action.name} output" if component else f"{action.name} output"
        schema.update(property_schema(prop))
        cases.append({"condition": None if case is None else case.condition, "schema": schema})
    return cases


def derive_all(component: Component) -> dict[str, Any]:
    """Every schema the host needs: each action's input and output, each authorization's."""
    return {
        "actions": {
            action.name: {
                "input": input_schema(action, component=component.name),
                "output": output_schema(action, component=component.name),
                **({"outputCases": output_cases(action, component=component.name)} if action.output_when else {}),
            }
            for action in component.actions
        },
        "connections": {
            auth.name: object_schema(auth.properties, defaults_applied=True)
            for auth in (component.connection.authorizations if component.connection else ())
        },
    }
