"""The plugin manager: built-in plugins, entry-point plugins and the allow-list.

Built-in connectors are ordinary plugins listed in `DEFAULT_PLUGINS`; a third-party connector
is a distribution with an entry point in the `zhipu_connector.plugins` group. Setting
`ZHIPU_CONNECTOR_LOAD_PLUGINS` to a comma-separated list of distribution names loads only those
third-party plugins (an empty value loads none), as `LLM_LOAD_PLUGINS` does for `llm`.
"""

from __future__ import annotations

import importlib
import os
from typing import Iterable

import pluggy

from zhipu_connector.host import hookspecs
from zhipu_connector.host.errors import PluginError

DEFAULT_PLUGINS: tuple[str, ...] = (
    "zhipu_connector.zhipu.plugin",
    "zhipu_connector.core.plugin",
)
ENTRY_POINT_GROUP = "zhipu_connector.plugins"
LOAD_PLUGINS_ENV = "ZHIPU_CONNECTOR_LOAD_PLUGINS"


def make_plugin_manager(
    default_plugins: Iterable[str] = DEFAULT_PLUGINS, *, entry_points: bool = True
) -> pluggy.PluginManager:
    """A plugin manager with the built-ins and the allowed third-party plugins registered."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for module_name in default_plugins:
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise PluginError(f"built-in plugin {module_name} cannot be imported: {error}") from error
        manager.register(module, name=module_name)
    if entry_points:
        _load_entry_points(manager)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        raise PluginError(f"plugin {error.plugin!r} implements an unknown hook: {error}") from None
    return manager


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    allowed = os.environ.get(LOAD_PLUGINS_ENV)
    if allowed is None:
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        return
    from importlib.metadata import entry_points

    names = {name.strip() for name in allowed.split(",") if name.strip()}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        distribution = entry_point.dist.name if entry_point.dist else None
        if distribution in names and manager.get_plugin(entry_point.name) is None:
            manager.register(entry_point.load(), name=entry_point.name)
