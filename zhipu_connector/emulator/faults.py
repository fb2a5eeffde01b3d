"""Injected faults: what each one does, how a request asks for one, how often it applies.

A fault is named by a spec `<fault>[;times=N][;seconds=S]`, given per request in the
`X-Emulator-Fault` header or as a `[[fault:<spec>]]` marker in the prompt (so a workflow or the
official SDK can ask without custom headers), or for every request by configuration.
`times=N` makes the fault apply to the first N attempts of one request (same `request_id`, or
the same body when none is sent): a client that retries the same request succeeds on attempt
N+1, one that changes the `request_id` on every retry never does.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from dataclasses import dataclass

from .errors import ApiError, bad_request


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An error a fault answers with instead of a completion."""

    status: int
    code: str
    message: str
    unwrapped: bool = False
    retry_after: bool = False


_CONCURRENCY = "High concurrency usage of this API, please reduce concurrency or contact support"

ERROR_FAULTS: dict[str, ErrorReply] = {
    "rate_limit": ErrorReply(429, "1302", _CONCURRENCY),
    "frequency_limit": ErrorReply(429, "1303", "High frequency usage of this API, please reduce frequency"),
    "overloaded": ErrorReply(429, "1305", "The service may be temporarily overloaded, please try again later"),
    "no_balance": ErrorReply(429, "1113", "Your account balance is exhausted, please recharge and retry"),
    "account_locked": ErrorReply(429, "1112", "Your account has been locked, please contact customer support"),
    "daily_quota": ErrorReply(429, "1304", "The daily call quota of this API has been reached"),
    "sensitive": ErrorReply(400, "1301", "The input or generated content may contain unsafe or sensitive content"),
    "server_error": ErrorReply(500, "500", "Internal server error"),
    "unavailable": ErrorReply(503, "503", "Service temporarily unavailable"),
    "retry_after": ErrorReply(429, "1302", _CONCURRENCY, retry_after=True),
    "unwrapped_error": ErrorReply(429, "1302", _CONCURRENCY, unwrapped=True),
}

FINISH_FAULTS: dict[str, str] = {
    "finish_sensitive": "sensitive",
    "finish_length": "length",
    "finish_network_error": "network_error",
}

SHAPE_FAULTS = frozenset({"slow", "drop", "malformed", "stream_error"})

# Faults of long-running work: tasks.py applies the first to video / async image tasks,
# batches.py the second to batches; chat and images refuse them when asked per request.
TASK_FAULTS = frozenset({"task_fail", "task_stuck", "task_lost"})
BATCH_FAULTS = frozenset({"batch_invalid", "batch_expired", "failed_lines"})

FAULTS: frozenset[str] = frozenset(ERROR_FAULTS) | frozenset(FINISH_FAULTS) | SHAPE_FAULTS | TASK_FAULTS | BATCH_FAULTS

DEFAULT_SECONDS: dict[str, float] = {"slow": 2.0, "retry_after": 1.0}
MAX_SECONDS = 600.0
MAX_TIMES = 1_000_000
_TIMES = re.compile(r"[0-9]{1,7}")  # ASCII digits only, and few: int() of 5000 digits raises

STREAM_ERROR_CODE = "1234"
STREAM_ERROR_MESSAGE = "Network error while generating the reply, please retry"

_MARKER = re.compile(r"\[\[fault:([^\]]*)\]\]")


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One parsed `<fault>[;times=N][;seconds=S]`."""

    name: str
    times: int | None = None
    seconds: float | None = None

    @property
    def delay(self) -> float:
        """The `seconds` asked for, else this fault's default (slow: 2, retry_after: 1)."""
        if self.seconds is not None:
            return self.seconds
        return DEFAULT_SECONDS.get(self.name, 0.0)

    def __str__(self) -> str:
        parts = [self.name]
        if self.times is not None:
            parts.append(f"times={self.times}")
        if self.seconds is not None:
            parts.append(f"seconds={self.seconds:g}")
        return ";".join(parts)


def parse_fault(text: str, *, source: str = "X-Emulator-Fault") -> FaultSpec:
    """Parse a fault spec; a mistake is a 400 / 1210 naming `source` and the rule broken."""
    name, *params = (part.strip() for part in text.split(";"))
    if name not in FAULTS:
        raise bad_request(f"{source}: unknown fault {_cut(name)}; known faults: {', '.join(sorted(FAULTS))}")
    times: int | None = None
    seconds: float | None = None
    for param in params:
        key, sep, value = (piece.strip() for piece in param.partition("="))
        if not sep:
            raise bad_request(f"{source}: parameter {_cut(param)} must look like key=value")
        if key == "times":
            if not _TIMES.fullmatch(value) or not 1 <= int(value) <= MAX_TIMES:
                raise bad_request(f"{source}: times must be an integer from 1 to {MAX_TIMES}, got {_cut(value)}")
            times = int(value)
        elif key == "seconds":
            try:
                seconds = float(value)
            except ValueError:
                seconds = -1.0
            if not 0.0 <= seconds <= MAX_SECONDS:
                raise bad_request(f"{source}: seconds must be a number in [0, {MAX_SECONDS:g}], got {_cut(value)}")
        else:
            raise bad_request(f"{source}: unknown parameter {_cut(key)}; use times=N or seconds=S")
    return FaultSpec(name, times, seconds)


def _cut(text: str) -> str:
    """`text` quoted for a message, at most 40 characters of it."""
    return repr(text) if len(text) <= 40 else repr(text[:40]) + "..."


def find_marker(text: str) -> str | None:
    """The spec inside the first `[[fault:...]]` marker of `text`, if any."""
    match = _MARKER.search(text)
    return match.group(1) if match else None


def strip_markers(text: str) -> str:
    """`text` without its fault markers, so replies echo only what the user meant."""
    return _MARKER.sub("", text) if "[[fault:" in text else text


def error_for(spec: FaultSpec, retry_after_seconds: float | None) -> ApiError:
    """The error an error fault answers with; 429s carry `Retry-After` when one is due."""
    reply = ERROR_FAULTS[spec.name]
    if reply.retry_after:
        wait: float | None = spec.seconds if spec.seconds is not None else retry_after_seconds
        if wait is None:
            wait = spec.delay
    else:
        wait = retry_after_seconds if reply.status == 429 else None
    headers = ((b"retry-after", _seconds_text(wait).encode()),) if wait is not None else ()
    return ApiError(reply.status, reply.code, reply.message, headers=headers, unwrapped=reply.unwrapped)


def _seconds_text(seconds: float) -> str:
    """Whole seconds as an integer (standard HTTP); a fraction as a decimal (fast tests)."""
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


class FaultPlanner:
    """Decides which fault, if any, applies to one request, and counts attempts for `times=N`.

    Precedence: the header, then a prompt marker, then the configured default (limited, when
    `first_requests` is set, to the first that many requests it is asked about — the app asks
    once per authenticated, valid request). Attempt counters live in a
    bounded LRU so a long benchmark cannot grow memory without limit.
    """

    def __init__(self, default: FaultSpec | None, first_requests: int | None, memory: int) -> None:
        self._default = default
        self._first_requests = first_requests
        self._memory = memory
        self._requests_seen = 0
        self._attempts: OrderedDict[tuple[str, str], int] = OrderedDict()

    def choose(self, header: str | None, text: str, request_key: str) -> FaultSpec | None:
        self._requests_seen += 1
        spec = self._requested(header, text)
        if spec is None or spec.times is None:
            return spec
        key = (request_key, str(spec))
        attempt = self._attempts.pop(key, 0) + 1
        self._attempts[key] = attempt
        if len(self._attempts) > self._memory:
            self._attempts.popitem(last=False)
        return spec if attempt <= spec.times else None

    def _requested(self, header: str | None, text: str) -> FaultSpec | None:
        if header:
            return parse_fault(header)
        marker = find_marker(text) if "[[fault:" in text else None
        if marker is not None:
            return parse_fault(marker, source="[[fault:...]] marker")
        if self._default is not None and (self._first_requests is None or self._requests_seen <= self._first_requests):
            return self._default
        return None


@functools.cache
def _dropped_connection_type() -> type[Exception]:
    # In process (httpx.ASGITransport) the exception reaches the client unchanged, so make it
    # the same class httpx raises when a real peer hangs up mid-body; httpx is imported only
    # when a drop is first asked for, which keeps importing the app cheap.
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a core dependency
        base: type[Exception] = ConnectionError
    else:
        base = httpx.RemoteProtocolError
    return type(
        "EmulatedConnectionDrop",
        (base,),
        {
            "__doc__": "The emulator hung up mid-body on purpose (the `drop` fault).",
            "__module__": __name__,
        },
    )


def connection_dropped() -> Exception:
    """The exception that ends a `drop` reply: a server closes the socket, httpx sees a
    `RemoteProtocolError` either way."""
    return _dropped_connection_type()(
        "peer closed connection without sending complete message body (emulated drop fault)"
    )


def is_connection_drop(exc: BaseException) -> bool:
    """True for the exception `connection_dropped()` raises (used to keep server logs quiet)."""
    return type(exc).__name__ == "EmulatedConnectionDrop" and type(exc).__module__ == __name__
