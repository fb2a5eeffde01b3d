"""The plugin manager: built-in plugins, entry-point plugins and the allow-list.

Built-in connectors are ordinary plugins listed in `DEFAULT_PLUGINS`; a third-party connector
is a distribution with an entry point in the `zhipu_connector.plugins` group. Setting
`ZHIPU_CONNECTOR_LOAD_PLUGINS` to a comma-separated list of distribution names loads only those
third-party plugins (an empty value loads none), as `LLM_LOAD_PLUGINS` does for `llm`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from typing import Any

import pluggy

from zhipu_connector.cache import EntryError, cached, distributions_stamp
from zhipu_connector.errors import PluginError
from zhipu_connector.host import hookspecs

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
    """Register the allowed entry-point plugins of the `zhipu_connector.plugins` group."""
    allowed = os.environ.get(LOAD_PLUGINS_ENV)
    names = None if allowed is None else {name.strip() for name in allowed.split(",") if name.strip()}
    for name, target, distribution in installed_entry_points():
        if names is not None and distribution not in names:
            continue
        if manager.get_plugin(name) is not None or manager.is_blocked(name):
            continue
        module_name, _, attribute = target.partition(":")
        try:
            plugin: object = importlib.import_module(module_name.strip())
            for part in filter(None, attribute.strip().split(".")):
                plugin = getattr(plugin, part)
        except Exception as error:
            raise PluginError(f"plugin {name!r} from {distribution} cannot be loaded ({target}): {error}") from error
        manager.register(plugin, name=name)


def installed_entry_points() -> list[tuple[str, str, str | None]]:
    """`(name, module:attribute, distribution)` of every entry point in our group.

    Scanning every installed distribution's metadata takes ~10 ms, so the answer is cached
    (as data) under the installed distributions (`cache.distributions_stamp`): installing,
    upgrading, reinstalling or removing one changes the key.
    """
    return cached("entry-points", distributions_stamp().encode(), _scan_entry_points, dump=list, load=_entry_points)


def _entry_points(data: Any) -> list[tuple[str, str, str | None]]:
    """A stored scan, each row checked to be `[name, target, distribution or null]`."""
    if not isinstance(data, list):
        raise EntryError("not a list of entry points")
    rows = []
    for row in data:
        if not (isinstance(row, list) and len(row) == 3 and all(isinstance(part, str) for part in row[:2])):
            raise EntryError("not an entry point")
        if not (row[2] is None or isinstance(row[2], str)):
            raise EntryError("not a distribution name")
        rows.append((row[0], row[1], row[2]))
    return rows


def _scan_entry_points() -> list[tuple[str, str, str | None]]:
    from importlib.metadata import entry_points

    return [
        (point.name, point.value, point.dist.name if point.dist else None)
        for point in entry_points(group=ENTRY_POINT_GROUP)
    ]
