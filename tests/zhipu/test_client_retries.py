"""Retries through the sync client, on a fake clock: what is retried, how often, how long apart."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from zhipu_connector.zhipu.client import ZhipuClient
from zhipu_connector.zhipu.errors import (
    AuthenticationError,
    ConflictError,
    ContentFilteredError,
    InvalidRequestError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    ZhipuConnectionError,
    ZhipuError,
    ZhipuTimeoutError,
)

KEY = "retrykeyid.retryKeySecret55"
COMPLETION = {"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]}
BODY = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "hi"}]}
NO_JITTER_DELAYS = [0.5, 1.0, 2.0]


class Script:
    """Answers requests from a list, in order: `httpx.Response`s, or exceptions to raise."""

    def __init__(self, *steps: httpx.Response | Exception | type[Exception]) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, type):
            raise step(f"simulated {step.__name__}", request=request)
        if isinstance(step, Exception):
            raise step
        return step


def error_response(status: int, code: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": f"simulated {status}/{code}"}} if code else {}
    return httpx.Response(status, json=body, headers=headers)


def ok() -> httpx.Response:
    return httpx.Response(200, json=COMPLETION)


def make_client(script: Script, **kwargs: Any) -> tuple[ZhipuClient, list[float]]:
    sleeps: list[float] = []
    client = ZhipuClient(
        KEY,
        transport=httpx.MockTransport(script),
        sleep=sleeps.append,
        random=lambda: 0.0,
        **kwargs,
    )
    return client, sleeps


RETRIED = [
    (500, None, ServerError),
    (502, None, ServerError),
    (503, None, ServerError),
    (504, None, ServerError),
    (408, None, ZhipuTimeoutError),
    (409, None, ConflictError),
    (429, "1302", RateLimitError),
    (429, "1303", RateLimitError),
    (429, "1305", RateLimitError),
    (429, None, RateLimitError),
    (429, "9999", RateLimitError),
]


@pytest.mark.parametrize(("status", "code", "error_class"), RETRIED)
def test_retryable_failures_are_tried_four_times_with_backoff(status, code, error_class) -> None:
    script = Script(error_response(status, code))
    client, sleeps = make_client(script)
    with pytest.raises(error_class) as caught:
        client.chat(BODY)
    assert len(script.requests) == 4
    assert sleeps == NO_JITTER_DELAYS
    assert caught.value.attempts == 4
    assert caught.value.status == status and caught.value.code == code


NEVER_RETRIED = [
    (429, "1113", QuotaExceededError),
    (429, "1112", QuotaExceededError),
    (429, "1304", QuotaExceededError),
    (400, "1301", ContentFilteredError),
    (400, "1211", InvalidRequestError),
    (400, "1261", InvalidRequestError),
    (400, "1231", InvalidRequestError),
    (400, "1214", InvalidRequestError),
    (400, None, InvalidRequestError),
    (401, "1002", AuthenticationError),
    (403, None, PermissionDeniedError),
    (404, None, InvalidRequestError),
    (434, None, PermissionDeniedError),
    (435, None, InvalidRequestError),
]


@pytest.mark.parametrize(("status", "code", "error_class"), NEVER_RETRIED)
def test_final_failures_are_attempted_exactly_once(status, code, error_class) -> None:
    script = Script(error_response(status, code), ok())
    client, sleeps = make_client(script)
    with pytest.raises(error_class) as caught:
        client.chat(BODY)
    assert len(script.requests) == 1 and sleeps == []
    assert caught.value.attempts == 1


def test_a_call_that_recovers_returns_the_answer() -> None:
    script = Script(error_response(503), error_response(429, "1302"), ok())
    client, sleeps = make_client(script)
    assert client.chat(BODY) == COMPLETION
    assert len(script.requests) == 3 and sleeps == [0.5, 1.0]


def test_every_attempt_sends_the_same_request_id_and_bytes() -> None:
    script = Script(error_response(500), httpx.ConnectError, error_response(429, "1305"), ok())
    client, _ = make_client(script)
    client.chat(BODY)
    bodies = {r.content for r in script.requests}
    assert len(script.requests) == 4 and len(bodies) == 1
    assert json.loads(bodies.pop())["request_id"]


def test_the_callers_request_id_survives_retries() -> None:
    script = Script(error_response(502), ok())
    client, _ = make_client(script)
    client.chat({**BODY, "request_id": "caller-chosen-id"})
    assert [json.loads(r.content)["request_id"] for r in script.requests] == ["caller-chosen-id"] * 2


def test_retry_after_seconds_is_honoured() -> None:
    script = Script(
        error_response(429, "1302", {"Retry-After": "3"}), error_response(503, None, {"Retry-After": "0"}), ok()
    )
    client, sleeps = make_client(script)
    client.chat(BODY)
    assert sleeps == [3.0, 0.0]


def test_retry_after_as_an_http_date_is_honoured() -> None:
    now = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    script = Script(error_response(503, None, {"Retry-After": "Wed, 21 Oct 2015 07:28:05 GMT"}), ok())
    client, sleeps = make_client(script, clock=lambda: now)
    client.chat(BODY)
    assert sleeps == [5.0]


def test_retry_after_is_capped() -> None:
    script = Script(error_response(429, "1303", {"Retry-After": "3600"}), ok())
    client, sleeps = make_client(script)
    client.chat(BODY)
    assert sleeps == [60.0]


def test_an_unreadable_retry_after_falls_back_to_backoff() -> None:
    script = Script(error_response(503, None, {"Retry-After": "later"}), ok())
    client, sleeps = make_client(script)
    client.chat(BODY)
    assert sleeps == [0.5]


def test_jitter_comes_from_the_injected_random_source() -> None:
    script = Script(error_response(500))
    sleeps: list[float] = []
    client = ZhipuClient(KEY, transport=httpx.MockTransport(script), sleep=sleeps.append, random=lambda: 0.5)
    with pytest.raises(ServerError):
        client.chat(BODY)
    assert sleeps == [0.5 * 0.875, 1.0 * 0.875, 2.0 * 0.875]


@pytest.mark.parametrize("max_retries", [0, 1, 5])
def test_max_retries_bounds_the_attempts(max_retries: int) -> None:
    script = Script(error_response(503))
    client, sleeps = make_client(script, max_retries=max_retries)
    with pytest.raises(ServerError):
        client.chat(BODY)
    assert len(script.requests) == max_retries + 1
    assert sleeps == [min(0.5 * 2**n, 8.0) for n in range(max_retries)]


@pytest.mark.parametrize(
    ("exception", "error_class", "message"),
    [
        (httpx.ConnectTimeout, ZhipuTimeoutError, "could not connect to open.bigmodel.cn within 8 s"),
        (httpx.ReadTimeout, ZhipuTimeoutError, "open.bigmodel.cn sent nothing for 300 s"),
        (httpx.WriteTimeout, ZhipuTimeoutError, "could not send the request to open.bigmodel.cn within 60 s"),
        (httpx.PoolTimeout, ZhipuTimeoutError, "no free connection to open.bigmodel.cn within 60 s"),
        (httpx.ConnectError, ZhipuConnectionError, "could not connect to open.bigmodel.cn: simulated ConnectError"),
        (httpx.ReadError, ZhipuConnectionError, "the connection to open.bigmodel.cn failed"),
        (httpx.RemoteProtocolError, ZhipuConnectionError, "the connection to open.bigmodel.cn failed"),
    ],
)
def test_transport_failures_are_mapped_and_retried(exception, error_class, message) -> None:
    script = Script(exception)
    client, sleeps = make_client(script)
    with pytest.raises(error_class, match=message) as caught:
        client.chat({**BODY, "request_id": "transport-fail-1"})
    assert len(script.requests) == 4 and sleeps == NO_JITTER_DELAYS
    assert caught.value.request_id == "transport-fail-1" and caught.value.status is None
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_a_timeout_then_success_returns_the_answer() -> None:
    script = Script(httpx.ConnectTimeout, httpx.ReadTimeout, ok())
    client, sleeps = make_client(script)
    assert client.chat(BODY) == COMPLETION
    assert sleeps == [0.5, 1.0]


def test_an_unsupported_scheme_is_not_retried() -> None:
    script = Script(httpx.UnsupportedProtocol)
    client, sleeps = make_client(script)
    with pytest.raises(ZhipuConnectionError, match="scheme is not supported"):
        client.chat(BODY)
    assert len(script.requests) == 1 and sleeps == []


def test_a_duplicate_request_id_after_our_own_retry_is_explained() -> None:
    script = Script(httpx.ReadTimeout, error_response(400, "1231"))
    client, _ = make_client(script)
    with pytest.raises(InvalidRequestError, match="earlier attempt of this call") as caught:
        client.chat(BODY)
    assert caught.value.code == "1231" and caught.value.attempts == 2


def test_a_duplicate_request_id_on_the_first_attempt_is_the_callers() -> None:
    client, _ = make_client(Script(error_response(400, "1231")))
    with pytest.raises(InvalidRequestError) as caught:
        client.chat(BODY)
    assert "earlier attempt" not in str(caught.value)


def test_retries_are_logged_without_the_key(caplog: pytest.LogCaptureFixture) -> None:
    script = Script(error_response(503), ok())
    client, _ = make_client(script)
    with caplog.at_level("INFO", logger="zhipu_connector.zhipu.client"):
        client.chat(BODY)
    assert len(caplog.records) == 1
    assert "retry 1 of 3 in 0.50 s" in caplog.text and "HTTP 503" in caplog.text
    assert KEY not in caplog.text


def test_a_last_error_is_a_zhipu_error_with_everything_a_user_needs() -> None:
    client, _ = make_client(Script(error_response(429, "1113")))
    with pytest.raises(ZhipuError) as caught:
        client.chat({**BODY, "request_id": "for-support-1"})
    assert str(caught.value) == (
        "simulated 429/1113; or the key belongs to the other platform (open.bigmodel.cn or api.z.ai), "
        "or is a GLM Coding Plan key (HTTP 429, code 1113, request id for-support-1)"
    )
