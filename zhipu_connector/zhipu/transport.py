"""The clients' network transports: many one-connection pools instead of one large pool.

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

`SpreadTransport` does the same for the sync client, whose threads meet the same cost in
httpcore's sync pool; a lock guards its bookkeeping (`_Spread`, shared by both).
"""

from __future__ import annotations

import ssl
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Generic, TypeVar

import httpx

PoolT = TypeVar("PoolT")


class _Spread(Generic[PoolT]):
    """The bookkeeping both transports share: which one-connection pool a request takes, in O(1).

    Not thread-safe by itself: the sync transport holds a lock around `take` and `give_back`.
    """

    def __init__(self, limits: httpx.Limits, new_pool: Callable[[bool], PoolT]) -> None:
        self._max_connections = limits.max_connections
        self._max_keepalive = limits.max_keepalive_connections
        self._new_pool = new_pool
        self.pools: list[PoolT] = []
        self._in_flight: list[int] = []
        # Pools with nothing in flight, taken from the right: kept-alive ones join on the right
        # (the last used is taken first), the others on the left (taken only when no kept-alive
        # pool is free, as each of their calls opens a new connection).
        self._idle: deque[int] = deque()
        self._turn = 0  # the next pool to queue on when every pool is busy

    def take(self) -> int:
        if self._idle:
            index = self._idle.pop()
        elif self._max_connections is None or len(self.pools) < self._max_connections:
            index = len(self.pools)
            self.pools.append(self._new_pool(self._keeps_alive(index)))
            self._in_flight.append(0)
        else:
            index = self._turn % len(self.pools)
            self._turn += 1
        self._in_flight[index] += 1
        return index

    def give_back(self, index: int) -> None:
        if index >= len(self._in_flight):  # closed meanwhile
            return
        self._in_flight[index] -= 1
        if self._in_flight[index] == 0:
            if self._keeps_alive(index):
                self._idle.append(index)
            else:
                self._idle.appendleft(index)

    def clear(self) -> list[PoolT]:
        """Forget every pool; the caller closes the ones returned."""
        pools, self.pools, self._in_flight, self._idle = self.pools, [], [], deque()
        return pools

    def _keeps_alive(self, index: int) -> bool:
        return self._max_keepalive is None or index < self._max_keepalive


def _one_connection(limits: httpx.Limits, keep_alive: bool) -> httpx.Limits:
    return httpx.Limits(
        max_connections=1,
        max_keepalive_connections=1 if keep_alive else 0,
        keepalive_expiry=limits.keepalive_expiry,
    )


class AsyncSpreadTransport(httpx.AsyncBaseTransport):
    """An `httpx.AsyncHTTPTransport` with `limits`, spread over one-connection pools.

    For one event loop (like any async httpx transport); not thread-safe.
    """

    def __init__(self, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._spread: _Spread[httpx.AsyncHTTPTransport] = _Spread(
            limits,
            lambda keep_alive: httpx.AsyncHTTPTransport(verify=context, limits=_one_connection(limits, keep_alive)),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        spread = self._spread
        index = spread.take()
        try:
            response = await spread.pools[index].handle_async_request(request)
        except BaseException:
            spread.give_back(index)
            raise
        response.stream = _ReleasingStream(response.stream, spread.give_back, index)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        for pool in self._spread.clear():
            await pool.aclose()

    @property
    def open_pools(self) -> int:
        """How many one-connection pools exist (each holds at most one socket)."""
        return len(self._spread.pools)


class SpreadTransport(httpx.BaseTransport):
    """The sync twin of `AsyncSpreadTransport`: one-connection pools, for many threads at once.

    httpcore's sync pool walks its connections the same quadratic way; with 64 threads calling
    one client it cost about twice the client CPU per call of one-connection pools
    (docs/performance.md). Thread-safe: one lock guards the O(1) bookkeeping, never a request.
    """

    def __init__(self, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._spread: _Spread[httpx.HTTPTransport] = _Spread(
            limits,
            lambda keep_alive: httpx.HTTPTransport(verify=context, limits=_one_connection(limits, keep_alive)),
        )
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            index = self._spread.take()
            pool = self._spread.pools[index]
        try:
            response = pool.handle_request(request)
        except BaseException:
            self._give_back(index)
            raise
        response.stream = _SyncReleasingStream(response.stream, self._give_back, index)  # type: ignore[arg-type]
        return response

    def close(self) -> None:
        with self._lock:
            pools = self._spread.clear()
        for pool in pools:
            pool.close()

    @property
    def open_pools(self) -> int:
        """How many one-connection pools exist (each holds at most one socket)."""
        return len(self._spread.pools)

    def _give_back(self, index: int) -> None:
        with self._lock:
            self._spread.give_back(index)


class _SyncReleasingStream(httpx.SyncByteStream):
    """A response body that marks its pool free again when it is closed (once)."""

    __slots__ = ("_inner", "_release", "_index")

    def __init__(self, inner: httpx.SyncByteStream, release: Callable[[int], None], index: int) -> None:
        self._inner = inner
        self._release: Callable[[int], None] | None = release
        self._index = index

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release(self._index)


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that marks its pool free again when it is closed (once)."""

    __slots__ = ("_inner", "_release", "_index")

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[int], None], index: int) -> None:
        self._inner = inner
        self._release: Callable[[int], None] | None = release
        self._index = index

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release(self._index)
