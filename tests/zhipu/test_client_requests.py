"""What the client puts on the wire, and which answers it accepts (sync client)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest

from zhipu_connector.host.secrets import Secret
from zhipu_connector.zhipu.client import ZhipuClient
from zhipu_connector.zhipu.config import Deadlines, Timeouts, resolve_base_url, resolve_timeouts
from zhipu_connector.zhipu.errors import (
    ClientConfigError,
    ContentFilteredError,
    InvalidApiKeyError,
    InvalidRequestError,
    MalformedResponseError,
    RateLimitError,
)

KEY_ID = "reqkeyid77"
KEY_SECRET = "reqKeySecret0077abc"
KEY = f"{KEY_ID}.{KEY_SECRET}"
MAINLAND = "https://open.bigmodel.cn/api/paas/v4"
INTERNATIONAL = "https://api.z.ai/api/paas/v4"

COMPLETION = {
    "id": "c-1",
    "request_id": "given-request-id",
    "created": 1,
    "model": "glm-4-flash",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi"}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
IMAGE = {"created": 1, "data": [{"url": "https://example.invalid/a.png"}]}
CHAT_BODY = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "你好"}]}


class Recorder:
    """A MockTransport handler that records requests and answers with `answer(request)`."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


def answering(status: int = 200, body: Any = COMPLETION, **kwargs: Any) -> Recorder:
    if isinstance(body, bytes):
        return Recorder(lambda request: httpx.Response(status, content=body, **kwargs))
    return Recorder(lambda request: httpx.Response(status, json=body, **kwargs))


def client_for(recorder: Recorder, **kwargs: Any) -> ZhipuClient:
    return ZhipuClient(KEY, transport=httpx.MockTransport(recorder), **kwargs)


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "root"),
    [
        (None, MAINLAND),
        ("", MAINLAND),
        ("mainland", MAINLAND),
        (" International ", INTERNATIONAL),
        (MAINLAND, MAINLAND),
        (INTERNATIONAL + "/", INTERNATIONAL),
        (INTERNATIONAL + "///", INTERNATIONAL),
        (MAINLAND + "/chat/completions", MAINLAND),
        (MAINLAND + "/chat/completions/", MAINLAND),
        (INTERNATIONAL + "/images/generations", INTERNATIONAL),
        ("http://127.0.0.1:8765/api/paas/v4", "http://127.0.0.1:8765/api/paas/v4"),
        ("http://localhost:9000", "http://localhost:9000"),
        ("https://proxy.example.test/zhipu/chat/completions", "https://proxy.example.test/zhipu"),
    ],
)
def test_every_base_url_form_reaches_the_right_endpoints(base_url: str | None, root: str) -> None:
    assert resolve_base_url(base_url) == root
    recorder = answering()
    with client_for(recorder, base_url=base_url) as client:
        client.chat(CHAT_BODY)
    recorder.answer = lambda request: httpx.Response(200, json=IMAGE)
    with client_for(recorder, base_url=base_url) as client:
        client.generate_image({"model": "cogview-4", "prompt": "a cat"})
    assert [str(r.url) for r in recorder.requests] == [
        root + "/chat/completions",
        root + "/images/generations",
    ]
    assert all(r.method == "POST" for r in recorder.requests)


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("open.bigmodel.cn/api/paas/v4", "http\\(s\\) URL"),
        ("ftp://open.bigmodel.cn/api", "http\\(s\\) URL"),
        ("https://", "http\\(s\\) URL"),
        ("https://api.z.ai/api/paas/v4?x=1", "query string"),
        ("https://api.z.ai/api/paas/v4#frag", "query string or fragment"),
        (42, "must be a string"),
    ],
)
def test_unusable_base_urls_are_refused(base_url: Any, message: str) -> None:
    with pytest.raises(ClientConfigError, match=message):
        ZhipuClient(KEY, base_url=base_url)


# --- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [KEY, Secret(KEY)], ids=["str", "Secret"])
def test_api_key_mode_headers(key: Any) -> None:
    recorder = answering()
    with ZhipuClient(key, transport=httpx.MockTransport(recorder)) as client:
        client.chat(CHAT_BODY)
        client.chat(CHAT_BODY)
    for request in recorder.requests:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["accept"] == "application/json"
        assert request.headers["user-agent"].startswith("zhipu-connector/")
        assert request.headers["content-length"] == str(len(request.content))


def test_jwt_mode_headers_carry_a_fresh_enough_token() -> None:
    now = [1_800_000_000.0]
    recorder = answering()
    with client_for(recorder, auth="jwt", clock=lambda: now[0]) as client:
        client.chat(CHAT_BODY)
        now[0] += 60
        client.chat(CHAT_BODY)
        now[0] += 130  # 190 s after the first token: past its 180 s reuse
        client.chat(CHAT_BODY)
    tokens = [r.headers["authorization"].removeprefix("Bearer ") for r in recorder.requests]
    assert tokens[0] == tokens[1] != tokens[2]
    for token, issued_ms in zip(tokens, (1_800_000_000_000, 1_800_000_000_000, 1_800_000_190_000)):
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "sign_type": "SIGN"}
        claims = jwt.decode(token, KEY_SECRET, algorithms=["HS256"], options={"verify_exp": False})
        assert claims == {"api_key": KEY_ID, "timestamp": issued_ms, "exp": issued_ms + 210_000}
    assert all(KEY not in r.headers["authorization"] for r in recorder.requests)


@pytest.mark.parametrize("bad_key", ["", "   ", "key with.spaces", "key.with\nnewline"])
@pytest.mark.parametrize("auth", ["api_key", "jwt"])
def test_bad_keys_are_refused_before_any_request(bad_key: str, auth: str) -> None:
    recorder = answering()
    with pytest.raises(InvalidApiKeyError):
        ZhipuClient(bad_key, auth=auth, transport=httpx.MockTransport(recorder))
    assert recorder.requests == []


def test_jwt_mode_refuses_a_key_without_a_dot_before_any_request() -> None:
    recorder = answering()
    with pytest.raises(InvalidApiKeyError, match="<id>.<secret>"):
        ZhipuClient("nodotkey12345", auth="jwt", transport=httpx.MockTransport(recorder))
    assert recorder.requests == []


# --- bodies -----------------------------------------------------------------------------------


def test_the_body_is_compact_utf8_json_with_a_generated_request_id() -> None:
    recorder = answering()
    body = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "你好"}], "temperature": 0.5}
    snapshot = json.dumps(body)
    with client_for(recorder) as client:
        assert client.chat(body) == COMPLETION
    sent = recorder.requests[0].content
    request_id = json.loads(sent)["request_id"]
    assert (
        sent
        == (
            '{"model":"glm-4-flash","messages":[{"role":"user","content":"你好"}],"temperature":0.5,'
            f'"request_id":"{request_id}"}}'
        ).encode()
    )
    assert 6 <= len(request_id) <= 64
    assert json.dumps(body) == snapshot  # the caller's dict is untouched


def test_a_request_id_is_generated_per_call() -> None:
    recorder = answering()
    with client_for(recorder) as client:
        client.chat(CHAT_BODY)
        client.chat(CHAT_BODY)
    ids = [json.loads(r.content)["request_id"] for r in recorder.requests]
    assert ids[0] != ids[1]


def test_the_callers_request_id_is_sent_as_given() -> None:
    recorder = answering()
    with client_for(recorder) as client:
        client.chat({**CHAT_BODY, "request_id": "given-request-id"})
    assert json.loads(recorder.requests[0].content) == {**CHAT_BODY, "request_id": "given-request-id"}


def test_image_generation_body_and_answer() -> None:
    recorder = answering(body=IMAGE)
    with client_for(recorder) as client:
        result = client.generate_image(
            {"model": "cogview-4", "prompt": "a cat", "size": "1024x1024", "request_id": "img-request-1"}
        )
    assert result == IMAGE
    assert recorder.requests[0].content == (
        b'{"model":"cogview-4","prompt":"a cat","size":"1024x1024","request_id":"img-request-1"}'
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**CHAT_BODY, "stream": True}, r"use stream\(\) \(chat_stream\(\) for chat\)"),
        ({**CHAT_BODY, "request_id": "short"}, "request_id must be a string of 6–64"),
        ({**CHAT_BODY, "request_id": "x" * 65}, "request_id must be a string of 6–64"),
        ({**CHAT_BODY, "request_id": 12345678}, "request_id must be a string of 6–64"),
        ({**CHAT_BODY, "temperature": float("nan")}, "cannot be sent as JSON"),
        ({**CHAT_BODY, "extra": object()}, "cannot be sent as JSON"),
        ({**CHAT_BODY, "model": "bad\ud800surrogate"}, "cannot be sent as JSON"),
        ([("model", "x")], "must be a JSON object"),
    ],
)
def test_bodies_that_cannot_be_sent_fail_before_any_request(body: Any, message: str) -> None:
    recorder = answering()
    with client_for(recorder) as client, pytest.raises(InvalidRequestError, match=message):
        client.chat(body)
    assert recorder.requests == []


# --- answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "answer is empty"),
        (b"<html>hello</html>", "not JSON"),
        (b'{"choices": [{"message": {"content": "cut', "not JSON \\(or was cut short\\)"),
        (b"[]", "no non-empty 'choices'"),
        (b'{"id": "x"}', "no non-empty 'choices'"),
        (b'{"choices": []}', "no non-empty 'choices'"),
        (b'{"choices": [{"delta": {}}]}', "no 'message' object"),
        (b'{"choices": ["text"]}', "no 'message' object"),
    ],
)
def test_chat_answers_of_the_wrong_shape_are_malformed(body: bytes, message: str) -> None:
    recorder = answering(200, body)
    with client_for(recorder, sleep=lambda s: None) as client:
        with pytest.raises(MalformedResponseError, match=message) as caught:
            client.chat({**CHAT_BODY, "request_id": "shape-check-1"})
    assert caught.value.status == 200 and caught.value.request_id == "shape-check-1"
    assert len(recorder.requests) == 1  # never retried: the work may already be billed


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"created": 1, "data": []}', "no non-empty 'data'"),
        (b'{"created": 1}', "no non-empty 'data'"),
        (b'{"data": [{"b64_json": "AAAA"}]}', "no 'url' string"),
        (b'{"data": [{"url": null}]}', "no 'url' string"),
    ],
)
def test_image_answers_of_the_wrong_shape_are_malformed(body: bytes, message: str) -> None:
    with client_for(answering(200, body)) as client:
        with pytest.raises(MalformedResponseError, match=message):
            client.generate_image({"model": "cogview-4", "prompt": "a cat"})


def test_an_error_object_in_a_200_answer_is_that_error() -> None:
    recorder = answering(200, {"error": {"code": "1302", "message": "busy"}})
    with client_for(recorder, max_retries=1, sleep=lambda s: None) as client:
        with pytest.raises(RateLimitError, match="busy"):
            client.chat(CHAT_BODY)
    assert len(recorder.requests) == 2


def test_finish_reason_sensitive_is_content_filtered() -> None:
    filtered = {**COMPLETION, "choices": [{**COMPLETION["choices"][0], "finish_reason": "sensitive"}]}
    with client_for(answering(200, filtered)) as client:
        with pytest.raises(ContentFilteredError):
            client.chat(CHAT_BODY)


def test_a_tool_call_answer_with_null_content_is_accepted() -> None:
    tool_call = {
        **COMPLETION,
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                },
            }
        ],
    }
    with client_for(answering(200, tool_call)) as client:
        assert client.chat(CHAT_BODY) == tool_call


# --- timeouts, repr, lifetime -------------------------------------------------------------------


def test_default_timeouts_are_generous_for_long_generations() -> None:
    recorder = answering()
    with client_for(recorder) as client:
        client.chat(CHAT_BODY)
    assert recorder.requests[0].extensions["timeout"] == {"connect": 8.0, "read": 300.0, "write": 60.0, "pool": 60.0}


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        (Timeouts(connect=2.0, read=900.0), {"connect": 2.0, "read": 900.0, "write": 60.0, "pool": 60.0}),
        (30, {"connect": 8.0, "read": 30, "write": 30, "pool": 30}),
        (httpx.Timeout(5.0, connect=1.0), {"connect": 1.0, "read": 5.0, "write": 5.0, "pool": 5.0}),
        (httpx.Timeout(None), {"connect": None, "read": None, "write": None, "pool": None}),
    ],
)
def test_connect_and_read_timeouts_are_set_separately(timeout: Any, expected: dict[str, Any]) -> None:
    recorder = answering()
    with client_for(recorder, timeout=timeout, deadline=Deadlines(attempt=None, call=None)) as client:
        client.chat(CHAT_BODY)
    assert recorder.requests[0].extensions["timeout"] == expected


@pytest.mark.parametrize(
    ("timeout", "message"),
    [
        (0, "timeout read must be a positive number"),
        (-1.0, "timeout read must be a positive number"),
        ("30", "timeout must be a number of seconds"),
        (True, "timeout must be a number of seconds"),
    ],
)
def test_bad_timeouts_are_refused(timeout: Any, message: str) -> None:
    with pytest.raises(ClientConfigError, match=message):
        resolve_timeouts(timeout)


def test_repr_shows_base_url_and_auth_mode_only() -> None:
    assert repr(ZhipuClient(KEY)) == f"ZhipuClient(base_url='{MAINLAND}', auth='api_key')"
    assert repr(ZhipuClient(KEY, "international", auth="JWT")) == (
        f"ZhipuClient(base_url='{INTERNATIONAL}', auth='jwt')"
    )


@pytest.mark.parametrize(
    ("base_url", "rule"),
    [
        # httpx would turn the userinfo into Basic auth over the token's header: never what is meant
        ("https://user:hunter2pass@proxy.example.test/v4", "must not contain user:password@"),
        # a key pasted where the port goes: urlsplit reads it as a port, httpx would crash on it
        ("https://id:hunter2pass", "port that is not a number"),
        ("https://id:hunter2pass/api/paas/v4", "port that is not a number"),
    ],
)
def test_credentials_in_a_base_url_are_refused_without_being_quoted(base_url: str, rule: str) -> None:
    with pytest.raises(ClientConfigError, match=rule) as caught:
        ZhipuClient(KEY, base_url)
    assert "hunter2pass" not in str(caught.value)


def test_a_closed_client_sends_nothing() -> None:
    recorder = answering()
    with client_for(recorder) as client:
        pass
    with pytest.raises(RuntimeError):
        client.chat(CHAT_BODY)
    assert recorder.requests == []


# --- one connection pool --------------------------------------------------------------------------


class _CompletionHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a reused socket is visible

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.peers.add(self.client_address)  # type: ignore[attr-defined]
        body = json.dumps(COMPLETION).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CompletionHandler)
    server.peers = set()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_one_client_reuses_its_connections(loopback_server) -> None:
    base_url = f"http://127.0.0.1:{loopback_server.server_address[1]}/api/paas/v4"
    with ZhipuClient(KEY, base_url) as client:
        for _ in range(20):
            client.chat(CHAT_BODY)
        assert len(loopback_server.peers) == 1
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda _: client.chat(CHAT_BODY), range(40)))
    assert results == [COMPLETION] * 40
    assert len(loopback_server.peers) <= 5  # at most one socket per concurrent caller, plus the first
