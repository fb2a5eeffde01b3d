"""The async client: the same requests, answers, retries and failures as the sync one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import httpx
import jwt
import pytest

from zhipu_connector.zhipu.client import AsyncZhipuClient
from zhipu_connector.zhipu.errors import (
    ContentFilteredError,
    InvalidApiKeyError,
    InvalidRequestError,
    MalformedResponseError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    ZhipuConnectionError,
    ZhipuTimeoutError,
)

KEY_ID = "asynckeyid"
KEY_SECRET = "asyncKeySecret88xyz"
KEY = f"{KEY_ID}.{KEY_SECRET}"
COMPLETION = {
    "id": "a1",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
}
IMAGE = {"created": 1, "data": [{"url": "https://example.invalid/i.png"}]}
BODY = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "hi"}]}
CHUNKS = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "a"}}]},
    {"choices": [{"index": 0, "finish_reason": "stop", "delta": {"content": ""}}], "usage": {"total_tokens": 2}},
]


def run(coroutine_factory: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coroutine_factory())


class Script:
    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, type):
            raise step(f"simulated {step.__name__}", request=request)
        return step() if callable(step) else step


class FakeAsyncSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_client(script: Script, **kwargs: Any) -> tuple[AsyncZhipuClient, FakeAsyncSleep]:
    sleep = FakeAsyncSleep()
    client = AsyncZhipuClient(KEY, transport=httpx.MockTransport(script), sleep=sleep, random=lambda: 0.0, **kwargs)
    return client, sleep


async def agen(data: bytes, *, fail_with: type[Exception] | None = None) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 5):
        yield data[start : start + 5]
    if fail_with is not None:
        raise fail_with("simulated mid-stream failure")


def event_bytes(chunks: list[Any], done: bool = True) -> bytes:
    return (
        "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks) + ("data: [DONE]\r\n\r\n" if done else "")
    ).encode()


def streaming(data: bytes, **kwargs: Any) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=agen(data, **kwargs))


def test_chat_and_image_requests() -> None:
    script = Script(httpx.Response(200, json=COMPLETION), httpx.Response(200, json=IMAGE))

    async def scenario() -> tuple[Any, Any]:
        async with make_client(script, base_url="international")[0] as client:
            return (
                await client.chat({**BODY, "request_id": "async-chat-1"}),
                await client.generate_image({"model": "cogview-4", "prompt": "cat", "request_id": "async-img-1"}),
            )

    assert run(scenario) == (COMPLETION, IMAGE)
    chat, image = script.requests
    assert str(chat.url) == "https://api.z.ai/api/paas/v4/chat/completions"
    assert str(image.url) == "https://api.z.ai/api/paas/v4/images/generations"
    assert chat.headers["authorization"] == f"Bearer {KEY}"
    assert (
        chat.content
        == b'{"model":"glm-4-flash","messages":[{"role":"user","content":"hi"}],"request_id":"async-chat-1"}'
    )
    assert image.content == b'{"model":"cogview-4","prompt":"cat","request_id":"async-img-1"}'


def test_jwt_mode() -> None:
    script = Script(httpx.Response(200, json=COMPLETION))
    client, _ = make_client(script, auth="jwt", clock=lambda: 1_900_000_000.0)
    run(lambda: client.chat(BODY))
    token = script.requests[0].headers["authorization"].removeprefix("Bearer ")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "sign_type": "SIGN"}
    assert jwt.decode(token, KEY_SECRET, algorithms=["HS256"], options={"verify_exp": False}) == {
        "api_key": KEY_ID,
        "timestamp": 1_900_000_000_000,
        "exp": 1_900_000_210_000,
    }


def test_bad_key_is_refused_before_any_request() -> None:
    script = Script(httpx.Response(200, json=COMPLETION))
    with pytest.raises(InvalidApiKeyError):
        AsyncZhipuClient(" ", transport=httpx.MockTransport(script))
    assert script.requests == []


def test_retries_with_the_async_sleep_and_one_request_id() -> None:
    script = Script(
        httpx.ConnectTimeout,
        httpx.Response(429, json={"code": "1303", "message": "slow"}, headers={"Retry-After": "2"}),
        httpx.Response(502, content=b"bad gateway"),
        httpx.Response(200, json=COMPLETION),
    )
    client, sleep = make_client(script)
    assert run(lambda: client.chat(BODY)) == COMPLETION
    assert sleep.delays == [0.5, 2.0, 2.0]
    assert len({r.content for r in script.requests}) == 1 and len(script.requests) == 4


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (429, "1113", QuotaExceededError),
        (429, "1112", QuotaExceededError),
        (429, "1304", QuotaExceededError),
        (400, "1301", ContentFilteredError),
        (400, "1211", InvalidRequestError),
        (400, "1261", InvalidRequestError),
    ],
)
def test_final_codes_are_attempted_once(status: int, code: str, error_class: type[Exception]) -> None:
    script = Script(httpx.Response(status, json={"error": {"code": code, "message": "final"}}))
    client, sleep = make_client(script)
    with pytest.raises(error_class) as caught:
        run(lambda: client.chat(BODY))
    assert caught.value.code == code and not caught.value.retryable
    assert len(script.requests) == 1 and sleep.delays == []


@pytest.mark.parametrize(
    ("exception", "error_class"),
    [(httpx.ConnectTimeout, ZhipuTimeoutError), (httpx.ConnectError, ZhipuConnectionError)],
)
def test_transport_failures_are_mapped(exception: type[Exception], error_class: type[Exception]) -> None:
    script = Script(exception)
    client, sleep = make_client(script)
    with pytest.raises(error_class):
        run(lambda: client.chat(BODY))
    assert len(script.requests) == 4 and sleep.delays == [0.5, 1.0, 2.0]


def test_malformed_answers() -> None:
    client, _ = make_client(Script(httpx.Response(200, content=b'{"choices": [')))
    with pytest.raises(MalformedResponseError, match="not JSON"):
        run(lambda: client.chat(BODY))
    client, _ = make_client(Script(httpx.Response(200, json={"data": []})))
    with pytest.raises(MalformedResponseError, match="'data'"):
        run(lambda: client.generate_image({"model": "cogview-4", "prompt": "cat"}))


def collect_stream(client: AsyncZhipuClient, received: list[Any] | None = None) -> list[Any]:
    sink: list[Any] = [] if received is None else received

    async def scenario() -> list[Any]:
        async with aclosing(client.chat_stream(BODY)) as stream:
            async for chunk in stream:
                sink.append(chunk)
        await client.aclose()
        return sink

    return run(scenario)


def test_stream_chunks_and_headers() -> None:
    script = Script(streaming(event_bytes(CHUNKS)))
    client, _ = make_client(script)
    assert collect_stream(client) == CHUNKS
    request = script.requests[0]
    assert request.headers["accept"] == "text/event-stream"
    assert json.loads(request.content)["stream"] is True


def test_stream_retries_before_the_first_chunk() -> None:
    script = Script(httpx.Response(503, json={}), httpx.ReadError, streaming(event_bytes(CHUNKS)))
    client, sleep = make_client(script)
    assert collect_stream(client) == CHUNKS
    assert sleep.delays == [0.5, 1.0]


def test_stream_error_event_mid_stream() -> None:
    data = event_bytes(CHUNKS[:1], done=False) + b'data: {"error": {"code": "1302", "message": "busy"}}\n\n'
    client, sleep = make_client(Script(streaming(data)))
    received: list[Any] = []
    with pytest.raises(RateLimitError, match="busy"):
        collect_stream(client, received)
    assert received == CHUNKS[:1] and sleep.delays == []


def test_stream_truncated() -> None:
    client, _ = make_client(Script(streaming(event_bytes(CHUNKS[:1], done=False))))
    with pytest.raises(MalformedResponseError, match="cut short"):
        collect_stream(client)


def test_stream_read_timeout_mid_stream() -> None:
    client, _ = make_client(Script(streaming(event_bytes(CHUNKS[:1], done=False), fail_with=httpx.ReadTimeout)))
    received: list[Any] = []
    with pytest.raises(ZhipuTimeoutError, match="read timeout"):
        collect_stream(client, received)
    assert received == CHUNKS[:1]


def test_stream_error_status() -> None:
    client, _ = make_client(Script(httpx.Response(500, json={"error": {"message": "down"}})), max_retries=0)
    with pytest.raises(ServerError, match="down"):
        collect_stream(client)


def test_works_over_an_in_process_asgi_app() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append({"path": scope["path"], "headers": dict(scope["headers"]), "body": json.loads(body)})
        payload = json.dumps(COMPLETION).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})

    async def scenario() -> Any:
        async with AsyncZhipuClient(
            KEY, "http://emulated.test/api/paas/v4", transport=httpx.ASGITransport(app)
        ) as client:
            return await asyncio.gather(*(client.chat(BODY) for _ in range(3)))

    assert run(scenario) == [COMPLETION] * 3
    assert [s["path"] for s in seen] == ["/api/paas/v4/chat/completions"] * 3
    assert seen[0]["headers"][b"authorization"] == f"Bearer {KEY}".encode()
    assert len({s["body"]["request_id"] for s in seen}) == 3


def test_repr() -> None:
    assert repr(AsyncZhipuClient(KEY, auth="jwt")) == (
        "AsyncZhipuClient(base_url='https://open.bigmodel.cn/api/paas/v4', auth='jwt')"
    )
