"""The hooks a connector plugin implements. Every hook is documented in docs/plugins.md."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import Any

import pluggy

PROJECT = "zhipu_connector"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_connectors(register: Callable[..., Any]) -> None:
    """Register components and their action handlers.

    Call `register(definition, handlers)` once per component: `definition` is the path of a
    definition file (or an already loaded `Component`), `handlers` maps each action key to a
    function `(inputs, connection, context) -> output`, an async function of the same shape,
    or an `ActionHandler` holding one of each. Every action needs a handler and every handler
    an action; the host refuses the component otherwise. A component whose definition declares
    a `connectionTest` passes its check as `register(definition, handlers, connection_test=check)`,
    `check(connection, context) -> dict | None` (sync or async, or an `ActionHandler`).
    """


@hookspec
def register_commands(register: Callable[[str, str, str], None]) -> None:
    """Add commands to the `zhipu-connector` command line.

    Call `register(name, module, summary)` once per command. `module` is the dotted name of a
    module offering `<name>_arguments(parser)` (an `argparse` parser to add options to) and
    `<name>_command(args) -> int` (the exit status). It is imported only when the command is
    chosen, so a command costs the other commands nothing. A name already taken is refused.
    """


@hookspec
def start_emulators(stack: ExitStack) -> Mapping[str, Mapping[str, Any]] | None:
    """For `serve --emulator`: start a local stand-in of your components' service.

    Keep it running until `stack` closes (`stack.enter_context(...)`) and return the
    connection values that reach it, keyed by the name of each of *your* components:
    `{"zhipu": {"baseUrl": url, "token": key}}`. Each component gets only its own entry.
    """


@hookspec
def register_bulk_runners(register: Callable[..., None]) -> None:
    """Offer another way to run a batch's rows: `zhipu-connector batch ACTION --via NAME`.

    Call `register(name, component, actions, target, summary)`: `actions` are the action keys
    of *your* `component` the runner takes, `target` the `"module:function"` of the runner
    (imported only when `--via NAME` is chosen), `summary` one line saying what it is
    (listed when `--via` names a runner the action does not have). The runner is
    called as `function(host, component, action, rows_path, out_path, *, run)` with a
    `zhipu_connector.workflow.bulk.BulkRun` (connection, progress, stop event, paths of its
    state file and work directory, `retry_errors`, `cancel`, `report`), and returns a
    `BatchSummary`. It writes the same result lines as a real-time batch, every row once.
    """
