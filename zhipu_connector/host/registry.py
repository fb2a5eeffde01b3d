"""The registry: components, their actions bound to handlers, and what dispatch precomputes.

Everything dispatch needs per action is derived here once, at registration: the input and
output schemas compiled for the hot path, the defaults to fill in, the properties that may be
hidden. A component whose actions and handlers do not match one to one is refused here.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from zhipu_connector.definition.loader import load_component
from zhipu_connector.definition.models import Action, Component, Property
from zhipu_connector.host.availability import Availability
from zhipu_connector.host.connection import ConnectionFactory
from zhipu_connector.host.errors import PluginError, UnknownActionError
from zhipu_connector.host.validation import CompiledSchema

Handler = Callable[..., Any]


class ActionHandler:
    """An action's implementation: a sync function, an async one, or both.

    Each has the signature `(inputs, connection, context) -> output`. Dispatch calls the one
    that matches its caller and bridges to the other when only one is given. Either may be
    given as a `"module:function"` string, imported when the action first runs, so that
    registering a plugin at start-up does not import its handlers' dependencies.
    """

    __slots__ = ("run", "arun")

    def __init__(self, run: Handler | str | None = None, arun: Handler | str | None = None) -> None:
        self.run: Handler | None = _deferred(run, asynchronous=False) if isinstance(run, str) else run
        self.arun: Handler | None = _deferred(arun, asynchronous=True) if isinstance(arun, str) else arun

    def __repr__(self) -> str:
        return f"ActionHandler(run={self.run!r}, arun={self.arun!r})"

    @classmethod
    def of(cls, handler: ActionHandler | Handler) -> ActionHandler:
        if isinstance(handler, ActionHandler):
            if handler.run is None and handler.arun is None:
                raise PluginError("an ActionHandler needs run, arun or both")
            return handler
        if isinstance(handler, str):
            return cls(run=handler)
        if not callable(handler):
            raise PluginError(f"{handler!r} is not callable")
        if inspect.iscoroutinefunction(handler):
            return cls(arun=handler)
        return cls(run=handler)


def _deferred(target: str, *, asynchronous: bool) -> Handler:
    """A stand-in for the handler named `"module:function"` that imports it on first call."""
    module_name, _, function_name = target.partition(":")
    if not module_name or not function_name:
        raise PluginError(f"handler {target!r} is not of the form 'module:function'")
    resolved: list[Handler] = []

    def resolve() -> Handler:
        if not resolved:
            try:
                resolved.append(getattr(importlib.import_module(module_name), function_name))
            except (ImportError, AttributeError) as error:
                raise PluginError(f"handler {target!r} cannot be loaded: {error}") from error
        return resolved[0]

    if asynchronous:

        async def call_async(inputs: Any, connection: Any, context: Any) -> Any:
            return await resolve()(inputs, connection, context)

        return call_async

    def call(inputs: Any, connection: Any, context: Any) -> Any:
        return resolve()(inputs, connection, context)

    return call


class BoundAction:
    """An action with its handler and everything dispatch precomputes for it."""

    __slots__ = (
        "component",
        "action",
        "handler",
        "connections",
        "input_schema",
        "output_schema",
        "inputs",
        "output",
        "output_cases",
        "availability",
        "defaults",
        "prunable",
        "has_integers",
        "integer_properties",
        "visibility_plan",
        "_case_conditions",
    )

    def __init__(
        self,
        *,
        component: Component,
        action: Action,
        handler: ActionHandler,
        connections: ConnectionFactory,
        input_schema: dict[str, Any],
        output_schema: dict[str, Any],
        output_cases: list[dict[str, Any]] | None = None,
    ) -> None:
        self.component = component
        self.action = action
        self.handler = handler
        self.connections = connections
        self.input_schema = input_schema
        self.output_schema = output_schema
        self.inputs = CompiledSchema(input_schema)
        self.output = CompiledSchema(output_schema)
        # (condition or None for the default, its schema, its validator): see `output_for`
        self.output_cases: tuple[tuple[str | None, dict[str, Any], CompiledSchema], ...] = tuple(
            (case["condition"], case["schema"], CompiledSchema(case["schema"])) for case in output_cases or ()
        )
        self.availability = Availability(component, action)
        self.defaults: dict[str, Any] = {
            p.name: p.default_value for p in action.properties if p.has_default and not p.hidden
        }
        self.prunable = _has_visibility_rules(action.properties)
        # only the properties with an INTEGER somewhere in them: the others are never converted
        self.integer_properties = tuple(p for p in action.properties if _has_integers((p,)))
        self.has_integers = bool(self.integer_properties)
        # compiled on the first call (see `dispatch._visibility_plan`): the condition parser is not imported at start
        self.visibility_plan: Any = None
        self._case_conditions: tuple[Any, ...] | None = None

    @property
    def key(self) -> str:
        return f"{self.component.name}.{self.action.name}"

    def output_for(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], CompiledSchema]:
        """The output schema (and its validator) a call with these inputs must return.

        An action with `outputWhen` returns the first case whose condition holds on its inputs
        (defaults applied), else its default output; any other action has its one output.
        """
        if not self.output_cases:
            return self.output_schema, self.output
        conditions = self._case_conditions
        if conditions is None:
            from zhipu_connector.definition.conditions import parse_condition

            conditions = self._case_conditions = tuple(
                None if condition is None else parse_condition(condition) for condition, _, _ in self.output_cases
            )
        scope = {**self.defaults, **values} if self.defaults else values
        for condition, (_, schema, compiled) in zip(conditions, self.output_cases):
            if condition is None or condition.evaluate(scope):
                return schema, compiled
        raise AssertionError("the default output case is always last")  # pragma: no cover


def _has_integers(properties: tuple[Property, ...]) -> bool:
    for prop in properties:
        if prop.type == "INTEGER" or (prop.items is not None and prop.items.type == "INTEGER"):
            return True
        nested = prop.items.properties if prop.items is not None else prop.properties
        if nested and _has_integers(nested):
            return True
    return False


def _has_visibility_rules(properties: tuple[Property, ...]) -> bool:
    for prop in properties:
        if prop.hidden or prop.display_condition:
            return True
        nested = prop.items.properties if prop.items is not None else prop.properties
        if nested and _has_visibility_rules(nested):
            return True
    return False


def checked_sources(
    component: Component, given: Mapping[str, ActionHandler | Callable[..., Any]]
) -> dict[str, ActionHandler]:
    """The live options sources a plugin registers, matched one to one with the `optionsSource` names its definition uses."""
    declared = {
        prop.options_source.name
        for action in component.actions
        for prop in action.properties
        if prop.options_source is not None
    }
    missing = sorted(declared - set(given))
    unknown = sorted(set(given) - declared)
    if missing:
        raise PluginError(f"{component.name}: no options source registered for {', '.join(missing)}")
    if unknown:
        raise PluginError(f"{component.name}: options source(s) {', '.join(unknown)} named by no property")
    return {name: ActionHandler.of(source) for name, source in given.items()}


def action_property(action: Action, name: str) -> Property:
    """The action's top-level property `name`, or an `UnknownActionError` naming the known ones."""
    for prop in action.properties:
        if prop.name == name:
            return prop
    known = ", ".join(prop.name for prop in action.properties)
    raise UnknownActionError(f"{action.name} has no property {name!r} (properties: {known})")


class Registry:
    """Components by name, each action bound to its handler."""

    def __init__(self) -> None:
        self._components: dict[str, Component] = {}
        self._actions: dict[tuple[str, str], BoundAction] = {}
        self._connections: dict[str, ConnectionFactory] = {}

    def register(
        self, definition: str | Path | Component, handlers: Mapping[str, ActionHandler | Handler]
    ) -> Component:
        """Add a component; the `register` callback handed to plugins."""
        component = definition if isinstance(definition, Component) else load_component(definition)
        if component.name in self._components:
            raise PluginError(f"component {component.name!r} is registered twice")
        declared = set(component.action_names)
        missing = [name for name in component.action_names if name not in handlers]
        unknown = sorted(set(handlers) - declared)
        if missing:
            raise PluginError(f"{component.name}: no handler for action(s) {', '.join(missing)}")
        if unknown:
            raise PluginError(f"{component.name}: handler(s) for undeclared action(s) {', '.join(unknown)}")
        connections = ConnectionFactory(component)
        schemas = component.derived_schemas()["actions"]
        bound = {
            action.name: BoundAction(
                component=component,
                action=action,
                handler=ActionHandler.of(handlers[action.name]),
                connections=connections,
                input_schema=schemas[action.name]["input"],
                output_schema=schemas[action.name]["output"],
                output_cases=schemas[action.name].get("outputCases"),
            )
            for action in component.actions
        }
        self._components[component.name] = component
        self._connections[component.name] = connections
        for name, entry in bound.items():
            self._actions[(component.name, name)] = entry
        return component

    @property
    def components(self) -> tuple[Component, ...]:
        return tuple(self._components.values())

    def component(self, name: str) -> Component:
        try:
            return self._components[name]
        except KeyError:
            known = ", ".join(self._components) or "none"
            raise UnknownActionError(f"unknown component {name!r} (known: {known})") from None

    def connections(self, component: str) -> ConnectionFactory:
        """The connection factory of a component, to check connection values once and reuse them."""
        self.component(component)
        return self._connections[component]

    def action(self, component: str, action: str) -> BoundAction:
        entry = self._actions.get((component, action))
        if entry is None:
            known = ", ".join(self.component(component).action_names)
            raise UnknownActionError(f"{component} has no action {action!r} (known: {known})")
        return entry
