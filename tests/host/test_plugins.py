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
from zhipu_connector.host.hookspecs import hookimpl
from zhipu_connector.host.host import Host
from zhipu_connector.host.plugins import LOAD_PLUGINS_ENV, make_plugin_manager
from zhipu_connector.host.registry import ActionHandler, Registry

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def plugin_registering(handlers):
    module = types.ModuleType("test_plugin")

    @hookimpl
    def register_connectors(register):
        register(echo.DEFINITION, handlers, connection_test=echo.CONNECTION_TEST)

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
        ActionHandler.of(42)
    with pytest.raises(PluginError, match="is not of the form 'module:function'"):
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
        self.name, self.value = name, "connectors.echo"
        self.dist = types.SimpleNamespace(name=dist, metadata={"name": dist}, version="1")
        self._plugin = plugin

    def load(self):
        return self._plugin


@pytest.fixture
def installed_echo(monkeypatch):
    """Pretend a distribution `echo-connector` is installed with an entry point.

    The start-up cache is off here: these tests are about discovery, not about its cache.
    """
    monkeypatch.setenv("ZHIPU_CONNECTOR_NO_CACHE", "1")
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


def test_every_hook_is_documented_with_its_signature():
    """As datasette does: each hook has a heading `## `name(arguments)`` in docs/plugins.md, and no
    heading names a hook that does not exist."""
    import inspect

    hooks = {
        name: f"{name}({', '.join(inspect.signature(function).parameters)})"
        for name, function in vars(hookspecs).items()
        if hasattr(function, "zhipu_connector_spec")
    }
    assert "register_connectors" in hooks and "register_commands" in hooks
    documented = set(re.findall(r"^## `(\w+\([^)]*\))`", DOCS.read_text(), flags=re.M))
    assert set(hooks.values()) <= documented, f"undocumented: {sorted(set(hooks.values()) - documented)}"
    assert {heading.split("(")[0] for heading in documented} <= set(hooks), "a documented hook that does not exist"


def test_the_entry_point_scan_is_cached_until_a_distribution_changes(tmp_path, monkeypatch):
    import importlib.metadata as metadata

    from zhipu_connector.host import plugins

    monkeypatch.setenv("ZHIPU_CONNECTOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ZHIPU_CONNECTOR_NO_CACHE", raising=False)
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.setattr("sys.path", [str(site)])
    scans = []
    entries = [FakeEntryPoint("echo", "echo-connector", echo)]
    monkeypatch.setattr(metadata, "entry_points", lambda **params: scans.append(1) or entries)
    assert plugins.installed_entry_points() == [("echo", "connectors.echo", "echo-connector")]
    assert plugins.installed_entry_points() == [("echo", "connectors.echo", "echo-connector")]
    assert len(scans) == 1
    (site / "new_distribution-1.0.dist-info").mkdir()  # what an install does to the folder
    entries.clear()
    assert plugins.installed_entry_points() == []
    assert len(scans) == 2


def test_a_named_handler_is_imported_when_its_action_first_runs(monkeypatch):
    import asyncio
    import sys

    monkeypatch.delitem(sys.modules, "connectors.lazy_handlers", raising=False)
    handlers = {
        "shout": ActionHandler(run="connectors.lazy_handlers:shout", arun="connectors.lazy_handlers:shout_async"),
        "broken": "connectors.lazy_handlers:broken",
    }
    host = Host(default_plugins=[], entry_points=False, extra_plugins=[plugin_registering(handlers)])
    assert "connectors.lazy_handlers" not in sys.modules, "registering must not import the handlers"
    assert host.run_action("echo", "shout", {"text": "hi"}, {"apiKey": "id.secretvalue"}) == {"text": "hi", "length": 2}
    lazy = sys.modules["connectors.lazy_handlers"]
    result = asyncio.run(host.arun_action("echo", "shout", {"text": "yo"}, {"apiKey": "id.secretvalue"}))
    assert result == {"text": "yo", "length": 2}
    assert lazy.calls[-2:] == ["run", "arun"], "each caller got the named function of its kind"


def test_a_named_handler_that_cannot_be_found_is_a_plugin_error():
    handlers = {"shout": "connectors.echo:no_such_function", "broken": "connectors.no_such_module:f"}
    host = Host(default_plugins=[], entry_points=False, extra_plugins=[plugin_registering(handlers)])
    with pytest.raises(PluginError, match="'connectors.echo:no_such_function' cannot be loaded"):
        host.run_action("echo", "shout", {"text": "hi"}, {"apiKey": "id.secretvalue"})
    with pytest.raises(PluginError, match="'connectors.no_such_module:f' cannot be loaded"):
        host.run_action("echo", "broken", {}, {"apiKey": "id.secretvalue"})
