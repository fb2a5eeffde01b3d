"""The async client's transport: one-connection pools, pooled by the transport itself.

A small HTTP/1.1 server on a loopback socket, in the test's own event loop, counts the
connections it accepts and how many requests it serves at once, so every limit is checked from
the server's side.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager

import httpx
import pytest

from zhipu_connector.zhipu.client import AsyncZhipuClient, ZhipuClient
from zhipu_connector.zhipu.errors import ZhipuConnectionError
from zhipu_connector.zhipu.transport import AsyncSpreadTransport, SpreadTransport

KEY = "transportid.transportSecret01"
REPLY = b'{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"ok"}}]}'


class CountingServer:
    """Answers every request after `delay` seconds; `hang_up` closes instead of answering."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.accepted = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.served = 0
        self.hang_up = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.lower().split(b"\r\n")
                        if line.startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                if self.hang_up:
                    return
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                await asyncio.sleep(self.delay)
                self.in_flight -= 1
                self.served += 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(REPLY)}\r\n\r\n".encode()
                    + REPLY
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client hung up, or the test is over
        finally:
            writer.close()


@asynccontextmanager
async def serving(server: CountingServer) -> AsyncIterator[str]:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/api/paas/v4"
    finally:
        listener.close()


def client(base_url: str, **limits: int) -> AsyncZhipuClient:
    return AsyncZhipuClient(KEY, base_url, max_retries=0, limits=httpx.Limits(**limits))


BODY = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "hi"}]}


def test_the_async_client_spreads_its_connections_unless_given_a_transport() -> None:
    async def go() -> tuple[object, object]:
        async with (
            AsyncZhipuClient(KEY) as default,
            AsyncZhipuClient(KEY, transport=httpx.MockTransport(lambda r: httpx.Response(200))) as given,
        ):
            return default._http._transport, given._http._transport

    default, given = asyncio.run(go())
    assert isinstance(default, AsyncSpreadTransport)
    assert isinstance(given, httpx.MockTransport)


def test_calls_in_flight_never_exceed_max_connections_and_all_are_answered() -> None:
    server = CountingServer(delay=0.02)

    async def go() -> list[str]:
        async with serving(server) as base_url, client(base_url, max_connections=10) as zhipu:
            replies = await asyncio.gather(*(zhipu.chat(BODY) for _ in range(50)))
            assert zhipu._http._transport.open_pools == 10
            return [reply["choices"][0]["message"]["content"] for reply in replies]

    assert asyncio.run(go()) == ["ok"] * 50
    assert server.accepted == 10 and server.most_in_flight == 10 and server.served == 50


def test_one_call_at_a_time_reuses_one_connection() -> None:
    server = CountingServer()

    async def go() -> int:
        async with serving(server) as base_url, client(base_url, max_connections=100) as zhipu:
            for _ in range(20):
                await zhipu.chat(BODY)
            return zhipu._http._transport.open_pools

    assert asyncio.run(go()) == 1
    assert server.accepted == 1 and server.served == 20


def test_connections_beyond_max_keepalive_are_closed_after_their_call() -> None:
    server = CountingServer(delay=0.02)

    async def go() -> None:
        async with (
            serving(server) as base_url,
            client(base_url, max_connections=4, max_keepalive_connections=1) as zhipu,
        ):
            await asyncio.gather(*(zhipu.chat(BODY) for _ in range(4)))  # four connections at once
            for _ in range(6):  # then one at a time: the kept-alive one serves them all
                await zhipu.chat(BODY)

    asyncio.run(go())
    assert server.accepted == 4 and server.served == 10


def test_a_failed_call_frees_its_connection_for_the_next_call() -> None:
    server = CountingServer()

    async def go() -> int:
        async with serving(server) as base_url, client(base_url, max_connections=2) as zhipu:
            server.hang_up = True
            for _ in range(5):
                with pytest.raises(ZhipuConnectionError):
                    await zhipu.chat(BODY)
            server.hang_up = False
            await zhipu.chat(BODY)
            return zhipu._http._transport.open_pools

    assert asyncio.run(go()) == 1  # every failure gave its pool back; one pool did everything
    assert server.served == 1


def test_an_open_stream_keeps_its_connection_until_it_is_closed() -> None:
    server = CountingServer()

    async def go() -> tuple[int, int]:
        async with serving(server) as base_url:
            transport = AsyncSpreadTransport(httpx.Limits(max_connections=10))
            async with httpx.AsyncClient(transport=transport) as http:
                url = base_url + "/chat/completions"
                async with http.stream("POST", url, json=BODY) as open_response:
                    await http.post(url, json=BODY)  # the first connection is taken: a second one
                    await open_response.aread()
                while_open = transport.open_pools
                for _ in range(3):  # both free again: no third connection
                    await http.post(url, json=BODY)
                return while_open, transport.open_pools

    assert asyncio.run(go()) == (2, 2)
    assert server.accepted == 2


def test_a_cancelled_call_frees_its_connection() -> None:
    server = CountingServer(delay=5)

    async def go() -> int:
        async with serving(server) as base_url, client(base_url, max_connections=3) as zhipu:
            call = asyncio.create_task(zhipu.chat(BODY))
            while server.in_flight == 0:
                await asyncio.sleep(0.001)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            server.delay = 0
            await zhipu.chat(BODY)  # on the same pool: the cancelled call gave it back
            return zhipu._http._transport.open_pools

    assert asyncio.run(go()) == 1


def test_closing_the_transport_closes_every_pool() -> None:
    server = CountingServer()

    async def go() -> int:
        async with serving(server) as base_url:
            transport = AsyncSpreadTransport(httpx.Limits(max_connections=5))
            async with httpx.AsyncClient(transport=transport) as http:
                await asyncio.gather(*(http.post(base_url + "/chat/completions", json=BODY) for _ in range(3)))
            return transport.open_pools

    assert asyncio.run(go()) == 0


def test_an_unlimited_pool_opens_as_many_connections_as_calls_in_flight() -> None:
    server = CountingServer(delay=0.02)

    async def go() -> None:
        async with serving(server) as base_url, client(base_url, max_connections=None) as zhipu:  # type: ignore[arg-type]
            await asyncio.gather(*(zhipu.chat(BODY) for _ in range(30)))

    asyncio.run(go())
    assert server.accepted == 30 and server.most_in_flight == 30


# --- the sync client's SpreadTransport, from many threads -----------------------------------------


@contextmanager
def serving_in_a_thread(server: CountingServer) -> Iterator[str]:
    """`serving(server)` on an event loop of its own thread, for sync clients."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    context = serving(server)
    try:
        yield asyncio.run_coroutine_threadsafe(context.__aenter__(), loop).result()
    finally:
        asyncio.run_coroutine_threadsafe(context.__aexit__(None, None, None), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(2)
        loop.close()


def sync_client(base_url: str, **limits: int) -> ZhipuClient:
    return ZhipuClient(KEY, base_url, max_retries=0, limits=httpx.Limits(**limits))


def test_the_sync_client_spreads_its_connections_unless_given_a_transport() -> None:
    with (
        ZhipuClient(KEY) as default,
        ZhipuClient(KEY, transport=httpx.MockTransport(lambda r: httpx.Response(200))) as given,
    ):
        assert isinstance(default._http._transport, SpreadTransport)
        assert isinstance(given._http._transport, httpx.MockTransport)


def test_threads_never_exceed_max_connections_and_all_are_answered() -> None:
    server = CountingServer(delay=0.02)
    with serving_in_a_thread(server) as base_url, sync_client(base_url, max_connections=8) as zhipu:
        with ThreadPoolExecutor(32) as threads:
            replies = list(threads.map(lambda _: zhipu.chat(BODY), range(96)))
        assert zhipu._http._transport.open_pools == 8
    assert [reply["choices"][0]["message"]["content"] for reply in replies] == ["ok"] * 96
    assert server.accepted == 8 and server.most_in_flight == 8 and server.served == 96


def test_one_thread_at_a_time_reuses_one_connection_and_a_failure_gives_it_back() -> None:
    server = CountingServer()
    with serving_in_a_thread(server) as base_url, sync_client(base_url, max_connections=4) as zhipu:
        for _ in range(10):
            zhipu.chat(BODY)
        server.hang_up = True
        for _ in range(3):
            with pytest.raises(ZhipuConnectionError):
                zhipu.chat(BODY)
        server.hang_up = False
        zhipu.chat(BODY)
        assert zhipu._http._transport.open_pools == 1
    assert server.served == 11


def test_a_sync_stream_keeps_its_connection_until_it_is_closed_and_close_closes_every_pool() -> None:
    server = CountingServer()
    with serving_in_a_thread(server) as base_url:
        transport = SpreadTransport(httpx.Limits(max_connections=10))
        with httpx.Client(transport=transport) as http:
            url = base_url + "/chat/completions"
            with http.stream("POST", url, json=BODY) as open_response:
                http.post(url, json=BODY)  # the first connection is taken: a second one
                open_response.read()
            for _ in range(3):
                http.post(url, json=BODY)
            assert transport.open_pools == 2
        assert transport.open_pools == 0
    assert server.accepted == 2
