"""A second, tiny connector: proof that the host knows nothing of Zhipu."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zhipu_connector.errors import ActionFailedError
from zhipu_connector.host.hookspecs import hookimpl
from zhipu_connector.host.registry import ActionHandler

DEFINITION = Path(__file__).with_name("echo.yaml")
calls: list[dict[str, Any]] = []


def shout(inputs: dict[str, Any], connection: Any, context: Any) -> dict[str, Any]:
    calls.append({"inputs": inputs, "connection": connection, "context": context})
    text = inputs["text"] * inputs["times"]
    return {"text": text.upper() if inputs["loud"] else text, "length": len(text)}


async def shout_async(inputs: dict[str, Any], connection: Any, context: Any) -> dict[str, Any]:
    return shout(inputs, connection, context)


def broken(inputs: dict[str, Any], connection: Any, context: Any) -> Any:
    if inputs.get("mode") == "crash":
        raise RuntimeError("boom with key " + connection["apiKey"].reveal())
    return {"unexpected": True}


class KeyRefusedError(ActionFailedError):
    """What the echo service says to a bad key."""


def check_connection(connection: Any, context: Any) -> dict[str, Any]:
    """The connection test: a key starting with "bad" is refused, "crash" is a bug."""
    key = connection["apiKey"].reveal()
    if key.startswith("bad"):
        raise KeyRefusedError(f"the echo service refused the key {key}", status=401, code="E401")
    if key.startswith("crash"):
        raise RuntimeError("boom with key " + key)
    return {"message": f"echo answers in region {connection['region']}", "region": connection["region"]}


async def check_connection_async(connection: Any, context: Any) -> dict[str, Any]:
    """The same test for async callers; a key starting with "slow" never answers."""
    if connection["apiKey"].reveal().startswith("slow"):
        import asyncio

        await asyncio.sleep(30)
    return check_connection(connection, context)


CONNECTION_TEST = ActionHandler(run=check_connection, arun=check_connection_async)


@hookimpl
def register_connectors(register: Any) -> None:
    register(
        DEFINITION,
        {"shout": ActionHandler(run=shout, arun=shout_async), "broken": broken},
        connection_test=CONNECTION_TEST,
    )
