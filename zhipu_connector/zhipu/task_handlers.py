"""The handlers of the task actions (`long_task.steps_handler`), without importing `long_task` at start.

The plugin module is imported at every start, and `long_task` with the routes table behind it
costs a start several milliseconds (their dataclasses and named tuples are built at import).
These stand-ins check the target's form now, as `long_task.steps_handler` does, and build the
real handlers when the action first runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from zhipu_connector.host.errors import PluginError
from zhipu_connector.host.registry import ActionHandler

if TYPE_CHECKING:
    from zhipu_connector.host.connection import Connection
    from zhipu_connector.host.context import ActionContext


def steps_handler(target: str, *, route: str) -> ActionHandler:
    """`long_task.steps_handler(target, route=route)`, built on the action's first run."""
    module_name, _, name = target.partition(":")
    if not module_name or not name:
        raise PluginError(f"action description {target!r} is not of the form 'module:NAME'")
    built: list[ActionHandler] = []

    def real() -> ActionHandler:
        if not built:
            from zhipu_connector.zhipu import long_task  # imported here: its import costs a start ~5 ms

            built.append(long_task.steps_handler(target, route=route))
        return built[0]

    def run(inputs: Mapping[str, Any], connection: Connection, context: ActionContext) -> Any:
        return real().run(inputs, connection, context)  # type: ignore[misc]

    async def arun(inputs: Mapping[str, Any], connection: Connection, context: ActionContext) -> Any:
        return await real().arun(inputs, connection, context)  # type: ignore[misc]

    run.__qualname__ = arun.__qualname__ = target
    return ActionHandler(run=run, arun=arun)


def long_task_handler(target: str, *, route: str) -> ActionHandler:
    """The handlers of the `LongTask` named `"module:NAME"` (whose submit route is `route`)."""
    return steps_handler(target, route=route)
