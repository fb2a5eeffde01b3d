"""Classification of Zhipu failures: business code first, HTTP status second, any body shape."""

from __future__ import annotations

import json

import pytest

from zhipu_connector.host.errors import ActionFailedError
from zhipu_connector.host.secrets import MASK, register_secret
from zhipu_connector.zhipu.errors import (
    AuthenticationError,
    ConflictError,
    ContentFilteredError,
    InvalidRequestError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    ZhipuError,
    ZhipuTimeoutError,
    content_filtered,
    error_from_payload,
    error_from_response,
)


def wrapped(code: str | int, message: str = "server says no") -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def unwrapped(code: str | int, message: str = "server says no") -> bytes:
    return json.dumps({"code": code, "message": message}).encode()


CODE_CASES = [
    # (status, code, class, retryable)
    *[(401, code, AuthenticationError, False) for code in ("1000", "1001", "1002", "1003", "1004")],
    (403, "1220", PermissionDeniedError, False),
    (429, "1302", RateLimitError, True),
    (429, "1303", RateLimitError, True),
    (429, "1305", RateLimitError, True),
    (429, "1113", QuotaExceededError, False),
    (429, "1112", QuotaExceededError, False),
    (429, "1304", QuotaExceededError, False),
    *[(400, code, InvalidRequestError, False) for code in ("1210", "1212", "1213", "1214", "1215")],
    (400, "1211", InvalidRequestError, False),
    (400, "1261", InvalidRequestError, False),
    (400, "1231", InvalidRequestError, False),
    (400, "1301", ContentFilteredError, False),
    (404, "1221", InvalidRequestError, False),
    (404, "1222", InvalidRequestError, False),
]


OTHER_KEY = "or the key belongs to the other platform (open.bigmodel.cn or api.z.ai), or is a GLM Coding Plan key"


@pytest.mark.parametrize("shape", [wrapped, unwrapped], ids=["wrapped", "unwrapped"])
@pytest.mark.parametrize(("status", "code", "error_class", "retryable"), CODE_CASES)
def test_business_code_decides_the_class(shape, status, code, error_class, retryable) -> None:
    error = error_from_response(status, shape(code), "req-123456")
    assert type(error) is error_class
    assert error.retryable is retryable
    assert (error.status, error.code, error.request_id) == (status, code, "req-123456")
    # a 1113 also says why a working account may get it: a key of the other platform or plan
    assert error.message == "server says no" + (f"; {OTHER_KEY}" if code == "1113" else "")
    assert isinstance(error, ZhipuError) and isinstance(error, ActionFailedError)


@pytest.mark.parametrize("shape", [wrapped, unwrapped], ids=["wrapped", "unwrapped"])
def test_integer_codes_are_read_as_strings(shape) -> None:
    error = error_from_response(429, shape(1113), "req-123456")
    assert type(error) is QuotaExceededError and error.code == "1113"


@pytest.mark.parametrize(
    ("status", "error_class", "retryable"),
    [
        (400, InvalidRequestError, False),
        (401, AuthenticationError, False),
        (403, PermissionDeniedError, False),
        (404, InvalidRequestError, False),
        (408, ZhipuTimeoutError, True),
        (409, ConflictError, True),
        (413, InvalidRequestError, False),
        (422, InvalidRequestError, False),
        (429, RateLimitError, True),
        (434, PermissionDeniedError, False),
        (435, InvalidRequestError, False),
        (500, ServerError, True),
        (502, ServerError, True),
        (503, ServerError, True),
        (504, ServerError, True),
        (302, ZhipuError, False),
    ],
)
def test_status_decides_when_the_code_is_unknown_or_absent(status, error_class, retryable) -> None:
    for body in (wrapped("9999"), unwrapped("9999"), b'{"error": {"message": "no code"}}', b""):
        error = error_from_response(status, body, None)
        assert type(error) is error_class, body
        assert error.retryable is retryable
        assert error.status == status


def test_a_known_code_beats_a_misleading_status() -> None:
    # 1113 under a 500, or 1302 under a 400: the code is what the platform means.
    assert type(error_from_response(500, wrapped("1113"), None)) is QuotaExceededError
    assert type(error_from_response(400, wrapped("1302"), None)) is RateLimitError


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>502 Bad Gateway</body></html>",
        b'{"error": {"code": "11',  # truncated
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'"just a string"',
        b"null",
        b"{" * 100_000,  # nested beyond the parser's recursion limit
    ],
)
def test_garbage_bodies_are_classified_by_status(body: bytes) -> None:
    error = error_from_response(502, body, "req-abcdef")
    assert type(error) is ServerError and error.retryable
    assert error.code is None and error.request_id == "req-abcdef"
    assert "502 Bad Gateway" in error.message
    assert len(error.message) < 400


def test_a_garbage_body_is_quoted_briefly_in_the_message() -> None:
    error = error_from_response(503, b"upstream connect error " + b"x" * 5000, None)
    assert "upstream connect error" in error.message
    assert error.message.endswith("…'")


def test_an_error_given_as_a_plain_string_is_understood() -> None:
    error = error_from_response(400, b'{"error": "model not found"}', None)
    assert type(error) is InvalidRequestError and error.message == "model not found"


def test_msg_is_accepted_for_message() -> None:
    error = error_from_response(429, b'{"code": 1305, "msg": "busy"}', None)
    assert type(error) is RateLimitError and error.message == "busy"


def test_a_missing_message_is_replaced_by_the_code_meaning_or_the_status() -> None:
    assert error_from_response(429, b'{"error": {"code": "1113"}}', None).message == (
        f"the account balance is exhausted; {OTHER_KEY}"
    )
    assert error_from_response(503, b"", None).message == ("the Zhipu API answered 503 Service Unavailable")


def test_overlong_messages_are_cut() -> None:
    error = error_from_response(400, wrapped("1210", "y" * 10_000), None)
    assert len(error.message) == 1001 and error.message.endswith("…")


def test_str_names_status_code_and_request_id() -> None:
    error = error_from_response(429, wrapped("1113", "balance is 0"), "req-777777")
    assert str(error) == f"balance is 0; {OTHER_KEY} (HTTP 429, code 1113, request id req-777777)"
    assert error.to_dict() == {
        "type": "QuotaExceededError",
        "message": str(error),
        "status": 429,
        "code": "1113",
        "requestId": "req-777777",
        "retryable": False,
    }


def test_an_echoed_key_is_masked_in_every_message() -> None:
    key = "echoid123.echoSECRETvalue987"
    register_secret(key)
    for body in (
        wrapped("1002", f"invalid api key {key}"),
        unwrapped("1002", f"invalid api key {key}"),
        f"<html>bad key {key}</html>".encode(),
    ):
        error = error_from_response(401, body, None)
        assert key not in str(error) and key not in repr(error)
        assert MASK in error.message
    assert key not in str(ZhipuError(f"built by hand with {key}"))


def test_error_from_payload_without_status_is_a_server_error_unless_the_code_says_more() -> None:
    assert type(error_from_payload({"error": {"code": "1301"}}, status=None, request_id=None)) is (ContentFilteredError)
    unknown = error_from_payload({"error": {"message": "boom"}}, status=None, request_id="r-123456")
    assert type(unknown) is ServerError and unknown.message == "boom"


def test_content_filtered_names_the_finish_reason() -> None:
    error = content_filtered("req-999999", status=200)
    assert type(error) is ContentFilteredError and not error.retryable
    assert "sensitive" in error.message and error.request_id == "req-999999"


def test_retryable_can_be_overridden_per_instance() -> None:
    assert ServerError("x", retryable=False).retryable is False
    assert ServerError("x").retryable is True
