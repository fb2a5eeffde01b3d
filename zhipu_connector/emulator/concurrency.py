"""The platform's limit on requests in flight per account, with what it saw, and a control route.

`ConcurrencyGate` admits an API request while fewer than `limit` are in flight and refuses the
rest (the app answers them 429/1302, as the platform does). It counts what a test or a
benchmark needs to judge a client: requests, refusals, the most in flight at once, and the
most that were *asked for* at once (`peak_demand`: refused arrivals included; a client that
keeps within the limit never takes it past `limit`).

`/emulator/concurrency`, outside the API's prefix and without authentication (the emulator
serves loopback by default), shows those counts (`GET`) and changes the limit while the
emulator runs (`PUT {"max_concurrent_requests": N | null, "reset": true}`): the account's limit
moving mid-run, as it does with the time of day.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

CONCURRENCY_PATH = "/emulator/concurrency"

Message = MutableMapping[str, Any]


class ConcurrencyGate:
    """Requests in flight against a limit that may change; one event loop, no locking needed."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.in_flight = 0
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.refused = 0
        self.peak_in_flight = self.in_flight
        self.peak_demand = self.in_flight

    def enter(self) -> bool:
        """Count an arriving request; `False` when it must be refused."""
        self.requests += 1
        self.peak_demand = max(self.peak_demand, self.in_flight + 1)
        if self.limit is not None and self.in_flight >= self.limit:
            self.refused += 1
            return False
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        return True

    def leave(self) -> None:
        self.in_flight -= 1

    def counted(self, send: Callable[[Message], Awaitable[None]]) -> _Counted:
        """`send`, leaving the count as the last body message goes out (or at `leave()`, once).

        The platform counts a request out when its answer is complete; the client cannot start
        its next request before that. Counting out only after `send` returns would let a fast
        loopback client's next request arrive first, and be refused, which the platform would not.
        """
        return _Counted(self, send)

    def snapshot(self) -> dict[str, Any]:
        return {
            "max_concurrent_requests": self.limit,
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "peak_demand": self.peak_demand,
            "requests": self.requests,
            "refused": self.refused,
        }

    async def control(
        self, method: str, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        """Serve `/emulator/concurrency`: GET the counts, PUT a new limit (and/or a reset)."""
        if method == "PUT":
            problem = self._apply(await _read(receive))
            if problem is not None:
                await _reply(send, 400, {"error": {"code": "1214", "message": problem}})
                return
        elif method != "GET":
            await _reply(send, 405, {"error": {"code": "1214", "message": f"{method} is not allowed; use GET or PUT"}})
            return
        await _reply(send, 200, self.snapshot())

    def _apply(self, raw: bytes) -> str | None:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return "the body must be a JSON object"
        if not isinstance(body, dict) or set(body) - {"max_concurrent_requests", "reset"}:
            return "the body must be an object with max_concurrent_requests (an integer >= 1, or null) and/or reset"
        if "max_concurrent_requests" in body:
            limit = body["max_concurrent_requests"]
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
                return f"max_concurrent_requests: must be an integer >= 1 or null, got {limit!r}"
            self.limit = limit
        if body.get("reset"):
            self.reset()
        return None


class _Counted:
    __slots__ = ("_gate", "_send", "_out")

    def __init__(self, gate: ConcurrencyGate, send: Callable[[Message], Awaitable[None]]) -> None:
        self._gate, self._send, self._out = gate, send, False

    async def __call__(self, message: Message) -> None:
        if not self._out and message.get("type") == "http.response.body" and not message.get("more_body"):
            self.leave()
        await self._send(message)

    def leave(self) -> None:
        if not self._out:
            self._out = True
            self._gate.leave()


async def _read(receive: Callable[[], Awaitable[Message]]) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _reply(send: Callable[[Message], Awaitable[None]], status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
