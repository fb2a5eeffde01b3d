"""The Zhipu connector as a plugin: the shipped `connector.yaml` and its action handlers.

Registered through the same hook a third-party connector uses (it is listed in the host's
`DEFAULT_PLUGINS`). This module is imported at every start, so it names each action's
description instead of importing it: the action module, and httpx and the client behind it,
is imported when its action first runs.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from zhipu_connector.host.hookspecs import hookimpl
from zhipu_connector.host.registry import ActionHandler
from zhipu_connector.resources import data_path
from zhipu_connector.zhipu.one_request import one_request_handler
from zhipu_connector.zhipu.platforms import platform_checked
from zhipu_connector.zhipu.task_handlers import long_task_handler, steps_handler

#: Each action's sync and async handler, derived from its one description (`OneRequest`).
HANDLERS: dict[str, ActionHandler] = {
    "ask": one_request_handler("zhipu_connector.zhipu.ask:ASK"),
    "createImage": one_request_handler("zhipu_connector.zhipu.create_image:CREATE_IMAGE"),
    "createEmbeddings": platform_checked(
        one_request_handler("zhipu_connector.zhipu.embeddings:CREATE_EMBEDDINGS"), "embeddings"
    ),
    "generateVideo": long_task_handler("zhipu_connector.zhipu.video:GENERATE_VIDEO", route="videos"),
    "createImageAsync": long_task_handler("zhipu_connector.zhipu.image_task:CREATE_IMAGE_ASYNC", route="async_images"),
    "getTaskResult": steps_handler("zhipu_connector.zhipu.tasks:get_task_result", route="async_result"),
}


@hookimpl
def register_connectors(register: Callable[..., Any]) -> None:
    """Register the Zhipu component with a sync and an async handler for each action."""
    register(data_path("connector.yaml"), HANDLERS, connection_test=CONNECTION_TEST, options_sources=OPTIONS_SOURCES)


def _test_connection(connection: Any, context: Any) -> Any:
    from zhipu_connector.zhipu.connection_test import check  # imported here: only a connection test needs it

    return check(connection, context)


async def _atest_connection(connection: Any, context: Any) -> Any:
    from zhipu_connector.zhipu.connection_test import acheck  # imported here: only a connection test needs it

    return await acheck(connection, context)


#: The live options sources `connector.yaml` names (`optionsSource`), each imported when first asked.
OPTIONS_SOURCES = {
    "chatModels": ActionHandler(
        run="zhipu_connector.zhipu.model_list:chat_models", arun="zhipu_connector.zhipu.model_list:achat_models"
    ),
}


#: The connection test `connector.yaml` declares: one free request (`zhipu/connection_test.py`).
CONNECTION_TEST = ActionHandler(run=_test_connection, arun=_atest_connection)


@hookimpl
def register_commands(register: Callable[[str, str, str], None]) -> None:
    """The commands only Zhipu has: its emulator, and the demo that runs the examples against it."""
    register("emulator", "zhipu_connector.emulator.cli", "serve the Zhipu-compatible emulator on loopback")
    register("demo", "zhipu_connector.zhipu.demo", "run the example workflows against the embedded emulator")


@hookimpl
def start_emulators(stack: Any) -> dict[str, dict[str, Any]]:
    """`serve --emulator`: the emulator on a free loopback port, accepting one fresh demo key only."""
    from zhipu_connector.emulator import EmulatorConfig, running_emulator

    demo_key = f"demo{secrets.token_hex(4)}.{secrets.token_urlsafe(24)}"
    url = stack.enter_context(running_emulator(EmulatorConfig(api_keys=frozenset({demo_key}))))
    print(f"Emulator at {url} (its demo key is the page's default Zhipu connection)", flush=True)
    return {"zhipu": {"baseUrl": url, "token": demo_key}}


@hookimpl
def register_bulk_runners(register: Callable[..., None]) -> None:
    """`batch ACTION --via batch-api`: the rows through Zhipu's Batch API (half price, results within hours)."""
    from zhipu_connector.zhipu.batch_lines import BATCHABLE_ACTIONS  # imported here: only `batch --via` asks

    register(
        "batch-api",
        "zhipu",
        BATCHABLE_ACTIONS,
        "zhipu_connector.zhipu.batch_api:run_batch_api",
        "Zhipu's Batch API: half the price, no concurrency limit, results within the completion window",
    )
