"""A second, tiny connector: proof that the host knows nothing of Zhipu."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


@hookimpl
def register_connectors(register: Any) -> None:
    register(DEFINITION, {"shout": ActionHandler(run=shout, arun=shout_async), "broken": broken})
