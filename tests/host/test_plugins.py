"""The plugin host: hooks, the registry's one-to-one rule, entry points and the allow-list."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pluggy
import pytest

from connectors import echo
from zhipu_connector.host import hookspecs
from zhipu_connector.host.errors import PluginError
from zhipu_connector.host.host import Host
from zhipu_connector.host.hookspecs import hookimpl
from zhipu_connector.host.plugins import LOAD_PLUGINS_ENV, make_plugin_manager
from zhipu_connector.host.registry import ActionHandler, Registry

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def plugin_registering(handlers):
    module = types.ModuleType("test_plugin")

    @hookimpl
    def register_connectors(register):
        register(echo.DEFINITION, handlers)

    module.register_connectors = register_connectors
    return module


def test_an_action_without_a_handler_is_refused():
    with pytest.raises(PluginError, match=r"echo: no handler for action\(s\) broken"):
        Host(default_plugins=[], entry_points=False, extra_plugins=[plugin_registering({"shout": echo.shout})])


def test_a_handler_without_an_action_is_refused():
    handlers = {"shout": echo.shout, "broken": echo.broken, "whisper": echo.shout}
    with pytest.raises(PluginError, match=r"handler\(s\) for undeclared action\(s\) whisper"):
        Host(default_plugins=[], entry_points=False, extra_plugins=[plugin_registering(handlers)])


def test_a_component_registered_twice_is_refused():
    registry = Registry()
    registry.register(echo.DEFINITION, {"shout": echo.shout, "broken": echo.broken})
    with pytest.raises(PluginError, match="registered twice"):
        registry.register(echo.DEFINITION, {"shout": echo.shout, "broken": echo.broken})


def test_a_handler_must_be_callable():
    with pytest.raises(PluginError, match="is not callable"):
        ActionHandler.of("not a function")
    with pytest.raises(PluginError, match="needs run, arun or both"):
        ActionHandler.of(ActionHandler())


def test_async_functions_become_async_handlers():
    handler = ActionHandler.of(echo.shout_async)
    assert handler.arun is echo.shout_async and handler.run is None


def test_a_misspelled_hook_fails_loudly():
    module = types.ModuleType("typo_plugin")

    @hookimpl
    def register_conectors(register):  # one letter short
        pass

    module.register_conectors = register_conectors
    with pytest.raises(pluggy.PluginValidationError):
        Host(default_plugins=[], entry_points=False, extra_plugins=[module])


def test_a_missing_built_in_plugin_is_a_plugin_error():
    with pytest.raises(PluginError, match="cannot be imported"):
        make_plugin_manager(["zhipu_connector.no_such_plugin"], entry_points=False)


class FakeEntryPoint:
    group = "zhipu_connector.plugins"

    def __init__(self, name, dist, plugin):
        self.name, self.value = name, f"{name}:plugin"
        self.dist = types.SimpleNamespace(name=dist, metadata={"name": dist}, version="1")
        self._plugin = plugin

    def load(self):
        return self._plugin


@pytest.fixture
def installed_echo(monkeypatch):
    """Pretend a distribution `echo-connector` is installed with an entry point."""
    entry = FakeEntryPoint("echo", "echo-connector", echo)
    import importlib.metadata as metadata

    def entry_points(**params):
        return [entry] if params.get("group") == "zhipu_connector.plugins" else []

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    distributions = [types.SimpleNamespace(entry_points=[entry], metadata={"name": "echo-connector"})]
    monkeypatch.setattr(metadata, "distributions", lambda: distributions)
    return entry


def test_entry_point_plugins_are_loaded(installed_echo, monkeypatch):
    monkeypatch.delenv(LOAD_PLUGINS_ENV, raising=False)
    host = Host(default_plugins=[], entry_points=True)
    assert [c.name for c in host.components] == ["echo"]


def test_the_allow_list_loads_only_named_distributions(installed_echo, monkeypatch):
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "other-connector")
    assert Host(default_plugins=[], entry_points=True).components == ()
    monkeypatch.setenv(LOAD_PLUGINS_ENV, "")
    assert Host(default_plugins=[], entry_points=True).components == ()
    monkeypatch.setenv(LOAD_PLUGINS_ENV, " echo-connector ,other")
    assert [c.name for c in Host(default_plugins=[], entry_points=True).components] == ["echo"]


def test_every_hook_is_documented():
    """As datasette does: a hook that docs/plugins.md does not describe is a test failure."""
    hooks = [name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "zhipu_connector_spec")]
    assert hooks == ["register_connectors"]
    headings = set(re.findall(r"^## `?(\w+)", DOCS.read_text(), flags=re.M))
    assert set(hooks) <= headings
