"""The shipped definition refuses an empty model or an empty message locally, before any request."""

from __future__ import annotations

import pytest

from zhipu_connector.definition.loader import load_component
from zhipu_connector.errors import InputValidationError
from zhipu_connector.host.dispatch import run_bound
from zhipu_connector.host.registry import Registry
from zhipu_connector.resources import data_path

CALLS: list[dict] = []


@pytest.fixture(scope="module")
def zhipu():
    component = load_component(data_path("connector.yaml"))
    registry = Registry()
    registry.register(component, {name: lambda i, c, x: CALLS.append(i) for name in component.action_names})
    return registry


def run(registry, action, inputs):
    return run_bound(registry.action("zhipu", action), inputs, {"token": "abc123.secretpart"})


@pytest.mark.parametrize(
    ("action", "inputs", "where"),
    [
        ("ask", {"model": "", "format": "SIMPLE", "userPrompt": "hi"}, "model"),
        (
            "ask",
            {"model": "glm-4.7-flash", "format": "ADVANCED", "messages": [{"role": "user", "content": ""}]},
            "messages[0].content",
        ),
        ("createImage", {"model": "", "imageMessages": [{"content": "a cat"}]}, "model"),
    ],
)
def test_an_empty_model_or_message_is_refused_naming_it(zhipu, action, inputs, where):
    with pytest.raises(InputValidationError) as caught:
        run(zhipu, action, inputs)
    assert where in [problem.location for problem in caught.value.problems]
    assert CALLS == []
