"""Per-key rate limits: a token bucket per API key (or user) id, kept in this process's memory.

Each caller may make `rate_limit_burst` requests at once and `rate_limit_per_second` after
that; a request beyond is refused with 429 and `Retry-After` (the seconds until a token is back).
Several server processes each keep their own buckets, so a key's real limit is the per-process
rate times the processes (docs/decisions.md says why this is in-process).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from touchpoint.errors import RateLimited
from touchpoint.settings import Settings


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One bucket per caller id, `burst` tokens deep, refilled at `rate` tokens a second.
    Thread-safe: FastAPI runs sync dependencies on a thread pool."""

    SWEEP_AT = 10_000  # callers kept before those with a full bucket are forgotten

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, caller: str) -> float:
        """Take one token for `caller`: 0.0 when granted, else the seconds until one is back."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(caller)
            if bucket is None:
                if len(self._buckets) >= self.SWEEP_AT:
                    self._sweep(now)
                bucket = self._buckets[caller] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _sweep(self, now: float) -> None:
        """Forget the callers whose bucket has refilled: a new one starts full, so nothing
        changes for them, and callers that come and go (a browser key is counted per client
        address) cannot grow the table without end."""
        full = [
            caller
            for caller, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self.rate >= self.burst
        ]
        for caller in full:
            del self._buckets[caller]

    def __len__(self) -> int:
        return len(self._buckets)


def buckets_for(settings: Settings) -> TokenBuckets:
    """An app's buckets, from its settings' rate and burst (kept on `app.state.rate_limits`)."""
    return TokenBuckets(settings.rate_limit_per_second, settings.rate_limit_burst)


def check_rate(request: Request, caller: str) -> None:
    """Count one request of `caller` (a key or user id); RateLimited (429) past its rate."""
    buckets: TokenBuckets | None = getattr(request.app.state, "rate_limits", None)
    wait = buckets.take(caller) if buckets is not None else 0.0
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many requests for this key; retry in {seconds} s", retry_after=seconds
        )
