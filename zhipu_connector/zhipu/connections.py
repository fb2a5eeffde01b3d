"""One HTTP client per connection, shared by every call that uses that connection.

A client owns a connection pool, so making one per call would open a new socket (and TLS
handshake) for every workflow step. Here each distinct `Connection` — token, base URL and
authentication mode — gets one `ZhipuClient`, and one `AsyncZhipuClient` per event loop
(an async client's sockets belong to the loop that opened them, and `asyncio.run` makes a new
loop each time). Clients live in a bounded LRU (`MAX_CLIENTS` per kind and loop).

Calls borrow a client with `sync_client(connection)` / `async_client(connection)`. A client
pushed out of the LRU, or retired by `configure()` or `close_all()`, is closed as soon as its
last borrower is done, never under a call in flight.

Tests and benchmarks route every new client elsewhere with `configure(transport_factory=...)`
or the `configured(...)` context manager; `InProcessTransports(app)` hands requests to an ASGI
app (the emulator) in this process, for sync and async clients alike.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import httpx

from zhipu_connector.host.connection import Connection
from zhipu_connector.host.secrets import Secret
from zhipu_connector.zhipu.client import AsyncZhipuClient, ZhipuClient
from zhipu_connector.zhipu.limiting import with_limiter

MAX_CLIENTS = 32

ClientKind = Literal["sync", "async"]
#: Given "sync" or "async", the httpx transport a new client of that kind should use
#: (`None`: httpx's own network transport).
TransportFactory = Callable[[ClientKind], "httpx.BaseTransport | httpx.AsyncBaseTransport | None"]

ClientT = TypeVar("ClientT", ZhipuClient, AsyncZhipuClient)


@dataclass(eq=False, slots=True)
class _Entry(Generic[ClientT]):
    """A cached client with the number of calls using it right now."""

    client: ClientT
    users: int = 0
    retired: bool = False


class _LeasePool(Generic[ClientT]):
    """A bounded LRU of clients with use counts. Callers hold the module lock around every method.

    A method never closes anything itself: it returns the clients that have become closable
    (retired and unused), and the caller closes them outside the lock, the sync or async way.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[Connection, _Entry[ClientT]] = OrderedDict()

    def borrow(self, key: Connection) -> _Entry[ClientT] | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
            entry.users += 1
        return entry

    def add(self, key: Connection, client: ClientT) -> tuple[_Entry[ClientT], list[ClientT]]:
        """Borrow `client` under `key`, or the one another caller added meanwhile.

        Returns the borrowed entry and the clients to close: the loser of such a race, and
        unused clients pushed out of the LRU.
        """
        closable: list[ClientT] = []
        existing = self.borrow(key)
        if existing is not None:
            return existing, [client]
        entry = _Entry(client, users=1)
        self._entries[key] = entry
        while len(self._entries) > self._capacity:
            _, oldest = self._entries.popitem(last=False)
            closable += self._retire(oldest)
        return entry, closable

    def retire_all(self) -> list[ClientT]:
        closable: list[ClientT] = []
        for entry in self._entries.values():
            closable += self._retire(entry)
        self._entries.clear()
        return closable

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _retire(entry: _Entry[ClientT]) -> list[ClientT]:
        entry.retired = True
        return [entry.client] if entry.users == 0 else []


@dataclass(frozen=True, slots=True)
class _Settings:
    transport_factory: TransportFactory | None = None
    client_options: Mapping[str, Any] = field(default_factory=dict)


_lock = threading.Lock()
_settings = _Settings()
_sync_pool: _LeasePool[ZhipuClient] = _LeasePool(MAX_CLIENTS)
_async_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LeasePool[AsyncZhipuClient]] = (
    weakref.WeakKeyDictionary()
)


# --- borrowing ------------------------------------------------------------------------------


@contextmanager
def sync_client(connection: Connection | Mapping[str, Any]) -> Iterator[ZhipuClient]:
    """The shared `ZhipuClient` for `connection`, for the duration of one call."""
    key = _key(connection)
    with _lock:
        entry = _sync_pool.borrow(key)
        settings = _settings
    if entry is None:
        client = ZhipuClient(**_client_arguments(key, settings, "sync"))
        with _lock:
            if settings is _settings:
                entry, closable = _sync_pool.add(key, client)
            else:  # configure() ran meanwhile: this client has the old settings, use it once
                entry, closable = _Entry(client, users=1, retired=True), []
        _close_all_sync(closable)
    try:
        yield entry.client
    finally:
        with _lock:
            closable = _give_back(entry)
        _close_all_sync(closable)


@asynccontextmanager
async def async_client(connection: Connection | Mapping[str, Any]) -> AsyncIterator[AsyncZhipuClient]:
    """The shared `AsyncZhipuClient` for `connection` on the running event loop, for one call.

    Outside asyncio (trio through anyio, say) there is no loop to key on: the call gets a
    client of its own, closed when it is done.
    """
    key = _key(connection)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        async with AsyncZhipuClient(**_client_arguments(key, _settings, "async")) as client:
            yield client
        return
    with _lock:
        pool = _async_pools.get(loop)
        if pool is None:
            pool = _async_pools[loop] = _LeasePool(MAX_CLIENTS)
        entry = pool.borrow(key)
        settings = _settings
    if entry is None:
        client = AsyncZhipuClient(**_client_arguments(key, settings, "async"))
        with _lock:
            if settings is _settings and _async_pools.get(loop) is pool:
                entry, closable = pool.add(key, client)
            else:
                entry, closable = _Entry(client, users=1, retired=True), []
        await _aclose_all(closable)
    try:
        yield entry.client
    finally:
        with _lock:
            closable = _give_back(entry)
        if closable:  # nearly always empty: no coroutine to await then
            await _aclose_all(closable)


def cached_clients() -> int:
    """How many clients are cached now (sync, plus async on every live loop); for tests."""
    with _lock:
        return len(_sync_pool) + sum(len(pool) for pool in _async_pools.values())


# --- configuration and shutdown -------------------------------------------------------------


def configure(
    *,
    transport_factory: TransportFactory | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> None:
    """Make every client created from now on use these settings; retire the cached ones.

    `transport_factory("sync" | "async")` gives the transport of a new client (see
    `InProcessTransports`); `client_options` are extra keyword arguments for both client
    classes (`timeout`, `max_retries`, `limits`). Calling it with no arguments restores the
    defaults. Calls in flight finish on their old client, which is closed afterwards.
    """
    global _settings
    with _lock:
        _settings = _Settings(transport_factory, dict(client_options or {}))
    close_all()


@contextmanager
def configured(
    *,
    transport_factory: TransportFactory | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> Iterator[None]:
    """`configure(...)` for the duration of a `with` block, then the previous settings again.

    A `transport_factory` with a `close()` method (such as `InProcessTransports`) is closed
    on the way out.
    """
    with _lock:
        previous = _settings
    configure(transport_factory=transport_factory, client_options=client_options)
    try:
        yield
    finally:
        configure(transport_factory=previous.transport_factory, client_options=previous.client_options)
        close = getattr(transport_factory, "close", None)
        if callable(close):
            close()


def close_all() -> None:
    """Retire every cached client: idle ones are closed now, busy ones when their call ends.

    Async clients are closed on their own loop when it is still running, and simply dropped
    when it is not (a finished `asyncio.run`); `aclose_all()` closes the current loop's
    clients and waits for them.
    """
    with _lock:
        closable_sync = _sync_pool.retire_all()
        pools = list(_async_pools.items())
        _async_pools.clear()
        closable_async = [(loop, pool.retire_all()) for loop, pool in pools]
    _close_all_sync(closable_sync)
    for loop, clients in closable_async:
        if clients and not loop.is_closed() and loop.is_running():
            for client in clients:
                _schedule_aclose(loop, client)


async def aclose_all() -> None:
    """`close_all()`, waiting for the current loop's idle async clients to close."""
    loop = asyncio.get_running_loop()
    with _lock:
        pool = _async_pools.pop(loop, None)
        closable = pool.retire_all() if pool is not None else []
    await _aclose_all(closable)
    close_all()


def _give_back(entry: _Entry[Any]) -> list[Any]:
    """End one use of `entry` (under the lock); its client, if it is now retired and unused."""
    entry.users -= 1
    return [entry.client] if entry.retired and entry.users == 0 else []


def _close_all_sync(clients: list[ZhipuClient]) -> None:
    for client in clients:
        client.close()


async def _aclose_all(clients: list[AsyncZhipuClient]) -> None:
    for client in clients:
        await client.aclose()


_pending_closes: set[asyncio.Future[Any]] = set()  # keeps scheduled closes alive until done


def _schedule_aclose(loop: asyncio.AbstractEventLoop, client: AsyncZhipuClient) -> None:
    def start() -> None:
        task = loop.create_task(client.aclose())
        _pending_closes.add(task)
        task.add_done_callback(_pending_closes.discard)

    try:
        if _running_loop() is loop:
            start()
        else:
            loop.call_soon_threadsafe(start)
    except RuntimeError:  # the loop closed in the meantime; its sockets went with it
        pass


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# --- making clients ---------------------------------------------------------------------------


def _key(connection: Connection | Mapping[str, Any]) -> Connection:
    """The cache key: the `Connection` itself (hashable by value, its repr masks the token)."""
    if isinstance(connection, Connection):
        return connection
    values = {
        name: Secret(value) if name == "token" and isinstance(value, str) else value
        for name, value in connection.items()
    }
    return Connection("bearer_token", values)


def _client_arguments(key: Connection, settings: _Settings, kind: ClientKind) -> dict[str, Any]:
    """Constructor arguments for a client of `kind` serving connection `key`.

    A missing or unusable token raises the client's `InvalidApiKeyError` here, before anything
    is sent.
    """
    token = key.get("token")
    arguments: dict[str, Any] = {
        **settings.client_options,
        "api_key": token if token is not None else "",
        "base_url": key.get("baseUrl"),
        "auth": key.get("authentication", "API_KEY"),
    }
    if key.get("acceptLanguage"):  # the international platform's language for error messages
        arguments["accept_language"] = key["acceptLanguage"]
    timeout = key.get("timeout")
    if timeout is not None:  # the connection's deadline per call (see config.Deadlines)
        arguments["deadline"] = timeout
    if settings.transport_factory is not None:
        transport = settings.transport_factory(kind)
        if transport is not None:
            arguments["transport"] = transport
    return with_limiter(key, kind, arguments)  # the connection's limit on requests in flight


# --- in-process transports ------------------------------------------------------------------


class InProcessTransports:
    """A `TransportFactory` that hands every request to an ASGI app in this process.

    Async clients get `httpx.ASGITransport(app)`. httpx has no synchronous ASGI transport, so
    sync clients get a bridge that runs the same transport on one private event loop thread,
    shared by every sync client this factory makes (so the app only ever runs on that loop and
    the callers' own). `close()` stops that thread.

    Like `httpx.ASGITransport`, the bridge reads a whole response before returning it: streamed
    replies arrive all at once in process. Use a real socket to see them arrive piece by piece.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def __call__(self, kind: ClientKind) -> httpx.BaseTransport | httpx.AsyncBaseTransport:
        if kind == "async":
            return httpx.ASGITransport(app=self.app)
        return _SyncASGITransport(self)

    def run(self, coroutine: Any) -> Any:
        """Run `coroutine` on the bridge loop and return its result (or raise its error)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._bridge_loop()).result()

    def close(self) -> None:
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def _bridge_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="asgi-bridge", daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop


class _SyncASGITransport(httpx.BaseTransport):
    """A synchronous transport over `httpx.ASGITransport`, through `InProcessTransports.run`."""

    def __init__(self, bridge: InProcessTransports) -> None:
        self._bridge = bridge
        self._inner = httpx.ASGITransport(app=bridge.app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=content)

        async def exchange() -> tuple[int, httpx.Headers, bytes]:
            response = await self._inner.handle_async_request(forwarded)
            body = await response.aread()
            return response.status_code, response.headers, body

        status, headers, body = self._bridge.run(exchange())
        return httpx.Response(status, headers=headers, content=body, request=request)


__all__ = [
    "MAX_CLIENTS",
    "InProcessTransports",
    "TransportFactory",
    "aclose_all",
    "async_client",
    "cached_clients",
    "close_all",
    "configure",
    "configured",
    "sync_client",
]
