"""The adaptive limit against a simulated server, on a fake clock: it finds the cap and follows it.

`Simulation` is a server that admits at most `cap` requests in flight (each takes `latency`
seconds of fake time) and refuses the rest at once, and a client that always has more work
than the limit lets it send: each tick of the fake clock, finished requests end, the client
fills the limit, and the server admits or refuses each new arrival.
"""

from __future__ import annotations

import heapq

import pytest

from zhipu_connector.limits import (
    AdaptiveLimit,
    FixedLimit,
    LimitConfigError,
    LimitPolicy,
    LocalLimiter,
    Outcome,
    Permit,
)


class Simulation:
    def __init__(self, limit: LimitPolicy, cap: int, latency: float = 0.05) -> None:
        self.limiter = LocalLimiter(limit)
        self.cap = cap
        self.latency = latency
        self.now = 0.0
        self.running: list[tuple[float, int, Permit]] = []  # (ends at, order, permit)
        self.order = 0
        self.succeeded = 0
        self.refused = 0
        self.most_in_flight = 0

    def run(self, seconds: float, tick: float = 0.001) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now += tick
            while self.running and self.running[0][0] <= self.now:
                _, _, permit = heapq.heappop(self.running)
                self.limiter.release_blocking(permit, Outcome.SUCCEEDED)
                self.succeeded += 1
                self.fill()  # a waiting request takes the permit at once
            self.fill()

    def fill(self) -> None:
        while self.limiter.in_flight < self.limiter.current:
            permit = self.limiter.acquire_blocking()
            if len(self.running) >= self.cap:
                self.refused += 1
                self.limiter.release_blocking(permit, Outcome.OVERLOADED)
                return  # the refused request tries again on the next tick
            self.order += 1
            heapq.heappush(self.running, (self.now + self.latency, self.order, permit))
            self.most_in_flight = max(self.most_in_flight, len(self.running))

    def measure(self, seconds: float) -> tuple[float, float]:
        """(throughput as a share of cap ÷ latency, share of arrivals refused) over `seconds`."""
        done, refused = self.succeeded, self.refused
        self.run(seconds)
        done, refused = self.succeeded - done, self.refused - refused
        return done / (seconds * self.cap / self.latency), refused / max(1, done + refused)


@pytest.mark.parametrize("cap", [1, 3, 8, 32, 100])
def test_it_settles_at_the_cap_with_few_refusals(cap: int) -> None:
    simulation = Simulation(AdaptiveLimit(), cap)
    simulation.run(2.0)  # slow start and the first refusals
    throughput, refused = simulation.measure(20.0)
    assert throughput >= 0.97
    assert refused <= 0.01
    assert simulation.limiter.current in (cap, cap + 1)  # at the cap, or probing one above it


def test_it_starts_low_and_about_doubles_each_round_trip_until_the_first_refusal() -> None:
    simulation = Simulation(AdaptiveLimit(initial=4), cap=1000)
    assert simulation.limiter.current == 4
    limits = []
    simulation.run(0.0015)
    for _ in range(5):
        simulation.run(0.05)
        limits.append(simulation.limiter.current)
    assert all(later >= 1.8 * earlier for earlier, later in zip(limits, limits[1:])), limits


def test_it_follows_a_cap_that_drops_in_as_many_refusals_as_requests_too_many() -> None:
    simulation = Simulation(AdaptiveLimit(), cap=32)
    simulation.run(3.0)
    refused_before = simulation.refused
    simulation.cap = 8
    simulation.run(0.2)
    assert simulation.limiter.current == 8
    assert simulation.refused - refused_before <= 32 - 8 + 2
    throughput, refused = simulation.measure(10.0)
    assert throughput >= 0.97 and refused <= 0.01


def test_it_follows_a_cap_that_rises() -> None:
    simulation = Simulation(AdaptiveLimit(), cap=8)
    simulation.run(3.0)
    simulation.cap = 40
    simulation.run(10.0)  # at most one probe period (32 round trips at 8) and a slow start
    assert simulation.limiter.current in (40, 41)
    throughput, refused = simulation.measure(10.0)
    assert throughput >= 0.97 and refused <= 0.01


def test_a_caller_that_does_not_fill_the_limit_does_not_grow_it() -> None:
    limit = AdaptiveLimit(initial=4)
    for _ in range(1000):
        limit.succeeded(held=1)
    assert limit.current == 4


def test_one_refusal_steps_down_by_one_and_marks_the_ceiling() -> None:
    limit = AdaptiveLimit(initial=10)
    limit.overloaded()
    assert (limit.current, limit.ceiling) == (9, 10)
    for _ in range(32 * 9 - 1):  # at the plateau: no growth until the probe period is over
        limit.succeeded(held=limit.current)
    assert limit.current == 9
    limit.succeeded(held=limit.current)
    assert limit.current == 10  # probing
    limit.overloaded()  # refused: back to the plateau
    assert (limit.current, limit.ceiling) == (9, 10)
    for _ in range(32 * 9 + 11):  # a probe that holds a whole round trip: the cap rose
        limit.succeeded(held=limit.current)
    assert limit.ceiling == 0 and limit.current > 10  # slow start again


def test_a_refusal_brings_the_limit_to_what_was_held_and_stale_ones_count_for_nothing() -> None:
    limit = AdaptiveLimit(initial=4)
    for _ in range(40):  # slow start overshoots: 44
        limit.succeeded(held=limit.current)
    limit.overloaded(held=33)  # the first refused request had 32 others out: the cap is 32 at most
    assert (limit.current, limit.ceiling) == (32, 33)
    for held in range(34, 45):  # the rest of the burst was sent under the higher limit
        limit.overloaded(held)
    assert (limit.current, limit.ceiling) == (32, 33)
    limit.overloaded(held=32)  # refused at the new level: news
    assert (limit.current, limit.ceiling) == (31, 32)


def test_the_limit_stays_within_minimum_and_maximum() -> None:
    limit = AdaptiveLimit(initial=2, minimum=2, maximum=5)
    for _ in range(10):
        limit.overloaded()
    assert limit.current == 2
    limit = AdaptiveLimit(initial=2, minimum=2, maximum=5)
    for _ in range(100):
        limit.succeeded(held=limit.current)
    assert limit.current == 5


def test_a_fixed_limit_never_moves() -> None:
    simulation = Simulation(FixedLimit(6), cap=4)
    simulation.run(1.0)
    assert simulation.limiter.current == 6 and simulation.refused > 0


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"initial": 0}, "initial must be an integer of at least 1"),
        ({"minimum": 5, "maximum": 4, "initial": 4}, "minimum \\(5\\) must not exceed maximum"),
        ({"initial": 9, "maximum": 8}, "initial must be between minimum and maximum"),
        ({"probe_rounds": True}, "probe_rounds must be an integer"),
    ],
)
def test_bad_settings_are_refused_with_the_setting_named(settings: dict[str, int], message: str) -> None:
    with pytest.raises(LimitConfigError, match=message):
        AdaptiveLimit(**settings)


def test_slow_start_stops_at_twice_what_succeeded_while_more_are_on_their_way() -> None:
    limit = AdaptiveLimit(initial=32)
    for _ in range(1000):  # answers to requests sent with 32 out; the ones sent above are slow to arrive
        limit.succeeded(held=32)
    assert limit.current == 2 * 32 + 1  # the step from twice what was proven is the last


def test_a_late_arriving_refusal_counts_the_permits_out_when_it_came_back() -> None:
    limiter = LocalLimiter(AdaptiveLimit(initial=5))
    slow = [limiter.acquire_blocking() for _ in range(4)][-1]  # granted fourth; its connection is slow
    limiter.acquire_blocking()  # the fifth goes ahead of it: the server had 4 when the fourth arrived
    assert slow.held == 4
    limiter.release_blocking(slow, Outcome.OVERLOADED)
    assert isinstance(limiter.policy, AdaptiveLimit)
    assert (limiter.policy.ceiling, limiter.current) == (5, 4)  # the cap is 4, not 3
