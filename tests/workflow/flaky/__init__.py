"""A test connector with an action that fails on purpose and one that takes its time."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

from zhipu_connector.host.errors import ActionFailedError
from zhipu_connector.host.hookspecs import hookimpl

DEFINITION = Path(__file__).with_name("flaky.yaml")
attempts: Counter[str] = Counter()
calls: list[dict[str, Any]] = []
in_flight = 0
most_in_flight = 0


def reset() -> None:
    global in_flight, most_in_flight
    attempts.clear()
    calls.clear()
    in_flight = most_in_flight = 0


def sometimes(inputs: dict[str, Any], connection: Any, context: Any) -> dict[str, Any]:
    attempts[inputs["key"]] += 1
    calls.append(inputs)
    if attempts[inputs["key"]] <= inputs["failures"]:
        raise ActionFailedError("the service is busy", status=503, code="1305", request_id=context.request_id)
    return {"attempts": attempts[inputs["key"]]}


async def nap(inputs: dict[str, Any], connection: Any, context: Any) -> dict[str, Any]:
    global in_flight, most_in_flight
    calls.append(inputs)
    in_flight += 1
    most_in_flight = max(most_in_flight, in_flight)
    try:
        await asyncio.sleep(inputs["seconds"])
    finally:
        in_flight -= 1
    if inputs.get("warning"):
        context.warn(inputs["warning"])
    result: dict[str, Any] = {"items": [{"name": "first", "score": 0.5}, {"name": "second"}]}
    if "id" in inputs:
        result["id"] = inputs["id"]
    return result


def snooze(inputs: dict[str, Any], connection: Any, context: Any) -> int:
    time.sleep(inputs["seconds"])
    return inputs["id"]


@hookimpl
def register_connectors(register: Any) -> None:
    register(DEFINITION, {"sometimes": sometimes, "nap": nap, "snooze": snooze})
