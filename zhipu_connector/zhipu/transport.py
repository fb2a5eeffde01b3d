"""The async client's network transport: many one-connection pools instead of one large pool.

httpcore 1.0's connection pool walks every connection it holds each time a request is queued
or a response released, and counts the idle ones again for every idle connection it meets, so
its bookkeeping per request grows with the square of the pool's size. With 200 calls in flight
against a fast server that bookkeeping takes most of a core: measured on loopback, 200
connections in one pool cost about 3.7 ms of client CPU per call, against 0.6 ms with one
connection per pool (bench/concurrency.py; docs/performance.md).

`AsyncSpreadTransport` keeps each connection in an httpcore pool of its own and does the
pooling itself, in constant time. A request takes an idle pool — the one used last, so warm
sockets are reused and the others can expire; a pool beyond `max_keepalive_connections` only
when no other is free — or opens a new one while fewer than `max_connections` exist; when all
are busy it queues on them in turn. A pool is busy from the moment its request is sent until
its response is closed. `keepalive_expiry` keeps its meaning; every pool shares one SSL context.
"""

from __future__ import annotations

import ssl
from collections import deque
from collections.abc import AsyncIterator

import httpx


class AsyncSpreadTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncHTTPTransport` with `limits`, spread over one-connection pools.

    For one event loop (like any async httpx transport); not thread-safe.
    """

    def __init__(self, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        self._max_connections = limits.max_connections
        self._max_keepalive = limits.max_keepalive_connections
        self._keepalive_expiry = limits.keepalive_expiry
        self._ssl_context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._pools: list[httpx.AsyncHTTPTransport] = []
        self._in_flight: list[int] = []
        # Pools with nothing in flight, taken from the right: kept-alive ones join on the right
        # (the last used is taken first), the others on the left (taken only when no kept-alive
        # pool is free, as each of their calls opens a new connection).
        self._idle: deque[int] = deque()
        self._turn = 0  # the next pool to queue on when every pool is busy

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._take()
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._give_back(index)
            raise
        response.stream = _ReleasingStream(response.stream, self, index)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        pools, self._pools, self._in_flight, self._idle = self._pools, [], [], deque()
        for pool in pools:
            await pool.aclose()

    @property
    def open_pools(self) -> int:
        """How many one-connection pools exist (each holds at most one socket)."""
        return len(self._pools)

    def _take(self) -> int:
        if self._idle:
            index = self._idle.pop()
        elif self._max_connections is None or len(self._pools) < self._max_connections:
            index = len(self._pools)
            self._pools.append(self._new_pool(keep_alive=self._keeps_alive(index)))
            self._in_flight.append(0)
        else:
            index = self._turn % len(self._pools)
            self._turn += 1
        self._in_flight[index] += 1
        return index

    def _give_back(self, index: int) -> None:
        if index >= len(self._in_flight):  # closed meanwhile
            return
        self._in_flight[index] -= 1
        if self._in_flight[index] == 0:
            if self._keeps_alive(index):
                self._idle.append(index)
            else:
                self._idle.appendleft(index)

    def _keeps_alive(self, index: int) -> bool:
        return self._max_keepalive is None or index < self._max_keepalive

    def _new_pool(self, *, keep_alive: bool) -> httpx.AsyncHTTPTransport:
        limits = httpx.Limits(
            max_connections=1,
            max_keepalive_connections=1 if keep_alive else 0,
            keepalive_expiry=self._keepalive_expiry,
        )
        return httpx.AsyncHTTPTransport(verify=self._ssl_context, limits=limits)


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that marks its pool free again when it is closed (once)."""

    __slots__ = ("_inner", "_transport", "_index")

    def __init__(self, inner: httpx.AsyncByteStream, transport: AsyncSpreadTransport, index: int) -> None:
        self._inner = inner
        self._transport: AsyncSpreadTransport | None = transport
        self._index = index

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            transport, self._transport = self._transport, None
            if transport is not None:
                transport._give_back(self._index)
