"""A form tree as JSON Schema (draft 2020-12) + uiSchema, in react-jsonschema-form's conventions.

The schema accepts what the form may send and nothing more, and everything it accepts is
accepted by the schema dispatch validates against (`definition.json_schema.input_schema`);
the tests prove it with generated documents. It differs only in presentation:

- options are `oneOf: [{const, title}]`, so a select shows labels, not raw values;
  suggestions (`allowCustomValue`) stay `examples`, which the form offers as a datalist;
- a field behind a display condition lives in `allOf: [{if: <condition>, then: {properties,
  required}}]`, react-jsonschema-form's own way of showing a field only when a condition holds;
  the object is then closed with `unevaluatedProperties: false` (which sees into `then`)
  instead of `additionalProperties: false` (which would not). The condition is judged with the
  top-level defaults filled in, as dispatch does. A condition that JSON Schema cannot express
  (ordering, `[index]`) keeps its field in `properties` and travels in
  `ui:options.displayCondition` for the page to evaluate.

The uiSchema gives each field its `ui:widget` (from the widget table), `ui:placeholder`,
`ui:help` (the rule the server enforces), `ui:order` (basic fields first, advanced after, each
in the definition's order) and groups the advanced fields, collapsed, under
`ui:options.groups`; each advanced field also carries `ui:options.advanced: true`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from zhipu_connector.definition.conditions import parse_condition
from zhipu_connector.definition.json_schema import DRAFT, FORMAT, JSON_TYPE, bound_keywords
from zhipu_connector.forms.hints import field_hint
from zhipu_connector.forms.tree import Field, Form

ADVANCED_GROUP = {"id": "advanced", "title": "Advanced options", "collapsed": True}


def render_rjsf(form: Form) -> dict[str, Any]:
    """`{"schema": ..., "uiSchema": ...}` for react-jsonschema-form."""
    return {"schema": form_schema(form), "uiSchema": ui_schema(form)}


def form_schema(form: Form) -> dict[str, Any]:
    """The form's JSON Schema (draft 2020-12)."""
    schema: dict[str, Any] = {"$schema": DRAFT, "title": form.title}
    if form.description:
        schema["description"] = form.description
    schema.update(_object_schema(form.fields, form.defaults))
    return schema


def ui_schema(form: Form) -> dict[str, Any]:
    """The form's uiSchema."""
    return _ui_object(form.fields)


# ---------------------------------------------------------------- schema


def _object_schema(
    fields: Iterable[Field], defaults: Mapping[str, Any], outer: frozenset[str] | None = None
) -> dict[str, Any]:
    """An object of `fields`; those behind an expressible condition move into `if/then`.

    `outer` names the top-level keys a condition inside an array item may also read (dispatch
    looks a name up in the item first, then at the top level); None outside array items.
    """
    fields = list(fields)
    own = frozenset(f.key for f in fields)
    always: list[Field] = []
    branches: dict[str, tuple[dict[str, Any], list[Field]]] = {}
    for field in fields:
        when = _condition_schema(field.condition, defaults, own, outer) if field.condition else None
        if when is None:
            always.append(field)
        else:
            branches.setdefault(field.condition or "", (when, []))[1].append(field)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.key: value_schema(f, outer=outer, siblings=own) for f in always},
    }
    required = [f.key for f in always if f.required and not f.condition]
    if required:
        schema["required"] = required
    if branches:
        schema["allOf"] = [_branch(when, shown, outer, own) for when, shown in branches.values()]
        schema["unevaluatedProperties"] = False
    else:
        schema["additionalProperties"] = False
    return schema


def _condition_schema(
    source: str, defaults: Mapping[str, Any], own: frozenset[str], outer: frozenset[str] | None
) -> dict[str, Any] | None:
    """The condition as a test of the object it sits in, when it reads only that object."""
    condition = parse_condition(source)
    if outer is not None:
        names = {path[0] for path in condition.paths() if path}
        if condition.uses_index or not names <= own or names & outer:
            return None  # it reads the top level or the item's position: the page decides
    return condition.to_json_schema(defaults)


def _branch(
    when: dict[str, Any], shown: list[Field], outer: frozenset[str] | None, own: frozenset[str]
) -> dict[str, Any]:
    then: dict[str, Any] = {"properties": {f.key: value_schema(f, outer=outer, siblings=own) for f in shown}}
    required = [f.key for f in shown if f.required]
    if required:
        then["required"] = required
    return {"if": when, "then": then}


def value_schema(
    field: Field, *, outer: frozenset[str] | None = None, siblings: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The JSON Schema of one field's value.

    `outer` is as for `_object_schema`; `siblings` are the keys next to the field, which become
    what its array's items may read besides their own when it sits outside array items.
    """
    schema: dict[str, Any] = {"type": JSON_TYPE[field.type], "title": field.label}
    if field.description:
        schema["description"] = field.description
    if field.type in FORMAT:
        schema["format"] = FORMAT[field.type]
    schema.update(bound_keywords(field.bounds, field.pattern))
    if field.options:
        choices = [_choice(choice.value, choice.label, choice.description) for choice in field.options]
        if field.type == "ARRAY":  # a multi-select: each chosen item is one of the options
            schema["uniqueItems"] = True
            schema["items"] = {"oneOf": choices}
        elif field.open_options:
            schema["examples"] = [choice.value for choice in field.options]
        else:
            schema["oneOf"] = choices
    if field.item is not None and "items" not in schema:
        schema["items"] = value_schema(field.item, outer=siblings if outer is None else outer)
    if field.type == "OBJECT" and field.fields:
        schema.update(_object_schema(field.fields, {}, outer))  # dispatch fills in top-level defaults only
    if field.has_default:
        schema["default"] = field.default
    if field.example is not None:
        schema.setdefault("examples", [field.example])
    if field.secret:
        schema["writeOnly"] = True
    return schema


def _choice(value: Any, label: str, description: str | None) -> dict[str, Any]:
    choice: dict[str, Any] = {"const": value, "title": label}
    if description:
        choice["description"] = description
    return choice


# ---------------------------------------------------------------- uiSchema


def _ui_object(fields: tuple[Field, ...]) -> dict[str, Any]:
    basic = [f.key for f in fields if not f.advanced]
    advanced = [f.key for f in fields if f.advanced]
    ui: dict[str, Any] = {"ui:order": basic + advanced}
    if advanced:
        ui["ui:options"] = {"groups": [{**ADVANCED_GROUP, "fields": advanced}]}
    for field in fields:
        ui[field.key] = ui_field(field)
    return ui


def ui_field(field: Field) -> dict[str, Any]:
    """The uiSchema of one field."""
    ui: dict[str, Any] = {}
    if field.widget.rjsf:
        ui["ui:widget"] = field.widget.rjsf
    placeholder = field.placeholder or (str(field.example) if field.example is not None else None)
    if placeholder:
        ui["ui:placeholder"] = placeholder
    hint = field_hint(field)
    if hint:
        ui["ui:help"] = hint
    if field.secret:
        ui["ui:autocomplete"] = "off"
    options: dict[str, Any] = dict(field.widget.rjsf_options)
    if field.advanced:
        options["advanced"] = True
    if field.condition:
        options["displayCondition"] = field.condition
    if field.open_options:
        options["suggestions"] = [choice.to_json() for choice in field.options]
    if field.item is not None:
        ui["items"] = ui_field(field.item)
    if field.fields:
        members = _ui_object(field.fields)
        options.update(members.pop("ui:options", {}))
        ui.update(members)
    if options:
        ui["ui:options"] = options
    return ui
