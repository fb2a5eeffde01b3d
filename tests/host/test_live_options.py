"""Live options (`optionsSource`): the host asks the plugin's source with the connection, caches the
answer, and falls back quietly to the static options on any failure. A tiny test connector, so the
host is shown to know nothing of Zhipu."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import yaml
from mini_definitions import api_key_definition

from zhipu_connector.definition.loader import load_component
from zhipu_connector.errors import DefinitionError, PluginError, UnknownActionError
from zhipu_connector.host.hookspecs import hookimpl
from zhipu_connector.host.host import Host

DEFINITION: dict[str, Any] = api_key_definition(
    "menu",
    title="Menu",
    connection_properties={"apiKey": {"type": "STRING", "required": True, "secret": True}},
    actions={
        "order": {
            "title": "Order",
            "properties": {
                "dish": {
                    "type": "STRING",
                    "controlType": "SELECT",
                    "allowCustomValue": True,
                    "optionsSource": {"name": "dishes", "cacheSeconds": 60, "timeout": 0.5},
                    "options": [{"label": "Soup", "value": "soup"}],
                },
                "size": {"type": "STRING", "options": [{"label": "Big", "value": "big"}]},
            },
            "output": {"type": "STRING"},
        }
    },
)


class Menu:
    """The plugin: its source answers by the key it is given."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def dishes(self, connection: Any, static: Any, context: Any) -> Any:
        key = connection["apiKey"].reveal()
        self.calls.append(key)
        if key.startswith("fail"):
            raise RuntimeError(f"the kitchen is closed (key {key})")
        if key.startswith("slow"):
            time.sleep(2)
        if key.startswith("odd"):
            return {"not": "a list"}
        if key.startswith("none"):
            return []
        return [{"label": "Noodles", "value": "noodles", "description": "today only"}, *static]

    @hookimpl
    def register_connectors(self, register: Any) -> None:
        register(
            DEFINITION_PATH,
            {"order": lambda inputs, connection, context: "ok"},
            options_sources={"dishes": self.dishes},
        )


DEFINITION_PATH: Any = None


@pytest.fixture
def menu(tmp_path):
    global DEFINITION_PATH
    DEFINITION_PATH = tmp_path / "menu.yaml"
    DEFINITION_PATH.write_text(yaml.safe_dump(DEFINITION, sort_keys=False))
    plugin = Menu()
    host = Host(default_plugins=[], entry_points=False, extra_plugins=[plugin])
    return host, plugin


def options(host: Host, key: str, **kwargs: Any) -> Any:
    return host.property_options("menu", "order", "dish", {"apiKey": key}, **kwargs)


def test_the_source_answers_with_the_connection(menu):
    host, plugin = menu
    result = options(host, "good-key")
    assert result.source == "live" and result.reason is None
    assert [o["value"] for o in result.options] == ["noodles", "soup"]
    assert result.to_dict()["options"][0] == {"label": "Noodles", "value": "noodles", "description": "today only"}
    assert plugin.calls == ["good-key"]


def test_the_answer_is_cached_per_connection_for_cache_seconds(menu):
    host, plugin = menu
    now = [1000.0]
    host.live_options.clock = lambda: now[0]
    options(host, "good-key")
    options(host, "good-key")
    options(host, "other-key")
    assert plugin.calls == ["good-key", "other-key"]
    now[0] += 61
    options(host, "good-key")
    assert plugin.calls == ["good-key", "other-key", "good-key"]


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("fail-1", "the kitchen is closed"),
        ("slow-1", "did not answer within 0.5 s"),
        ("odd-1", "not a list of options"),
        ("none-1", "listed no options"),
    ],
)
def test_a_failing_source_gives_the_static_options_quietly(menu, key, reason):
    host, _ = menu
    result = options(host, key)
    assert result.source == "static" and reason in result.reason
    assert result.options == ({"label": "Soup", "value": "soup"},)


def test_a_secret_in_a_failure_is_masked(menu):
    host, _ = menu
    result = options(host, "fail-secret-key-123")
    assert "fail-secret-key-123" not in result.reason


def test_a_failure_is_remembered_only_briefly(menu):
    host, plugin = menu
    now = [1000.0]
    host.live_options.clock = lambda: now[0]
    options(host, "fail-1")
    options(host, "fail-1")
    assert plugin.calls == ["fail-1"]
    now[0] += 31  # FAILURE_SECONDS, shorter than the source's 60 s
    options(host, "fail-1")
    assert plugin.calls == ["fail-1", "fail-1"]


def test_invalid_connection_values_give_the_static_options(menu):
    host, plugin = menu
    result = host.property_options("menu", "order", "dish", {})
    assert result.source == "static" and "apiKey" in result.reason and plugin.calls == []


def test_a_property_without_a_source_has_its_static_options(menu):
    host, plugin = menu
    result = host.property_options("menu", "order", "size", {"apiKey": "k"})
    assert result.source == "static" and result.options == ({"label": "Big", "value": "big"},) and plugin.calls == []


def test_the_async_path(menu):
    host, plugin = menu
    result = asyncio.run(host.aproperty_options("menu", "order", "dish", {"apiKey": "good-async"}))
    assert result.source == "live" and plugin.calls == ["good-async"]
    failed = asyncio.run(host.aproperty_options("menu", "order", "dish", {"apiKey": "slow-async"}))
    assert failed.source == "static" and "0.5 s" in failed.reason


def test_an_unknown_property_is_named(menu):
    host, _ = menu
    with pytest.raises(UnknownActionError, match=r"order has no property 'drink' \(properties: dish, size\)"):
        host.property_options("menu", "order", "drink", {"apiKey": "k"})


def test_sources_and_definition_must_match(tmp_path):
    global DEFINITION_PATH
    DEFINITION_PATH = tmp_path / "menu.yaml"
    DEFINITION_PATH.write_text(yaml.safe_dump(DEFINITION, sort_keys=False))

    class Missing:
        @hookimpl
        def register_connectors(self, register: Any) -> None:
            register(DEFINITION_PATH, {"order": lambda *a: "ok"})

    class Unknown:
        @hookimpl
        def register_connectors(self, register: Any) -> None:
            register(DEFINITION_PATH, {"order": lambda *a: "ok"}, options_sources={"dishes": len, "drinks": len})

    with pytest.raises(PluginError, match="no options source registered for dishes"):
        Host(default_plugins=[], entry_points=False, extra_plugins=[Missing()])
    with pytest.raises(PluginError, match="options source.s. drinks named by no property"):
        Host(default_plugins=[], entry_points=False, extra_plugins=[Unknown()])


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: d["actions"]["order"]["properties"].update(
                {"dish": {"type": "STRING", "controlType": "TEXT", "optionsSource": {"name": "dishes"}}}
            ),
            "needs static options beside it",
        ),
        (
            lambda d: d["actions"]["order"]["properties"].update(
                {
                    "dishes": {
                        "type": "ARRAY",
                        "items": {
                            "type": "STRING",
                            "optionsSource": {"name": "x"},
                            "options": [{"label": "a", "value": "a"}],
                        },
                    }
                }
            ),
            "top-level action properties only",
        ),
        (
            lambda d: d["actions"]["order"]["properties"]["dish"]["optionsSource"].update({"name": "Bad name"}),
            "optionsSource.name",
        ),
    ],
)
def test_the_format_refuses_a_misplaced_source(tmp_path, change, problem):
    import copy

    definition = copy.deepcopy(DEFINITION)
    change(definition)
    path = tmp_path / "menu.yaml"
    path.write_text(yaml.safe_dump(definition, sort_keys=False))
    with pytest.raises(DefinitionError, match=problem):
        load_component(path)
