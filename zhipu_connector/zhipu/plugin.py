"""The Zhipu connector as a plugin: the shipped `connector.yaml` and its two action handlers.

Registered through the same hook a third-party connector uses (it is listed in the host's
`DEFAULT_PLUGINS`). This module is imported at every start, so it imports only the handler
modules, which in turn import httpx and the client only when an action first runs.
"""

from __future__ import annotations

from typing import Any, Callable

from zhipu_connector.host.hookspecs import hookimpl
from zhipu_connector.host.registry import ActionHandler
from zhipu_connector.zhipu.ask import arun_ask, run_ask
from zhipu_connector.zhipu.create_image import arun_create_image, run_create_image

HANDLERS: dict[str, ActionHandler] = {
    "ask": ActionHandler(run=run_ask, arun=arun_ask),
    "createImage": ActionHandler(run=run_create_image, arun=arun_create_image),
}


@hookimpl
def register_connectors(register: Callable[..., Any]) -> None:
    """Register the Zhipu component with a sync and an async handler for each action."""
    from zhipu_connector.resources import data_path

    register(data_path("connector.yaml"), HANDLERS)
