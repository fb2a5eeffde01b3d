"""What every limiter hands out and takes back: a permit per request in flight, and how it ended."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class Outcome(enum.Enum):
    """How a request that held a permit ended, as far as the limit is concerned."""

    SUCCEEDED = "succeeded"
    """The server did the work: evidence that this many in flight is fine."""
    OVERLOADED = "overloaded"
    """The server turned it away for having too many in flight: the limit is too high."""
    NEUTRAL = "neutral"
    """Anything else (a bad request, a timeout, a cancelled call): says nothing about the limit."""


@dataclass(frozen=True, slots=True)
class Permit:
    """One request's right to be in flight.

    `held` is how many permits were out (this one included) when it was granted, `waiting`
    how many requests still waited for one in this process, and `limit` the limit then.
    `lease` names a shared lease.
    """

    held: int
    limit: int
    waiting: int = 0
    lease: str = ""

    @property
    def alone(self) -> bool:
        """No other request was in flight: a refusal cannot be blamed on this limit's level."""
        return self.held <= 1


class Limiter(Protocol):
    """A limit on requests in flight, for asyncio tasks and threads alike."""

    def try_acquire(self) -> Permit | None:
        """A permit at once if one is free and nobody waits, else None (then `acquire` waits for one)."""
        ...

    async def acquire(self) -> Permit: ...

    async def release(self, permit: Permit, outcome: Outcome) -> None: ...

    def acquire_blocking(self) -> Permit: ...

    def release_blocking(self, permit: Permit, outcome: Outcome) -> None: ...

    @property
    def current(self) -> int: ...

    async def aclose(self) -> None: ...

    def close(self) -> None: ...
