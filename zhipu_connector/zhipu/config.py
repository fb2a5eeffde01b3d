"""Where the client sends requests, how long it waits and how much it reads: base URLs, timeouts,
deadlines and the answer size cap.

A base URL is the API root (`.../api/paas/v4`); the paths of `routes.ROUTES` are appended to it. Users paste
all sorts of things into a "base URL" field, so the rules are forgiving where the intent is
clear (aliases, trailing slashes, a full endpoint URL pasted by mistake) and strict where it is
not (no scheme, a query string).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from zhipu_connector.host.secrets import without_userinfo
from zhipu_connector.zhipu.errors import ClientConfigError
from zhipu_connector.zhipu.routes import endpoint_paths

MAINLAND_BASE_URL = "https://open.bigmodel.cn/api/paas/v4"
INTERNATIONAL_BASE_URL = "https://api.z.ai/api/paas/v4"
DEFAULT_BASE_URL = MAINLAND_BASE_URL

BASE_URL_ALIASES = {
    "mainland": MAINLAND_BASE_URL,
    "international": INTERNATIONAL_BASE_URL,
}

_ENDPOINT_PATHS = endpoint_paths()


def resolve_base_url(base_url: str | None) -> str:
    """The API root for `base_url`: `None` → mainland, an alias → its URL, a URL → normalised.

    Trailing slashes are removed, and a full endpoint URL (ending in the path of a route of
    `routes.ROUTES`, such as `/chat/completions`) is cut back to its root rather than producing
    a 404 later.
    """
    if base_url is None:
        return DEFAULT_BASE_URL
    if not isinstance(base_url, str):
        raise ClientConfigError(f"base_url must be a string, got {type(base_url).__name__}")
    text = base_url.strip()
    if not text:
        return DEFAULT_BASE_URL
    alias = BASE_URL_ALIASES.get(text.lower())
    if alias is not None:
        return alias
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ClientConfigError(
            "base_url must be 'mainland', 'international' or an http(s) URL such as "
            f"{MAINLAND_BASE_URL!r}; got {_shown(text)!r}"
        )
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        raise ClientConfigError(
            "base_url has a port that is not a number (was a key or password pasted into it?); "
            "the URL is not shown, in case it holds one"
        ) from None
    if "@" in parts.netloc:
        raise ClientConfigError(
            "base_url must not contain user:password@ (the API authenticates with the token, and the "
            f"credentials would be sent to the server); got {_shown(text)!r}"
        )
    if parts.query or parts.fragment:
        raise ClientConfigError(f"base_url must not have a query string or fragment; got {_shown(text)!r}")
    url = text.rstrip("/")
    for endpoint in _ENDPOINT_PATHS:
        if url.endswith(endpoint):
            url = url[: -len(endpoint)].rstrip("/")
            break
    if not urlsplit(url).netloc:
        raise ClientConfigError(f"base_url has no host; got {_shown(text)!r}")
    return url


def display_url(url: str) -> str:
    """`url` with any password in it masked, for reprs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def _shown(text: str) -> str:
    """`text` for a message: a URL without any `user:password@`."""
    return without_userinfo(text)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait for each phase of a request; `None` waits without limit.

    `read` is the longest silence allowed between bytes of the answer, not a total: a long
    generation that streams, or a slow non-streamed one, gets the full `read` before it is cut.
    Defaults follow the official SDK's 8 s connect and 300 s for the rest.
    """

    connect: float | None = 8.0
    read: float | None = 300.0
    write: float | None = 60.0
    pool: float | None = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "write", "pool"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ClientConfigError(f"timeout {name} must be a positive number of seconds or None, got {value!r}")

    def to_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


def resolve_timeouts(timeout: Timeouts | httpx.Timeout | float | None) -> Timeouts:
    """`None` → defaults; a number → the read (and write and pool) timeout, connect kept at 8 s."""
    if timeout is None:
        return Timeouts()
    if isinstance(timeout, Timeouts):
        return timeout
    if isinstance(timeout, httpx.Timeout):
        return Timeouts(connect=timeout.connect, read=timeout.read, write=timeout.write, pool=timeout.pool)
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        return Timeouts(read=timeout, write=timeout, pool=timeout)
    raise ClientConfigError(
        f"timeout must be a number of seconds, a Timeouts or an httpx.Timeout; got {type(timeout).__name__}"
    )


#: The most a 2xx answer may hold once decoded (gzip included): far above any real answer (a chat
#: reply at the largest output cap is well under 1 MiB), far below what hurts a process.
DEFAULT_MAX_ANSWER_BYTES = 32 * 1024 * 1024
#: How much of an error answer is read: enough for any error object and a quote of anything else.
ERROR_BODY_BYTES = 64 * 1024
DEFAULT_ATTEMPT_SECONDS = 1200.0
DEFAULT_CALL_SECONDS = 1800.0
DEFAULT_STREAM_IDLE_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Totals, in seconds, that no answer can stretch, however slowly its bytes arrive; `None`: no limit.

    `attempt` bounds one exchange, from sending to the last byte of the answer; `call` bounds the
    whole call, retries and the waits between them included (no retry starts that could not
    finish in time). `stream_idle` is the longest a stream may go without an event: unlike the
    read timeout, keep-alive comments (`: ping`) do not reset it. A read timeout alone cannot
    bound a call: a server dripping one byte per second never lets it fire.
    """

    attempt: float | None = DEFAULT_ATTEMPT_SECONDS
    call: float | None = DEFAULT_CALL_SECONDS
    stream_idle: float | None = DEFAULT_STREAM_IDLE_SECONDS

    def __post_init__(self) -> None:
        for name in ("attempt", "call", "stream_idle"):
            _check_seconds(f"deadline {name}", getattr(self, name))


def resolve_deadlines(deadline: Deadlines | float | None) -> Deadlines:
    """`None` → defaults; a number → the per-call deadline (and at most that per attempt)."""
    if deadline is None:
        return Deadlines()
    if isinstance(deadline, Deadlines):
        return deadline
    if isinstance(deadline, (int, float)) and not isinstance(deadline, bool):
        _check_seconds("deadline", deadline)
        return Deadlines(attempt=min(DEFAULT_ATTEMPT_SECONDS, deadline), call=deadline)
    raise ClientConfigError(f"deadline must be a number of seconds or a Deadlines; got {type(deadline).__name__}")


def resolve_max_answer_bytes(value: int | None) -> int:
    """`None` → the default cap; otherwise a positive whole number of bytes."""
    if value is None:
        return DEFAULT_MAX_ANSWER_BYTES
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClientConfigError(f"max_answer_bytes must be a positive whole number of bytes, got {value!r}")
    return value


def _check_seconds(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
        raise ClientConfigError(f"{name} must be a positive, finite number of seconds or None, got {value!r}")
