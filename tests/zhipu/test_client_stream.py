"""Streaming chat through the sync client: request, chunks, and every way a stream can fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from zhipu_connector.zhipu.client import ZhipuClient
from zhipu_connector.zhipu.errors import (
    MalformedResponseError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    ZhipuConnectionError,
    ZhipuTimeoutError,
)

KEY = "streamkeyid.streamKeySecret66"
BODY = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "hi"}]}
CHUNKS = [
    {"id": "s1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}}]},
    {"id": "s1", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "lo"}}]},
    {
        "id": "s1",
        "choices": [{"index": 0, "finish_reason": "stop", "delta": {"role": "assistant", "content": ""}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    },
]
EVENT_STREAM = {"content-type": "text/event-stream"}


def event_bytes(chunks: list[Any], done: bool = True) -> bytes:
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return (text + ("data: [DONE]\n\n" if done else "")).encode()


def pieces(data: bytes, size: int = 7) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class Script:
    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0)
        if isinstance(step, type):
            raise step(f"simulated {step.__name__}", request=request)
        return step() if callable(step) else step


def streaming(data: bytes) -> Any:
    return lambda: httpx.Response(200, headers=EVENT_STREAM, content=pieces(data))


def make_client(script: Script, **kwargs: Any) -> tuple[ZhipuClient, list[float]]:
    sleeps: list[float] = []
    client = ZhipuClient(KEY, transport=httpx.MockTransport(script), sleep=sleeps.append, random=lambda: 0.0, **kwargs)
    return client, sleeps


def test_a_stream_request_and_its_chunks() -> None:
    script = Script(streaming(event_bytes(CHUNKS)))
    client, _ = make_client(script)
    assert list(client.chat_stream({**BODY, "request_id": "stream-req-1"})) == CHUNKS
    request = script.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://open.bigmodel.cn/api/paas/v4/chat/completions"
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.content == (
        b'{"model":"glm-4-flash","messages":[{"role":"user","content":"hi"}],"request_id":"stream-req-1","stream":true}'
    )


def test_stream_true_in_the_body_is_kept_as_is() -> None:
    script = Script(streaming(event_bytes(CHUNKS)))
    client, _ = make_client(script)
    list(client.chat_stream({**BODY, "stream": True, "request_id": "stream-req-2"}))
    assert json.loads(script.requests[0].content) == {**BODY, "stream": True, "request_id": "stream-req-2"}


def test_jwt_mode_streams_with_a_token() -> None:
    script = Script(streaming(event_bytes(CHUNKS)))
    client, _ = make_client(script, auth="jwt")
    assert list(client.chat_stream(BODY)) == CHUNKS
    authorization = script.requests[0].headers["authorization"]
    assert authorization.startswith("Bearer ey") and KEY not in authorization


def test_nothing_is_sent_until_iteration_starts() -> None:
    script = Script(streaming(event_bytes(CHUNKS)))
    client, _ = make_client(script)
    stream = client.chat_stream(BODY)
    assert script.requests == []
    assert next(stream) == CHUNKS[0]
    stream.close()


def test_failures_before_the_first_chunk_are_retried_with_the_same_request_id() -> None:
    script = Script(
        httpx.ConnectError,
        httpx.Response(429, json={"error": {"code": "1302", "message": "busy"}}),
        httpx.Response(503, content=b"<html>overloaded</html>"),
        streaming(event_bytes(CHUNKS)),
    )
    client, sleeps = make_client(script)
    assert list(client.chat_stream(BODY)) == CHUNKS
    assert sleeps == [0.5, 1.0, 2.0]
    assert len({r.content for r in script.requests}) == 1


def test_a_final_failure_before_the_stream_is_raised_once() -> None:
    script = Script(httpx.Response(429, json={"error": {"code": "1113", "message": "no balance"}}))
    client, sleeps = make_client(script)
    with pytest.raises(QuotaExceededError, match="no balance"):
        list(client.chat_stream(BODY))
    assert len(script.requests) == 1 and sleeps == []


def test_a_json_error_in_a_200_instead_of_a_stream_is_that_error() -> None:
    script = Script(
        httpx.Response(200, json={"error": {"code": "1305", "message": "overloaded"}}),
        streaming(event_bytes(CHUNKS)),
    )
    client, sleeps = make_client(script)
    assert list(client.chat_stream(BODY)) == CHUNKS
    assert sleeps == [0.5]


def test_a_json_completion_instead_of_a_stream_is_malformed() -> None:
    completion = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}}]}
    client, _ = make_client(Script(httpx.Response(200, json=completion)))
    with pytest.raises(MalformedResponseError, match="instead of an event stream"):
        list(client.chat_stream(BODY))


def test_an_error_event_mid_stream_raises_after_the_chunks_before_it() -> None:
    data = event_bytes(CHUNKS[:1], done=False) + b'data: {"error": {"code": "1302", "message": "busy"}}\n\n'
    script = Script(streaming(data))
    client, sleeps = make_client(script)
    received: list[dict[str, Any]] = []
    with pytest.raises(RateLimitError, match="busy"):
        for chunk in client.chat_stream(BODY):
            received.append(chunk)
    assert received == CHUNKS[:1]
    assert len(script.requests) == 1 and sleeps == []  # a started reply is never resent


def test_a_truncated_stream_is_an_error() -> None:
    client, _ = make_client(Script(streaming(event_bytes(CHUNKS[:2], done=False))))
    with pytest.raises(MalformedResponseError, match="cut short"):
        list(client.chat_stream(BODY))


def test_a_non_json_chunk_is_malformed() -> None:
    client, _ = make_client(Script(streaming(b"data: {not json}\n\n")))
    with pytest.raises(MalformedResponseError, match="not JSON"):
        list(client.chat_stream(BODY))


@pytest.mark.parametrize(
    ("exception", "error_class"),
    [(httpx.ReadTimeout, ZhipuTimeoutError), (httpx.RemoteProtocolError, ZhipuConnectionError)],
)
def test_a_connection_failure_mid_stream_is_mapped(exception: type[Exception], error_class: type[Exception]) -> None:
    def broken() -> Iterator[bytes]:
        yield event_bytes(CHUNKS[:1], done=False)
        raise exception("simulated mid-stream failure")

    script = Script(lambda: httpx.Response(200, headers=EVENT_STREAM, content=broken()))
    client, sleeps = make_client(script)
    received: list[dict[str, Any]] = []
    with pytest.raises(error_class) as caught:
        for chunk in client.chat_stream({**BODY, "request_id": "broken-stream"}):
            received.append(chunk)
    assert received == CHUNKS[:1]
    assert caught.value.request_id == "broken-stream"
    assert len(script.requests) == 1 and sleeps == []


def test_leaving_the_loop_early_closes_the_response() -> None:
    closed: list[bool] = []

    class TrackedStream(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield from pieces(event_bytes(CHUNKS))

        def close(self) -> None:
            closed.append(True)

    client, _ = make_client(Script(lambda: httpx.Response(200, headers=EVENT_STREAM, stream=TrackedStream())))
    stream = client.chat_stream(BODY)
    assert next(stream) == CHUNKS[0]
    stream.close()
    assert closed == [True]


def test_an_error_status_body_is_read_for_its_code() -> None:
    script = Script(httpx.Response(500, json={"error": {"code": "1234", "message": "internal"}}))
    client, _ = make_client(script, max_retries=0)
    with pytest.raises(ServerError, match="internal") as caught:
        list(client.chat_stream(BODY))
    assert caught.value.code == "1234" and caught.value.status == 500
