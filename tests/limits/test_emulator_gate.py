"""The emulator's cap on requests in flight: its counts, its control route, and when a request
leaves the count (as its answer's last byte is sent)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from zhipu_connector.emulator import EmulatorConfig
from zhipu_connector.emulator.app import create_app
from zhipu_connector.emulator.concurrency import ConcurrencyGate

KEY = "gate1234.gatesecretvalue"
CHAT = "http://emulator.test/api/paas/v4/chat/completions"
CONTROL = "http://emulator.test/emulator/concurrency"
BODY = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "hello"}]}


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), headers={"Authorization": f"Bearer {KEY}"})


def test_requests_beyond_the_cap_are_refused_and_counted() -> None:
    app = create_app(EmulatorConfig(api_keys=frozenset({KEY}), max_concurrent_requests=2, fault="slow;seconds=0.05"))

    async def main() -> tuple[list[int], dict[str, int]]:
        async with client(app) as http:
            answers = await asyncio.gather(*(http.post(CHAT, json=BODY) for _ in range(5)))
            counts = (await http.get(CONTROL)).json()
        return [answer.status_code for answer in answers], counts

    statuses, counts = asyncio.run(main())
    assert sorted(statuses) == [200, 200, 429, 429, 429]  # peak_demand: each refused arrival made it 3
    assert counts == {
        "max_concurrent_requests": 2, "in_flight": 0, "peak_in_flight": 2, "peak_demand": 3, "requests": 5, "refused": 3,
    }  # fmt: skip


def test_the_cap_moves_while_running_and_the_counts_reset() -> None:
    app = create_app(EmulatorConfig(api_keys=frozenset({KEY}), max_concurrent_requests=1, fault="slow;seconds=0.05"))

    async def main() -> tuple[list[int], dict[str, int]]:
        async with client(app) as http:
            await http.post(CHAT, json=BODY)
            moved = await http.put(CONTROL, json={"max_concurrent_requests": 3, "reset": True})
            assert moved.json()["requests"] == 0 and moved.json()["max_concurrent_requests"] == 3
            answers = await asyncio.gather(*(http.post(CHAT, json=BODY) for _ in range(3)))
            return [answer.status_code for answer in answers], (await http.get(CONTROL)).json()

    statuses, counts = asyncio.run(main())
    assert statuses == [200, 200, 200] and counts["peak_in_flight"] == 3 and counts["refused"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"max_concurrent_requests": 0}, "max_concurrent_requests: must be an integer >= 1 or null, got 0"),
        ({"max_concurrent_requests": "8"}, "max_concurrent_requests: must be an integer >= 1 or null"),
        ({"limit": 8}, "the body must be an object with max_concurrent_requests"),
    ],
)
def test_a_bad_change_is_refused_naming_the_field_and_changes_nothing(body: dict[str, Any], message: str) -> None:
    app = create_app(EmulatorConfig(api_keys=frozenset({KEY}), max_concurrent_requests=4))

    async def main() -> tuple[httpx.Response, dict[str, int]]:
        async with client(app) as http:
            return await http.put(CONTROL, json=body), (await http.get(CONTROL)).json()

    refused, counts = asyncio.run(main())
    assert refused.status_code == 400 and message in refused.json()["error"]["message"]
    assert counts["max_concurrent_requests"] == 4


def test_a_request_leaves_the_count_as_its_last_body_message_is_sent() -> None:
    gate = ConcurrencyGate(limit=1)
    seen: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        seen.append(gate.in_flight)

    async def main() -> None:
        assert gate.enter()
        counted = gate.counted(send)
        await counted({"type": "http.response.start", "status": 200, "headers": []})
        await counted({"type": "http.response.body", "body": b"part", "more_body": True})
        await counted({"type": "http.response.body", "body": b"end"})
        counted.leave()  # the handler's own finally: counted out once only

    asyncio.run(main())
    assert seen == [1, 1, 0] and gate.in_flight == 0
