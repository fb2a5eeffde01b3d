"""The Zhipu connector as a plugin: the shipped `connector.yaml` and its two action handlers.

Registered through the same hook a third-party connector uses (it is listed in the host's
`DEFAULT_PLUGINS`). This module is imported at every start, so it names its handlers
instead of importing them: each handler module, and httpx and the client behind it, is
imported when its action first runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zhipu_connector.host.hookspecs import hookimpl
from zhipu_connector.host.registry import ActionHandler

HANDLERS: dict[str, ActionHandler] = {
    "ask": ActionHandler(run="zhipu_connector.zhipu.ask:run_ask", arun="zhipu_connector.zhipu.ask:arun_ask"),
    "createImage": ActionHandler(
        run="zhipu_connector.zhipu.create_image:run_create_image",
        arun="zhipu_connector.zhipu.create_image:arun_create_image",
    ),
}


@hookimpl
def register_connectors(register: Callable[..., Any]) -> None:
    """Register the Zhipu component with a sync and an async handler for each action."""
    from zhipu_connector.resources import data_path

    register(data_path("connector.yaml"), HANDLERS)
