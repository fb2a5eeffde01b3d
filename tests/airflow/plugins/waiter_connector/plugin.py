"""The waiter connector's handlers: work whose id says when it is done, so any process can report on it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from zhipu_connector.errors import ActionFailedError
from zhipu_connector.host.hookspecs import hookimpl
from zhipu_connector.host.registry import ActionHandler


class KeyRefusedError(ActionFailedError):
    """What the waiting service says to a bad key; its message quotes the key, as careless services do."""


def start(inputs: dict[str, Any], connection: Any, context: Any) -> dict[str, Any]:
    ready = time.time() + inputs["seconds"]
    return {"id": f"{ready:.3f}:{inputs['label']}", "state": "WORKING"}


async def status(inputs: dict[str, Any], connection: Any, context: Any) -> dict[str, Any]:
    ready, _, label = inputs["id"].partition(":")
    if time.time() < float(ready):
        return {"id": inputs["id"], "state": "WORKING"}
    return {"id": inputs["id"], "state": "DONE", "result": f"{label} is done", "region": connection["region"]}


def check_connection(connection: Any, context: Any) -> dict[str, Any]:
    key = connection["apiKey"].reveal()
    if key.startswith("bad"):
        raise KeyRefusedError(f"the waiting service refused the key {key}", status=401, code="W401")
    return {"message": f"the waiting service accepts this key (region {connection['region']})"}


@hookimpl
def register_connectors(register: Any) -> None:
    register(
        Path(__file__).with_name("waiter.yaml"),
        {"start": start, "status": ActionHandler(arun=status)},
        connection_test=check_connection,
    )
