"""The token bucket behind 429s, on a fake clock."""

from __future__ import annotations

from trueclout.service.runtime.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_steady_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(default_rate=2.0, burst_seconds=2.0, clock=clock)
    assert [limiter.retry_after(1) for _ in range(4)] == [0, 0, 0, 0]  # burst of 4
    assert limiter.retry_after(1) == 1
    clock.now += 0.5  # one token back at 2/s
    assert limiter.retry_after(1) == 0
    assert limiter.retry_after(1) == 1


def test_slow_keys_are_told_how_long_to_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(default_rate=50.0, burst_seconds=2.0, clock=clock)
    assert limiter.retry_after(7, rate=0.1) == 0
    assert limiter.retry_after(7, rate=0.1) == 10
    clock.now += 9.0
    assert limiter.retry_after(7, rate=0.1) == 1
    clock.now += 1.0
    assert limiter.retry_after(7, rate=0.1) == 0


def test_keys_do_not_share_buckets_and_zero_means_unlimited() -> None:
    limiter = RateLimiter(default_rate=0.5, burst_seconds=2.0, clock=FakeClock())
    assert (limiter.retry_after(1), limiter.retry_after(1)) == (0, 2)
    assert limiter.retry_after(2) == 0
    unlimited = RateLimiter(default_rate=0.0, burst_seconds=2.0, clock=FakeClock())
    assert all(unlimited.retry_after(1) == 0 for _ in range(1000))
