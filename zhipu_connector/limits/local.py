"""A limit on requests in flight within one process, for every thread and event loop in it.

A semaphore whose size is a `LimitPolicy` (adaptive or fixed) that moves as requests end. Its
state sits behind one `threading.Lock`, so asyncio tasks on several loops and plain threads can
share it: the clients of one connection (one per event loop) then share one limit, as the
server sees them all. Waiters are served first come, first served; a waiter on an event loop is
woken on its own loop (`call_soon_threadsafe`), a thread through an event.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from .adaptive import AdaptiveLimit, LimitPolicy
from .permits import Outcome, Permit


class _Waiter:
    __slots__ = ("loop", "future", "event", "permit")

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] | None = loop.create_future() if loop is not None else None
        self.event = threading.Event() if loop is None else None
        self.permit: Permit | None = None


class LocalLimiter:
    """At most `policy.current` permits out at once; the policy learns from each outcome."""

    def __init__(self, policy: LimitPolicy | None = None) -> None:
        self.policy: LimitPolicy = policy if policy is not None else AdaptiveLimit()
        self._lock = threading.Lock()
        self._held = 0
        self._waiters: deque[_Waiter] = deque()

    @property
    def current(self) -> int:
        return self.policy.current

    @property
    def in_flight(self) -> int:
        return self._held

    def try_acquire(self) -> Permit | None:
        """A permit without waiting, or None: the fast path that costs no coroutine."""
        with self._lock:
            if not self._waiters and self._held < self.policy.current:
                return self._grant()
        return None

    async def acquire(self) -> Permit:
        loop = asyncio.get_running_loop()
        with self._lock:
            if not self._waiters and self._held < self.policy.current:
                return self._grant()
            waiter = _Waiter(loop)
            self._waiters.append(waiter)
        assert waiter.future is not None
        try:
            await waiter.future
        except BaseException:  # cancelled: give back a permit granted meanwhile, or leave the queue
            self._withdraw(waiter)
            raise
        assert waiter.permit is not None
        return waiter.permit

    def acquire_blocking(self) -> Permit:
        with self._lock:
            if not self._waiters and self._held < self.policy.current:
                return self._grant()
            waiter = _Waiter(None)
            self._waiters.append(waiter)
        assert waiter.event is not None
        try:
            waiter.event.wait()
        except BaseException:
            self._withdraw(waiter)
            raise
        assert waiter.permit is not None
        return waiter.permit

    async def release(self, permit: Permit, outcome: Outcome) -> None:
        self.release_blocking(permit, outcome)

    def release_blocking(self, permit: Permit, outcome: Outcome) -> None:
        with self._lock:
            out_now = self._held  # this permit included
            self._held -= 1
            if outcome is Outcome.SUCCEEDED:
                self.policy.succeeded(permit.held)
            elif outcome is Outcome.OVERLOADED:
                self.policy.overloaded(refused_level(permit, out_now))
            self._serve_waiters()

    async def aclose(self) -> None:
        """Nothing to close: the limiter holds no connection."""

    def close(self) -> None:
        """Nothing to close: the limiter holds no connection."""

    # --- under the lock -------------------------------------------------------------------

    def _grant(self) -> Permit:
        self._held += 1
        return Permit(held=self._held, limit=self.policy.current, waiting=len(self._waiters))

    def _serve_waiters(self) -> None:
        while self._waiters and self._held < self.policy.current:
            waiter = self._waiters.popleft()
            waiter.permit = self._grant()
            if waiter.event is not None:
                waiter.event.set()
            else:
                assert waiter.loop is not None and waiter.future is not None
                try:
                    waiter.loop.call_soon_threadsafe(_wake, waiter.future)
                except RuntimeError:  # its loop is closed: nobody will use the permit
                    waiter.permit = None
                    self._held -= 1

    def _withdraw(self, waiter: _Waiter) -> None:
        with self._lock:
            if waiter.permit is None:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
                return
            waiter.permit = None
            self._held -= 1
            self._serve_waiters()


def refused_level(permit: Permit, out_now: int) -> int:
    """How many were in flight when the server refused `permit`'s request, as near as can be told.

    `permit.held`, counted when the permit was granted, is too low when the request took a
    while to reach the server (a new connection): permits granted meanwhile went ahead of it.
    The permits out as its refusal comes back (itself included) are the other bound; the
    higher of the two is the nearer. Taking the lower one once left a shared limit believing
    that a cap of 4 refused 4, and settling one under the cap.
    """
    return max(permit.held, out_now)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
