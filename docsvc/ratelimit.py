"""A per-client token bucket: public verification by code is rate-limited per client.

Each client (its IP address, or any other key) has a bucket of `burst`
tokens that refills at `rate` tokens a second; a request takes one token
or is refused. So a person may check a few codes in a row, and a script
guessing codes gets `rate` a second at most per address.

    limiter = RateLimiter(rate=10 / 60, burst=5)   # 10 a minute, 5 at once
    if not limiter.allow(request.remote_addr):
        return 429, {"Retry-After": math.ceil(limiter.retry_after(request.remote_addr))}

Memory is bounded: a bucket that has refilled completely is the same as no
bucket, so it is forgotten (swept from the least recently used end on every
call, amortised O(1)); past `max_keys` tracked clients the least recently
used are forgotten too, even if not full. That last case gives those
clients a fresh burst: with `max_keys` well above the number of clients
active within `burst / rate` seconds it does not happen, and an attacker
who can spend that many addresses is not stopped by a per-address limit
anyway. One lock guards the table: every call is a few dictionary steps.
The limiter lives in one process; several gunicorn workers each keep
their own (a client gets up to workers × the rate).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Hashable


class RateLimiter:
    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`rate`: tokens a second (10 a minute is 10 / 60); `burst`: the
        bucket's size, how many requests may come at once; `max_keys`: how
        many clients are tracked at most; `clock`: seconds, monotonic."""
        if not rate > 0:
            raise ValueError("rate must be a positive number of requests a second.")
        if burst < 1:
            raise ValueError("burst must be at least 1 request.")
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1.")
        self.rate = float(rate)
        self.burst = float(burst)
        self.max_keys = max_keys
        self._clock = clock
        self._refill_time = self.burst / self.rate  # from empty to full
        # client -> (tokens, when they were counted); oldest touched first
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client_key: Hashable) -> bool:
        """Take a token for this client: True if the request may go on."""
        with self._lock:
            now = self._clock()
            tokens = self._tokens(client_key, now)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[client_key] = (tokens, now)
            self._buckets.move_to_end(client_key)
            self._evict(now)
            return allowed

    def retry_after(self, client_key: Hashable) -> float:
        """Seconds until this client's next request would be allowed (0.0 if now)."""
        with self._lock:
            tokens = self._tokens(client_key, self._clock())
            return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def __len__(self) -> int:
        """How many clients are tracked now."""
        with self._lock:
            return len(self._buckets)

    def _tokens(self, client_key: Hashable, now: float) -> float:
        entry = self._buckets.get(client_key)
        if entry is None:
            return self.burst
        tokens, then = entry
        return min(self.burst, tokens + max(0.0, now - then) * self.rate)

    def _evict(self, now: float) -> None:
        buckets = self._buckets
        # Idle clients first: a bucket untouched for refill_time is full again.
        while buckets:
            _tokens, then = next(iter(buckets.values()))
            if now - then < self._refill_time:
                break
            buckets.popitem(last=False)
        while len(buckets) > self.max_keys:
            buckets.popitem(last=False)
