"""The form tree: every property of a table becomes a field carrying what its definition says."""

from __future__ import annotations

import json

import pytest

from zhipu_connector.definition.conditions import parse_condition
from zhipu_connector.definition.loader import parse_component
from zhipu_connector.definition.models import Property
from zhipu_connector.forms.tree import Field, action_form, component_forms, connection_form, with_defaults
from zhipu_connector.forms.visibility import condition_ast
from zhipu_connector.forms.widgets import widget_for
from zhipu_connector.host.errors import UnknownActionError


def _check_field(field: Field, prop: Property) -> None:
    """The field says what the property says (its key, label, rules, options, children)."""
    assert field.key == prop.name
    assert field.label == (prop.label or prop.name or "Item")
    assert field.type == prop.type
    assert field.widget == widget_for(prop)
    assert field.description == prop.description
    assert field.required == prop.required
    assert field.advanced == prop.advanced_option
    assert field.secret == prop.secret
    assert field.condition == prop.display_condition
    assert field.placeholder == prop.placeholder
    assert field.pattern == prop.pattern
    b = field.bounds
    assert (b.min_value, b.max_value) == (prop.min_value, prop.max_value)
    assert (b.min_length, b.max_length, b.min_items, b.max_items) == (
        prop.min_length,
        prop.max_length,
        prop.min_items,
        prop.max_items,
    )
    if prop.secret:
        assert field.default is None and field.example is None
    else:
        assert field.default == prop.default_value and field.example == prop.example_value
    if prop.options:
        assert [(c.value, c.label, c.description) for c in field.options] == [
            (o.value, o.label, o.description) for o in prop.options
        ]
        assert field.open_options == prop.allow_custom_value
    if prop.items is not None:
        assert field.item is not None
        _check_field(field.item, prop.items)
    visible = [p for p in prop.properties if not p.hidden]
    assert [f.key for f in field.fields] == [p.name for p in visible]
    for child, child_prop in zip(field.fields, visible):
        _check_field(child, child_prop)


def _components(zhipu_component, memo_component, echo_host):
    return [zhipu_component, memo_component, echo_host.component("echo")]


def test_every_action_and_connection_field_matches_its_property(zhipu_component, memo_component, echo_host):
    for component in _components(zhipu_component, memo_component, echo_host):
        connection, actions = component_forms(component)
        tables = [(connection, component.connection.authorizations[0].properties)] if connection else []
        tables += [(form, component.action(form.name).properties) for form in actions]
        for form, properties in tables:
            visible = [p for p in properties if not p.hidden]
            assert [f.key for f in form.fields] == [p.name for p in visible], "the definition's order"
            for field, prop in zip(form.fields, visible):
                _check_field(field, prop)


def test_hidden_properties_are_not_in_the_form(memo_component, echo_host):
    assert "audit" not in [f.key for f in action_form(memo_component, "compose").fields]
    assert "secretNote" not in [f.key for f in action_form(echo_host.component("echo"), "shout").fields]


def test_ask_shows_format_first_and_its_conditional_fields(zhipu_component):
    form = action_form(zhipu_component, "ask")
    assert form.fields[0].key == "format"
    assert form.defaults["format"] == "ADVANCED"
    shown = {"SIMPLE": set(), "ADVANCED": set()}
    for choice in form.field("format").options:
        values = {"format": choice.value}
        shown[choice.value] = {
            f.key for f in form.fields if f.condition and parse_condition(f.condition).evaluate(values)
        }
    assert shown == {"SIMPLE": {"systemPrompt", "userPrompt"}, "ADVANCED": {"messages"}}
    assert form.field("userPrompt").required and not form.field("systemPrompt").required
    assert form.field("messages").required


def test_a_secret_keeps_its_default_out_of_the_tree():
    component = parse_component("""
name: vault
title: Vault
version: 1
connection:
  version: 1
  authorizations:
    key:
      title: Key
      type: API_KEY
      properties:
        key: {label: Key, type: STRING, secret: true, defaultValue: "hunter2-default-key", exampleValue: "ex-ample-key"}
actions:
  open:
    title: Open
    properties: {}
    output: {type: STRING}
""")
    form = connection_form(component)
    assert form.field("key").default is None and form.field("key").example is None
    assert "hunter2" not in json.dumps(form.to_json()) and "ex-ample" not in json.dumps(form.to_json())
    assert with_defaults(form, {"key": "preset-secret-value"}).field("key").default is None


def test_with_defaults_replaces_the_defaults_of_plain_fields(zhipu_component):
    form = with_defaults(connection_form(zhipu_component), {"baseUrl": "http://127.0.0.1:1/api/paas/v4"})
    assert form.field("baseUrl").default == "http://127.0.0.1:1/api/paas/v4"
    assert form.defaults["baseUrl"] == "http://127.0.0.1:1/api/paas/v4"


def test_a_boolean_select_without_options_can_still_be_left_unset():
    component = parse_component("""
name: flags
title: Flags
version: 1
actions:
  set:
    title: Set
    properties:
      enabled: {label: Enabled, type: BOOLEAN}
    output: {type: STRING}
""")
    field = action_form(component, "set").field("enabled")
    assert field.widget.name == "select"
    assert [(c.value, c.label) for c in field.options] == [(True, "True"), (False, "False")]


def test_the_tree_as_json(memo_component):
    tree = action_form(memo_component, "compose").to_json()
    assert json.loads(json.dumps(tree)) == tree
    assert (tree["kind"], tree["component"], tree["name"], tree["title"]) == ("action", "memo", "compose", "Compose")
    fields = {f["key"]: f for f in tree["fields"]}
    assert fields["format"]["options"][0] == {"value": "SIMPLE", "label": "Simple", "description": "One body of text."}
    assert fields["body"]["displayCondition"] == {
        "source": "format == 'SIMPLE'",
        "ast": condition_ast("format == 'SIMPLE'"),
    }
    assert fields["sections"]["bounds"] == {"minItems": 1, "maxItems": 3}
    assert [f["key"] for f in fields["sections"]["item"]["fields"]] == ["heading", "level", "note", "anchor"]
    assert fields["urgency"] == {
        "key": "urgency",
        "label": "Urgency",
        "type": "NUMBER",
        "widget": "number",
        "required": False,
        "default": 0.5,
        "bounds": {"minValue": 0, "maxValue": 1},
        "advanced": True,
        "secret": False,
    }


def test_a_default_of_false_or_zero_is_kept(echo_host):
    fields = {f["key"]: f for f in action_form(echo_host.component("echo"), "shout").to_json()["fields"]}
    assert fields["loud"]["default"] is False
    assert fields["times"]["default"] == 1


def test_unknown_names_are_errors_naming_what_exists(zhipu_component, echo_host):
    with pytest.raises(
        UnknownActionError,
        match=r"no action 'nope' \(known: ask, createImage, createEmbeddings, generateVideo, createImageAsync, getTaskResult\)",
    ):
        action_form(zhipu_component, "nope")
    with pytest.raises(UnknownActionError, match=r"no authorization 'oauth' \(known: bearer_token\)"):
        connection_form(zhipu_component, "oauth")
    component = parse_component(
        "name: bare\ntitle: Bare\nversion: 1\nactions:\n  a: {title: A, properties: {}, output: {type: STRING}}\n"
    )
    with pytest.raises(UnknownActionError, match="bare has no connection"):
        connection_form(component)
    assert component_forms(component)[0] is None


@pytest.mark.parametrize(
    "source, expected",
    [
        ("format == 'SIMPLE'", {"compare": "==", "left": {"path": ["format"]}, "right": {"literal": "SIMPLE"}}),
        (
            "!a && (b || c.d[2])",
            {"and": [{"not": {"path": ["a"]}}, {"or": [{"path": ["b"]}, {"path": ["c", "d", 2]}]}]},
        ),
        (
            "messages[index].role not in ['tool', null]",
            {"in": {"path": ["messages", None, "role"]}, "collection": {"list": ["tool", None]}, "negated": True},
        ),
        ("x in tags", {"in": {"path": ["x"]}, "collection": {"path": ["tags"]}, "negated": False}),
        ("n >= -1.5", {"compare": ">=", "left": {"path": ["n"]}, "right": {"literal": -1.5}}),
    ],
)
def test_conditions_travel_as_their_parsed_tree(source, expected):
    assert condition_ast(source) == expected
