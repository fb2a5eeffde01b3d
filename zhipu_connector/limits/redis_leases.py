"""One limit on requests in flight for every process that names the same Redis key.

Each request in flight holds a *lease*: a member of a sorted set whose score is the moment it
expires. A process renews its leases while their requests run (every third of the lease time),
so a lease outlives its holder by at most `lease_seconds`: a worker killed with `kill -9` gives
its share back within that time, and no one has to notice that it died.

Three short Lua scripts keep every step atomic, with the server's own clock (no two clients
need to agree on the time):
- acquire: drop expired leases; if fewer than the limit remain, add one;
- release: remove the lease, apply the outcome to the shared adaptive limit (the steps of
  `adaptive.AdaptiveLimit`, written once more in Lua; a test checks that the two agree; a
  refusal's level is the leases out when it was sent or when it came back, whichever is more,
  as in `local.LocalLimiter`), and publish on a channel so that waiting processes try again at once;
- renew: push the expiry of this process's leases forward.
Keys: `<prefix>:<name>:leases` (sorted set), `<prefix>:<name>:state` (hash: `limit`,
`ceiling`, `calm`; kept a day after its last change, so the next run starts where this one
left), and the channel `<prefix>:<name>:released`.

Within a process, one waiter at a time talks to Redis (the others queue behind it, first come,
first served); it waits for a release message, or `poll_seconds` for leases that expire.

Why not a library: the semaphores on PyPI for Redis are mutexes (python-redis-lock, pottery's
Redlock), unmaintained (redis-semaphore, last released 2016), or rate limiters (limits); none
has a size that changes while it is held. The `redis` client is the maintained one.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from zhipu_connector.errors import ConnectorError

from .adaptive import DEFAULT_INITIAL, DEFAULT_MAXIMUM, DEFAULT_PROBE_ROUNDS, MIN_PROBE_SUCCESSES, LimitConfigError
from .permits import Outcome, Permit

DEFAULT_LEASE_SECONDS = 10.0
DEFAULT_POLL_SECONDS = 0.25
KEY_PREFIX = "zhipu-connector:limit"
STATE_DAYS_MS = 86_400_000
SCHEMES = ("redis", "rediss", "unix")

_PRELUDE = """
if redis.replicate_commands then redis.replicate_commands() end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

ACQUIRE = (
    _PRELUDE
    + """
local leases, state = KEYS[1], KEYS[2]
local lease, lease_ms, fixed = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local initial, minimum, maximum = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
local limit = fixed
if fixed == 0 then
  limit = tonumber(redis.call('HGET', state, 'limit'))
  if not limit then
    limit = initial
    redis.call('HSET', state, 'limit', initial, 'ceiling', 0, 'calm', 0)
    redis.call('PEXPIRE', state, ARGV[7])
  end
  limit = math.max(minimum, math.min(maximum, math.floor(limit)))
end
local held = redis.call('ZCARD', leases)
if held >= limit then return {0, held, limit} end
redis.call('ZADD', leases, now + lease_ms, lease)
redis.call('PEXPIRE', leases, lease_ms * 4)
return {1, held + 1, limit}
"""
)

RELEASE = """
local leases, state = KEYS[1], KEYS[2]
local lease, outcome, held, fixed = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local initial, minimum, maximum, rounds = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local out_now = redis.call('ZCARD', leases)
redis.call('ZREM', leases, lease)
if fixed == 0 and outcome ~= 'neutral' then
  local limit = tonumber(redis.call('HGET', state, 'limit')) or initial
  local ceiling = tonumber(redis.call('HGET', state, 'ceiling')) or 0
  local calm = tonumber(redis.call('HGET', state, 'calm')) or 0
  if outcome == 'overloaded' then
    local level = math.max(held, out_now)
    if level <= math.floor(limit) then
      ceiling = level
      limit = math.max(minimum, math.min(limit - 1, level - 1))
      calm = 0
    end
  elseif 2 * held >= limit then
    if ceiling == 0 then
      limit = math.min(maximum, limit + 1)
    elseif limit < ceiling - 1 then
      limit = math.min(ceiling - 1, limit + 1 / limit)
    elseif limit < ceiling then
      calm = calm + 1
      if calm >= math.max(rounds * limit, tonumber(ARGV[11])) then limit = math.min(maximum, ceiling); calm = 0 end
    else
      calm = calm + 1
      if calm >= limit then ceiling = 0; calm = 0 end
    end
  end
  redis.call('HSET', state, 'limit', string.format('%.17g', limit), 'ceiling', ceiling, 'calm', calm)
  redis.call('PEXPIRE', state, ARGV[10])
end
redis.call('PUBLISH', ARGV[9], lease)
return 1
"""

RENEW = (
    _PRELUDE
    + """
local lease_ms = tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + lease_ms, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], lease_ms * 4)
return #ARGV - 1
"""
)


class LimiterUnavailableError(ConnectorError):
    """The shared limiter's Redis could not be reached; the message names it without its password."""


@dataclass(frozen=True, slots=True)
class SharedLimitSettings:
    """Where the shared limit lives and how it behaves; `from_url` reads them from one URL.

    `fixed`: a limit that never moves (None: adaptive, with `initial`, `minimum`, `maximum`,
    `probe_rounds` as in `AdaptiveLimit`).
    """

    redis_url: str
    name: str
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    fixed: int | None = None
    initial: int = DEFAULT_INITIAL
    minimum: int = 1
    maximum: int = DEFAULT_MAXIMUM
    probe_rounds: int = DEFAULT_PROBE_ROUNDS
    poll_seconds: float = DEFAULT_POLL_SECONDS

    @classmethod
    def from_url(cls, url: str, *, default_name: str) -> SharedLimitSettings:
        """`redis://[:password@]host[:port][/db][?limit=N][&lease=SECONDS][&name=KEY][&initial=N][&maximum=N]`.

        The options are this limiter's; the rest of the URL goes to the `redis` client as it is.
        """
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise LimitConfigError(f"a shared limiter must be a {', '.join(s + '://' for s in SCHEMES)} URL")
        ours: dict[str, str] = {}
        theirs: list[tuple[str, str]] = []
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            (ours.__setitem__(key, value) if key in _OPTIONS else theirs.append((key, value)))
        redis_url = urlunsplit(parts._replace(query=urlencode(theirs)))
        values: dict[str, Any] = {"redis_url": redis_url, "name": ours.get("name") or default_name}
        for key, value in ours.items():
            if key != "name":
                values[_OPTIONS[key]] = _number(key, value)
        return cls(**values)

    def __post_init__(self) -> None:
        if not self.name or any(character.isspace() for character in self.name):
            raise LimitConfigError("name must be a non-empty key without spaces")
        if not 0.1 <= self.lease_seconds <= 3600:
            raise LimitConfigError(f"lease must be between 0.1 and 3600 seconds, not {self.lease_seconds}")
        for field_name in ("initial", "minimum", "maximum", "probe_rounds"):
            if getattr(self, field_name) < 1:
                raise LimitConfigError(f"{field_name} must be at least 1")
        if self.fixed is not None and self.fixed < 1:
            raise LimitConfigError(f"limit must be at least 1, not {self.fixed}")
        if not self.minimum <= self.initial <= self.maximum:
            raise LimitConfigError("initial must be between minimum and maximum")

    @property
    def shown_url(self) -> str:
        """The Redis URL without its password, for messages."""
        parts = urlsplit(self.redis_url)
        if parts.password is None:
            return self.redis_url
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))


_OPTIONS = {
    "limit": "fixed",
    "lease": "lease_seconds",
    "name": "name",
    "initial": "initial",
    "minimum": "minimum",
    "maximum": "maximum",
    "probe_rounds": "probe_rounds",
    "poll": "poll_seconds",
}


def _number(key: str, text: str) -> int | float:
    try:
        return float(text) if key in ("lease", "poll") else int(text)
    except ValueError:
        kind = "a number of seconds" if key in ("lease", "poll") else "an integer"
        raise LimitConfigError(f"the shared limiter's {key} must be {kind}, not {text!r}") from None


class RedisLeaseLimiter:
    """A `Limiter` whose permits are leases in Redis, shared by every process using `settings.name`.

    Use one instance per event loop for `acquire`/`release` (the asyncio Redis client belongs
    to its loop); `acquire_blocking`/`release_blocking` may be called from any thread.
    """

    def __init__(self, settings: SharedLimitSettings) -> None:
        self.settings = settings
        base = f"{KEY_PREFIX}:{settings.name}"
        self.keys = [f"{base}:leases", f"{base}:state"]
        self.channel = f"{base}:released"
        self._lease_ms = max(1, round(settings.lease_seconds * 1000))
        self._last_limit = settings.fixed or settings.initial
        self._held: set[str] = set()
        self._held_lock = threading.Lock()
        self._waiting = 0
        # asyncio side, made on first use
        self._aclient: Any = None
        self._ascript_list: list[Any] = []
        self._apubsub: Any = None
        self._aturn: asyncio.Lock | None = None
        self._arenewal: asyncio.Task[None] | None = None
        # threads side
        self._client: Any = None
        self._scripts: list[Any] = []
        self._pubsub: Any = None
        self._turn = threading.Lock()
        self._renewal: threading.Thread | None = None
        self._closed = threading.Event()

    @property
    def current(self) -> int:
        """The limit as last read from Redis."""
        return self._last_limit

    @property
    def in_flight(self) -> int:
        """The leases this process holds now."""
        return len(self._held)

    # --- asyncio ----------------------------------------------------------------------------

    def try_acquire(self) -> Permit | None:
        """Always None: a lease takes a round trip to Redis, so `acquire` is the only way."""
        return None

    async def acquire(self) -> Permit:
        scripts = self._async_scripts()
        if self._aturn is None:
            self._aturn = asyncio.Lock()
        self._waiting += 1
        queued = True
        try:
            async with self._aturn:
                self._waiting, queued = self._waiting - 1, False
                while True:
                    await self._adrain()
                    lease, arguments = self._acquire_arguments()
                    permit = self._permit(await self._acall(scripts[0], arguments), lease)
                    if permit is not None:
                        self._track(lease)
                        if self._arenewal is None or self._arenewal.done():
                            self._arenewal = asyncio.get_running_loop().create_task(self._arenew())
                        return permit
                    await self._await_release()
        except BaseException:
            if queued:  # cancelled while still in the queue
                self._waiting -= 1
            raise

    async def release(self, permit: Permit, outcome: Outcome) -> None:
        self._untrack(permit.lease)
        await self._acall(self._async_scripts()[1], self._release_arguments(permit, outcome))

    async def aclose(self) -> None:
        if self._arenewal is not None:
            self._arenewal.cancel()
        if self._apubsub is not None:
            await self._apubsub.aclose()
        if self._aclient is not None:
            await self._aclient.aclose()
        self._aclient = self._apubsub = None

    async def _await_release(self) -> None:
        try:
            await self._apubsub.get_message(ignore_subscribe_messages=True, timeout=self.settings.poll_seconds)
        except Exception as error:
            raise self._unavailable(error) from None

    async def _adrain(self) -> None:
        """Subscribe once; then drop the release messages that came while no one waited."""
        try:
            if self._apubsub is None:
                self._apubsub = self._aclient.pubsub()
                await self._apubsub.subscribe(self.channel)
            while await self._apubsub.get_message(ignore_subscribe_messages=True, timeout=0) is not None:
                pass
        except Exception as error:
            raise self._unavailable(error) from None

    async def _arenew(self) -> None:
        """Push the leases' expiry forward while this process holds any."""
        interval = self.settings.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            held = self._held_now()
            if not held:
                return
            try:
                await self._async_scripts()[2](keys=self.keys[:1], args=[self._lease_ms, *held])
            except Exception:  # Redis away for a moment: the next round tries again
                continue

    def _async_scripts(self) -> list[Any]:
        if self._aclient is None:
            redis_asyncio = _redis_module("redis.asyncio")
            self._aclient = redis_asyncio.Redis.from_url(self.settings.redis_url)
            self._ascript_list = [self._aclient.register_script(source) for source in (ACQUIRE, RELEASE, RENEW)]
        return self._ascript_list

    async def _acall(self, script: Any, arguments: list[Any]) -> Any:
        try:
            return await script(keys=self.keys, args=arguments)
        except Exception as error:
            raise self._unavailable(error) from None

    # --- threads ----------------------------------------------------------------------------

    def acquire_blocking(self) -> Permit:
        with self._turn:
            while True:
                self._drain()
                lease, arguments = self._acquire_arguments()
                permit = self._permit(self._call(self._scripts[0], arguments), lease)
                if permit is not None:
                    self._track(lease)
                    self._start_renewal_thread()
                    return permit
                try:
                    self._pubsub.get_message(ignore_subscribe_messages=True, timeout=self.settings.poll_seconds)
                except Exception as error:
                    raise self._unavailable(error) from None

    def release_blocking(self, permit: Permit, outcome: Outcome) -> None:
        self._untrack(permit.lease)
        self._call(self._scripts[1], self._release_arguments(permit, outcome))

    def close(self) -> None:
        self._closed.set()
        if self._pubsub is not None:
            self._pubsub.close()
        if self._client is not None:
            self._client.close()
        self._client = self._pubsub = None

    def _drain(self) -> None:
        self._ensure_client()
        try:
            if self._pubsub is None:
                self._pubsub = self._client.pubsub()
                self._pubsub.subscribe(self.channel)
            while self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0) is not None:
                pass
        except Exception as error:
            raise self._unavailable(error) from None

    def _start_renewal_thread(self) -> None:
        if self._renewal is None or not self._renewal.is_alive():
            self._renewal = threading.Thread(target=self._renew_forever, name="limiter-renewal", daemon=True)
            self._renewal.start()

    def _renew_forever(self) -> None:
        interval = self.settings.lease_seconds / 3
        while not self._closed.wait(interval):
            held = self._held_now()
            if not held:
                return
            try:
                self._scripts[2](keys=self.keys[:1], args=[self._lease_ms, *held])
            except Exception:
                continue

    def _ensure_client(self) -> None:
        if self._client is None:
            redis = _redis_module("redis")
            self._client = redis.Redis.from_url(self.settings.redis_url)
            self._scripts = [self._client.register_script(source) for source in (ACQUIRE, RELEASE, RENEW)]

    def _call(self, script: Any, arguments: list[Any]) -> Any:
        self._ensure_client()
        try:
            return script(keys=self.keys, args=arguments)
        except Exception as error:
            raise self._unavailable(error) from None

    # --- shared -----------------------------------------------------------------------------

    def _acquire_arguments(self) -> tuple[str, list[Any]]:
        s = self.settings
        lease = f"{os.getpid()}-{secrets.token_hex(6)}"
        return lease, [lease, self._lease_ms, s.fixed or 0, s.initial, s.minimum, s.maximum, STATE_DAYS_MS]

    def _release_arguments(self, permit: Permit, outcome: Outcome) -> list[Any]:
        s = self.settings
        return [
            permit.lease, outcome.value, permit.held, s.fixed or 0, s.initial, s.minimum, s.maximum,
            s.probe_rounds, self.channel, STATE_DAYS_MS, MIN_PROBE_SUCCESSES,
        ]  # fmt: skip

    def _permit(self, reply: list[Any], lease: str) -> Permit | None:
        granted, held, limit = (int(value) for value in reply)
        self._last_limit = limit
        if not granted:
            return None
        return Permit(held=held, limit=limit, waiting=self._waiting, lease=lease)

    def _track(self, lease: str) -> None:
        with self._held_lock:
            self._held.add(lease)

    def _untrack(self, lease: str) -> None:
        with self._held_lock:
            self._held.discard(lease)

    def _held_now(self) -> list[str]:
        with self._held_lock:
            return list(self._held)

    def _unavailable(self, error: BaseException) -> LimiterUnavailableError:
        return LimiterUnavailableError(
            f"the shared limiter at {self.settings.shown_url} cannot be used: {type(error).__name__}: {error}"
        )


def _redis_module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise LimitConfigError(
            "a shared limiter needs the redis client: pip install 'zhipu-connector[redis]'"
        ) from None
