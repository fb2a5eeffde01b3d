"""The host: a plugin manager whose plugins have registered their components, ready to dispatch."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from zhipu_connector.definition.models import Component
from zhipu_connector.host.connection import Connection
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.dispatch import arun_bound, run_bound
from zhipu_connector.host.registry import BoundAction, Registry


class Host:
    """Components from every loaded plugin, and dispatch to their actions."""

    def __init__(
        self,
        default_plugins: Iterable[str] | None = None,
        *,
        entry_points: bool = True,
        extra_plugins: Iterable[object] = (),
    ) -> None:
        from zhipu_connector.host.plugins import DEFAULT_PLUGINS, make_plugin_manager

        self.plugins = make_plugin_manager(
            DEFAULT_PLUGINS if default_plugins is None else default_plugins, entry_points=entry_points
        )
        for plugin in extra_plugins:
            self.plugins.register(plugin)
        self.plugins.check_pending()
        self.registry = Registry()
        self.plugins.hook.register_connectors(register=self.registry.register)

    @property
    def components(self) -> tuple[Component, ...]:
        return self.registry.components

    def component(self, name: str) -> Component:
        return self.registry.component(name)

    def action(self, component: str, action: str) -> BoundAction:
        return self.registry.action(component, action)

    def connection(
        self, component: str, values: Mapping[str, Any] | None, authorization: str | None = None
    ) -> Connection | None:
        """Check connection values once, for callers that reuse them across many calls."""
        return self.registry.connections(component).build(values, authorization)

    def run_action(
        self,
        component: str,
        action: str,
        inputs: Mapping[str, Any],
        connection: Connection | Mapping[str, Any] | None = None,
        *,
        context: ActionContext | None = None,
    ) -> Any:
        return run_bound(self.registry.action(component, action), inputs, connection, context=context)

    async def arun_action(
        self,
        component: str,
        action: str,
        inputs: Mapping[str, Any],
        connection: Connection | Mapping[str, Any] | None = None,
        *,
        context: ActionContext | None = None,
    ) -> Any:
        return await arun_bound(self.registry.action(component, action), inputs, connection, context=context)


_default: Host | None = None
_default_lock = threading.Lock()


def default_host() -> Host:
    """The process's host with the built-in and installed plugins, made on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Host()
    return _default


def run_action(
    component: str,
    action: str,
    inputs: Mapping[str, Any],
    connection: Connection | Mapping[str, Any] | None = None,
    *,
    context: ActionContext | None = None,
) -> Any:
    """Run `component.action` with `inputs` on the default host."""
    return default_host().run_action(component, action, inputs, connection, context=context)


async def arun_action(
    component: str,
    action: str,
    inputs: Mapping[str, Any],
    connection: Connection | Mapping[str, Any] | None = None,
    *,
    context: ActionContext | None = None,
) -> Any:
    """`run_action` for async callers."""
    return await default_host().arun_action(component, action, inputs, connection, context=context)
