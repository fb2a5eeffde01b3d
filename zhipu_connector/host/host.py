"""The host: a plugin manager whose plugins have registered their components, ready to dispatch."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zhipu_connector.definition.models import Component
from zhipu_connector.errors import ConnectionValidationError, ConnectorError, PluginError, UnknownActionError
from zhipu_connector.host.connection import Connection
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.dispatch import arun_bound, run_bound
from zhipu_connector.host.environment import environment_values
from zhipu_connector.host.plugins import DEFAULT_PLUGINS, make_plugin_manager
from zhipu_connector.host.registry import (
    ActionHandler,
    BoundAction,
    Handler,
    Registry,
    action_property,
    checked_sources,
)

if TYPE_CHECKING:
    from zhipu_connector.host.connection_test import ConnectionTestResult
    from zhipu_connector.host.live_options import LiveOptions, OptionsResult


class Host:
    """Components from every loaded plugin, and dispatch to their actions."""

    def __init__(
        self,
        default_plugins: Iterable[str] | None = None,
        *,
        entry_points: bool = True,
        extra_plugins: Iterable[object] = (),
    ) -> None:
        self.plugins = make_plugin_manager(
            DEFAULT_PLUGINS if default_plugins is None else default_plugins, entry_points=entry_points
        )
        for plugin in extra_plugins:
            self.plugins.register(plugin)
        self.plugins.check_pending()
        self.registry = Registry()
        self._owners: dict[str, str] = {}  # component → the plugin that registered it
        self._connection_tests: dict[str, ActionHandler] = {}
        self._options_sources: dict[str, dict[str, ActionHandler]] = {}  # component → its live options sources
        self._live_options: LiveOptions | None = None
        self._live_options_lock = threading.Lock()
        # Each plugin is called on its own, as pluggy would (last registered first), so the
        # host knows which plugin registered which component (see `components_of`).
        for implementation in reversed(self.plugins.hook.register_connectors.get_hookimpls()):
            implementation.function(register=self._register_for(implementation.plugin_name))

    def _register_for(self, plugin: str) -> Callable[..., Component]:
        def register(
            definition: str | Path | Component,
            handlers: Mapping[str, ActionHandler | Handler],
            *,
            connection_test: ActionHandler | Handler | None = None,
            options_sources: Mapping[str, ActionHandler | Handler] | None = None,
        ) -> Component:
            component = self.registry.register(definition, handlers)
            self._owners[component.name] = plugin
            declared = component.connection is not None and component.connection.connection_test is not None
            if declared and connection_test is None:
                raise PluginError(f"{component.name}: its definition declares a connectionTest, but no check is given")
            if connection_test is not None and not declared:
                raise PluginError(f"{component.name}: a connection test is given, but the definition declares none")
            if connection_test is not None:
                self._connection_tests[component.name] = ActionHandler.of(connection_test)
            self._options_sources[component.name] = checked_sources(component, options_sources or {})
            return component

        return register

    @property
    def live_options(self) -> LiveOptions:
        """The registered options sources and their cached answers, made when options are first asked.

        Only a form asks for live options, so a start does not load their machinery.
        """
        if self._live_options is None:
            with self._live_options_lock:
                if self._live_options is None:
                    from zhipu_connector.host.live_options import LiveOptions

                    self._live_options = LiveOptions(self._options_sources)
        return self._live_options

    def environment_connection(
        self, component: str, authorization: str | None = None, environ: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The connection values `component` declares environment variables for (`environment:`), as set now.

        Only the variables its own definition names are read, so one component's key never
        fills another's connection.
        """
        return environment_values(self.component(component), os.environ if environ is None else environ, authorization)

    def components_of(self, plugin: str) -> frozenset[str]:
        """The names of the components that `plugin` (its name in the plugin manager) registered."""
        return frozenset(name for name, owner in self._owners.items() if owner == plugin)

    def call_per_plugin(self, hook: str, **arguments: Any) -> list[tuple[str, Any]]:
        """Call one hook plugin by plugin: `(plugin name, its answer)` for each that implements it."""
        implementations = getattr(self.plugins.hook, hook).get_hookimpls()
        return [(impl.plugin_name, impl.function(**arguments)) for impl in reversed(implementations)]

    @property
    def components(self) -> tuple[Component, ...]:
        return self.registry.components

    def component(self, name: str) -> Component:
        return self.registry.component(name)

    def action(self, component: str, action: str) -> BoundAction:
        return self.registry.action(component, action)

    def resolve_action(self, name: str) -> tuple[str, str]:
        """`(component, action)` for a name as a user writes it; see `resolve_action_name`."""
        return resolve_action_name(name, self.components)

    def connection(
        self, component: str, values: Mapping[str, Any] | None, authorization: str | None = None
    ) -> Connection | None:
        """Check connection values once, for callers that reuse them across many calls."""
        return self.registry.connections(component).build(values, authorization)

    def test_connection(
        self, component: str, values: Connection | Mapping[str, Any] | None, authorization: str | None = None
    ) -> ConnectionTestResult:
        """Run `component`'s connection test with these connection values; never raises for a failed test.

        The result says `ok`, and otherwise precisely why not (invalid values, a refused key,
        an unreachable server — whatever the component's check reports). Raises
        `UnknownActionError` for an unknown component or one that declares no connection test.
        """
        from zhipu_connector.host import connection_test as tests

        check, timeout = self._connection_test(component)
        try:
            connection = self._test_connection_values(component, values, authorization)
            return tests.passed(component, tests.run_check(check, connection, tests.context_for(component), timeout))
        except ConnectorError as error:
            return tests.failed(error)
        except TimeoutError:
            return tests.timed_out(component, timeout)
        except Exception as error:
            return tests.crashed(component, error)

    async def atest_connection(
        self, component: str, values: Connection | Mapping[str, Any] | None, authorization: str | None = None
    ) -> ConnectionTestResult:
        """`test_connection` for async callers (the form server)."""
        from zhipu_connector.host import connection_test as tests

        check, timeout = self._connection_test(component)
        try:
            connection = self._test_connection_values(component, values, authorization)
            details = await tests.arun_check(check, connection, tests.context_for(component), timeout)
            return tests.passed(component, details)
        except ConnectorError as error:
            return tests.failed(error)
        except TimeoutError:
            return tests.timed_out(component, timeout)
        except Exception as error:
            return tests.crashed(component, error)

    def has_connection_test(self, component: str) -> bool:
        return component in self._connection_tests

    def _connection_test(self, component: str) -> tuple[ActionHandler, float]:
        definition = self.registry.component(component)
        check = self._connection_tests.get(component)
        if check is None or definition.connection is None or definition.connection.connection_test is None:
            raise UnknownActionError(f"{component} declares no connection test")
        return check, definition.connection.connection_test.timeout

    def _test_connection_values(
        self, component: str, values: Connection | Mapping[str, Any] | None, authorization: str | None
    ) -> Connection:
        if isinstance(values, Connection):
            return values
        connection = self.connection(component, values, authorization)
        if connection is None:  # pragma: no cover - a declared test implies a connection
            raise ConnectionValidationError([], subject=component)
        return connection

    def property_options(
        self,
        component: str,
        action: str,
        name: str,
        connection: Connection | Mapping[str, Any] | None = None,
        authorization: str | None = None,
    ) -> OptionsResult:
        """The options of an action's property: live from its `optionsSource` with this connection, else static.

        Never raises for a source that fails (see `live_options.py`); an unknown component,
        action or property is an `UnknownActionError`.
        """
        prop = action_property(self.registry.action(component, action).action, name)
        built = connection if isinstance(connection, Connection) else None
        return self.live_options.resolve(
            component, prop, built, lambda: self.connection(component, connection, authorization)
        )

    async def aproperty_options(
        self,
        component: str,
        action: str,
        name: str,
        connection: Connection | Mapping[str, Any] | None = None,
        authorization: str | None = None,
    ) -> OptionsResult:
        """`property_options` for async callers (the form server)."""
        prop = action_property(self.registry.action(component, action).action, name)
        built = connection if isinstance(connection, Connection) else None
        return await self.live_options.aresolve(
            component, prop, built, lambda: self.connection(component, connection, authorization)
        )

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


def resolve_action_name(name: str, components: Sequence[Component]) -> tuple[str, str]:
    """`COMPONENT.action` or `COMPONENT/v1/action` as written; a bare `action` only if one component offers it.

    A bare name offered by several components (or by none) is refused with their names, so
    that `run shout` never quietly means one connector's action when another offers it too.
    """
    if "/" in name:
        parts = name.split("/")
        return parts[0], parts[-1]
    if "." in name:
        component, _, action = name.partition(".")
        return component, action
    offering = sorted(component.name for component in components if name in component.action_names)
    if len(offering) == 1:
        return offering[0], name
    if not offering:
        known = ", ".join(sorted(f"{c.name}.{a}" for c in components for a in c.action_names)) or "none"
        raise UnknownActionError(f"no component offers an action {name!r} (actions: {known})")
    raise UnknownActionError(
        f"{name!r} is an action of {', '.join(offering)}: write COMPONENT.{name}, e.g. {offering[0]}.{name}"
    )


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
