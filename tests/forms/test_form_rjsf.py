"""JSON Schema + uiSchema: valid draft 2020-12, and everything the form sends passes dispatch's schema."""

from __future__ import annotations

import json

import pytest
from forms.form_documents import form_documents, value_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from zhipu_connector.definition.json_schema import input_schema, object_schema
from zhipu_connector.forms.rjsf import form_schema, render_rjsf, ui_schema
from zhipu_connector.forms.tree import action_form, component_forms, connection_form

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 200_000) | st.floats(-2, 3, allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _just_outside(field) -> st.SearchStrategy | None:
    """Values just beyond a field's bounds, where a schema that is a little too loose gives way."""
    b = field.bounds
    near = []
    for edge, step in ((b.min_value, -1), (b.max_value, 1)):
        if edge is not None:
            near += [edge + step * 0.5, edge + step]
    for edge, step in ((b.min_length, -1), (b.max_length, 1)):
        if edge is not None and edge + step >= 0:
            near.append("x" * (edge + step))
    lists = []
    for edge, step in ((b.min_items, -1), (b.max_items, 1)):
        if edge is not None and edge + step >= 0 and field.item is not None:
            lists.append(st.lists(value_of(field.item, in_item=True), min_size=edge + step, max_size=edge + step))
    strategies = ([st.sampled_from(near)] if near else []) + lists
    return st.one_of(strategies) if strategies else None


def all_forms(zhipu_component, memo_component, echo_host):
    forms = []
    for component in (zhipu_component, memo_component, echo_host.component("echo")):
        connection, actions = component_forms(component)
        forms += ([connection] if connection else []) + list(actions)
    return forms


def dispatch_schema(component, form):
    """The schema dispatch (or the connection factory) validates the same values against."""
    if form.kind == "action":
        return input_schema(component.action(form.name), component=component.name)
    auth = next(a for a in component.connection.authorizations if a.name == form.name)
    return object_schema(auth.properties, defaults_applied=True)


def test_every_form_schema_is_valid_draft_2020_12(zhipu_component, memo_component, echo_host):
    for form in all_forms(zhipu_component, memo_component, echo_host):
        schema = form_schema(form)
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        json.dumps(render_rjsf(form))  # plain JSON all the way down


def test_options_are_labelled_with_one_of_const_and_title(memo_component):
    schema = form_schema(action_form(memo_component, "compose"))
    assert schema["properties"]["format"]["oneOf"] == [
        {"const": "SIMPLE", "title": "Simple", "description": "One body of text."},
        {"const": "ADVANCED", "title": "Advanced", "description": "Sections with headings."},
    ]
    assert schema["properties"]["tags"]["items"] == {
        "oneOf": [
            {"const": "urgent", "title": "Urgent"},
            {"const": "internal", "title": "Internal"},
            {"const": "draft", "title": "Draft"},
        ]
    }
    assert schema["properties"]["tags"]["uniqueItems"] is True
    assert schema["properties"]["signed"]["oneOf"] == [
        {"const": True, "title": "True"},
        {"const": False, "title": "False"},
    ]


def test_suggested_values_stay_examples_and_keep_their_labels_in_the_ui_schema(zhipu_component):
    form = connection_form(zhipu_component)
    schema, ui = form_schema(form), ui_schema(form)
    prop = zhipu_component.connection.authorizations[0].properties
    base_url = next(p for p in prop if p.name == "baseUrl")
    assert schema["properties"]["baseUrl"]["examples"] == [o.value for o in base_url.options]
    assert "oneOf" not in schema["properties"]["baseUrl"] and "enum" not in schema["properties"]["baseUrl"]
    assert ui["baseUrl"]["ui:options"]["suggestions"] == [
        {"value": o.value, "label": o.label} for o in base_url.options
    ]


def test_a_secret_is_a_write_only_password(zhipu_component):
    form = connection_form(zhipu_component)
    secrets = [f.key for f in form.fields if f.secret]
    assert secrets, "the Zhipu connection has a secret token"
    for key in secrets:
        assert form_schema(form)["properties"][key]["writeOnly"] is True
        assert ui_schema(form)[key]["ui:widget"] == "password"
        assert ui_schema(form)[key]["ui:autocomplete"] == "off"


def test_ui_order_puts_advanced_fields_last_and_groups_them_collapsed(zhipu_component):
    for name in zhipu_component.action_names:
        form = action_form(zhipu_component, name)
        ui = ui_schema(form)
        basic = [f.key for f in form.fields if not f.advanced]
        advanced = [f.key for f in form.fields if f.advanced]
        assert ui["ui:order"] == basic + advanced
        assert ui["ui:options"]["groups"] == [
            {"id": "advanced", "title": "Advanced options", "collapsed": True, "fields": advanced}
        ]
        for key in advanced:
            assert ui[key]["ui:options"]["advanced"] is True


def test_widgets_help_and_placeholders(memo_component, zhipu_component):
    ui = ui_schema(action_form(memo_component, "compose"))
    assert ui["body"]["ui:widget"] == "textarea"
    assert ui["urgency"] == {"ui:widget": "updown", "ui:help": "From 0 to 1.", "ui:options": {"advanced": True}}
    assert ui["title"]["ui:placeholder"] == "What the memo is about"
    assert ui["title"]["ui:help"] == "1 to 40 characters."
    assert ui["sections"]["ui:help"] == "1 to 3 items."
    assert ui["sections"]["items"]["ui:order"] == ["heading", "level", "note", "anchor"]
    assert ui["sections"]["items"]["note"]["ui:options"] == {"displayCondition": "level > 1"}
    assert ui["tags"]["ui:widget"] == "checkboxes"
    ask = ui_schema(action_form(zhipu_component, "ask"))
    model = zhipu_component.action("ask").property("model")
    assert ask["model"]["ui:placeholder"] == model.example_value


def test_conditional_fields_are_dispatchs_and_the_page_evaluates_their_conditions(memo_component):
    form = action_form(memo_component, "compose")
    schema, ui = form_schema(form), ui_schema(form)
    assert {"body", "sections"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    assert schema["allOf"] == input_schema(memo_component.action("compose"))["allOf"], "required when shown"
    assert ui["body"]["ui:options"]["displayCondition"] == "format == 'SIMPLE'"
    assert ui["sections"]["items"]["note"]["ui:options"] == {"displayCondition": "level > 1"}


def test_the_form_shows_what_it_requires(memo_component):
    validator = Draft202012Validator(form_schema(action_form(memo_component, "compose")))
    assert validator.is_valid({"title": "t", "sections": [{"heading": "h"}]})
    assert not validator.is_valid({"title": "t"}), "sections are shown by the default format, so required"
    assert validator.is_valid({"title": "t", "format": "SIMPLE", "body": "b"})
    assert not validator.is_valid({"title": "t", "sections": [{"heading": "h"}], "extra": 1})


ANNOTATIONS = {"$schema", "title", "description", "default", "examples"}


def _validation_keywords(schema):
    """A schema with its annotations dropped and labelled consts read back as an enum."""
    if isinstance(schema, list):
        return [_validation_keywords(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {k: _validation_keywords(v) for k, v in schema.items() if k not in ANNOTATIONS}
    if "oneOf" in schema and all(isinstance(c, dict) and "const" in c for c in schema["oneOf"]):
        del result["oneOf"]
        result["enum"] = [c["const"] for c in schema["oneOf"]]
    if schema.get("type") == "boolean" and result.get("enum") == [True, False]:
        del result["enum"]  # a boolean's two values, listed or not, accept the same
    return result


def test_the_form_schema_is_the_dispatch_schema_presented(zhipu_component, memo_component, echo_host):
    """By construction: the same validation keywords, only annotations and labels added."""
    for form in all_forms(zhipu_component, memo_component, echo_host):
        component = {c.name: c for c in (zhipu_component, memo_component, echo_host.component("echo"))}[form.component]
        assert _validation_keywords(form_schema(form)) == _validation_keywords(dispatch_schema(component, form)), (
            form.component,
            form.name,
        )


def test_a_hidden_property_is_in_the_schema_but_not_shown(memo_component):
    hidden = [p.name for p in memo_component.action("compose").properties if p.hidden]
    assert hidden, "memo has a hidden property"
    form = action_form(memo_component, "compose")
    for key in hidden:
        assert key in form_schema(form)["properties"]
        assert ui_schema(form)[key] == {"ui:widget": "hidden"}
        assert key in ui_schema(form)["ui:order"]


@pytest.mark.parametrize(
    "owner, kind, name",
    [
        ("zhipu", "action", "ask"),
        ("zhipu", "action", "createImage"),
        ("zhipu", "connection", "bearer_token"),
        ("memo", "action", "compose"),
        ("memo", "connection", "api_key"),
        ("echo", "action", "shout"),
    ],
)
def test_documents_filled_in_by_the_form_pass_the_schema_dispatch_uses(
    owner, kind, name, zhipu_component, memo_component, echo_host
):
    component = {"zhipu": zhipu_component, "memo": memo_component, "echo": echo_host.component("echo")}[owner]
    form = action_form(component, name) if kind == "action" else connection_form(component, name)
    dispatch_validator = Draft202012Validator(dispatch_schema(component, form))

    @SETTINGS
    @given(form_documents(form))
    def check(document):
        assert list(dispatch_validator.iter_errors(document)) == []

    check()


def test_the_memo_handler_receives_exactly_what_the_form_sent_completed_with_defaults(
    memo_host, memo_component, memo_calls
):
    form = action_form(memo_component, "compose")
    connection = {"apiKey": "key-123456.secret"}

    @SETTINGS
    @given(form_documents(form))
    def check(document):
        memo_host.run_action("memo", "compose", document, connection)
        assert memo_calls[-1]["inputs"] == {**form.defaults, **document}, "nothing the form sent was dropped or changed"

    check()
