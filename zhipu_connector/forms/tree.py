"""The form tree: what a form shows, derived from a property table and nothing else.

A `Form` is renderer-neutral: the JSON Schema + uiSchema renderer and the HTML renderer both
walk it, and `zhipu-connector form --format json` prints it. Each `Field` carries everything a
renderer needs (label, widget, rules, options with their labels, the array item template or
the object's fields, the advanced and secret flags, the display condition), so that no
renderer goes back to the definition.

Hidden properties are left out: a form never shows them and never sends them. A secret's
default and example values are left out too, so that a credential never reaches a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from zhipu_connector.definition.models import Action, Authorization, Component, Property, PropertyType
from zhipu_connector.forms.visibility import condition_ast
from zhipu_connector.forms.widgets import Widget, widget_for
from zhipu_connector.host.errors import UnknownActionError

FormKind = Literal["action", "connection"]
BOOLEAN_CHOICES_LABELS = {True: "True", False: "False"}


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a select, with the label a person reads."""

    value: str | bool | int | float
    label: str
    description: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _compact({"value": self.value, "label": self.label, "description": self.description})


@dataclass(frozen=True, slots=True)
class Bounds:
    """The ranges a value must keep to; None where the definition sets none (typed as the models type them)."""

    min_value: int | float | None = None
    max_value: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None

    def to_json(self) -> dict[str, Any]:
        return _compact(
            {
                "minValue": self.min_value,
                "maxValue": self.max_value,
                "minLength": self.min_length,
                "maxLength": self.max_length,
                "minItems": self.min_items,
                "maxItems": self.max_items,
            }
        )


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a form: a property as a person fills it in."""

    key: str
    label: str
    type: PropertyType
    widget: Widget
    description: str | None = None
    required: bool = False
    """Required whenever shown (see `condition`)."""
    default: Any = None
    example: Any = None
    placeholder: str | None = None
    options: tuple[Choice, ...] = ()
    open_options: bool = False
    """The options are suggestions: any value of the field's type is accepted."""
    bounds: Bounds = field(default_factory=Bounds)
    pattern: str | None = None
    advanced: bool = False
    secret: bool = False
    condition: str | None = None
    """A display condition over sibling values; the field is shown (and sent) only when it holds."""
    item: Field | None = None
    """For an array: the template of one item."""
    fields: tuple[Field, ...] = ()
    """For an object: its fields, in the definition's order."""

    @property
    def has_default(self) -> bool:
        return self.default is not None

    def to_json(self) -> dict[str, Any]:
        """The field as JSON; optional keys that carry nothing are left out."""
        data: dict[str, Any] = {"key": self.key, "label": self.label, "type": self.type, "widget": self.widget.name}
        data.update(_compact({"description": self.description}))
        data["required"] = self.required
        if self.has_default:
            data["default"] = self.default
        if self.example is not None:
            data["example"] = self.example
        data.update(_compact({"placeholder": self.placeholder}))
        if self.options:
            data["options"] = [choice.to_json() for choice in self.options]
            data["openOptions"] = self.open_options
        data.update(_compact({"bounds": self.bounds.to_json(), "pattern": self.pattern}))
        data["advanced"] = self.advanced
        data["secret"] = self.secret
        if self.condition:
            data["displayCondition"] = {"source": self.condition, "ast": condition_ast(self.condition)}
        if self.item is not None:
            data["item"] = self.item.to_json()
        if self.fields:
            data["fields"] = [child.to_json() for child in self.fields]
        return data


@dataclass(frozen=True, slots=True)
class Form:
    """The form of one action, or of one connection authorization."""

    kind: FormKind
    component: str
    name: str
    title: str
    description: str | None
    fields: tuple[Field, ...]
    schema: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """The JSON Schema dispatch validates this form's values against (`definition.json_schema`)."""

    @property
    def defaults(self) -> dict[str, Any]:
        """Top-level defaults: dispatch fills these in before it evaluates display conditions."""
        return {f.key: f.default for f in self.fields if f.has_default}

    def field(self, key: str) -> Field:
        for child in self.fields:
            if child.key == key:
                return child
        raise KeyError(key)

    def to_json(self) -> dict[str, Any]:
        return _compact(
            {
                "kind": self.kind,
                "component": self.component,
                "name": self.name,
                "title": self.title,
                "description": self.description,
                "fields": [f.to_json() for f in self.fields],
            }
        )


def action_form(component: Component, action: Action | str) -> Form:
    """The form of one of `component`'s actions."""
    if isinstance(action, str):
        try:
            action = component.action(action)
        except KeyError:
            known = ", ".join(component.action_names)
            raise UnknownActionError(f"{component.name} has no action {action!r} (known: {known})") from None
    schema = component.derived_schemas()["actions"][action.name]["input"]
    return Form(
        "action", component.name, action.name, action.title, action.description, fields_of(action.properties), schema
    )


def connection_form(component: Component, authorization: str | None = None) -> Form:
    """The form of one of `component`'s connection authorizations (the first by default)."""
    auth = _authorization(component, authorization)
    schema = component.derived_schemas()["connections"][auth.name]
    return Form(
        "connection", component.name, auth.name, auth.title, auth.description, fields_of(auth.properties), schema
    )


def component_forms(component: Component) -> tuple[Form | None, tuple[Form, ...]]:
    """The connection form (None when the component needs no connection) and every action's form."""
    connection = connection_form(component) if component.connection else None
    return connection, tuple(action_form(component, action) for action in component.actions)


def with_defaults(form: Form, values: Mapping[str, Any]) -> Form:
    """`form` with other top-level defaults (a server's preset connection, say); secrets keep none."""
    fields = tuple(replace(f, default=values[f.key]) if f.key in values and not f.secret else f for f in form.fields)
    return replace(form, fields=fields)


def fields_of(properties: tuple[Property, ...]) -> tuple[Field, ...]:
    """The fields of a property table, in its order, hidden properties left out."""
    return tuple(field_of(prop) for prop in properties if not prop.hidden)


def field_of(prop: Property) -> Field:
    """One property as a field; array items and object members recursively."""
    return Field(
        key=prop.name,
        label=prop.label or prop.name or "Item",  # an array item has no key
        type=prop.type,
        widget=widget_for(prop),
        description=prop.description,
        required=prop.required,
        default=None if prop.secret else prop.default_value,
        example=None if prop.secret else prop.example_value,
        placeholder=prop.placeholder,
        options=_choices(prop),
        open_options=bool(prop.options) and prop.allow_custom_value,
        bounds=Bounds(
            prop.min_value,
            prop.max_value,
            prop.min_length,
            prop.max_length,
            prop.min_items,
            prop.max_items,
        ),
        pattern=prop.pattern,
        advanced=prop.advanced_option,
        secret=prop.secret,
        condition=prop.display_condition,
        item=field_of(prop.items) if prop.items is not None else None,
        fields=fields_of(prop.properties),
    )


def _choices(prop: Property) -> tuple[Choice, ...]:
    """Declared options; a BOOLEAN select without any gets True and False, so it can still be unset."""
    if prop.options:
        return tuple(Choice(o.value, o.label, o.description) for o in prop.options)
    if prop.type == "BOOLEAN":
        return tuple(Choice(value, label) for value, label in BOOLEAN_CHOICES_LABELS.items())
    return ()


def _authorization(component: Component, name: str | None) -> Authorization:
    if component.connection is None:
        raise UnknownActionError(f"{component.name} has no connection")
    auths = component.connection.authorizations
    if name is None:
        return auths[0]
    for auth in auths:
        if auth.name == name:
            return auth
    known = ", ".join(a.name for a in auths)
    raise UnknownActionError(f"{component.name} has no authorization {name!r} (known: {known})")


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """`data` without its None values and empty mappings (never a value a user gave)."""
    return {k: v for k, v in data.items() if not (v is None or (isinstance(v, dict) and not v))}
