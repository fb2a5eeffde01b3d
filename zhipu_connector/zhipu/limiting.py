"""The Zhipu client's limit on requests in flight: a transport that holds a permit per attempt.

The platform bounds the requests in flight per account, without saying where: one too many is
answered 429 with code 1302 ("high concurrency"), or 1305 when the platform is overloaded. This
transport wraps the client's own and gives each attempt a permit from the connection's limiter
(`zhipu_connector.limits`): the limit grows while calls succeed and steps down on each such
refusal, so it settles at the account's limit and follows it when it changes.

A request refused while others were in flight is not returned: its permit goes back, the limit
steps down, and the same request waits for a permit again (at most `MAX_REQUEUES` times; then,
or when it was alone in flight — its refusal is then no sign of this limit being too high — the
429 goes to the client, whose retry policy decides as before). So a batch loses no row to its
own concurrency. A permit is held until the response body is closed: a streamed answer occupies
the account as long as it streams.

The connection's advanced property `limiter` chooses (empty: `auto`):
- `auto` — an adaptive limit in this process, shared by every client of the connection;
- `off` — no limit of the connector's own (the caller's concurrency alone, as before);
- `redis://…` (or `rediss://`, `unix://`) — one limit shared through Redis by every process that
  names it (`limits/redis_leases.py` for the URL's options: `limit=N` makes it fixed, `lease=S`).
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Literal

import anyio
import httpx

from zhipu_connector.host.connection import Connection
from zhipu_connector.limits import (
    LimitConfigError,
    Limiter,
    LocalLimiter,
    Outcome,
    Permit,
    RedisLeaseLimiter,
    SharedLimitSettings,
)
from zhipu_connector.zhipu.errors import ClientConfigError, error_from_response
from zhipu_connector.zhipu.exchange import QUEUED_SECONDS
from zhipu_connector.zhipu.transport import AsyncSpreadTransport

logger = logging.getLogger("zhipu_connector.zhipu.limiting")

LIMITER_PROPERTY = "limiter"
SATURATION_CODES = frozenset({"1302", "1305"})
"""429 codes that mean "too many in flight" or "overloaded": the limit must come down."""
MAX_REQUEUES = 100
MAX_PAUSE = 1.0
MAX_LOCAL_LIMITERS = 32

_local_lock = threading.Lock()
_local_limiters: OrderedDict[Connection, LocalLimiter] = OrderedDict()


# --- choosing a limiter -------------------------------------------------------------------------


def limiter_spec(connection: Connection | Mapping[str, Any]) -> str:
    value = connection.get(LIMITER_PROPERTY)
    if value is None:
        return "auto"
    if hasattr(value, "reveal"):  # declared secret: a Redis URL may hold a password
        value = value.reveal()
    if not isinstance(value, str):
        raise ClientConfigError(f"{LIMITER_PROPERTY} must be text (auto, off or a redis:// URL), not {value!r}")
    return value.strip() or "auto"


def shared_name(connection: Connection | Mapping[str, Any]) -> str:
    """The Redis key of a connection's shared limit: a digest of its base URL and key, not the key."""
    token = connection.get("token")
    secret = token.reveal() if token is not None and hasattr(token, "reveal") else str(token or "")
    material = f"{connection.get('baseUrl') or ''}\n{secret}".encode()
    return hashlib.sha256(material).hexdigest()[:16]


def limiter_for(connection: Connection, kind: Literal["sync", "async"]) -> Limiter | None:
    """The limiter a new client of `kind` for `connection` should use (`None`: no limit).

    `auto`: the process's one `LocalLimiter` for this connection. A Redis URL: a new
    `RedisLeaseLimiter` for this client (its Redis client belongs to the client's event loop).
    """
    spec = limiter_spec(connection)
    if spec == "off":
        return None
    if spec == "auto":
        with _local_lock:
            limiter = _local_limiters.get(connection)
            if limiter is None:
                limiter = _local_limiters[connection] = LocalLimiter()
                while len(_local_limiters) > MAX_LOCAL_LIMITERS:
                    _local_limiters.popitem(last=False)
            else:
                _local_limiters.move_to_end(connection)
            return limiter
    try:
        settings = SharedLimitSettings.from_url(spec, default_name=shared_name(connection))
    except LimitConfigError as error:
        raise ClientConfigError(f"{LIMITER_PROPERTY}: {error}; use auto, off or a redis:// URL") from None
    return RedisLeaseLimiter(settings)


def with_limiter(connection: Connection, kind: Literal["sync", "async"], arguments: dict[str, Any]) -> dict[str, Any]:
    """A client's constructor `arguments`, its transport wrapped in the connection's limiter."""
    limiter = limiter_for(connection, kind)
    if limiter is None:
        return arguments
    inner = arguments.get("transport")
    limits = arguments.get("limits") or _default_limits()
    if kind == "async":
        arguments["transport"] = AsyncLimitingTransport(inner or AsyncSpreadTransport(limits), limiter)
    else:
        arguments["transport"] = LimitingTransport(inner or httpx.HTTPTransport(limits=limits), limiter)
    return arguments


def _default_limits() -> httpx.Limits:
    from zhipu_connector.zhipu.client import DEFAULT_LIMITS

    return DEFAULT_LIMITS


# --- what an answer says about the limit -----------------------------------------------------


def saturation_refusal(status: int, body: bytes) -> bool:
    """A 429 whose code says the account has too many requests in flight, or the platform is overloaded."""
    return status == 429 and error_from_response(status, body, None).code in SATURATION_CODES


def outcome_of(status: int) -> Outcome:
    """A 2xx shows the level is fine; any other answer shows nothing either way."""
    return Outcome.SUCCEEDED if 200 <= status < 300 else Outcome.NEUTRAL


def pause_before_requeue(refusals: int, response: httpx.Response) -> float:
    """A short jittered pause before a refused request queues again; the server's Retry-After wins."""
    retry_after = response.headers.get("retry-after")
    if retry_after is not None:
        try:
            return min(max(float(retry_after), 0.0), 60.0)
        except ValueError:
            pass
    return min(MAX_PAUSE, 0.005 * 2 ** min(refusals, 10)) * random.random()


# --- the transports -----------------------------------------------------------------------


class AsyncLimitingTransport(httpx.AsyncBaseTransport):
    """`inner`, with at most `limiter.current` attempts in flight; see the module docstring."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limiter: Limiter) -> None:
        self.inner = inner
        self.limiter = limiter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        refusals = 0
        queued = 0.0
        while True:
            permit = self.limiter.try_acquire()
            if permit is None:
                waiting_since = time.monotonic()
                permit = await self.limiter.acquire()
                queued += time.monotonic() - waiting_since
            try:
                response = await self.inner.handle_async_request(request)
                status = response.status_code
                if status == 429:
                    await response.aread()
            except BaseException:
                await _arelease(self.limiter, permit, Outcome.NEUTRAL)
                raise
            if status == 429 and saturation_refusal(status, response.content):
                await _arelease(self.limiter, permit, Outcome.OVERLOADED)
                if permit.alone or refusals >= MAX_REQUEUES:
                    return _queued_for(response, queued)
                refusals += 1
                pause = pause_before_requeue(refusals, response)
                await anyio.sleep(pause)
                queued += pause
                continue
            if status == 429:
                await _arelease(self.limiter, permit, Outcome.NEUTRAL)
                return _queued_for(response, queued)
            if response.is_closed:  # read whole already (an in-process transport): nothing more to wait for
                await _arelease(self.limiter, permit, outcome_of(status))
            else:
                response.stream = _AsyncPermitBody(response.stream, self.limiter, permit, outcome_of(status))  # type: ignore[arg-type]
            return _queued_for(response, queued)

    async def aclose(self) -> None:
        await self.inner.aclose()
        if isinstance(self.limiter, RedisLeaseLimiter):
            await self.limiter.aclose()


class LimitingTransport(httpx.BaseTransport):
    """The synchronous twin of `AsyncLimitingTransport`, for threads."""

    def __init__(self, inner: httpx.BaseTransport, limiter: Limiter) -> None:
        self.inner = inner
        self.limiter = limiter

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        refusals = 0
        queued = 0.0
        while True:
            permit = self.limiter.try_acquire()
            if permit is None:
                waiting_since = time.monotonic()
                permit = self.limiter.acquire_blocking()
                queued += time.monotonic() - waiting_since
            try:
                response = self.inner.handle_request(request)
                status = response.status_code
                if status == 429:
                    response.read()
            except BaseException:
                _release(self.limiter, permit, Outcome.NEUTRAL)
                raise
            if status == 429 and saturation_refusal(status, response.content):
                _release(self.limiter, permit, Outcome.OVERLOADED)
                if permit.alone or refusals >= MAX_REQUEUES:
                    return _queued_for(response, queued)
                refusals += 1
                pause = pause_before_requeue(refusals, response)
                time.sleep(pause)
                queued += pause
                continue
            if status == 429:
                _release(self.limiter, permit, Outcome.NEUTRAL)
                return _queued_for(response, queued)
            if response.is_closed:
                _release(self.limiter, permit, outcome_of(status))
            else:
                response.stream = _PermitBody(response.stream, self.limiter, permit, outcome_of(status))  # type: ignore[arg-type]
            return _queued_for(response, queued)

    def close(self) -> None:
        self.inner.close()
        if isinstance(self.limiter, RedisLeaseLimiter):
            self.limiter.close()


def _queued_for(response: httpx.Response, seconds: float) -> httpx.Response:
    """`response`, telling the exchange how long its request waited here (see `QUEUED_SECONDS`)."""
    response.extensions[QUEUED_SECONDS] = seconds
    return response


async def _arelease(limiter: Limiter, permit: Permit, outcome: Outcome) -> None:
    """Give a permit back; a shared limiter that cannot be reached lets the lease expire instead.

    Never raised: the call itself went through, and failing it now would make a caller send it
    (and pay for it) again.
    """
    try:
        await limiter.release(permit, outcome)
    except Exception as error:
        logger.warning("could not give a permit back (it expires by itself): %s", error)


def _release(limiter: Limiter, permit: Permit, outcome: Outcome) -> None:
    try:
        limiter.release_blocking(permit, outcome)
    except Exception as error:
        logger.warning("could not give a permit back (it expires by itself): %s", error)


class _AsyncPermitBody(httpx.AsyncByteStream):
    """A response body that gives its permit back when it is closed (once)."""

    def __init__(self, inner: httpx.AsyncByteStream, limiter: Limiter, permit: Permit, outcome: Outcome) -> None:
        self._inner = inner
        self._limiter: Limiter | None = limiter
        self._permit = permit
        self._outcome = outcome

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._inner.__aiter__()  # the inner stream's own iterator: no layer per chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            limiter, self._limiter = self._limiter, None
            if limiter is not None:
                await _arelease(limiter, self._permit, self._outcome)


class _PermitBody(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, limiter: Limiter, permit: Permit, outcome: Outcome) -> None:
        self._inner = inner
        self._limiter: Limiter | None = limiter
        self._permit = permit
        self._outcome = outcome

    def __iter__(self) -> Iterator[bytes]:
        return self._inner.__iter__()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            limiter, self._limiter = self._limiter, None
            if limiter is not None:
                _release(limiter, self._permit, self._outcome)
