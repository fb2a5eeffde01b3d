"""A form as JSON Schema (draft 2020-12) + uiSchema, in react-jsonschema-form's conventions.

The schema *is* the one dispatch validates against (`definition.json_schema`, carried by the
form as `Form.schema`), so the form accepts exactly what dispatch accepts by construction.
Only annotations and spellings that accept the same values are changed:

- each `enum` is spelled `oneOf: [{const, title}]` with the options' labels (the same values;
  the loader refuses an option listed twice), and a BOOLEAN select gets its two values labelled;
  suggestions (`allowCustomValue`) stay `examples`, which the form offers as a datalist;
- the form's own title, description and top-level defaults (a server's preset connection)
  are the annotations; a secret keeps no default or example.

What a form shows and when is the uiSchema's job: each field's `ui:widget` (from the widget
table), `ui:placeholder`, `ui:help` (the rule the server enforces), `ui:order` (basic fields
first, advanced after, each in the definition's order), the advanced fields grouped and
collapsed under `ui:options.groups` (each with `ui:options.advanced: true`), a display
condition as `ui:options.displayCondition` for the page to evaluate, and a hidden property
(which dispatch accepts and drops) as `ui:widget: hidden`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zhipu_connector.definition.json_schema import DRAFT
from zhipu_connector.forms.hints import field_hint
from zhipu_connector.forms.tree import Field, Form

ADVANCED_GROUP = {"id": "advanced", "title": "Advanced options", "collapsed": True}


def render_rjsf(form: Form) -> dict[str, Any]:
    """`{"schema": ..., "uiSchema": ...}` for react-jsonschema-form."""
    return {"schema": form_schema(form), "uiSchema": ui_schema(form)}


def form_schema(form: Form) -> dict[str, Any]:
    """The form's JSON Schema: dispatch's, presented."""
    schema = _presented_object(form.schema, form.fields)
    schema["$schema"] = DRAFT
    schema["title"] = form.title
    schema.pop("description", None)
    if form.description:
        schema["description"] = form.description
    for field in form.fields:  # the form's defaults: the definition's, or a server's presets
        if field.has_default and field.key in schema.get("properties", {}):
            schema["properties"][field.key]["default"] = field.default
    return {"$schema": schema.pop("$schema"), "title": schema.pop("title"), **schema}


def ui_schema(form: Form) -> dict[str, Any]:
    """The form's uiSchema."""
    return _ui_object(form.fields, form.schema)


# ---------------------------------------------------------------- schema


def _presented_object(schema: Mapping[str, Any], fields: tuple[Field, ...]) -> dict[str, Any]:
    presented = dict(schema)
    if "properties" in schema:
        by_key = {f.key: f for f in fields}
        presented["properties"] = {
            key: _presented(value, by_key.get(key)) for key, value in schema["properties"].items()
        }
    return presented


def _presented(schema: Mapping[str, Any], field: Field | None) -> dict[str, Any]:
    """One value's schema with its options labelled; a hidden property (no field) as dispatch has it."""
    presented = dict(schema)
    if field is None:
        return presented
    if presented.get("writeOnly"):
        presented.pop("default", None)
        presented.pop("examples", None)
    choices = [_choice(choice.value, choice.label, choice.description) for choice in field.options]
    if "enum" in presented and choices:
        del presented["enum"]
        presented["oneOf"] = choices
    elif presented.get("type") == "boolean" and choices and not field.open_options:
        presented["oneOf"] = choices  # exactly true and false, each with its label
    items = presented.get("items")
    if isinstance(items, Mapping):
        if "enum" in items and choices:
            presented["items"] = {**{k: v for k, v in items.items() if k != "enum"}, "oneOf": choices}
        elif field.item is not None:
            presented["items"] = _presented(items, field.item)
    if field.fields:
        presented = _presented_object(presented, field.fields)
    return presented


def _choice(value: Any, label: str, description: str | None) -> dict[str, Any]:
    choice: dict[str, Any] = {"const": value, "title": label}
    if description:
        choice["description"] = description
    return choice


# ---------------------------------------------------------------- uiSchema


def _ui_object(fields: tuple[Field, ...], schema: Mapping[str, Any]) -> dict[str, Any]:
    basic = [f.key for f in fields if not f.advanced]
    advanced = [f.key for f in fields if f.advanced]
    hidden = [key for key in schema.get("properties", {}) if key not in {f.key for f in fields}]
    ui: dict[str, Any] = {"ui:order": basic + advanced + hidden}
    if advanced:
        ui["ui:options"] = {"groups": [{**ADVANCED_GROUP, "fields": advanced}]}
    for field in fields:
        ui[field.key] = ui_field(field, schema.get("properties", {}).get(field.key, {}))
    for key in hidden:
        ui[key] = {"ui:widget": "hidden"}
    return ui


def ui_field(field: Field, schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The uiSchema of one field (`schema`: its value's schema, to find hidden members)."""
    schema = schema or {}
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
        items = schema.get("items")
        ui["items"] = ui_field(field.item, items if isinstance(items, Mapping) else None)
    if field.fields:
        members = _ui_object(field.fields, schema)
        options.update(members.pop("ui:options", {}))
        ui.update(members)
    if options:
        ui["ui:options"] = options
    return ui
