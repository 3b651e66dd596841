"""The shared token bucket and report cache on the real Redis, and which one
a Runtime hands out: several web processes (here several clients and
threads) draw on one budget per client, exactly; buckets and reports expire
in Redis; a Redis that is down leaves each process limiting on its own."""
from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
import redis

from docsvc.config import load_settings
from docsvc.ratelimit import RateLimiter, RedisRateLimiter
from docsvc.report_cache import LocalReportCache, RedisReportCache
from docsvc.runtime import Runtime
from tests.conftest import service_env


@pytest.fixture
def redis_url() -> str:
    return service_env("DOCSVC_TEST_REDIS_URL")


@pytest.fixture
def prefix(redis_url):
    """Keys private to this test, removed afterwards."""
    name = f"docsvc-t-{uuid.uuid4().hex[:10]}:limit:test:"
    yield name
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(name + "*"):
        client.delete(key)
    client.close()


def test_processes_share_one_budget_per_client_exactly(redis_url, prefix):
    # Two processes' limiters (own connections), eight threads each: 40 tokens in all.
    clients = [redis.Redis.from_url(redis_url) for _ in range(2)]
    limiters = [RedisRateLimiter(client, prefix, rate=1e-6, burst=40) for client in clients]
    results: list[bool] = []
    lock = threading.Lock()

    def hammer(limiter):
        mine = [limiter.allow("203.0.113.9") for _ in range(10)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=hammer, args=(limiters[n % 2],)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 40 and results.count(False) == 120
    # Another client still has its whole burst.
    assert limiters[0].allow("198.51.100.1") is True
    for client in clients:
        client.close()


def test_the_shared_bucket_behaves_like_the_local_one(redis_url, prefix):
    client = redis.Redis.from_url(redis_url)
    shared = RedisRateLimiter(client, prefix, rate=1 / 6, burst=3)  # 10 a minute, 3 at once
    local = RateLimiter(rate=1 / 6, burst=3)
    for limiter in (shared, local):
        assert limiter.retry_after("a") == 0.0  # looking takes no token
        assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
        wait = limiter.retry_after("a")
        assert 0.0 < wait <= 6.0
        assert limiter.allow("a") is False
        assert limiter.retry_after("a") <= wait  # a refused request costs nothing: the wait does not grow
    # The bucket is forgotten by Redis once it would be full again (18 s here).
    ttl_ms = client.pttl(prefix + "a")
    assert 0 < ttl_ms <= 18_000
    client.close()


def test_tokens_come_back(redis_url, prefix):
    client = redis.Redis.from_url(redis_url)
    limiter = RedisRateLimiter(client, prefix, rate=5, burst=1)
    assert limiter.allow("a") is True
    time.sleep(0.5)  # a token every 0.2 s; waiting longer only fills up to the burst
    assert limiter.allow("a") is True
    client.close()


def test_a_redis_that_is_down_leaves_the_process_limiting_on_its_own():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, socket_timeout=1)
    limiter = RedisRateLimiter(client, "docsvc:limit:test:", rate=1 / 60, burst=2)
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]
    assert limiter.retry_after("a") > 0
    cache = RedisReportCache(client, "docsvc:report:", ttl_seconds=60)
    cache.put("ab" * 32, {"verdict": "valid"})  # not kept, not an error
    assert cache.get("ab" * 32) is None


def test_reports_are_shared_and_expire(redis_url, prefix):
    clients = [redis.Redis.from_url(redis_url) for _ in range(2)]
    first, second = (RedisReportCache(client, prefix, ttl_seconds=60) for client in clients)
    report = {"verdict": "valid", "signatures": [{"signer": "UBND xã Quảng Phú", "level": "B-LTA"}]}
    first.put("cd" * 32, report)
    assert second.get("cd" * 32) == report
    assert 0 < clients[0].ttl(prefix + "cd" * 32) <= 60
    for client in clients:
        client.close()


def test_the_runtime_chooses_the_backend_once_from_the_settings(tmp_path, redis_url):
    embedded = Runtime(load_settings({"DOCSVC_DATA_DIR": str(tmp_path / "a")}))
    assert embedded.settings.shared_state_url == ""
    assert isinstance(embedded.limiter("verify_file", 1 / 6, 10), RateLimiter)
    assert isinstance(embedded.report_cache, LocalReportCache)
    # Named, with a rate and a burst: the same limiter every time it is asked for.
    assert embedded.limiter("sign_in", 5 / 60, 5) is embedded.limiter("sign_in", 5 / 60, 5)
    assert embedded.limiter("sign_in", 5 / 60, 5) is not embedded.limiter("verify_file", 5 / 60, 5)
    embedded.close()

    scaled = Runtime(load_settings({"DOCSVC_DATA_DIR": str(tmp_path / "b"), "DOCSVC_BROKER_URL": redis_url}))
    assert scaled.settings.shared_state_url == redis_url  # the broker's Redis, unless set apart
    assert isinstance(scaled.limiter("verify_file", 1 / 6, 10), RedisRateLimiter)
    assert isinstance(scaled.report_cache, RedisReportCache)
    scaled.close()
