"""The format's `outputWhen` (an output chosen by the inputs) and `availableWith` (an option served
only with some connection values): loaded, checked, derived into schemas and enforced by dispatch."""

from __future__ import annotations

import json

import pytest
from mini_definitions import api_key_definition

from zhipu_connector.definition.loader import parse_component
from zhipu_connector.errors import DefinitionError
from zhipu_connector.host.errors import InputValidationError, OutputValidationError
from zhipu_connector.host.registry import Registry

URL_A, URL_B = "https://a.example/v1", "https://b.example/v1"


def definition(condition: str = "mode == 'FULL'", served_with: str = "url") -> dict:
    return api_key_definition(
        "demo",
        title="Demo",
        connection_properties={
            "url": {
                "type": "STRING",
                "defaultValue": URL_A,
                "allowCustomValue": True,
                "options": [{"label": "Site A", "value": URL_A}, {"label": "Site B", "value": URL_B}],
            }
        },
        actions={
            "answer": {
                "title": "Answer",
                "properties": {
                    "mode": {"type": "STRING", "options": [{"label": "Full", "value": "FULL"}]},
                    "model": {
                        "type": "STRING",
                        "options": [
                            {"label": "Anywhere", "value": "m1"},
                            {"label": "Site A only", "value": "m2", "availableWith": {served_with: [URL_A]}},
                        ],
                    },
                },
                "output": {"type": "STRING"},
                "outputWhen": [
                    {
                        "condition": condition,
                        "output": {"type": "OBJECT", "properties": {"text": {"type": "STRING", "required": True}}},
                    }
                ],
            }
        },
    )


def bound(handler):
    registry = Registry()
    registry.register(parse_component(json.dumps(definition()), subject="demo.yaml"), {"answer": handler})
    return registry.action("demo", "answer")


def test_the_inputs_choose_the_output_and_dispatch_checks_the_chosen_one():
    from zhipu_connector.host.dispatch import run_bound

    def handler(inputs, connection, context):
        return {"text": "hi"} if inputs.get("mode") == "FULL" else "hi"

    action = bound(handler)
    assert run_bound(action, {"mode": "FULL"}, {}) == {"text": "hi"}
    assert run_bound(action, {}, {}) == "hi"
    assert [branch["title"] for branch in action.output_schema["anyOf"]] == ["when mode == 'FULL'", "otherwise"]
    wrong = bound(lambda inputs, connection, context: "hi")
    with pytest.raises(OutputValidationError):
        run_bound(wrong, {"mode": "FULL"}, {})


def test_an_option_is_refused_with_a_declared_connection_value_that_does_not_serve_it():
    from zhipu_connector.host.dispatch import run_bound

    calls = []
    action = bound(lambda inputs, connection, context: calls.append(inputs) or "ok")
    with pytest.raises(InputValidationError) as caught:
        run_bound(action, {"model": "m2"}, {"url": URL_B})
    assert caught.value.problems[0].location == "model" and "served with: Site A" in caught.value.problems[0].message
    assert calls == []
    assert run_bound(action, {"model": "m2"}, {"url": URL_A + "/"}) == "ok"  # a trailing / aside
    assert run_bound(action, {"model": "m2"}, {"url": "http://127.0.0.1:9/v1"}) == "ok"  # custom: not judged
    assert run_bound(action, {"model": "m1"}, {"url": URL_B}) == "ok"


@pytest.mark.parametrize(
    ("kwargs", "location", "words"),
    [
        ({"condition": "nothing == 'FULL'"}, "actions.answer.outputWhen[0].condition", "'nothing' is not an input"),
        ({"condition": "mode =="}, "actions.answer.outputWhen[0].condition", "column"),
        (
            {"served_with": "region"},
            "actions.answer.properties.model.options[1].availableWith",
            "'region' is not a connection property",
        ),
    ],
)
def test_the_loader_refuses_cases_and_availability_that_cannot_work(kwargs, location, words):
    with pytest.raises(DefinitionError) as caught:
        parse_component(json.dumps(definition(**kwargs)), subject="demo.yaml")
    assert any(location in str(p.location) and words in p.message for p in caught.value.problems), caught.value
