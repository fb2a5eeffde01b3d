"""A component's connection as an Airflow connection type, and an Airflow connection back as values.

Since Airflow 3.2 a provider declares its connection form as JSON Schema (`conn-fields`) plus
`ui-field-behaviour` (which built-in fields to hide or relabel). Both are a projection of the
connection's property table: each property becomes a field with its label, description, derived
JSON Schema, options (with their labels, as `values_display`) and default. The secret goes
into Airflow's own password field under the property's label, because that is the one field
Airflow stores encrypted and masks everywhere; every built-in field the component does not use
is hidden. Nothing here imports Airflow, so it is tested and documented without it.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

from zhipu_connector.definition.models import Authorization, Component, Property
from zhipu_connector.host.secrets import Secret

BUILT_IN_FIELDS = ("host", "schema", "login", "password", "port", "extra")
"""The fields every Airflow connection form has besides id, type and description."""

PASSWORD = "password"
AUTHORIZATION_FIELD = "authorization"
"""The extra field naming the authorization, offered only by components that declare several."""


def authorizations(component: Component) -> tuple[Authorization, ...]:
    return component.connection.authorizations if component.connection else ()


def password_property(component: Component) -> Property | None:
    """The secret that Airflow's password field holds: the first `secret: true` property."""
    for auth in authorizations(component):
        for prop in auth.properties:
            if prop.secret and not prop.hidden:
                return prop
    return None


def field_properties(component: Component) -> dict[str, Property]:
    """The properties that become `conn-fields`: every visible one but the password, by name.

    Authorizations that share a property name share its field (the first one's definition).
    """
    secret = password_property(component)
    fields: dict[str, Property] = {}
    for auth in authorizations(component):
        for prop in auth.properties:
            if prop.hidden or (secret is not None and prop.name == secret.name):
                continue
            fields.setdefault(prop.name, prop)
    return fields


def secret_fields(component: Component) -> tuple[str, ...]:
    """The `conn-fields` that hold a secret (beyond the password field's): masked like it."""
    return tuple(name for name, prop in field_properties(component).items() if prop.secret)


def _property_schema(component: Component, prop: Property) -> dict[str, Any]:
    """The derived JSON Schema of a connection property, as dispatch checks it."""
    for auth in authorizations(component):
        schema = component.derived_schemas()["connections"][auth.name]["properties"].get(prop.name)
        if schema is not None:
            return dict(schema)
    raise KeyError(prop.name)  # field_properties only yields declared properties


def conn_field(component: Component, prop: Property) -> dict[str, Any]:
    """One `conn-fields` entry: the derived schema plus what Airflow's form needs besides.

    Airflow reads `null` as "not filled in" (the property's default then applies), so a
    property that is not required also admits null; `values_display` gives each option its label; a secret field is `format: password`,
    which Airflow masks like its own password field.
    """
    schema = _property_schema(component, prop)
    if not prop.required:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if prop.options:
        schema["values_display"] = option_labels(prop, nullable=not prop.required)
    if prop.secret:
        schema["format"] = "password"
    field: dict[str, Any] = {"label": prop.title, "schema": schema}
    if prop.description:
        field["description"] = prop.description
    return field


NOT_SET = "(not set)"
"""How a form shows `null` in a select: the property's default applies."""


def option_labels(prop: Property, *, nullable: bool) -> dict[str, str]:
    """`values_display` of a property with options: each value's label, and null's when it may be empty."""
    labels = {display_key(option.value): option.label for option in prop.options or ()}
    return {**labels, "null": NOT_SET} if nullable else labels


def display_key(value: object) -> str:
    """How Airflow's form keys `values_display`: the option's value as JavaScript's String() shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def conn_fields(component: Component) -> dict[str, dict[str, Any]]:
    """Every `conn-fields` entry of a component's connection type."""
    fields = {name: conn_field(component, prop) for name, prop in field_properties(component).items()}
    auths = authorizations(component)
    if len(auths) > 1:
        fields = {
            AUTHORIZATION_FIELD: {
                "label": "Authorization",
                "description": "Which of the component's ways to authenticate this connection uses.",
                "schema": {
                    "type": "string",
                    "title": "Authorization",
                    "enum": [auth.name for auth in auths],
                    "values_display": {auth.name: auth.title for auth in auths},
                    "default": auths[0].name,
                },
            },
            **fields,
        }
    return fields


def ui_field_behaviour(component: Component) -> dict[str, Any]:
    """Hide the built-in fields the component does not use; the password under its own label."""
    secret = password_property(component)
    hidden = [name for name in BUILT_IN_FIELDS if not (name == PASSWORD and secret is not None)]
    behaviour: dict[str, Any] = {"hidden-fields": hidden, "relabeling": {}, "placeholders": {}}
    if secret is not None:
        behaviour["relabeling"][PASSWORD] = secret.title
        if secret.placeholder:
            behaviour["placeholders"][PASSWORD] = secret.placeholder
    return behaviour


def connection_values(
    component: Component, *, password: str | None, extra: Mapping[str, Any] | None
) -> tuple[dict[str, Any], str | None]:
    """The connection values and the authorization an Airflow connection of this type holds.

    Extra keys are read as the form writes them (the property's name) and, for connections
    made by older tools, with Airflow's `extra__<type>__` prefix. A value that came as text
    from a connection URI is read as JSON for a property that is not a string. Keys that are no
    property are passed on, so the connection check names them instead of ignoring them.
    """
    extra = dict(extra or {})
    prefix = f"extra__{component.name}__"
    for key in [key for key in extra if key.startswith(prefix)]:
        extra.setdefault(key[len(prefix) :], extra.pop(key))
    authorization = extra.pop(AUTHORIZATION_FIELD, None) if len(authorizations(component)) > 1 else None
    fields = field_properties(component)
    values: dict[str, Any] = {}
    for key, value in extra.items():
        if value is None or value == "":
            continue  # a field left empty in the form: the property's default applies
        prop = fields.get(key)
        values[key] = _typed(prop, value) if prop is not None else value
    secret = password_property(component)
    if secret is not None and password:
        values[secret.name] = Secret(password)
    return values, authorization


def _typed(prop: Property, value: Any) -> Any:
    if prop.type in ("STRING", "DATE", "DATE_TIME", "TIME") or not isinstance(value, str):
        return value
    return parse_text(value)


def parse_text(text: str) -> Any:
    """Text that stands for a number, boolean, list or object, as that value; else the text itself.

    JSON first, then Python literals (a rendered Jinja template of a list prints it Python's way).
    Only literals are read: nothing is evaluated.
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text
