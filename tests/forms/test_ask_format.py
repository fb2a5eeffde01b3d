"""Ask's format, end to end through `Host.run_action`: a field that is not shown is neither required nor sent.

The shipped definition is registered with a recording handler in place of Zhipu's, so this
tests the definition and dispatch, not the handler.
"""

from __future__ import annotations

from typing import Any

import pytest

from zhipu_connector.host.errors import InputValidationError
from zhipu_connector.host.hookspecs import hookimpl
from zhipu_connector.host.host import Host
from zhipu_connector.resources import data_path

MESSAGES = [{"role": "user", "content": "Hello"}]
CONNECTION = {"token": "ask4d2c.formatTESTkey"}


class Recorder:
    """A plugin registering connector.yaml with handlers that only record what they get."""

    def __init__(self) -> None:
        self.inputs: list[dict[str, Any]] = []

    def handle(self, inputs: dict[str, Any], connection: Any, context: Any) -> Any:
        self.inputs.append(inputs)
        return "recorded"

    @hookimpl
    def register_connectors(self, register: Any) -> None:
        from zhipu_connector.zhipu.plugin import CONNECTION_TEST, HANDLERS, OPTIONS_SOURCES  # the definition's own

        register(
            data_path("connector.yaml"),
            dict.fromkeys(HANDLERS, self.handle),
            connection_test=CONNECTION_TEST,
            options_sources=OPTIONS_SOURCES,
        )


@pytest.fixture(scope="module")
def recorder():
    plugin = Recorder()
    host = Host(default_plugins=[], entry_points=False, extra_plugins=[plugin])
    return host, plugin


def ask(recorder, inputs):
    host, plugin = recorder
    assert host.run_action("zhipu", "ask", inputs, CONNECTION) == "recorded"
    return plugin.inputs[-1]


def problems(recorder, inputs):
    host, plugin = recorder
    before = len(plugin.inputs)
    with pytest.raises(InputValidationError) as raised:
        host.run_action("zhipu", "ask", inputs, CONNECTION)
    assert len(plugin.inputs) == before, "nothing reached the handler"
    return {p.location: p.message for p in raised.value.problems}


def test_a_bytechef_workflow_sending_messages_runs_unchanged(recorder):
    got = ask(recorder, {"model": "glm-4-flash", "messages": MESSAGES})
    assert got["format"] == "ADVANCED" and got["messages"] == MESSAGES
    assert "userPrompt" not in got and "systemPrompt" not in got


def test_simple_needs_no_messages_and_gets_none(recorder):
    got = ask(recorder, {"model": "glm-4-flash", "format": "SIMPLE", "systemPrompt": "Be brief.", "userPrompt": "Hi"})
    assert got == {"model": "glm-4-flash", "format": "SIMPLE", "systemPrompt": "Be brief.", "userPrompt": "Hi"}
    dropped = ask(recorder, {"model": "glm-4-flash", "format": "SIMPLE", "userPrompt": "Hi", "messages": MESSAGES})
    assert "messages" not in dropped, "a hidden field is not passed to the handler"


def test_advanced_drops_the_prompts(recorder):
    got = ask(
        recorder,
        {
            "model": "glm-4-flash",
            "format": "ADVANCED",
            "messages": MESSAGES,
            "userPrompt": "ignored",
            "systemPrompt": "ignored",
        },
    )
    assert got == {"model": "glm-4-flash", "format": "ADVANCED", "messages": MESSAGES}


def test_what_is_shown_is_required(recorder):
    assert problems(recorder, {"model": "glm-4-flash"}) == {"messages": "Messages is required"}
    assert problems(recorder, {"model": "glm-4-flash", "format": "ADVANCED"}) == {"messages": "Messages is required"}
    assert problems(recorder, {"model": "glm-4-flash", "format": "SIMPLE"}) == {"userPrompt": "User prompt is required"}
    assert set(problems(recorder, {"model": "glm-4-flash", "format": "SIMPLE", "userPrompt": ""})) == {"userPrompt"}
    assert set(problems(recorder, {"model": "glm-4-flash", "format": "PLAIN", "messages": MESSAGES})) == {"format"}
