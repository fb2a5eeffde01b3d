"""Where the client sends requests and how long it waits: base URLs and timeouts.

A base URL is the API root (`.../api/paas/v4`); endpoint paths are appended to it. Users paste
all sorts of things into a "base URL" field, so the rules are forgiving where the intent is
clear (aliases, trailing slashes, a full endpoint URL pasted by mistake) and strict where it is
not (no scheme, a query string).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from zhipu_connector.zhipu.errors import ClientConfigError

MAINLAND_BASE_URL = "https://open.bigmodel.cn/api/paas/v4"
INTERNATIONAL_BASE_URL = "https://api.z.ai/api/paas/v4"
DEFAULT_BASE_URL = MAINLAND_BASE_URL

BASE_URL_ALIASES = {
    "mainland": MAINLAND_BASE_URL,
    "international": INTERNATIONAL_BASE_URL,
}

CHAT_COMPLETIONS_PATH = "/chat/completions"
IMAGE_GENERATIONS_PATH = "/images/generations"
_ENDPOINT_PATHS = (CHAT_COMPLETIONS_PATH, IMAGE_GENERATIONS_PATH)


def resolve_base_url(base_url: str | None) -> str:
    """The API root for `base_url`: `None` → mainland, an alias → its URL, a URL → normalised.

    Trailing slashes are removed, and a full endpoint URL (ending in `/chat/completions` or
    `/images/generations`) is cut back to its root rather than producing a 404 later.
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
    return display_url(text) if "://" in text else text


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
