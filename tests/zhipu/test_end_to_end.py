"""Both actions through the host against the emulator: errors as users see them, real sockets,
and the token kept out of everything printed or raised."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import pytest

from zhipu_connector.emulator import EmulatorConfig, create_app, running_emulator
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import ActionFailedError
from zhipu_connector.host.host import Host
from zhipu_connector.host.secrets import MASK
from zhipu_connector.zhipu import connections
from zhipu_connector.zhipu.errors import (
    AuthenticationError,
    InvalidRequestError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    ZhipuConnectionError,
    ZhipuTimeoutError,
)

KEY = "e2ekeyid.e2eKeySecret0042"
IN_PROCESS = "http://emulator.test/api/paas/v4"
HELLO = [{"role": "user", "content": "Hello"}]


def emulated(**config: Any) -> Any:
    """Route every client to a fresh in-process emulator accepting `KEY`."""
    app = create_app(EmulatorConfig(api_keys=frozenset({KEY}), **config))
    return connections.configured(transport_factory=connections.InProcessTransports(app))


def ask_inputs(content: str = "Hello", **inputs: Any) -> dict[str, Any]:
    return {"model": "glm-4-flash", "messages": [{"role": "user", "content": content}], **inputs}


def run_ask(host: Host, inputs: dict[str, Any], base_url: str = IN_PROCESS, **connection: Any) -> Any:
    return host.run_action("zhipu", "ask", inputs, {"token": KEY, "baseUrl": base_url, **connection})


# --- API errors through Host.run_action ---------------------------------------------------------


def test_a_rate_limit_is_retried_with_the_same_request_id_until_it_passes(host):
    with emulated(retry_after_seconds=0):  # Retry-After: 0 — the retries do not sleep
        result = run_ask(host, ask_inputs("Hello [[fault:rate_limit;times=3]]"))
    assert result.startswith('Here is a short answer about "Hello"')


def test_a_rate_limit_that_outlasts_the_retries_reports_status_code_request_id_and_attempts(host):
    with emulated(retry_after_seconds=0):
        with pytest.raises(RateLimitError) as caught:
            run_ask(host, ask_inputs("Hello [[fault:rate_limit;times=4]]", requestId="rate-limited-01"))
    error = caught.value
    assert (error.status, error.code, error.request_id, error.attempts) == (429, "1302", "rate-limited-01", 4)
    assert str(error) == (
        "High concurrency usage of this API, please reduce concurrency or contact support "
        "(HTTP 429, code 1302, request id rate-limited-01)"
    )
    assert error.to_dict() == {
        "type": "RateLimitError",
        "message": str(error),
        "status": 429,
        "code": "1302",
        "requestId": "rate-limited-01",
        "retryable": True,
    }


def test_no_balance_is_never_retried(host):
    with emulated(retry_after_seconds=0):
        with pytest.raises(QuotaExceededError) as caught:
            run_ask(host, ask_inputs("Hello [[fault:no_balance;times=1]]", requestId="no-balance-01"))
    error = caught.value
    assert (error.status, error.code, error.request_id, error.attempts, error.retryable) == (
        429,
        "1113",
        "no-balance-01",
        1,
        False,
    )
    assert isinstance(error, ActionFailedError)


def test_an_unknown_key_is_a_401(host):
    with emulated():
        with pytest.raises(AuthenticationError) as caught:
            host.run_action(
                "zhipu",
                "ask",
                ask_inputs(requestId="auth-fails-01"),
                {"token": "other.someSecret99", "baseUrl": IN_PROCESS},
            )
    error = caught.value
    assert (error.status, error.code, error.request_id, error.attempts) == (401, "1002", "auth-fails-01", 1)
    assert "unknown API key" in str(error)


def test_a_jwt_signed_with_the_key_is_accepted(host):
    with emulated():
        assert run_ask(host, ask_inputs(), authentication="JWT").startswith("Here is a short answer")


def test_a_model_the_platform_does_not_know_is_1211(host):
    with emulated():
        with pytest.raises(InvalidRequestError) as caught:
            run_ask(host, {**ask_inputs(), "model": "glm-99-turbo"})
        assert (caught.value.status, caught.value.code) == (400, "1211")
        with pytest.raises(InvalidRequestError) as caught_image:
            host.run_action(
                "zhipu",
                "createImage",
                {"model": "dall-e-3", "imageMessages": [{"content": "a fox"}]},
                {"token": KEY, "baseUrl": IN_PROCESS},
            )
        assert (caught_image.value.status, caught_image.value.code) == (400, "1211")


def test_a_prompt_too_long_is_1261_for_both_actions(host):
    with emulated(max_prompt_chars=40):
        with pytest.raises(InvalidRequestError) as caught:
            run_ask(host, ask_inputs("x" * 41, requestId="too-long-001"))
        assert (caught.value.status, caught.value.code, caught.value.request_id, caught.value.attempts) == (
            400,
            "1261",
            "too-long-001",
            1,
        )
        with pytest.raises(InvalidRequestError) as caught_image:
            host.run_action(
                "zhipu",
                "createImage",
                {"model": "cogview-4", "imageMessages": [{"content": "a fox " * 4}, {"content": "snow " * 5}]},
                {"token": KEY, "baseUrl": IN_PROCESS},
            )
        assert (caught_image.value.status, caught_image.value.code) == (400, "1261")


def test_a_server_error_on_the_image_api_is_retried_then_reported(host):
    with emulated():
        result = host.run_action(
            "zhipu",
            "createImage",
            {"model": "cogview-4", "imageMessages": [{"content": "a fox [[fault:server_error;times=1]]"}]},
            {"token": KEY, "baseUrl": IN_PROCESS},
        )
        assert len(result["data"]) == 1


def test_errors_reach_async_callers_the_same_way(host):
    async def go() -> None:
        try:
            await host.arun_action(
                "zhipu",
                "ask",
                ask_inputs("Hi [[fault:no_balance]]", requestId="async-quota-1"),
                {"token": KEY, "baseUrl": IN_PROCESS},
            )
        finally:
            await connections.aclose_all()

    with emulated():
        with pytest.raises(QuotaExceededError) as caught:
            asyncio.run(go())
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (429, "1113", "async-quota-1")


# --- over a real loopback socket ------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with running_emulator(EmulatorConfig(api_keys=frozenset({KEY}), stream_chunk_delay=0.02)) as base_url:
        yield base_url


@pytest.fixture
def fresh_clients():
    with connections.configured():
        yield


def test_streamed_pieces_arrive_before_the_reply_ends_over_a_socket(host, server, fresh_clients):
    arrivals: list[tuple[float, str]] = []
    context = ActionContext("zhipu", "ask", on_partial=lambda piece: arrivals.append((time.monotonic(), piece)))
    started = time.monotonic()
    streamed = host.run_action("zhipu", "ask", ask_inputs(), {"token": KEY, "baseUrl": server}, context=context)
    finished = time.monotonic()
    assert streamed == run_ask(host, ask_inputs(), server)
    assert "".join(piece for _, piece in arrivals) == streamed and len(arrivals) >= 5
    # 0.02 s between chunks: the first piece is handed over long before the last one arrives
    assert arrivals[0][0] - started < finished - started - 0.05
    assert arrivals[-1][0] - arrivals[0][0] >= 0.02 * (len(arrivals) - 2)


def test_async_streaming_over_a_socket_equals_the_plain_reply(host, server, fresh_clients):
    async def go() -> tuple[str, str, list[str]]:
        pieces: list[str] = []
        context = ActionContext("zhipu", "ask", on_partial=pieces.append)
        connection = {"token": KEY, "baseUrl": server}
        try:
            streamed = await host.arun_action(
                "zhipu", "ask", ask_inputs("用一句话介绍杭州"), connection, context=context
            )
            plain = await host.arun_action("zhipu", "ask", ask_inputs("用一句话介绍杭州"), connection)
        finally:
            await connections.aclose_all()
        return streamed, plain, pieces

    streamed, plain, pieces = asyncio.run(go())
    assert streamed == plain and "".join(pieces) == plain and len(pieces) > 1


def test_a_connection_dropped_mid_stream_fails_without_a_retry(host, server, fresh_clients):
    pieces: list[str] = []
    context = ActionContext("zhipu", "ask", on_partial=pieces.append)
    with pytest.raises(ZhipuConnectionError) as caught:
        host.run_action(
            "zhipu",
            "ask",
            ask_inputs("Hello [[fault:drop]]", requestId="dropped-0001"),
            {"token": KEY, "baseUrl": server},
            context=context,
        )
    assert caught.value.request_id == "dropped-0001" and caught.value.attempts == 1
    assert 1 <= len(pieces) <= 2


def test_a_connection_dropped_before_the_answer_is_retried(host, server, fresh_clients):
    with connections.configured(client_options={"timeout": 5}):
        result = run_ask(host, ask_inputs("Hello [[fault:drop;times=1]]"), server)
    assert result.startswith('Here is a short answer about "Hello"')


def test_a_silent_server_times_out(host, server):
    with connections.configured(client_options={"timeout": 0.3, "max_retries": 0}):
        started = time.monotonic()
        with pytest.raises(ZhipuTimeoutError) as caught:
            run_ask(host, ask_inputs("Hello [[fault:slow;seconds=2]]", requestId="slow-call-01"), server)
    assert time.monotonic() - started < 1.5
    assert caught.value.request_id == "slow-call-01" and "read timeout" in str(caught.value)


def test_a_timeout_is_retried_and_the_retry_succeeds(host, server):
    with connections.configured(client_options={"timeout": 0.3}):
        assert run_ask(host, ask_inputs("Hello [[fault:slow;times=1;seconds=1]]"), server).startswith(
            "Here is a short answer"
        )


def test_an_error_event_mid_stream_is_a_server_error(host, server, fresh_clients):
    pieces: list[str] = []
    context = ActionContext("zhipu", "ask", on_partial=pieces.append)
    with pytest.raises(ServerError) as caught:
        host.run_action(
            "zhipu",
            "ask",
            ask_inputs("Hello [[fault:stream_error]]"),
            {"token": KEY, "baseUrl": server},
            context=context,
        )
    assert caught.value.code == "1234" and caught.value.status is None and len(pieces) == 2


def test_concurrent_calls_share_the_connection_pool(host, server, fresh_clients):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: run_ask(host, ask_inputs(f"question {n}"), server), range(32)))
    assert [f'"question {n}"' in result for n, result in enumerate(results)] == [True] * 32
    assert connections.cached_clients() == 1


# --- the token stays secret -----------------------------------------------------------------------

SECRET_KEY = "leakykeyid.leakyKeySecret0099"


def echoing_platform(request: httpx.Request) -> httpx.Response:
    """A platform that quotes the Authorization header back in every error, as careless proxies do."""
    header = request.headers["authorization"]
    token = header.removeprefix("Bearer ")
    if b'"stream":true' in request.content:
        event = {"error": {"code": "1234", "message": f"stream failed for {header}"}}
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=f"data: {json.dumps(event)}\n\n".encode()
        )
    if b"malformed" in request.content:
        return httpx.Response(200, content=f"<html>bad gateway for {token}</html>".encode())
    if b"verbose" in request.content:  # the token straddles the point where long messages are cut
        return httpx.Response(500, json={"error": {"message": "x" * 990 + f" {token}"}})
    return httpx.Response(401, json={"error": {"code": "1002", "message": f"Invalid token {token} (header {header})"}})


@pytest.mark.parametrize("authentication", ["API_KEY", "JWT"])
@pytest.mark.parametrize(
    ("content", "stream"), [("Hello", False), ("Hello", True), ("malformed please", False), ("verbose please", False)]
)
def test_the_token_appears_in_no_error_repr_or_log(host, caplog, authentication, content, stream):
    pieces: list[str] = []
    context = ActionContext("zhipu", "ask", on_partial=pieces.append if stream else None)
    connection = host.connection("zhipu", {"token": SECRET_KEY, "authentication": authentication})
    caplog.set_level(logging.DEBUG)
    with connections.configured(
        transport_factory=lambda kind: httpx.MockTransport(echoing_platform), client_options={"max_retries": 0}
    ):
        with pytest.raises(ActionFailedError) as caught:
            host.run_action("zhipu", "ask", ask_inputs(content), connection, context=context)
        with connections.sync_client(connection) as client:
            client_repr = repr(client)
    error = caught.value
    shown = "\n".join(
        [
            str(error),
            repr(error),
            json.dumps(error.to_dict()),
            repr(connection),
            str(connection),
            client_repr,
            caplog.text,
            *(record.getMessage() for record in caplog.records),
        ]
    )
    key_id, _, key_secret = SECRET_KEY.partition(".")
    assert SECRET_KEY not in shown and key_secret not in shown
    assert "eyJ" not in shown  # no JWT either
    if content == "Hello" and not stream:
        assert f"Invalid token {MASK}" in str(error)
