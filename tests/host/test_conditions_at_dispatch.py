"""Display conditions at dispatch: a hidden field is neither required nor sent."""

from __future__ import annotations

import json

import pytest

from zhipu_connector.definition.loader import parse_component
from zhipu_connector.host.dispatch import run_bound
from zhipu_connector.host.errors import DefinitionError, InputValidationError
from zhipu_connector.host.registry import Registry

DEFINITION = {
    "name": "cond",
    "title": "Cond",
    "version": 1,
    "actions": {
        "act": {
            "title": "Act",
            "properties": {
                "format": {
                    "type": "STRING",
                    "controlType": "SELECT",
                    "defaultValue": "ADVANCED",
                    "options": [{"label": "S", "value": "SIMPLE"}, {"label": "A", "value": "ADVANCED"}],
                },
                "prompt": {
                    "label": "Prompt",
                    "type": "STRING",
                    "required": True,
                    "displayCondition": "format == 'SIMPLE'",
                },
                "messages": {
                    "label": "Messages",
                    "type": "ARRAY",
                    "required": True,
                    "displayCondition": "format == 'ADVANCED'",
                    "items": {
                        "type": "OBJECT",
                        "properties": {
                            "role": {"type": "STRING", "required": True},
                            "toolCallId": {"type": "STRING", "displayCondition": "messages[index].role == 'tool'"},
                        },
                    },
                },
            },
            "output": {"type": "OBJECT"},
        }
    },
}


@pytest.fixture
def bound():
    registry = Registry()
    registry.register(parse_component(json.dumps(DEFINITION)), {"act": lambda inputs, connection, context: inputs})
    return registry.action("cond", "act")


def test_the_default_decides_what_is_shown_and_required(bound):
    with pytest.raises(InputValidationError, match="messages: Messages is required"):
        run_bound(bound, {})
    assert run_bound(bound, {"messages": [], "prompt": "dropped"}) == {"messages": [], "format": "ADVANCED"}


def test_the_other_branch(bound):
    with pytest.raises(InputValidationError, match="prompt: Prompt is required"):
        run_bound(bound, {"format": "SIMPLE"})
    assert run_bound(bound, {"format": "SIMPLE", "prompt": "hi", "messages": [{"role": "x"}]}) == {
        "format": "SIMPLE",
        "prompt": "hi",
    }


def test_index_conditions_read_the_current_item(bound):
    messages = [{"role": "user", "toolCallId": "dropped"}, {"role": "tool", "toolCallId": "kept"}]
    assert run_bound(bound, {"messages": messages})["messages"] == [
        {"role": "user"},
        {"role": "tool", "toolCallId": "kept"},
    ]


def test_index_outside_array_items_is_a_load_error():
    document = json.loads(json.dumps(DEFINITION))
    document["actions"]["act"]["properties"]["prompt"]["displayCondition"] = "messages[index].role == 'tool'"
    with pytest.raises(DefinitionError, match=r"\[index\] can only be used by a property inside array items"):
        parse_component(json.dumps(document))


def test_a_condition_on_an_unknown_property_is_a_load_error():
    document = json.loads(json.dumps(DEFINITION))
    document["actions"]["act"]["properties"]["prompt"]["displayCondition"] = "formt == 'SIMPLE'"
    with pytest.raises(DefinitionError, match="actions.act.properties.prompt.displayCondition: refers to 'formt'"):
        parse_component(json.dumps(document))


def test_a_malformed_condition_is_a_load_error_with_its_location():
    document = json.loads(json.dumps(DEFINITION))
    document["actions"]["act"]["properties"]["prompt"]["displayCondition"] = "format = 'SIMPLE'"
    with pytest.raises(DefinitionError, match="actions.act.properties.prompt.displayCondition: .*column 7"):
        parse_component(json.dumps(document))
