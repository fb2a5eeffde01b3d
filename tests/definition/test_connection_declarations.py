"""What a definition declares about its connection: environment variables and the connection test."""

from __future__ import annotations

import copy
import json

import pytest
from mini_definitions import api_key_definition

from zhipu_connector.definition.loader import parse_component
from zhipu_connector.errors import DefinitionError

BASE = api_key_definition(
    "demo",
    title="Demo",
    connection_properties={
        "apiKey": {"type": "STRING", "secret": True, "required": True, "environment": "DEMO_API_KEY"},
        "region": {"type": "STRING", "environment": "DEMO_REGION"},
    },
    actions={"act": {"title": "Act", "properties": {"text": {"type": "STRING"}}, "output": {"type": "STRING"}}},
)


def document(**changes):
    doc = copy.deepcopy(BASE)
    for path, value in changes.items():
        target = doc
        *parents, last = path.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    return json.dumps(doc)


def problems_of(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_component(text)
    return [str(problem) for problem in caught.value.problems]


def test_connection_properties_name_their_environment_variables(zhipu_component):
    component = parse_component(document())
    properties = {p.name: p.environment for p in component.connection.authorizations[0].properties}
    assert properties == {"apiKey": "DEMO_API_KEY", "region": "DEMO_REGION"}
    shipped = {p.name: p.environment for p in zhipu_component.connection.authorizations[0].properties}
    assert shipped == {
        "token": "ZHIPUAI_API_KEY",
        "baseUrl": "ZHIPUAI_BASE_URL",
        "authentication": None,
        "acceptLanguage": None,
        "limiter": "ZHIPU_CONNECTOR_LIMITER",
        "timeout": "ZHIPU_CONNECTOR_TIMEOUT",
    }


def test_an_action_input_cannot_come_from_the_environment():
    text = document(actions__act__properties={"text": {"type": "STRING", "environment": "TEXT"}})
    assert problems_of(text) == [
        "actions.act.properties.text.environment: only a connection's own properties may name an environment variable (line 1)"
    ]


def test_two_properties_cannot_read_one_variable():
    props = copy.deepcopy(BASE["connection"]["authorizations"]["key"]["properties"])
    props["region"]["environment"] = "DEMO_API_KEY"
    text = document(connection__authorizations__key__properties=props)
    assert problems_of(text) == [
        "connection.authorizations.key.properties.region.environment: DEMO_API_KEY is already read by apiKey (line 1)"
    ]


def test_a_variable_name_must_look_like_one():
    props = copy.deepcopy(BASE["connection"]["authorizations"]["key"]["properties"])
    props["region"]["environment"] = "demo region"
    (problem,) = problems_of(document(connection__authorizations__key__properties=props))
    assert problem.startswith("connection.authorizations.key.properties.region.environment:")
    assert "does not match" in problem


def test_a_connection_test_is_declared_with_a_description():
    test = {"description": "Lists the models: free.", "timeout": 5}
    component = parse_component(document(connection__connectionTest=test))
    assert component.connection.connection_test.description == "Lists the models: free."
    assert component.connection.connection_test.timeout == 5
    assert parse_component(document()).connection.connection_test is None


@pytest.mark.parametrize(
    "test, message",
    [
        ({}, "description is required"),
        ({"description": "x", "timeout": 0}, "timeout"),
        ({"description": "x", "retries": 2}, "retries"),
    ],
)
def test_a_bad_connection_test_is_refused(test, message):
    (problem,) = problems_of(document(connection__connectionTest=test))
    assert problem.startswith("connection.connectionTest") and message in problem
