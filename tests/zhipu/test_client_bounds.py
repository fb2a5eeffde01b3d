"""Bounded calls: answers stop at the size cap, calls at their deadlines, streams at the idle limit.

Slow servers are real loopback sockets (a read timeout only means something on a socket); the
limits are small so the tests take about a second each.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from zhipu_connector.zhipu.client import AsyncZhipuClient, ZhipuClient
from zhipu_connector.zhipu.config import ClientConfigError, Deadlines, resolve_deadlines
from zhipu_connector.zhipu.errors import MalformedResponseError, ServerError, ZhipuTimeoutError

KEY = "boundsid.boundsSecretValue77"
CHAT_BODY = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "Hi"}]}
REPLY = b'{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"ok"}}]}'
MiB = 1024 * 1024


# --- a loopback server that answers slowly --------------------------------------------------------


@contextmanager
def loopback(answer: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """A server on 127.0.0.1 that reads each request's head and hands the socket to `answer`."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    connections: list[socket.socket] = []

    def serve() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            answer(conn, stop)
        except OSError:
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/paas/v4"
    finally:
        stop.set()
        listener.close()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        thread.join(2)


def dripping(conn: socket.socket, stop: threading.Event) -> None:
    """A 200 whose JSON body arrives one byte every 0.1 s, for ever."""
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n")
    while not stop.wait(0.1):
        conn.sendall(b" ")


def pinging(conn: socket.socket, stop: threading.Event) -> None:
    """An event stream that sends only keep-alive comments, every 0.05 s, for ever."""
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
    while not stop.wait(0.05):
        conn.sendall(b"8\r\n: ping\n\n\r\n")


def run(asynchronous: bool, base_url: str, action: str, **options: Any) -> Any:
    """Call `action` ("chat" or "stream") with a sync or an async client at `base_url`."""
    options.setdefault("sleep", (lambda seconds: asyncio.sleep(0)) if asynchronous else (lambda seconds: None))
    if not asynchronous:
        with ZhipuClient(KEY, base_url, **options) as client:
            return client.chat(CHAT_BODY) if action == "chat" else list(client.chat_stream(CHAT_BODY))

    async def go() -> Any:
        async with AsyncZhipuClient(KEY, base_url, **options) as client:
            if action == "chat":
                return await client.chat(CHAT_BODY)
            return [chunk async for chunk in client.chat_stream(CHAT_BODY)]

    return asyncio.run(go())


# --- deadlines ------------------------------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_server_dripping_bytes_is_cut_at_the_attempt_deadline_and_the_call_at_its_own(asynchronous):
    with loopback(dripping) as url:
        started = time.monotonic()
        with pytest.raises(ZhipuTimeoutError) as caught:
            run(
                asynchronous,
                url,
                "chat",
                timeout=2.0,
                deadline=Deadlines(attempt=0.4, call=1.0),
                max_retries=5,
                random=lambda: 1.0,  # backoffs of 0.375 s, then 0.75 s (the sleep itself is skipped)
            )
        elapsed = time.monotonic() - started
    # Each byte arrives well within the 2 s read timeout: only the deadlines can stop this call.
    # Two attempts of 0.4 s; a third, after a 0.75 s wait, could not end within the call's 1 s.
    assert 0.8 <= elapsed < 1.2
    assert caught.value.attempts == 2
    assert "ran past its deadline (0.4 s per attempt, 1 s per call" in caught.value.message
    assert caught.value.retryable


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_number_as_the_deadline_bounds_the_whole_call(asynchronous):
    with loopback(dripping) as url:
        started = time.monotonic()
        with pytest.raises(ZhipuTimeoutError, match="ran past its deadline"):
            run(asynchronous, url, "chat", deadline=0.5)
        assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_stream_of_keep_alive_comments_only_ends_at_the_idle_limit(asynchronous):
    with loopback(pinging) as url:
        started = time.monotonic()
        with pytest.raises(ZhipuTimeoutError) as caught:
            run(asynchronous, url, "stream", timeout=5.0, deadline=Deadlines(stream_idle=0.4))
        elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 1.2  # comments every 0.05 s reset the read timeout, never the idle limit
    assert "sent no event for 0.4 s (keep-alive comments do not count)" in caught.value.message


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_silent_stream_ends_at_the_idle_limit_too(asynchronous):
    def silent(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        stop.wait(5)

    with loopback(silent) as url:
        started = time.monotonic()
        with pytest.raises(ZhipuTimeoutError, match="sent no event for 0.3 s"):
            run(asynchronous, url, "stream", timeout=5.0, deadline=Deadlines(stream_idle=0.3))
        assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    "value",
    [0, -1, float("nan"), float("inf"), "30", True],
)
def test_a_deadline_that_cannot_work_is_refused_before_anything_is_sent(value):
    with pytest.raises(ClientConfigError, match="deadline"):
        resolve_deadlines(value)
    with pytest.raises(ClientConfigError, match="deadline attempt"):
        Deadlines(attempt=value)


def test_the_deadlines_shorten_each_wait_to_the_time_left():
    seen: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, content=REPLY)

    with ZhipuClient(KEY, "http://x.test/api/paas/v4", transport=httpx.MockTransport(answer), deadline=5) as client:
        client.chat(CHAT_BODY)
    assert seen[0]["connect"] <= 5 and seen[0]["read"] <= 5 and seen[0]["read"] > 4


# --- the answer size cap --------------------------------------------------------------------------


class Endless:
    """An answer body of `total` bytes made on demand, counting how much was actually read."""

    def __init__(self, total: int, chunk: bytes = b" " * 65536) -> None:
        self.total, self.chunk, self.produced = total, chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.produced < self.total:
            self.produced += len(self.chunk)
            yield self.chunk


class AsyncEndless(Endless):
    """`Endless` for an async client (httpx wants an async-only iterable there)."""

    __iter__ = None  # type: ignore[assignment]

    async def __aiter__(self) -> Any:
        while self.produced < self.total:
            self.produced += len(self.chunk)
            yield self.chunk


def client_with(answer: Callable[[httpx.Request], httpx.Response], asynchronous: bool, **options: Any) -> Any:
    if asynchronous:
        return AsyncZhipuClient(KEY, "http://x.test/api/paas/v4", transport=httpx.MockTransport(answer), **options)
    return ZhipuClient(KEY, "http://x.test/api/paas/v4", transport=httpx.MockTransport(answer), **options)


def chat_with(client: Any) -> Any:
    if isinstance(client, ZhipuClient):
        with client:
            return client.chat(CHAT_BODY)

    async def go() -> Any:
        async with client:
            return await client.chat(CHAT_BODY)

    return asyncio.run(go())


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_400_mib_answer_stops_at_the_default_cap_with_a_clear_error(asynchronous):
    body = (AsyncEndless if asynchronous else Endless)(400 * MiB)
    answer = lambda request: httpx.Response(200, headers={"content-type": "application/json"}, content=body)  # noqa: E731
    with pytest.raises(MalformedResponseError) as caught:
        chat_with(client_with(answer, asynchronous))
    assert "larger than the 33554432 bytes a client reads (max_answer_bytes)" in caught.value.message
    assert not caught.value.retryable
    assert body.produced <= 32 * MiB + 65536  # read up to the cap, never the whole answer


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_gzip_bomb_stops_at_the_cap_on_its_inflated_size(asynchronous):
    bomb = gzip.compress(b"\0" * (64 * MiB), compresslevel=9)
    assert len(bomb) < 100_000

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "gzip"}, content=bomb)

    with pytest.raises(MalformedResponseError, match="larger than the 1048576 bytes"):
        chat_with(client_with(answer, asynchronous, max_answer_bytes=MiB))


def test_an_answer_within_the_cap_is_read_whole():
    answer = lambda request: httpx.Response(200, content=REPLY)  # noqa: E731
    assert (
        chat_with(client_with(answer, False, max_answer_bytes=len(REPLY)))["choices"][0]["message"]["content"] == "ok"
    )


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_huge_error_answer_is_cut_and_still_reported_as_its_status(asynchronous):
    body = (AsyncEndless if asynchronous else Endless)(400 * MiB, chunk=b"<html>" * 10000)
    answer = lambda request: httpx.Response(503, content=body)  # noqa: E731
    with pytest.raises(ServerError) as caught:
        chat_with(client_with(answer, asynchronous, max_retries=0))
    assert caught.value.status == 503 and "<html>" in caught.value.message
    assert body.produced < MiB


def test_a_stream_larger_than_the_cap_stops_there():
    event = b'data: {"choices":[{"index":0,"delta":{"content":"' + b"x" * 1000 + b'"}}]}\n\n'

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=Endless(400 * MiB, event))

    received = 0
    with client_with(answer, False, max_answer_bytes=MiB) as client:
        with pytest.raises(MalformedResponseError, match="larger than the 1048576 bytes"):
            for _ in client.chat_stream(CHAT_BODY):
                received += 1
    assert 900 < received < 1100


@pytest.mark.parametrize("value", [0, -5, 1.5, "big", True])
def test_a_cap_that_cannot_work_is_refused(value):
    with pytest.raises(ClientConfigError, match="max_answer_bytes must be a positive whole number"):
        ZhipuClient(KEY, max_answer_bytes=value)
