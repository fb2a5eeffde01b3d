"""The retry policy on its own: bounded backoff with jitter, Retry-After, and what is final."""

from __future__ import annotations

import pytest

from zhipu_connector.zhipu.errors import (
    ClientConfigError,
    QuotaExceededError,
    RateLimitError,
    ServerError,
    ZhipuConnectionError,
    error_from_response,
)
from zhipu_connector.zhipu.retry import RetryPolicy, parse_retry_after

NOW = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT


def test_backoff_doubles_up_to_the_cap_without_jitter() -> None:
    policy = RetryPolicy(random=lambda: 0.0)
    assert [policy.backoff(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_jitter_scales_delays_down_by_at_most_a_quarter() -> None:
    assert RetryPolicy(random=lambda: 0.5).backoff(1) == pytest.approx(0.875)
    nearly_one = 0.999999
    assert RetryPolicy(random=lambda: nearly_one).backoff(3) == pytest.approx(4.0 * 0.75, rel=1e-5)


def test_delay_is_none_once_retries_are_spent() -> None:
    policy = RetryPolicy(max_retries=2, random=lambda: 0.0)
    error = ServerError("boom", status=503)
    assert [policy.delay_before_retry(n, error) for n in range(3)] == [0.5, 1.0, None]


def test_final_errors_are_never_retried() -> None:
    policy = RetryPolicy(random=lambda: 0.0)
    for code in ("1113", "1112", "1304", "1301", "1211", "1261", "1231"):
        error = error_from_response(429 if code.startswith("11") else 400, f'{{"code":"{code}"}}'.encode(), None)
        assert policy.delay_before_retry(0, error) is None, code
    assert policy.delay_before_retry(0, ZhipuConnectionError("x", retryable=False)) is None


def test_retry_after_replaces_the_backoff_within_its_cap() -> None:
    policy = RetryPolicy(random=lambda: 0.0, max_retry_after=30.0)
    error = RateLimitError("slow down", status=429, code="1302")
    error.retry_after = 4.0
    assert policy.delay_before_retry(0, error) == 4.0
    error.retry_after = 0.0
    assert policy.delay_before_retry(2, error) == 0.0
    error.retry_after = 3600.0
    assert policy.delay_before_retry(0, error) == 30.0


def test_retry_after_does_not_make_a_final_error_retryable() -> None:
    error = QuotaExceededError("no balance", status=429, code="1113")
    error.retry_after = 1.0
    assert RetryPolicy().delay_before_retry(0, error) is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past: go now
        ("Wed, 21 Oct 2015 07:28:10 -0000", 10.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, lambda: NOW) == seconds
    assert RetryPolicy(clock=lambda: NOW).parse_retry_after(header) == seconds


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_retries", -1, "max_retries must be 0 or more"),
        ("max_retries", "3", "max_retries must be an integer"),
        ("max_retries", True, "max_retries must be an integer"),
        ("base_delay", -0.1, "base_delay must be a number of seconds"),
        ("max_delay", "8", "max_delay must be a number of seconds"),
        ("max_retry_after", -1, "max_retry_after must be a number of seconds"),
    ],
)
def test_bad_settings_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ClientConfigError, match=message):
        RetryPolicy(**{field: value})  # type: ignore[arg-type]


def test_zero_retries_means_one_attempt() -> None:
    assert RetryPolicy(max_retries=0).delay_before_retry(0, ServerError("x")) is None
