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

`RateLimiter` lives in one process: right for the embedded profile (one
web process). Where several processes or servers answer (the scaled
profile), `RedisRateLimiter` keeps the same buckets in Redis, so a client
gets the rate once, not once per process. `Runtime.limiter` picks one.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Protocol

import redis

log = logging.getLogger(__name__)


class Limiter(Protocol):
    """What a view needs of a rate limiter, wherever its buckets live."""

    def allow(self, client_key: str) -> bool:
        """Take a token for this client: True if the request may go on."""

    def retry_after(self, client_key: str) -> float:
        """Seconds until this client's next request would be allowed (0.0 if now)."""


def _check_parameters(rate: float, burst: int) -> None:
    if not rate > 0:
        raise ValueError("rate must be a positive number of requests a second.")
    if burst < 1:
        raise ValueError("burst must be at least 1 request.")


class RateLimiter:
    def __init__(self, rate: float, burst: int, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`rate`: tokens a second (10 a minute is 10 / 60); `burst`: the
        bucket's size, how many requests may come at once; `max_keys`: how
        many clients are tracked at most; `clock`: seconds, monotonic."""
        _check_parameters(rate, burst)
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


# One bucket as a Redis hash {tokens, at}: read, refill, take and write back
# in one script, so two processes taking the last token at the same moment
# cannot both get it. The time is Redis's own (TIME), not the callers':
# servers whose clocks differ then still agree on how much has refilled.
# Milliseconds as integers, because Lua's tostring keeps 14 digits and a
# Unix time in seconds with its fraction has 16. A bucket expires once it
# would be full again, like the in-process one forgets full buckets.
_TAKE_TOKEN = """
local rate_per_ms, burst, take = tonumber(ARGV[1]) / 1000, tonumber(ARGV[2]), ARGV[3] == '1'
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = burst
if state[1] then
  tokens = math.min(burst, tonumber(state[1]) + math.max(0, now - tonumber(state[2])) * rate_per_ms)
end
local allowed = tokens >= 1
if take then
  if allowed then tokens = tokens - 1 end
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((burst - tokens) / rate_per_ms)))
end
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate_per_ms end
return {allowed and 1 or 0, tostring(wait)}
"""


class RedisRateLimiter:
    """The token bucket of `RateLimiter`, kept in Redis and shared by every
    process and server that uses the same Redis and `prefix`.

    When Redis cannot be reached the limiter falls back to an in-process
    bucket (and logs it): public verification stays up and is still limited
    per process, rather than refused to everyone or left unlimited."""

    def __init__(self, client: redis.Redis, prefix: str, rate: float, burst: int) -> None:
        """`client`: a redis-py client; `prefix`: this limiter's keys, e.g.
        "docsvc:limit:verify_file:" (one installation, one limiter name)."""
        _check_parameters(rate, burst)
        self.rate = float(rate)
        self.burst = int(burst)
        self.prefix = prefix
        self._script = client.register_script(_TAKE_TOKEN)
        self._fallback = RateLimiter(rate, burst)

    def allow(self, client_key: str) -> bool:
        result = self._run(client_key, take=True)
        return self._fallback.allow(client_key) if result is None else result[0]

    def retry_after(self, client_key: str) -> float:
        result = self._run(client_key, take=False)
        return self._fallback.retry_after(client_key) if result is None else result[1]

    def _run(self, client_key: str, *, take: bool) -> tuple[bool, float] | None:
        try:
            allowed, wait = self._script(keys=[self.prefix + str(client_key)],
                                         args=[repr(self.rate), self.burst, "1" if take else "0"])
        except redis.RedisError as exc:
            log.warning("rate limiter %s: Redis unavailable (%s); limiting in this process only", self.prefix, exc)
            return None
        return bool(allowed), max(0.0, float(wait) / 1000)
