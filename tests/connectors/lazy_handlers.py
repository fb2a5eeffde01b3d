"""Echo's handlers in a module of their own, named as strings so a test can see when it is imported."""

from __future__ import annotations

from typing import Any

from connectors import echo

calls: list[str] = []


def shout(inputs: dict[str, Any], connection: Any, context: Any) -> dict[str, Any]:
    calls.append("run")
    return echo.shout(inputs, connection, context)


async def shout_async(inputs: dict[str, Any], connection: Any, context: Any) -> dict[str, Any]:
    calls.append("arun")
    return echo.shout(inputs, connection, context)


def broken(inputs: dict[str, Any], connection: Any, context: Any) -> Any:
    return echo.broken(inputs, connection, context)
