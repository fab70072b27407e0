"""Token buckets per API key (and per client address without a valid key), in process.

Each worker process keeps its own buckets, so with N workers a key may get up
to N times its rate in total (documented in docs/API.md).  Buckets live on the
event loop thread and need no lock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

# Past this many buckets, the full ones are forgotten before a new one is made.
MAX_BUCKETS = 100_000


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    capacity: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        wait = self.peek(now)
        if wait == 0.0:
            self.tokens -= 1.0
        return wait

    def peek(self, now: float) -> float:
        """Like ``take`` without taking: 0.0 when a token is there."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class RateLimiter:
    """One bucket per key id or client address; ``rate`` 0 means no limit.

    Buckets of addresses are dropped once full again, so a flood of addresses
    does not grow memory without bound.
    """

    def __init__(
        self,
        *,
        default_rate: float,
        burst_seconds: float,
        unauthenticated_rate: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default_rate = default_rate
        # For requests without a valid key, per client address (``authorize``).
        self.unauthenticated_rate = unauthenticated_rate
        self.burst_seconds = burst_seconds
        self.clock = clock
        self._buckets: dict[Hashable, TokenBucket] = {}

    def retry_after(self, key: Hashable, rate: float | None = None, *, take: bool = True
                    ) -> int:
        """0 when the request may go ahead, else whole seconds to wait (for ``Retry-After``).

        ``take=False`` only looks: whether a request would be refused now.
        """
        rate = self.default_rate if rate is None else rate
        if rate <= 0:
            return 0
        now = self.clock()
        bucket = self._buckets.get(key)
        capacity = max(1.0, rate * self.burst_seconds)
        if bucket is None or bucket.rate != rate:
            if not take:
                return 0
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_full(now)
            bucket = TokenBucket(rate=rate, capacity=capacity, tokens=capacity, updated=now)
            self._buckets[key] = bucket
        wait = bucket.take(now) if take else bucket.peek(now)
        return 0 if wait == 0 else max(1, math.ceil(wait))

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: forgetting them changes no answer."""
        for key in [k for k, b in self._buckets.items() if b.peek(now) == 0.0
                    and b.tokens >= b.capacity]:
            del self._buckets[key]
