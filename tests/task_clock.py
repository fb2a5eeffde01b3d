"""A fake clock for the emulator's tasks and the connector's waits: nothing really sleeps.

The emulator reads a task's state off `EmulatorConfig(clock=...)`, and the connector's waits
(`zhipu_connector.zhipu.long_task.timing()`) sleep on the same clock, so a sleep moves time
for both at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from zhipu_connector.zhipu import long_task


class FakeClock:
    """Epoch seconds that move only when something sleeps (or a test moves them)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[int, Any], None] | None = None
        """Called as `on_sleep(n, context)` at the n-th sleep (from 1), before time moves."""

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float, context: Any = None) -> None:
        self.sleeps.append(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps), context)
        self.now += seconds

    async def asleep(self, seconds: float, context: Any = None) -> None:
        self.sleep(seconds, context)


@contextmanager
def fake_task_time(clock: FakeClock) -> Iterator[FakeClock]:
    """The connector's waits on `clock` inside the block."""
    with long_task.timing_configured(long_task.Timing(clock=clock, sleep=clock.sleep, asleep=clock.asleep)):
        yield clock
