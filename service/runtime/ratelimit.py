"""Per-key token buckets, in process.

Each worker process keeps its own buckets, so with N workers a key may get up
to N times its rate in total (documented in docs/API.md).  Buckets live on the
event loop thread and need no lock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class TokenBucket:
    rate: float  # tokens per second
    capacity: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token: 0.0 when allowed, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """One bucket per key id; ``rate`` 0 means no limit."""

    def __init__(
        self,
        *,
        default_rate: float,
        burst_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default_rate = default_rate
        self.burst_seconds = burst_seconds
        self.clock = clock
        self._buckets: dict[int, TokenBucket] = {}

    def retry_after(self, key_id: int, rate: float | None = None) -> int:
        """0 when the request may go ahead, else whole seconds to wait (for ``Retry-After``)."""
        rate = self.default_rate if rate is None else rate
        if rate <= 0:
            return 0
        now = self.clock()
        bucket = self._buckets.get(key_id)
        capacity = max(1.0, rate * self.burst_seconds)
        if bucket is None or bucket.rate != rate:
            bucket = TokenBucket(rate=rate, capacity=capacity, tokens=capacity, updated=now)
            self._buckets[key_id] = bucket
        wait = bucket.take(now)
        return 0 if wait == 0 else max(1, math.ceil(wait))
