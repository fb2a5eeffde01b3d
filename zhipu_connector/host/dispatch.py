"""Running one action: validate, complete, call the handler, check its result.

`run_action` and `arun_action` share every step but the call itself: `_prepare` turns what the
caller gave into exactly what the handler may see, and `_finish` checks what it returned.
Nothing reaches a handler, and so nothing is sent anywhere, unless every input is valid.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from zhipu_connector.definition.models import Property
from zhipu_connector.host.connection import Connection
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import (
    ConnectorError,
    HandlerCrashedError,
    InputValidationError,
    OutputValidationError,
    Problem,
)
from zhipu_connector.host.registry import BoundAction
from zhipu_connector.host.secrets import scrub


def run_bound(
    bound: BoundAction,
    inputs: Mapping[str, Any],
    connection: Connection | Mapping[str, Any] | None = None,
    *,
    context: ActionContext | None = None,
) -> Any:
    """Run `bound` synchronously; see the module docstring for the steps."""
    values, connection, context = _prepare(bound, inputs, connection, context)
    handler = bound.handler
    try:
        if handler.run is not None:
            result = handler.run(values, connection, context)
        else:
            import asyncio  # only here: importing it costs a start ~10 ms

            result = asyncio.run(handler.arun(values, connection, context))  # type: ignore[misc]
    except ConnectorError:
        raise
    except Exception as error:
        raise _crashed(bound, error) from error
    return _finish(bound, result, values)


async def arun_bound(
    bound: BoundAction,
    inputs: Mapping[str, Any],
    connection: Connection | Mapping[str, Any] | None = None,
    *,
    context: ActionContext | None = None,
) -> Any:
    """`run_bound` for async callers; a sync-only handler runs in a worker thread."""
    values, connection, context = _prepare(bound, inputs, connection, context)
    handler = bound.handler
    try:
        if handler.arun is not None:
            result = await handler.arun(values, connection, context)
        else:
            import asyncio

            result = await asyncio.to_thread(handler.run, values, connection, context)  # type: ignore[arg-type]
    except ConnectorError:
        raise
    except Exception as error:
        raise _crashed(bound, error) from error
    return _finish(bound, result, values)


def _prepare(
    bound: BoundAction,
    inputs: Mapping[str, Any],
    connection: Connection | Mapping[str, Any] | None,
    context: ActionContext | None,
) -> tuple[dict[str, Any], Connection | None, ActionContext]:
    if not isinstance(inputs, Mapping):
        raise InputValidationError(
            [Problem("", f"inputs must be an object, not {type(inputs).__name__}")], subject=bound.key
        )
    values = dict(inputs)
    if not bound.inputs.is_valid(values):
        raise InputValidationError(bound.inputs.problems(values), subject=bound.key)
    if bound.defaults:
        for key, default in bound.defaults.items():
            if key not in values:
                values[key] = default
    if bound.prunable:
        values = _visible(_visibility_plan(bound), values)
    if bound.has_integers:
        _whole_numbers_as_int(bound.integer_properties, values)
    if not isinstance(connection, Connection):
        connection = bound.connections.build(connection)
    if bound.availability:
        unserved = bound.availability.problems(values, connection)
        if unserved:
            raise InputValidationError(unserved, subject=bound.key)
    if context is None:
        context = ActionContext(bound.component.name, bound.action.name)
    context.check_cancelled()
    return values, connection, context


def _finish(bound: BoundAction, result: Any, values: Mapping[str, Any]) -> Any:
    """The result, checked against the output these inputs select (`outputWhen`, else `output`)."""
    _, output = bound.output_for(values)
    if not output.is_valid(result):
        raise OutputValidationError(output.problems(result), subject=bound.key)
    return result


_Plan = dict[str, tuple[bool, Any, str | None, Any]]
"""Per property name: (hidden, its compiled condition or None, "ARRAY"/"OBJECT"/None, the nested plan)."""


def _visibility_plan(bound: BoundAction) -> _Plan:
    """The action's visibility rules, compiled on its first call and kept on it (conditions parsed once)."""
    plan = bound.visibility_plan
    if plan is None:
        plan = bound.visibility_plan = _plan_of(bound.action.properties)
    return plan


def _plan_of(properties: tuple[Property, ...]) -> _Plan:
    from zhipu_connector.definition.conditions import parse_condition

    plan: _Plan = {}
    for prop in properties:
        condition = parse_condition(prop.display_condition) if prop.display_condition else None
        if prop.type == "ARRAY" and prop.items is not None and prop.items.properties:
            plan[prop.name] = (prop.hidden, condition, "ARRAY", _plan_of(prop.items.properties))
        elif prop.type == "OBJECT" and prop.properties:
            plan[prop.name] = (prop.hidden, condition, "OBJECT", _plan_of(prop.properties))
        else:
            plan[prop.name] = (prop.hidden, condition, None, None)
    return plan


def _visible(
    plan: _Plan,
    values: dict[str, Any],
    index: int | None = None,
    root: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """`values` without what is hidden: hidden properties and those whose condition is false.

    Inside array items a condition sees the item's own values first and then the top level,
    with `[index]` standing for the item's position (`messages[index].role == 'tool'`). Each
    condition is evaluated once per scope, however many properties share it.
    """
    kept: dict[str, Any] = {}
    scope: Mapping[str, Any] | None = None
    shown: dict[int, bool] = {}
    for key, value in values.items():
        entry = plan.get(key)
        if entry is None:
            kept[key] = value
            continue
        hidden, condition, kind, nested = entry
        if hidden:
            continue
        if condition is not None:
            verdict = shown.get(id(condition))
            if verdict is None:
                if scope is None:
                    scope = values if root is None else ChainMap(values, dict(root))
                verdict = shown[id(condition)] = condition.evaluate(scope, index=index)
            if not verdict:
                continue
        if kind == "ARRAY" and isinstance(value, list):
            top = values if root is None else root
            value = [
                _visible(nested, item, position, top) if isinstance(item, dict) else item
                for position, item in enumerate(value)
            ]
        elif kind == "OBJECT" and isinstance(value, dict):
            value = _visible(nested, value, index, root)
        kept[key] = value
    return kept


def _whole_numbers_as_int(properties: tuple[Property, ...], values: dict[str, Any]) -> None:
    """JSON Schema's `integer` accepts 2.0; a handler of an INTEGER property gets 2 (in `values`)."""
    for prop in properties:
        value = values.get(prop.name)
        if value is None:
            continue
        values[prop.name] = _as_typed(prop, value)


def _as_typed(prop: Property, value: Any) -> Any:
    if prop.type == "INTEGER" and isinstance(value, float):
        return int(value)  # validated: it is whole
    if prop.type == "ARRAY" and prop.items is not None and isinstance(value, list):
        return [_as_typed(prop.items, item) for item in value]
    if prop.type == "OBJECT" and prop.properties and isinstance(value, dict):
        value = dict(value)  # a copy: the caller's inputs are never changed
        _whole_numbers_as_int(prop.properties, value)
    return value


def _crashed(bound: BoundAction, error: Exception) -> HandlerCrashedError:
    return HandlerCrashedError(scrub(f"{bound.key} failed unexpectedly: {type(error).__name__}: {error}"))
