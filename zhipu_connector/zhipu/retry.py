"""When to send a failed call again, and how long to wait first.

Bounded (3 retries by default), exponential backoff `min(base·2^n, cap)` scaled by a jitter in
[0.75, 1.0] so that a batch of callers rejected together do not come back together. A server's
`Retry-After` (seconds or an HTTP date) replaces the computed wait, within `max_retry_after`.

What is retried is decided by the error's `retryable` flag (see `errors.py`): connection
failures, timeouts, 408, 409, 5xx and the 429s that mean "slow down" (1302, 1303, 1305, 1312,
or no known code). A 429 that means "no money" (1113), "locked" or "inactive" (1112, 1121,
1110, 1111, 1120), "daily quota spent" (1304) or a plan's limit (1308 usage cap, 1309 expired,
1310 weekly/monthly cap, 1311 model not in the plan, 1313 fair use), unsafe content (1301), an
unknown model (1211), a prompt too long (1261) and every other final 4xx are not: they cannot
succeed within a call, and retrying them would spend the account's concurrency for every
other call of a batch.

The policy does no I/O: it only computes delays. The sync and async clients sleep with the
`sleep` they were given, so tests run on a fake clock.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

from zhipu_connector.zhipu.errors import ClientConfigError, ZhipuError

DEFAULT_MAX_RETRIES = 3
DEFAULT_BASE_DELAY = 0.5
DEFAULT_MAX_DELAY = 8.0
DEFAULT_MAX_RETRY_AFTER = 60.0
_JITTER_SPAN = 0.25  # delays are scaled by a factor in [1 - span, 1.0]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to retry and how long to wait; `random` and `clock` are injectable.

    `random()` returns a float in [0, 1); `clock()` returns epoch seconds (used only to turn an
    HTTP-date `Retry-After` into a wait).
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    base_delay: float = DEFAULT_BASE_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int):
            raise ClientConfigError(f"max_retries must be an integer, got {self.max_retries!r}")
        if self.max_retries < 0:
            raise ClientConfigError(f"max_retries must be 0 or more, got {self.max_retries}")
        for name in ("base_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ClientConfigError(f"{name} must be a number of seconds ≥ 0, got {value!r}")

    def backoff(self, retry_number: int) -> float:
        """The jittered wait before retry number `retry_number` (0 for the first retry)."""
        ceiling = min(self.base_delay * (2**retry_number), self.max_delay)
        return ceiling * (1.0 - _JITTER_SPAN * self.random())

    def delay_before_retry(self, retries_done: int, error: ZhipuError) -> float | None:
        """Seconds to wait before sending again, or `None` when the call must fail with `error`.

        `retries_done` counts the retries already made for this call (0 after the first attempt).
        """
        if not error.retryable or retries_done >= self.max_retries:
            return None
        if error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after)
        return self.backoff(retries_done)

    def parse_retry_after(self, value: str | None) -> float | None:
        """A `Retry-After` header as seconds to wait (≥ 0), or `None` if absent or unreadable."""
        return parse_retry_after(value, self.clock)


def parse_retry_after(value: str | None, clock: Callable[[], float] = time.time) -> float | None:
    """`Retry-After: 7` or `Retry-After: Wed, 21 Oct 2015 07:28:00 GMT` as seconds from now."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:  # RFC 9110 dates are GMT; `-0000` parses naive, read it as such
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp() - clock()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN or infinite
        return None
    return max(seconds, 0.0)
