"""A limit on requests in flight that finds a server's own limit without being told it.

The server answers "too many in flight" at once and precisely: a request it turns away was the
one too many. So the limit is taken down by one for each refusal rather than cut by a factor
(AIMD's multiplicative decrease would spend a quarter or more of the server's capacity in its
saw-tooth). A server admits only requests that hold a permit here, so a request refused when
`held` permits were out (itself included) shows that the server's limit is at most `held - 1`:
the limit comes down to that (by one at least), never below the server's limit, and a sudden
drop (32 → 8) is followed in exactly as many refusals as there were requests too many. A
refusal of a request sent under a higher limit, since lowered, is already accounted for.

Going up:
- *slow start*, while no refusal is known: +1 per success, so the limit doubles every round trip;
- after a refusal at level K, the limit stays at K − 1, the highest level known to be good;
  below it (refusals that came from elsewhere) it climbs by one per round trip (+1/limit per success);
- *probing*: after `probe_rounds` round trips at K − 1 (and at least `MIN_PROBE_SUCCESSES`
  successes) it tries K again. A refusal puts it back (one refused request per probe: at most
  0.5% of the requests); a whole round trip at K
  without one means the server's limit rose, and slow start finds the new one.

Only successes of requests sent with at least half the current limit out count: a caller that
never comes near the limit learns nothing about it, and the limit must not grow on that
account; nor can slow start outrun the refusals of requests still on their way.

No I/O, no clock, no locking: the owner serialises calls. `redis_leases.py` runs the same steps
in a Lua script, for a limit shared by processes; a test checks the two agree step by step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from zhipu_connector.errors import ConnectorError

DEFAULT_INITIAL = 4
DEFAULT_MAXIMUM = 512
DEFAULT_PROBE_ROUNDS = 32
MIN_PROBE_SUCCESSES = 200
"""At a small limit, 32 round trips are few requests: a probe waits for at least this many."""


class LimitConfigError(ConnectorError, ValueError):
    """A limit that cannot work; the message names the setting and the rule."""


@dataclass(slots=True)
class AdaptiveLimit:
    """The state of an adaptive limit; `current` is how many may be in flight now."""

    initial: int = DEFAULT_INITIAL
    minimum: int = 1
    maximum: int = DEFAULT_MAXIMUM
    probe_rounds: int = DEFAULT_PROBE_ROUNDS
    limit: float = field(init=False)
    ceiling: float = field(default=0.0, init=False)
    """The lowest level refused since the last slow start (0: none known)."""
    calm: int = field(default=0, init=False)
    """Saturated successes at the plateau (or at the probe level) since it was reached."""

    def __post_init__(self) -> None:
        for name in ("initial", "minimum", "maximum", "probe_rounds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise LimitConfigError(f"{name} must be an integer of at least 1, not {value!r}")
        if self.minimum > self.maximum:
            raise LimitConfigError(f"minimum ({self.minimum}) must not exceed maximum ({self.maximum})")
        if not self.minimum <= self.initial <= self.maximum:
            raise LimitConfigError(f"initial must be between minimum and maximum, not {self.initial}")
        self.limit = float(self.initial)

    @property
    def current(self) -> int:
        return max(self.minimum, min(self.maximum, math.floor(self.limit)))

    @property
    def adaptive(self) -> bool:
        return True

    def succeeded(self, held: int) -> None:
        """A request was answered; `held`: the permits out when it was sent, itself included.

        Only a request sent with at least half the (current) limit out says the limit is used:
        a caller below that learns nothing about it, and while requests above the cap are
        still on their way (new connections take a while) slow start cannot run away on the
        successes of those sent below it: it stops at twice what has been proven.
        """
        if 2 * held < self.limit:
            return
        if self.ceiling == 0:
            self.limit = min(float(self.maximum), self.limit + 1)
        elif self.limit < self.ceiling - 1:
            self.limit = min(self.ceiling - 1, self.limit + 1 / self.limit)
        elif self.limit < self.ceiling:
            self.calm += 1
            if self.calm >= max(self.probe_rounds * self.limit, MIN_PROBE_SUCCESSES):
                self.limit, self.calm = min(float(self.maximum), self.ceiling), 0
        else:
            self.calm += 1
            if self.calm >= self.limit:
                self.ceiling, self.calm = 0.0, 0

    def overloaded(self, held: int | None = None) -> None:
        """The server turned a request away for having too many in flight.

        `held`: the permits out when that request was refused (itself included; default: the
        limit; the limiters pass `local.refused_level`). The server admits only requests holding a permit, so it had at most `held - 1`
        of them: the limit comes down to that, and by one at least. A request sent under a
        higher limit, since lowered below `held`, tells nothing new (in a burst of refusals
        after slow start overshot, only the first one counts).
        """
        level = math.floor(self.limit) if held is None else held
        if level > math.floor(self.limit):
            return
        self.ceiling = float(level)
        self.limit = max(float(self.minimum), min(self.limit - 1, float(level - 1)))
        self.calm = 0


@dataclass(slots=True)
class FixedLimit:
    """A limit that never moves: `limit` in flight at most, whatever the server answers."""

    limit: int

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise LimitConfigError(f"limit must be an integer of at least 1, not {self.limit!r}")

    @property
    def current(self) -> int:
        return self.limit

    @property
    def adaptive(self) -> bool:
        return False

    def succeeded(self, held: int) -> None:
        """Nothing to learn."""

    def overloaded(self, held: int | None = None) -> None:
        """Nothing to learn."""


LimitPolicy = AdaptiveLimit | FixedLimit
