"""The per-client token bucket of public verification, on a fake clock."""
from __future__ import annotations

import threading

import pytest

from docsvc.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_burst_is_allowed_then_refused(clock):
    limiter = RateLimiter(rate=1 / 6, burst=5, clock=clock)  # 10 a minute, 5 at once
    assert [limiter.allow("203.0.113.7") for _ in range(5)] == [True] * 5
    assert limiter.allow("203.0.113.7") is False
    assert limiter.allow("203.0.113.7") is False
    assert limiter.retry_after("203.0.113.7") == pytest.approx(6.0)


def test_tokens_come_back_over_time(clock):
    limiter = RateLimiter(rate=1 / 6, burst=5, clock=clock)
    for _ in range(5):
        limiter.allow("a")
    clock.advance(3)
    assert limiter.allow("a") is False
    assert limiter.retry_after("a") == pytest.approx(3.0)
    clock.advance(3)
    assert limiter.retry_after("a") == 0.0
    assert limiter.allow("a") is True
    assert limiter.allow("a") is False
    clock.advance(6 * 2)
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]


def test_the_bucket_never_holds_more_than_the_burst(clock):
    limiter = RateLimiter(rate=1, burst=3, clock=clock)
    limiter.allow("a")
    clock.advance(3600)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]


def test_retry_after_neither_takes_a_token_nor_blocks(clock):
    limiter = RateLimiter(rate=2, burst=1, clock=clock)
    assert limiter.retry_after("a") == 0.0
    assert limiter.retry_after("a") == 0.0
    assert limiter.allow("a") is True
    assert limiter.retry_after("a") == pytest.approx(0.5)
    clock.advance(0.25)
    assert limiter.retry_after("a") == pytest.approx(0.25)


def test_clients_are_independent(clock):
    limiter = RateLimiter(rate=0.1, burst=2, clock=clock)
    assert [limiter.allow("198.51.100.1") for _ in range(3)] == [True, True, False]
    assert [limiter.allow("198.51.100.2") for _ in range(3)] == [True, True, False]
    assert limiter.allow("2001:db8::1") is True
    assert limiter.retry_after("198.51.100.3") == 0.0


def test_a_clock_going_backwards_gives_no_tokens(clock):
    limiter = RateLimiter(rate=1, burst=1, clock=clock)
    assert limiter.allow("a") is True
    clock.advance(-100)
    assert limiter.allow("a") is False


def test_idle_clients_are_forgotten(clock):
    limiter = RateLimiter(rate=1, burst=10, clock=clock)  # full again after 10 s
    for n in range(1000):
        limiter.allow(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter) == 1000
    clock.advance(10)
    limiter.allow("192.0.2.1")
    assert len(limiter) == 1


def test_forgetting_an_idle_client_changes_nothing_for_it(clock):
    limiter = RateLimiter(rate=1, burst=2, clock=clock)
    limiter.allow("a")
    limiter.allow("a")
    clock.advance(2)
    limiter.allow("b")  # sweeps "a", whose bucket is full again
    assert len(limiter) == 1
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]


def test_memory_stays_bounded_under_100k_distinct_clients(clock):
    limiter = RateLimiter(rate=1 / 60, burst=5, max_keys=1000, clock=clock)
    for n in range(100_000):
        assert limiter.allow(("scan", n)) is True  # a new client always has its burst
        assert len(limiter._buckets) <= 1000
        clock.advance(0.001)
    assert len(limiter) == 1000
    # The most recent clients are the ones still tracked, with their buckets.
    for _ in range(4):
        assert limiter.allow(("scan", 99_999)) is True
    assert limiter.allow(("scan", 99_999)) is False


def test_a_busy_client_keeps_its_bucket_while_others_come_and_go(clock):
    limiter = RateLimiter(rate=1 / 60, burst=3, max_keys=100, clock=clock)
    assert [limiter.allow("abuser") for _ in range(3)] == [True] * 3
    for n in range(50):
        limiter.allow(n)
        assert limiter.allow("abuser") is False  # touched, so never the least recently used


def test_threads_share_the_buckets_without_losing_tokens(clock):
    limiter = RateLimiter(rate=1e-9, burst=1000, clock=clock)
    results: list[bool] = []
    lock = threading.Lock()

    def worker():
        mine = [limiter.allow("shared") for _ in range(500)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1000
    assert results.count(False) == 3000


@pytest.mark.parametrize("options", [dict(rate=0, burst=1), dict(rate=-1, burst=1), dict(rate=1, burst=0),
                                     dict(rate=1, burst=1, max_keys=0)])
def test_nonsense_settings_are_refused(options):
    with pytest.raises(ValueError):
        RateLimiter(**options)
