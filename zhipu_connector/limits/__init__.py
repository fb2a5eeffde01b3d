"""Limits on requests in flight: adaptive or fixed, for one process or shared through Redis.

Generic: what counts as "the server is saturated" is the caller's knowledge (a connector's
transport tells the limiter how each request ended). `Limiter` is the interface; `LocalLimiter`
keeps the limit in this process, `RedisLeaseLimiter` in Redis for every process that names it.
"""

from .adaptive import AdaptiveLimit, FixedLimit, LimitConfigError, LimitPolicy
from .local import LocalLimiter
from .permits import Limiter, Outcome, Permit
from .redis_leases import LimiterUnavailableError, RedisLeaseLimiter, SharedLimitSettings

__all__ = [
    "AdaptiveLimit",
    "FixedLimit",
    "LimitConfigError",
    "LimitPolicy",
    "Limiter",
    "LimiterUnavailableError",
    "LocalLimiter",
    "Outcome",
    "Permit",
    "RedisLeaseLimiter",
    "SharedLimitSettings",
]
