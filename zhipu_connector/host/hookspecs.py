"""The hooks a connector plugin implements. Every hook is documented in docs/plugins.md."""

from __future__ import annotations

from collections.abc import Callable
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
    an action; the host refuses the component otherwise.
    """
