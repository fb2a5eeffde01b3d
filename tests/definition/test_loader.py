"""The loader: safe YAML, the closed schema, cross-field rules — every problem, located."""

from __future__ import annotations

import copy
import json
import textwrap

import pytest
import yaml
from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from zhipu_connector.definition import models
from zhipu_connector.definition.loader import load_component, parse_component
from zhipu_connector.definition.yaml_source import MAX_BYTES
from zhipu_connector.host.errors import DefinitionError

MINIMAL = {
    "name": "demo",
    "title": "Demo",
    "version": 1,
    "actions": {
        "act": {
            "title": "Act",
            "properties": {"text": {"label": "Text", "type": "STRING", "controlType": "TEXT"}},
            "output": {"type": "STRING"},
        }
    },
}


def problems_of(document) -> list[str]:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(DefinitionError) as caught:
        parse_component(text)
    return [str(problem) for problem in caught.value.problems]


def with_property(**fields):
    document = copy.deepcopy(MINIMAL)
    document["actions"]["act"]["properties"]["p"] = fields
    return document


def test_the_shipped_definition_loads(zhipu_component):
    assert zhipu_component.name == "zhipu"
    assert zhipu_component.version == 1
    assert zhipu_component.categories == ("artificial-intelligence",)
    assert zhipu_component.action_names[:2] == ("ask", "createImage")
    token = zhipu_component.connection.authorizations[0].properties[0]
    assert (token.name, token.secret, token.required) == ("token", True, True)


def test_the_shipped_definition_keeps_bytechef_keys(zhipu_component):
    ask = {p.name for p in zhipu_component.action("ask").properties}
    assert {"model", "messages", "maxTokens", "temperature", "topP", "stop", "user", "requestId", "doSample"} <= ask
    image = {p.name for p in zhipu_component.action("createImage").properties}
    assert {"model", "imageMessages", "user"} <= image
    assert zhipu_component.connection.authorizations[0].name == "bearer_token"


def test_field_aliases_are_spelled_as_pydantic_spells_camel_case():
    """The models' own `camel` must agree with `to_camel` on every field, or a key would be refused."""
    classes = [value for value in vars(models).values() if isinstance(value, type) and issubclass(value, BaseModel)]
    names = {name for cls in classes for name in cls.model_fields}
    assert len(names) > 30
    assert {name: models.camel(name) for name in names} == {name: to_camel(name) for name in names}
    assert models.Property.model_fields["min_value"].alias == "minValue"


def test_the_shipped_definition_has_the_api_ranges(zhipu_component):
    ask = zhipu_component.action("ask")
    assert (ask.property("temperature").min_value, ask.property("temperature").max_value) == (0, 1)
    assert (ask.property("topP").min_value, ask.property("topP").max_value) == (0.01, 1)
    assert ask.property("stop").max_items == 1  # the live server refuses a second stop word
    assert (ask.property("user").min_length, ask.property("user").max_length) == (6, 128)
    assert (ask.property("requestId").min_length, ask.property("requestId").max_length) == (6, 64)
    assert ask.property("maxTokens").min_value == 1
    assert ask.property("model").allow_custom_value


def test_a_minimal_definition_loads():
    component = parse_component(json.dumps(MINIMAL))
    assert component.action("act").property("text").control == "TEXT"


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"type": "STRING", "bogus": 1}, "actions.act.properties.p.bogus: unknown key 'bogus'"),
        ({"type": "STRANG"}, "actions.act.properties.p.type: unknown type 'STRANG' (known: STRING"),
        (
            {"type": "STRING", "controlType": "SLIDER"},
            "actions.act.properties.p.controlType: unknown control type 'SLIDER' (known: TEXT",
        ),
        (
            {"type": "STRING", "controlType": "NUMBER"},
            "actions.act.properties.p.controlType: control type NUMBER does not fit a STRING property",
        ),
        ({"type": "INTEGER", "controlType": "TEXT"}, "control type TEXT does not fit an INTEGER property"),
        ({"type": "STRING", "controlType": "SELECT"}, "actions.act.properties.p: a SELECT control needs options"),
        ({"type": "ARRAY", "controlType": "MULTI_SELECT"}, "a MULTI_SELECT control needs options"),
        (
            {"type": "STRING", "maxValue": 3},
            "actions.act.properties.p.maxValue: 'maxValue' does not apply to a STRING property",
        ),
        ({"type": "INTEGER", "minLength": 3}, "'minLength' does not apply to an INTEGER property"),
        (
            {"type": "INTEGER", "defaultValue": "three"},
            "actions.act.properties.p.defaultValue: 'three' is not of type 'integer'",
        ),
        (
            {"type": "NUMBER", "minValue": 0, "maxValue": 1, "defaultValue": 3},
            "actions.act.properties.p.defaultValue: 3 is above maxValue 1",
        ),
        (
            {"type": "NUMBER", "minValue": 0, "defaultValue": -1},
            "actions.act.properties.p.defaultValue: -1 is below minValue 0",
        ),
        ({"type": "NUMBER", "minValue": 2, "maxValue": 1}, "actions.act.properties.p.minValue: 2 is above maxValue 1"),
        (
            {"type": "STRING", "controlType": "SELECT", "options": [{"label": "A", "value": "a"}], "defaultValue": "b"},
            "actions.act.properties.p.defaultValue: 'b' is not among the options ['a']",
        ),
        (
            {"type": "STRING", "controlType": "SELECT", "options": [{"label": "A", "value": 1}]},
            "actions.act.properties.p.options[0].value: 1 is not a STRING value",
        ),
        (
            {
                "type": "STRING",
                "controlType": "SELECT",
                "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "a"}],
            },
            "actions.act.properties.p.options[1].value: 'a' is listed twice",
        ),
        ({"type": "STRING", "maxLength": 2, "defaultValue": "abc"}, "'abc' is longer than maxLength 2"),
        ({"type": "STRING", "pattern": "("}, "actions.act.properties.p.pattern: '(' is not a 'regex'"),
        (
            {"type": "STRING", "hidden": True, "required": True},
            "actions.act.properties.p.hidden: a hidden property cannot be required",
        ),
        (
            {"type": "ARRAY", "items": {"type": "NUMBER", "controlType": "TEXT"}},
            "actions.act.properties.p.items.controlType: control type TEXT does not fit a NUMBER",
        ),
    ],
)
def test_each_rule_is_reported_at_its_location(fields, expected):
    problems = problems_of(with_property(**fields))
    assert any(expected in problem for problem in problems), problems


def test_every_problem_is_reported_at_once():
    document = copy.deepcopy(MINIMAL)
    document["extra"] = True
    document["actions"]["act"]["properties"] = {
        "a": {"type": "NUMBER", "minValue": 0, "maxValue": 1, "defaultValue": 3},
        "b": {"type": "STRING", "controlType": "NUMBER"},
        "c": {"type": "STRING", "controlType": "SELECT"},
    }
    problems = problems_of(document)
    assert len(problems) == 3, problems  # schema problems first; rules run once the schema holds
    document["extra"] = None
    del document["extra"]
    document["actions"]["act"]["properties"]["b"]["controlType"] = "TEXT"
    document["actions"]["act"]["properties"]["c"]["controlType"] = "TEXT"
    document["actions"]["act"]["properties"]["d"] = {"type": "INTEGER", "minValue": 5, "maxValue": 1}
    problems = problems_of(document)
    assert [p.split(":")[0] for p in problems] == [
        "actions.act.properties.a.defaultValue",
        "actions.act.properties.d.minValue",
    ]


def test_locations_carry_line_numbers():
    text = textwrap.dedent(
        """\
        name: demo
        title: Demo
        version: 1
        actions:
          act:
            title: Act
            properties:
              temperature:
                type: NUMBER
                maxValue: 1
                defaultValue: 3
            output: {type: STRING}
        """
    )
    assert problems_of(text) == ["actions.act.properties.temperature.defaultValue: 3 is above maxValue 1 (line 11)"]


def test_missing_top_level_keys_and_wrong_types():
    problems = problems_of({"name": "Bad Name", "version": "one", "actions": {}})
    text = "\n".join(problems)
    assert "title: title is required" in text
    assert "name: 'Bad Name' does not match" in text
    assert "version: 'one' is not of type 'integer'" in text
    assert "actions: {} should be non-empty" in text


def test_malformed_yaml_is_one_clear_problem():
    assert problems_of("name: [unclosed\n") == [
        "malformed YAML at line 2, column 1: did not find expected ',' or ']'"
    ] or problems_of("name: [unclosed\n")[0].startswith("malformed YAML at line")


def test_duplicate_keys_are_rejected_with_both_lines():
    text = "name: demo\ntitle: Demo\nname: again\nversion: 1\nactions: {}\n"
    assert problems_of(text) == ["name: duplicate key 'name' at line 3 (first at line 1)"]


def test_an_alias_bomb_is_refused_quickly():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    problems = problems_of("\n".join(lines))
    assert problems and all("anchors and aliases are not allowed" in p for p in problems)


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("description: " + "x" * (MAX_BYTES + 10))
    with pytest.raises(DefinitionError) as caught:
        load_component(path)
    assert "over the limit" in str(caught.value)


def test_an_unreadable_or_non_utf8_file_is_a_clear_error(tmp_path):
    with pytest.raises(DefinitionError, match="cannot read the file"):
        load_component(tmp_path / "missing.yaml")
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: d\xe9mo\n".encode("latin-1"))
    with pytest.raises(DefinitionError, match="not UTF-8"):
        load_component(path)


def test_non_mapping_documents_are_rejected():
    assert problems_of("- just\n- a list\n")[0].startswith(": ") is False
    assert "is not of type 'object'" in problems_of("- just\n- a list\n")[0]


def test_the_format_schema_is_itself_valid():
    from jsonschema import Draft202012Validator

    from zhipu_connector.resources import load_schema

    Draft202012Validator.check_schema(load_schema("component.schema.json"))


def test_yaml_safe_loading_never_builds_python_objects(tmp_path):
    def payload(marker):
        return f"name: !!python/object/apply:builtins.exec [\"open({str(marker)!r}, 'w').close()\"]\n"

    control = tmp_path / "unsafe-ran"
    yaml.unsafe_load(payload(control))  # the same document through an unsafe loader runs its code
    assert control.exists()
    marker = tmp_path / "safe-ran"
    problems = problems_of(payload(marker) + "title: T\nversion: 1\nactions: {}\n")
    assert not marker.exists(), "the definition loader ran code from a tag"
    assert any(p.startswith("name: [") and "is not of type 'string'" in p for p in problems), problems
